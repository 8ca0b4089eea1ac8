package io.easycontext.service.node;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * What this node offers to jobs ({@code easycontext.node.*}).
 *
 * @param gpus how many GPUs jobs may use; null (the default) takes every GPU the CUDA driver reports. Set it to
 *     hold GPUs back from the service, or in tests to schedule on GPUs that are not there.
 * @param cpuSlots how many CPU-backend jobs run at once; they share the machine's cores, so more rarely helps
 * @param gpuPeakFlops the peak FLOP/s of one GPU at the training precision (e.g. 989e12 for an H100's dense bf16),
 *     for MFU; null leaves MFU unknown
 * @param gpuMemoryGib each GPU's memory in GiB, as the driver's total (e.g. 79.6 for an 80 GB H100), against which
 *     a training's planned peak is checked at submission; null (the default) reads it from the driver, and where
 *     the GPUs are not there to read (configured ones, in tests) leaves only a spec's own cap to check against
 * @param hostMemoryGib the host memory in GiB that a training's ranks together may hold for offloaded optimizer
 *     state and parked checkpoints when {@code autoMemory} chooses them, as the CLI's {@code --host-memory-gib};
 *     null (the default) takes the machine's less a reserve for the JVM and the OS
 */
@ConfigurationProperties("easycontext.node")
public record NodeProperties(Integer gpus, Integer cpuSlots, Double gpuPeakFlops, Double gpuMemoryGib,
        Double hostMemoryGib) {

    public NodeProperties {
        cpuSlots = cpuSlots == null ? 1 : cpuSlots;
        if (cpuSlots < 1 || (gpus != null && gpus < 0)) {
            throw new IllegalArgumentException("easycontext.node.cpu-slots must be at least 1 and "
                    + "easycontext.node.gpus not negative, not " + cpuSlots + " and " + gpus);
        }
        if (gpuMemoryGib != null && !(gpuMemoryGib > 0)) {
            throw new IllegalArgumentException("easycontext.node.gpu-memory-gib must be positive, not " + gpuMemoryGib);
        }
        if (hostMemoryGib != null && !(hostMemoryGib > 0)) {
            throw new IllegalArgumentException("easycontext.node.host-memory-gib must be positive, not "
                    + hostMemoryGib);
        }
    }
}
