package io.easycontext.service.scheduler;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

import io.easycontext.service.node.NodeGpus;
import io.easycontext.service.node.NodeProperties;
import org.springframework.stereotype.Component;

/**
 * The node's free GPUs and CPU slots. In memory only: after a restart nothing is held, and the jobs that held
 * something are back in the queue (see the recovery at start-up).
 */
@Component
class ResourcePool {

    private final TreeSet<Integer> freeGpus;
    private final int cpuSlots;
    private int busyCpuSlots;

    ResourcePool(NodeGpus gpus, NodeProperties node) {
        this.freeGpus = new TreeSet<>(gpus.ordinals());
        this.cpuSlots = node.cpuSlots();
    }

    /** The lowest-numbered free GPUs, or a CPU slot when {@code gpus} is 0; empty when they are not free. */
    synchronized Optional<Allocation> tryAllocate(int gpus) {
        if (gpus == 0) {
            if (busyCpuSlots == cpuSlots) {
                return Optional.empty();
            }
            busyCpuSlots++;
            return Optional.of(new Allocation(List.of()));
        }
        if (freeGpus.size() < gpus) {
            return Optional.empty();
        }
        List<Integer> taken = new ArrayList<>(gpus);
        for (int i = 0; i < gpus; i++) {
            taken.add(freeGpus.pollFirst());
        }
        return Optional.of(new Allocation(taken));
    }

    synchronized void release(Allocation allocation) {
        if (allocation.onCpu()) {
            if (busyCpuSlots == 0) {
                throw new IllegalStateException("released a CPU slot that was not held");
            }
            busyCpuSlots--;
            return;
        }
        for (int gpu : allocation.gpuIds()) {
            if (!freeGpus.add(gpu)) {
                throw new IllegalStateException("released GPU " + gpu + ", which was free");
            }
        }
    }

    synchronized int freeGpuCount() {
        return freeGpus.size();
    }

    synchronized int freeCpuSlots() {
        return cpuSlots - busyCpuSlots;
    }
}
