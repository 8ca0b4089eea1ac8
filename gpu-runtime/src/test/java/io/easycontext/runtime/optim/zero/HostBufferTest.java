package io.easycontext.runtime.optim.zero;

import io.easycontext.runtime.tensor.Bf16;
import io.easycontext.runtime.tensor.DType;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HostBufferTest {

    /** Segments of 7 elements, so that ranges cross them; the last segment is short. */
    @Test
    void rangesAcrossSegmentsReadBackWhatWasWrittenRoundedToTheType() {
        for (DType type : new DType[]{DType.F64, DType.F32, DType.BF16}) {
            try (HostBuffer b = HostBuffer.allocateDirect(type, 30, 7)) {
                double[] values = new double[30];
                for (int i = 0; i < values.length; i++) {
                    values[i] = 1 + i / 3.0;
                }
                b.write(3, values, 3, 20);
                b.write(0, values, 0, 3);
                b.write(23, values, 23, 7);
                double[] back = new double[30];
                b.read(5, back, 5, 25);
                b.read(0, back, 0, 5);
                for (int i = 0; i < values.length; i++) {
                    double want = switch (type) {
                        case F64 -> values[i];
                        case F32 -> (float) values[i];
                        default -> Bf16.round((float) values[i]);
                    };
                    assertThat(back[i]).as("%s element %d", type, i).isEqualTo(want);
                }
            }
        }
    }

    @Test
    void bytesAreLittleEndianAndTheirOwnBufferWithinOneSegment() {
        try (HostBuffer b = HostBuffer.allocateDirect(DType.F32, 20, 8)) {
            b.write(9, new double[]{1.5, -2}, 0, 2);
            ByteBuffer bytes = b.bytes(9, 2).order(ByteOrder.LITTLE_ENDIAN);
            assertThat(bytes.position()).isZero();
            assertThat(bytes.capacity()).isEqualTo(8);
            assertThat(bytes.getFloat(0)).isEqualTo(1.5f);
            assertThat(bytes.getFloat(4)).isEqualTo(-2f);
            assertThatThrownBy(() -> b.bytes(7, 2)).hasMessageContaining("cross a segment boundary");
        }
    }

    @Test
    void zeroClearsEverySegmentAndRangesAreChecked() {
        try (HostBuffer b = HostBuffer.allocateDirect(DType.F64, 10, 4)) {
            double[] ones = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
            b.write(0, ones, 0, 10);
            b.zero();
            double[] back = new double[10];
            b.read(0, back, 0, 10);
            assertThat(back).containsOnly(0.0);
            assertThatThrownBy(() -> b.read(8, back, 0, 3)).isInstanceOf(IndexOutOfBoundsException.class);
        }
    }
}
