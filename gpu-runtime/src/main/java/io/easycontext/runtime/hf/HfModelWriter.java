package io.easycontext.runtime.hf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.io.SafetensorsDType;
import io.easycontext.runtime.io.SafetensorsWriter;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.model.Parameter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Saves weights as {@code save_pretrained} does: shards of at most {@code maxShardBytes} named
 * {@code model-0000i-of-0000n.safetensors} with {@code model.safetensors.index.json}, or a single
 * {@code model.safetensors} when everything fits one shard, and {@code config.json}. Each shard carries the
 * metadata {@code format: pt}, without which transformers refuses the file.
 */
public final class HfModelWriter {

    /** save_pretrained's default shard size. */
    public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Map<String, String> SHARD_METADATA = Map.of("format", "pt");

    private HfModelWriter() {
    }

    /**
     * Writes {@code weights} (downloaded from {@code backend} one tensor at a time) into {@code dir}, which is
     * created if needed, in {@code dtype}. {@code baseConfig} is the config the model was loaded from, or null.
     */
    public static void save(Backend backend, LlamaWeights weights, Path dir, SafetensorsDType dtype,
                            long maxShardBytes, ObjectNode baseConfig) throws IOException {
        if (!dtype.isFloatingPoint()) {
            throw new IllegalArgumentException("weights are saved as a floating-point type, not " + dtype);
        }
        Files.createDirectories(dir);
        List<List<SafetensorsWriter.Entry>> shards = shards(entries(backend, weights, dtype), maxShardBytes);
        if (shards.size() == 1) {
            SafetensorsWriter.write(dir.resolve(HfModelDir.SINGLE), SHARD_METADATA, shards.get(0));
        } else {
            ObjectNode index = JSON.createObjectNode();
            long total = 0;
            ObjectNode weightMap = JSON.createObjectNode();
            for (int i = 0; i < shards.size(); i++) {
                String name = String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, shards.size());
                SafetensorsWriter.write(dir.resolve(name), SHARD_METADATA, shards.get(i));
                for (SafetensorsWriter.Entry e : shards.get(i)) {
                    weightMap.put(e.name(), name);
                    total += e.byteSize();
                }
            }
            index.putObject("metadata").put("total_size", total);
            index.set("weight_map", weightMap);
            JSON.writeValue(dir.resolve(HfModelDir.INDEX).toFile(), index);
        }
        HfConfigJson.write(dir.resolve(HfModelDir.CONFIG), weights.config(), dtype, baseConfig);
    }

    /** Every parameter in state-dict order, its values fetched from the backend only when written. */
    public static List<SafetensorsWriter.Entry> entries(Backend backend, LlamaWeights weights, SafetensorsDType dtype) {
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        for (Parameter p : weights.parameters()) {
            entries.add(new SafetensorsWriter.Entry(p.name(), dtype, SafetensorsWriter.Entry.shapeOf(p.value().shape()),
                    () -> backend.download(p.value())));
        }
        return entries;
    }

    /**
     * Consecutive tensors fill a shard until the next would overflow it, as transformers splits; a tensor larger
     * than the limit gets a shard of its own.
     */
    static List<List<SafetensorsWriter.Entry>> shards(List<SafetensorsWriter.Entry> entries, long maxShardBytes) {
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("max shard size must be positive, got " + maxShardBytes);
        }
        List<List<SafetensorsWriter.Entry>> shards = new ArrayList<>();
        List<SafetensorsWriter.Entry> current = new ArrayList<>();
        long bytes = 0;
        for (SafetensorsWriter.Entry e : entries) {
            if (!current.isEmpty() && bytes + e.byteSize() > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                bytes = 0;
            }
            current.add(e);
            bytes += e.byteSize();
        }
        shards.add(current);
        return shards;
    }
}
