package io.easycontext.runtime.train;

import io.easycontext.runtime.spec.TrainSpec;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What a caller that runs training, such as the service, steers: stopping between steps and handing weights on. */
class TrainingControlTest {

    private static TrainConfig config(int devices, int steps) {
        return TrainSpec.builder().model("tiny").devices("cpu:" + devices).seqLength(16).maxTrainSteps(steps)
                .learningRate(1e-3).seed(5L).build().toTrainConfig();
    }

    @Test
    void aCancelledRunStopsAtTheNextStepBoundaryOnEveryRank() {
        AtomicInteger seen = new AtomicInteger();
        TrainConfig config = config(2, 50);

        assertThatThrownBy(() -> DistributedTrainer.train(config, new SyntheticData(5, 256), m -> seen.set(m.step()),
                () -> seen.get() >= 2, null, false))
                .isInstanceOfSatisfying(TrainingCancelledException.class,
                        e -> assertThat(e.completedSteps()).isEqualTo(2));
        assertThat(seen.get()).isEqualTo(2);
    }

    @Test
    void aRunStartedFromAnotherRunsFinalWeightsContinuesItExactlyButForTheOptimizerState() {
        TrainConfig two = config(1, 2);
        DistributedTrainer.Result first = DistributedTrainer.train(two, new SyntheticData(5, 256), m -> { },
                CancellationToken.NONE, null, true);
        DistributedTrainer.Result again = DistributedTrainer.train(two, new SyntheticData(5, 256), m -> { },
                CancellationToken.NONE, null, true);
        List<Double> fromScratch = new ArrayList<>();
        List<Double> continued = new ArrayList<>();
        DistributedTrainer.train(config(1, 1), new SyntheticData(5, 256), m -> fromScratch.add(m.loss()));
        DistributedTrainer.train(config(1, 1), new SyntheticData(5, 256), m -> continued.add(m.loss()),
                CancellationToken.NONE, first.finalWeights(), false);

        assertThat(first.finalWeights()).isNotNull();
        assertThat(first.steps()).extracting(StepMetrics::loss)
                .containsExactlyElementsOf(again.steps().stream().map(StepMetrics::loss).toList());
        // Two steps at lr 1e-3 on a learnable corpus: the trained weights see the first batch with a lower loss.
        assertThat(continued.get(0)).isLessThan(fromScratch.get(0));
    }

    @Test
    void withoutBeingAskedARunKeepsNoWeights() {
        DistributedTrainer.Result result = DistributedTrainer.train(config(1, 1), new SyntheticData(5, 256), m -> { },
                CancellationToken.NONE, null, false);

        assertThat(result.steps()).hasSize(1);
        assertThat(result.finalWeights()).isNull();
    }
}
