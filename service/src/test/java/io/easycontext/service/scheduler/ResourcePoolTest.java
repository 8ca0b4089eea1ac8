package io.easycontext.service.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.BDDMockito.given;
import static org.mockito.Mockito.mock;

import java.util.List;

import io.easycontext.service.node.NodeGpus;
import io.easycontext.service.node.NodeProperties;
import org.junit.jupiter.api.Test;

class ResourcePoolTest {

    private final ResourcePool pool = pool(4, 1);

    @Test
    void gpusAreHandedOutLowestFirstAndNeverTwice() {
        Allocation two = pool.tryAllocate(2).orElseThrow();
        Allocation one = pool.tryAllocate(1).orElseThrow();

        assertThat(two.gpuIds()).containsExactly(0, 1);
        assertThat(one.gpuIds()).containsExactly(2);
        assertThat(pool.tryAllocate(2)).isEmpty();
        pool.release(two);
        assertThat(pool.tryAllocate(3).orElseThrow().gpuIds()).containsExactly(0, 1, 3);
        assertThat(pool.freeGpuCount()).isZero();
    }

    @Test
    void cpuJobsTakeSlotsNotGpus() {
        Allocation cpu = pool.tryAllocate(0).orElseThrow();

        assertThat(cpu.onCpu()).isTrue();
        assertThat(pool.tryAllocate(0)).isEmpty();
        assertThat(pool.freeGpuCount()).isEqualTo(4);
        pool.release(cpu);
        assertThat(pool.freeCpuSlots()).isEqualTo(1);
    }

    @Test
    void releasingWhatIsNotHeldIsABug() {
        assertThatThrownBy(() -> pool.release(new Allocation(List.of(0)))).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> pool.release(new Allocation(List.of()))).isInstanceOf(IllegalStateException.class);
    }

    private static ResourcePool pool(int gpus, int cpuSlots) {
        NodeGpus nodeGpus = mock(NodeGpus.class);
        given(nodeGpus.ordinals()).willReturn(java.util.stream.IntStream.range(0, gpus).boxed().toList());
        return new ResourcePool(nodeGpus, new NodeProperties(gpus, cpuSlots, null, null, null));
    }
}
