package io.easycontext.runtime.spec;

import io.easycontext.runtime.cuda.Cuda;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DevicesTest {

    @Test
    void cpuRanksAndGpuListsParseToRanksInOrder() {
        assertThat(Devices.parse("cpu:4")).isEqualTo(new Devices(4, List.of()));
        assertThat(Devices.parse("CUDA:3")).isEqualTo(new Devices(1, List.of(3)));
        assertThat(Devices.parse("cuda:2,0")).isEqualTo(new Devices(2, List.of(2, 0)));
        assertThat(Devices.parse("cuda:4-7,1")).isEqualTo(new Devices(5, List.of(4, 5, 6, 7, 1)));
        assertThat(Devices.parse("cuda:0-3").toString()).isEqualTo("cuda:0,1,2,3");
        assertThat(Devices.parse("cpu:2").toString()).isEqualTo("cpu:2");
    }

    @Test
    void malformedValuesNameWhatIsWrong() {
        assertThatThrownBy(() -> Devices.parse("cuda:1,1")).hasMessage("GPU 1 is listed twice in 'cuda:1,1'");
        assertThatThrownBy(() -> Devices.parse("cuda:3-1")).hasMessageContaining("ranges like cuda:0,1 or cuda:0-3");
        assertThatThrownBy(() -> Devices.parse("cuda:")).hasMessage("'' in 'cuda:' is not a device number");
        assertThatThrownBy(() -> Devices.parse("cuda:x")).hasMessage("'x' in 'cuda:x' is not a device number");
        assertThatThrownBy(() -> Devices.parse("cpu:0")).hasMessage("cpu:N needs N from 1 to 1024, not 'cpu:0'");
        assertThatThrownBy(() -> Devices.parse("gpu:1")).hasMessageStartingWith("must be cpu:N");
    }

    @Test
    void gpusThisMachineLacksAreRefusedWithWhatItHas() {
        assertThat(Devices.parseAvailable("cpu:2").ranks()).isEqualTo(2);
        Cuda.Availability cuda = Cuda.availability();
        String expected = cuda.available()
                ? "'cuda:999' lists GPU 999, but this machine has " + cuda.deviceCount() + " GPU(s), numbered from 0"
                : "'cuda:999' needs GPUs, but this machine has none (" + cuda.reason() + ")";
        assertThatThrownBy(() -> Devices.parseAvailable("cuda:999")).hasMessage(expected);
    }
}
