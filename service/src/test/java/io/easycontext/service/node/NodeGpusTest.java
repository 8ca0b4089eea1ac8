package io.easycontext.service.node;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** On configured GPUs (none here to read): the node's figures are the properties', or unknown. */
class NodeGpusTest {

    @Test
    void aConfiguredPeakAndMemoryAreTheNodes() {
        NodeGpus gpus = new NodeGpus(new NodeProperties(2, null, 756.5e12, 79.6, null));
        assertThat(gpus.count()).isEqualTo(2);
        assertThat(gpus.peakFlops()).hasValue(756.5e12);
        assertThat(gpus.memoryBytes()).hasValue((long) (79.6 * (1L << 30)));
    }

    @Test
    void gpusThatAreNotThereHaveNoPeakToReadUnlessConfigured() {
        NodeGpus gpus = new NodeGpus(new NodeProperties(64, null, null, null, null));
        assertThat(gpus.physical()).isFalse();
        assertThat(gpus.peakFlops()).isEmpty();
        assertThat(gpus.memoryBytes()).isEmpty();
    }
}
