package io.easycontext.service.node;

import java.util.List;
import java.util.stream.IntStream;

import io.easycontext.runtime.cuda.Cuda;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/** The GPUs this node schedules jobs on, by CUDA ordinal: as the driver reports them, or as configured. */
@Component
public class NodeGpus {

    private static final Logger log = LoggerFactory.getLogger(NodeGpus.class);

    private final List<Integer> ordinals;
    private final boolean physical;

    NodeGpus(NodeProperties properties) {
        Cuda.Availability cuda = properties.gpus() == null ? Cuda.availability() : null;
        int count = properties.gpus() != null ? properties.gpus() : cuda.available() ? cuda.deviceCount() : 0;
        this.ordinals = IntStream.range(0, count).boxed().toList();
        // A configured count may exceed what the driver has (tests); only a detected one is read for memory.
        this.physical = cuda != null && cuda.available();
        if (properties.gpus() != null) {
            log.info("Scheduling on {} GPU(s), as easycontext.node.gpus says", count);
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

    /** Whether these are real devices whose memory can be read. */
    public boolean physical() {
        return physical;
    }
}
