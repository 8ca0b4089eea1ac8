package io.easycontext.service.node;

import io.easycontext.runtime.cuda.Cuda;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.springframework.stereotype.Component;

/**
 * Used and total memory of each GPU, in bytes, tagged by ordinal: {@code easycontext_gpu_memory_used_bytes}. Only
 * where the node has real GPUs, so that a CPU node exports no empty series.
 */
@Component
class GpuMemoryMetrics implements MeterBinder {

    private final NodeGpus gpus;

    GpuMemoryMetrics(NodeGpus gpus) {
        this.gpus = gpus;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        if (!gpus.physical()) {
            return;
        }
        for (int ordinal : gpus.ordinals()) {
            String device = Integer.toString(ordinal);
            Gauge.builder("easycontext.gpu.memory.used", () -> used(ordinal))
                    .description("Device memory in use, as the CUDA driver reports it")
                    .baseUnit("bytes").tag("device", device).register(registry);
            Gauge.builder("easycontext.gpu.memory.total", () -> Cuda.device(ordinal).totalMemory())
                    .description("Device memory in all")
                    .baseUnit("bytes").tag("device", device).register(registry);
        }
    }

    private static double used(int ordinal) {
        long[] freeAndTotal = Cuda.device(ordinal).memoryInfo();
        return freeAndTotal[1] - freeAndTotal[0];
    }
}
