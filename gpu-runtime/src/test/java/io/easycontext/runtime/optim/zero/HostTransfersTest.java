package io.easycontext.runtime.optim.zero;

import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.backend.cpu.TrackingBackend;
import io.easycontext.runtime.profile.OpProfile;
import io.easycontext.runtime.tensor.DType;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The transfers follow the backend that does the work, whatever wraps it. */
class HostTransfersTest {

    @Test
    void aProfiledBackendGetsThePlainBackendsTransfers() {
        try (CpuBackend cpu = new CpuBackend(DType.F32); OpProfile profile = OpProfile.of(cpu);
             HostTransfers plain = HostTransfers.of(cpu); HostTransfers profiled = HostTransfers.of(profile.backend())) {
            assertThat(plain).isInstanceOf(CpuHostTransfers.class);
            assertThat(profiled).isInstanceOf(CpuHostTransfers.class);
        }
    }

    @Test
    void aBackendWithoutTransfersIsRefusedWrappedOrNot() {
        TrackingBackend tracking = new TrackingBackend(DType.F32, DType.F64);
        try (OpProfile profile = OpProfile.of(tracking)) {
            assertThatThrownBy(() -> HostTransfers.of(tracking)).hasMessageContaining("tracking-cpu");
            assertThatThrownBy(() -> HostTransfers.of(profile.backend())).hasMessageContaining("tracking-cpu");
        }
    }
}
