package io.easycontext.service.node;

import java.util.Locale;

import io.easycontext.runtime.plan.NodeMemory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * The host memory a training's ranks may hold for what the memory planner moves off their GPUs (offloaded optimizer
 * state, parked checkpoints): {@code easycontext.node.host-memory-gib}, else the machine's less a reserve, as the
 * CLI's {@code train} takes it.
 */
@Component
public class NodeHostMemory {

    private static final Logger log = LoggerFactory.getLogger(NodeHostMemory.class);
    private static final double GIB = 1L << 30;

    private final long bytes;

    NodeHostMemory(NodeProperties properties) {
        if (properties.hostMemoryGib() != null) {
            bytes = (long) (properties.hostMemoryGib() * GIB);
        } else {
            // Unreadable (not Linux): the CLI leaves host memory unbounded there too, and so does the service.
            bytes = NodeMemory.host().orElse(Long.MAX_VALUE);
        }
        if (bytes < Long.MAX_VALUE) {
            log.info("Trainings with autoMemory may offload up to {} GiB to host memory{}",
                    String.format(Locale.ROOT, "%.2f", bytes / GIB),
                    properties.hostMemoryGib() != null ? ", as easycontext.node.host-memory-gib says" : "");
        }
    }

    /** In bytes; {@link Long#MAX_VALUE} where unknown. */
    public long bytes() {
        return bytes;
    }
}
