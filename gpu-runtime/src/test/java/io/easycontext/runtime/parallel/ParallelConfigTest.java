package io.easycontext.runtime.parallel;

import org.junit.jupiter.api.Test;

import static io.easycontext.runtime.parallel.ParallelConfig.UNSET;
import static io.easycontext.runtime.parallel.ParallelMode.DATA_PARALLEL;
import static io.easycontext.runtime.parallel.ParallelMode.DIST_FLASH_ATTN;
import static io.easycontext.runtime.parallel.ParallelMode.RING_ATTN;
import static io.easycontext.runtime.parallel.ParallelMode.ULYSSES_ATTN;
import static io.easycontext.runtime.parallel.ParallelMode.USP_ATTN;
import static io.easycontext.runtime.parallel.ParallelMode.ZIGZAG_RING_ATTN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ParallelConfigTest {

    @Test
    void resolvesTheDegreesOfEveryMode() {
        assertThat(ParallelConfig.resolve(DATA_PARALLEL, 4, UNSET, UNSET, UNSET))
                .isEqualTo(new ParallelConfig(DATA_PARALLEL, 4, 4, 1, 1));
        assertThat(ParallelConfig.resolve(RING_ATTN, 4, UNSET, UNSET, UNSET))
                .isEqualTo(new ParallelConfig(RING_ATTN, 4, 1, 1, 4));
        assertThat(ParallelConfig.resolve(ZIGZAG_RING_ATTN, 8, 2, UNSET, UNSET))
                .isEqualTo(new ParallelConfig(ZIGZAG_RING_ATTN, 8, 2, 1, 4));
        assertThat(ParallelConfig.resolve(DIST_FLASH_ATTN, 6, UNSET, UNSET, 3))
                .isEqualTo(new ParallelConfig(DIST_FLASH_ATTN, 6, 2, 1, 3));
        assertThat(ParallelConfig.resolve(ULYSSES_ATTN, 4, 2, UNSET, UNSET))
                .isEqualTo(new ParallelConfig(ULYSSES_ATTN, 4, 2, 2, 1));
        assertThat(ParallelConfig.resolve(USP_ATTN, 8, UNSET, 4, UNSET))
                .isEqualTo(new ParallelConfig(USP_ATTN, 8, 1, 4, 2));
        assertThat(ParallelConfig.resolve(USP_ATTN, 8, UNSET, 2, 2))
                .isEqualTo(new ParallelConfig(USP_ATTN, 8, 2, 2, 2));
        assertThat(ParallelConfig.resolve(USP_ATTN, 8, 2, UNSET, 2))
                .isEqualTo(new ParallelConfig(USP_ATTN, 8, 2, 2, 2));
    }

    @Test
    void badGroupArithmeticNamesTheConstraintAndNumbers() {
        assertThatThrownBy(() -> ParallelConfig.resolve(USP_ATTN, 6, UNSET, 4, 2))
                .isInstanceOf(ParallelConfigException.class)
                .hasMessage("usp_attn needs world size (6) divisible by ulysses_degree (4) × ring_degree (2) = 8");
        assertThatThrownBy(() -> ParallelConfig.resolve(USP_ATTN, 6, 1, 4, 2))
                .hasMessage("usp_attn needs world size (6) = ulysses_degree (4) × ring_degree (2)");
        assertThatThrownBy(() -> ParallelConfig.resolve(USP_ATTN, 8, 2, 4, 2))
                .hasMessage("usp_attn needs world size / dp_degree (8/2=4) = ulysses_degree (4) × ring_degree (2)");
        assertThatThrownBy(() -> ParallelConfig.resolve(USP_ATTN, 6, UNSET, 4, UNSET))
                .hasMessage("usp_attn needs world size (6) divisible by ulysses_degree (4)");
        assertThatThrownBy(() -> ParallelConfig.resolve(USP_ATTN, 4, UNSET, UNSET, UNSET))
                .hasMessage("usp_attn needs --ulysses-degree or --ring-degree (or both)");
        assertThatThrownBy(() -> ParallelConfig.resolve(ZIGZAG_RING_ATTN, 6, 4, UNSET, UNSET))
                .hasMessage("world size (6) is not divisible by dp_degree (4)");
        assertThatThrownBy(() -> ParallelConfig.resolve(DATA_PARALLEL, 4, 2, UNSET, UNSET))
                .hasMessage("data_parallel makes every rank data-parallel: dp_degree (2) must equal the world size (4)");
        assertThatThrownBy(() -> ParallelConfig.resolve(RING_ATTN, 4, UNSET, 2, UNSET))
                .hasMessageStartingWith("ring_attn does not take --ulysses-degree (2)");
        assertThatThrownBy(() -> ParallelConfig.resolve(RING_ATTN, 4, 2, UNSET, 4))
                .hasMessage("ring_attn needs ring_degree (4) = world size / dp_degree (4/2=2)");
        assertThatThrownBy(() -> ParallelConfig.resolve(RING_ATTN, 6, UNSET, UNSET, 4))
                .hasMessage("ring_attn needs world size (6) divisible by ring_degree (4)");
        assertThatThrownBy(() -> ParallelConfig.resolve(ULYSSES_ATTN, 0, UNSET, UNSET, UNSET))
                .hasMessage("the world size must be at least 1, not 0");
    }

    @Test
    void modelAndSequenceConstraintsNameTheNumbers() {
        assertThatThrownBy(() -> ParallelConfig.resolve(ZIGZAG_RING_ATTN, 4, UNSET, UNSET, UNSET).validate(30, 4, 2))
                .isInstanceOf(ParallelConfigException.class)
                .hasMessage("zigzag_ring_attn needs seq_length divisible by 2 × ring size (2×4=8): 30 is not");
        assertThatThrownBy(() -> ParallelConfig.resolve(RING_ATTN, 4, UNSET, UNSET, UNSET).validate(30, 4, 2))
                .hasMessage("ring_attn needs seq_length divisible by the sequence-parallel size (4): 30 is not");
        assertThatThrownBy(() -> ParallelConfig.resolve(DIST_FLASH_ATTN, 3, UNSET, UNSET, UNSET).validate(32, 4, 2))
                .hasMessage("dist_flash_attn needs seq_length divisible by the sequence-parallel size (3): 32 is not");
        assertThatThrownBy(() -> ParallelConfig.resolve(ULYSSES_ATTN, 4, UNSET, UNSET, UNSET).validate(32, 4, 2))
                .hasMessage("ulysses_attn needs num_key_value_heads (2) divisible by the Ulysses degree (4)");
        assertThatThrownBy(() -> ParallelConfig.resolve(ULYSSES_ATTN, 4, UNSET, UNSET, UNSET).validate(32, 6, 6))
                .hasMessage("ulysses_attn needs num_key_value_heads (6) divisible by the Ulysses degree (4)");
        assertThatThrownBy(() -> ParallelConfig.resolve(ULYSSES_ATTN, 2, UNSET, UNSET, UNSET).validate(31, 4, 2))
                .hasMessage("ulysses_attn needs seq_length divisible by the Ulysses degree (2): 31 is not");
        assertThatThrownBy(() -> ParallelConfig.resolve(USP_ATTN, 4, UNSET, 2, 2).validate(30, 4, 2))
                .hasMessage("usp_attn needs seq_length divisible by 2 × ring_degree (2×2=4): 30 is not");
        assertThatThrownBy(() -> ParallelConfig.resolve(USP_ATTN, 8, UNSET, 4, 2).validate(12, 8, 4))
                .hasMessage("usp_attn needs seq_length / ring_degree (12/2=6) divisible by the Ulysses degree (4)");
        assertThatThrownBy(() -> ParallelConfig.resolve(USP_ATTN, 8, UNSET, 4, 2).validate(32, 6, 2))
                .hasMessage("usp_attn needs num_key_value_heads (2) divisible by the Ulysses degree (4)");
    }

    @Test
    void validConfigurationsPass() {
        ParallelConfig.resolve(DIST_FLASH_ATTN, 3, UNSET, UNSET, UNSET).validate(33, 4, 2);
        ParallelConfig.resolve(ZIGZAG_RING_ATTN, 3, UNSET, UNSET, UNSET).validate(30, 4, 2);
        ParallelConfig.resolve(USP_ATTN, 8, UNSET, 4, 2).validate(8, 8, 4);
        ParallelConfig.resolve(DATA_PARALLEL, 5, UNSET, UNSET, UNSET).validate(7, 4, 1);
    }

    @Test
    void unknownModesListTheKnownOnes() {
        assertThatThrownBy(() -> ParallelMode.parse("ring"))
                .hasMessage("unknown parallel mode 'ring'; expected one of data_parallel, ring_attn, zigzag_ring_attn, "
                        + "ulysses_attn, dist_flash_attn, usp_attn, auto");
    }

    /** auto is a training's request, never a layout: resolving it says so. */
    @Test
    void autoIsNeverALayout() {
        assertThatThrownBy(() -> ParallelConfig.resolve(ParallelMode.AUTO, 2, 0, 0, 0))
                .hasMessage("parallel mode auto is a training's to choose (train, plan and training jobs); give a mode "
                        + "here");
        assertThatThrownBy(() -> new ParallelConfig(ParallelMode.AUTO, 2, 1, 2, 1))
                .isInstanceOf(ParallelConfigException.class);
    }
}
