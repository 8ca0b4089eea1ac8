package io.easycontext.runtime.checkpoint;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.io.InvalidFileException;
import io.easycontext.runtime.io.SafetensorsDType;
import io.easycontext.runtime.io.SafetensorsFile;
import io.easycontext.runtime.io.SafetensorsWriter;
import io.easycontext.runtime.io.TensorInfo;
import io.easycontext.runtime.optim.AdamW;
import io.easycontext.runtime.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One rank's AdamW state as a safetensors file {@code optimizer/rank-0000r.safetensors}: for each parameter
 * {@code <name>.exp_avg} and {@code <name>.exp_avg_sq} (PyTorch's names for the moments) and, where the parameter
 * is stored in lower precision, {@code <name>.master}, all in the type they live in; the step count is in the
 * metadata. Every rank writes its own file, as the state lives per rank.
 */
final class OptimizerStateFile {

    private static final String STEP = "step";

    private OptimizerStateFile() {
    }

    static Path path(Path checkpoint, int rank) {
        return checkpoint.resolve("optimizer").resolve(String.format(Locale.ROOT, "rank-%05d.safetensors", rank));
    }

    static void write(Path file, Backend backend, AdamW adamW) throws IOException {
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        for (AdamW.Slot s : adamW.slots()) {
            String name = s.parameter().name();
            entries.add(entry(backend, name + ".exp_avg", s.m()));
            entries.add(entry(backend, name + ".exp_avg_sq", s.v()));
            if (s.master() != null) {
                entries.add(entry(backend, name + ".master", s.master()));
            }
        }
        SafetensorsWriter.write(file, Map.of(STEP, String.valueOf(adamW.steps())), entries);
    }

    private static SafetensorsWriter.Entry entry(Backend backend, String name, Tensor t) {
        return new SafetensorsWriter.Entry(name, dtype(t), SafetensorsWriter.Entry.shapeOf(t.shape()),
                () -> backend.download(t));
    }

    /** Restores the moments, master weights and step count into {@code adamW}, checking every shape. */
    static void read(Path file, Backend backend, AdamW adamW) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            String step = f.metadata().get(STEP);
            if (step == null || !step.matches("\\d+")) {
                throw new InvalidFileException(file, "metadata has no step count (found " + step + ")");
            }
            for (AdamW.Slot s : adamW.slots()) {
                String name = s.parameter().name();
                fill(f, name + ".exp_avg", backend, s.m());
                fill(f, name + ".exp_avg_sq", backend, s.v());
                if (s.master() != null) {
                    fill(f, name + ".master", backend, s.master());
                }
            }
            adamW.restoreSteps(Long.parseLong(step));
        }
    }

    private static void fill(SafetensorsFile f, String name, Backend backend, Tensor into) {
        TensorInfo info = f.info(name);
        if (!info.hasShape(into.shape()) || info.dtype() != dtype(into)) {
            throw new InvalidFileException(f.path(), "tensor '" + name + "' is " + info.dtype() + " "
                    + info.shapeText() + ", but this run keeps it as " + dtype(into) + " "
                    + Arrays.toString(into.shape()));
        }
        backend.uploadDoubles(into, f.readDoubles(name));
    }

    static SafetensorsDType dtype(Tensor t) {
        return switch (t.dtype()) {
            case F64 -> SafetensorsDType.F64;
            case F32 -> SafetensorsDType.F32;
            case BF16 -> SafetensorsDType.BF16;
            case I32 -> SafetensorsDType.I32;
        };
    }
}
