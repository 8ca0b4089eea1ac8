package io.easycontext.runtime.cuda;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

class PeakFlopsTest {

    /** Names as the driver reports them; 0 for a card the table does not know. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "NVIDIA H200, 989.4e12",
            "NVIDIA H200 NVL, 835.5e12",
            "NVIDIA H100 80GB HBM3, 989.4e12",
            "NVIDIA H100 PCIe, 756.5e12",
            "NVIDIA H100 NVL, 835.5e12",
            "NVIDIA GH200 480GB, 989.4e12",
            "NVIDIA A100-SXM4-80GB, 312e12",
            "NVIDIA A100 80GB PCIe, 312e12",
            "NVIDIA L40S, 362.1e12",
            "NVIDIA L4, 121e12",
            "NVIDIA L40, 0",
            "NVIDIA GeForce RTX 4090, 0",
            "Tesla T4, 0"})
    void knowsTheDenseBf16PeakOfDataCentreCardsAndNothingElse(String name, double peak) {
        assertThat(PeakFlops.denseBf16(name).orElse(0)).isEqualTo(peak);
    }
}
