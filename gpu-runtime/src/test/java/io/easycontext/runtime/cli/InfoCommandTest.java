package io.easycontext.runtime.cli;

import io.easycontext.runtime.cuda.Cuda;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class InfoCommandTest {

    @Test
    void describesTheMachineAndExitsZeroWithOrWithoutAGpu() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(new String[]{"info"}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(code).isZero();
        assertThat(text).containsPattern("cpu backend: \\d+ cores");
        assertThat(text).contains("kernels in this jar: ");
        if (Cuda.availability().available()) {
            assertThat(text).contains("gpu 0: ").contains("cublas: 13.").contains("nccl: 2.");
        } else {
            assertThat(text).contains("cuda backend: no GPU available (");
        }
    }

    @Test
    void unknownCommandsAndFlagsExitTwo() {
        PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        assertThat(Main.run(new String[]{"frobnicate"}, sink, sink)).isEqualTo(2);
        assertThat(Main.run(new String[]{"info", "--verbose"}, sink, sink)).isEqualTo(2);
    }
}
