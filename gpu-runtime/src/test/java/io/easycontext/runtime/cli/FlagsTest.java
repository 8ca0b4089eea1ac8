package io.easycontext.runtime.cli;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FlagsTest {

    @Test
    void readsBothSpellingsAndSwitches() {
        Flags f = new Flags(List.of("--seq-length", "1024", "--rope-theta=1e6", "--offload", "--name", "x"));
        assertThat(f.integer("seq-length", 0)).isEqualTo(1024);
        assertThat(f.number("rope-theta", 0)).isEqualTo(1e6);
        assertThat(f.bool("offload", false)).isTrue();
        assertThat(f.string("name", null)).isEqualTo("x");
        assertThat(f.integer("absent", 7)).isEqualTo(7);
        f.finish();
    }

    @Test
    void rejectsUnknownFlagsBadNumbersAndRepeats() {
        Flags f = new Flags(List.of("--seq-lenght", "1024"));
        f.integer("seq-length", 0);
        assertThatThrownBy(f::finish).hasMessage("unknown flag --seq-lenght");
        assertThatThrownBy(() -> new Flags(List.of("--steps", "ten")).integer("steps", 1))
                .hasMessage("--steps must be an integer, not 'ten'");
        assertThatThrownBy(() -> new Flags(List.of("--a", "1", "--a", "2"))).hasMessage("--a given twice");
        assertThatThrownBy(() -> new Flags(List.of("stray"))).hasMessage("unexpected argument 'stray'");
        assertThatThrownBy(() -> new Flags(List.of()).required("model")).hasMessage("--model is required");
    }
}
