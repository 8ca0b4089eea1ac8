package io.easycontext.service.node;

import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.stream.IntStream;

import io.easycontext.runtime.cuda.Cuda;
import io.easycontext.runtime.cuda.PeakFlops;
import io.easycontext.runtime.spec.Violation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * The GPUs this node schedules jobs on, by CUDA ordinal: as the driver reports them, or as configured; and how much
 * memory each has.
 */
@Component
public class NodeGpus {

    private static final Logger log = LoggerFactory.getLogger(NodeGpus.class);
    private static final double GIB = 1L << 30;

    private final List<Integer> ordinals;
    private final boolean physical;
    private final OptionalLong memoryBytes;
    private final OptionalDouble peakFlops;

    NodeGpus(NodeProperties properties) {
        Cuda.Availability cuda = Cuda.availability();
        int count = properties.gpus() != null ? properties.gpus() : cuda.available() ? cuda.deviceCount() : 0;
        this.ordinals = IntStream.range(0, count).boxed().toList();
        // A configured count may exceed what the driver has (tests); only GPUs the driver has are read for memory.
        this.physical = cuda.available() && count > 0 && count <= cuda.deviceCount();
        this.memoryBytes = properties.gpuMemoryGib() != null
                ? OptionalLong.of((long) (properties.gpuMemoryGib() * GIB))
                : physical ? OptionalLong.of(smallestTotalMemory(ordinals)) : OptionalLong.empty();
        this.peakFlops = properties.gpuPeakFlops() != null ? OptionalDouble.of(properties.gpuPeakFlops())
                : physical ? PeakFlops.slowestOf(ordinals) : OptionalDouble.empty();
        if (physical && properties.gpuPeakFlops() == null) {
            log.info(peakFlops.isPresent()
                    ? String.format("MFU against %.1f TFLOP/s a GPU, %s's dense bf16 peak", peakFlops.getAsDouble() / 1e12,
                            Cuda.device(ordinals.get(0)).name())
                    : "MFU unknown: no peak known for " + Cuda.device(ordinals.get(0)).name()
                            + " (set easycontext.node.gpu-peak-flops)");
        }
        if (properties.gpus() != null) {
            log.info("Scheduling on {} GPU(s), as easycontext.node.gpus says{}", count, physical || count == 0 ? ""
                    : cuda.available() ? " (more than the " + cuda.deviceCount() + " the driver reports)"
                    : " (none here: " + cuda.reason() + ")");
        } else if (physical) {
            log.info("Scheduling on the {} GPU(s) the CUDA driver reports", count);
        } else {
            log.info("No GPUs: jobs run on the CPU backend ({})", cuda.reason());
        }
    }

    public List<Integer> ordinals() {
        return ordinals;
    }

    public int count() {
        return ordinals.size();
    }

    /** A job asking for more GPUs than this node has could never start: its {@code gpus} field says why. */
    public Optional<Violation> tooFewFor(int gpus) {
        return gpus > count() ? Optional.of(new Violation("gpus",
                "must be less than or equal to " + count() + ", the GPUs of this node")) : Optional.empty();
    }

    /** Whether these are real devices whose memory can be read. */
    public boolean physical() {
        return physical;
    }

    /**
     * Each GPU's memory as the driver's total: {@code easycontext.node.gpu-memory-gib}, else the smallest the driver
     * reports of these GPUs, a job's GPUs being any of them; empty when neither is known.
     */
    public OptionalLong memoryBytes() {
        return memoryBytes;
    }

    /**
     * One GPU's peak FLOP/s at bf16 for MFU: {@code easycontext.node.gpu-peak-flops}, else the data-sheet peak of
     * these GPUs' model where the runtime knows it (the slowest, should they differ); empty where neither is known.
     */
    public OptionalDouble peakFlops() {
        return peakFlops;
    }

    private static long smallestTotalMemory(List<Integer> ordinals) {
        return ordinals.stream().mapToLong(gpu -> Cuda.device(gpu).totalMemory()).min().orElseThrow();
    }
}
