package io.easycontext.service.scheduler;

import java.util.List;

/**
 * What a running job holds exclusively until it ends: its GPUs, or for the CPU backend one CPU slot.
 *
 * @param gpuIds CUDA ordinals; empty for a CPU job
 */
public record Allocation(List<Integer> gpuIds) {

    public Allocation {
        gpuIds = List.copyOf(gpuIds);
    }

    public boolean onCpu() {
        return gpuIds.isEmpty();
    }
}
