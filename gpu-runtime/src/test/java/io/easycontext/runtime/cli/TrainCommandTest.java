package io.easycontext.runtime.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

class TrainCommandTest {

    private record Run(int code, List<JsonNode> steps, String stdout, String stderr) {
    }

    private static Run train(String... flags) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] args = Stream.concat(Stream.of("train"), Stream.of(flags)).toArray(String[]::new);
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String stdout = out.toString(StandardCharsets.UTF_8);
        List<JsonNode> steps = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        for (String line : stdout.lines().toList()) {
            steps.add(json.readTree(line));
        }
        return new Run(code, steps, stdout, err.toString(StandardCharsets.UTF_8));
    }

    private static final String[] COMMON = {"--model", "tiny", "--seq-length", "32", "--max-train-steps", "3",
            "--learning-rate", "1e-3", "--warmup-steps", "1", "--seed", "11"};

    /** The common flags, overridden by {@code extra} where both name a flag. */
    private static String[] with(String... extra) {
        List<String> all = new ArrayList<>();
        List<String> overridden = List.of(extra);
        for (int i = 0; i < COMMON.length; i += 2) {
            if (!overridden.contains(COMMON[i])) {
                all.add(COMMON[i]);
                all.add(COMMON[i + 1]);
            }
        }
        all.addAll(overridden);
        return all.toArray(String[]::new);
    }

    @Test
    void zigzagOnFourRanksPrintsTheLossAndGradNormOfOneRank() throws Exception {
        Run one = train(with("--devices", "cpu:1", "--parallel-mode", "data_parallel", "--dtype", "f64"));
        Run four = train(with("--devices", "cpu:4", "--parallel-mode", "zigzag_ring_attn", "--dtype", "f64"));
        assertThat(one.code()).as(one.stderr()).isZero();
        assertThat(four.code()).as(four.stderr()).isZero();
        assertThat(four.steps()).hasSize(3);
        for (int i = 0; i < 3; i++) {
            JsonNode a = one.steps().get(i);
            JsonNode b = four.steps().get(i);
            assertThat(b.get("step").asInt()).isEqualTo(i + 1);
            assertThat(b.get("loss").asDouble()).isCloseTo(a.get("loss").asDouble(), relative(a, "loss", 1e-10));
            assertThat(b.get("grad_norm").asDouble())
                    .isCloseTo(a.get("grad_norm").asDouble(), relative(a, "grad_norm", 1e-10));
            assertThat(b.get("lr").asDouble()).isEqualTo(a.get("lr").asDouble());
            assertThat(b.get("tokens").asLong()).isEqualTo(32);
        }
    }

    @Test
    void float32RunsAgreeToo() throws Exception {
        Run one = train(with("--devices", "cpu:1", "--parallel-mode", "data_parallel"));
        Run four = train(with("--devices", "cpu:4", "--parallel-mode", "zigzag_ring_attn"));
        JsonNode a = one.steps().get(0);
        JsonNode b = four.steps().get(0);
        assertThat(b.get("loss").asDouble()).isCloseTo(a.get("loss").asDouble(), relative(a, "loss", 1e-6));
        assertThat(b.get("grad_norm").asDouble()).isCloseTo(a.get("grad_norm").asDouble(), relative(a, "grad_norm", 1e-5));
    }

    /**
     * --parallel-mode auto: the tiny model's 2 key/value heads split over two ranks (Ulysses), not four (a Ulysses
     * pair × a ring of two there); either trains as one rank does.
     */
    @Test
    void autoModeChoosesUlyssesWhereTheHeadsSplitAndTheHybridWhereTheyDoNot() throws Exception {
        Run one = train(with("--devices", "cpu:1", "--dtype", "f64"));
        Run two = train(with("--devices", "cpu:2", "--parallel-mode", "auto", "--dtype", "f64"));
        Run four = train(with("--devices", "cpu:4", "--parallel-mode", "auto", "--dtype", "f64"));
        assertThat(two.stderr()).contains("train: --parallel-mode auto chose --parallel-mode ulysses_attn")
                .contains("ulysses_attn (world 2 = dp 1 × ulysses 2 × ring 1)");
        assertThat(four.stderr()).contains("chose --parallel-mode usp_attn --ulysses-degree 2 --ring-degree 2")
                .contains("usp_attn (world 4 = dp 1 × ulysses 2 × ring 2)");
        for (Run run : List.of(two, four)) {
            assertThat(run.code()).as(run.stderr()).isZero();
            for (int i = 0; i < 3; i++) {
                JsonNode a = one.steps().get(i);
                JsonNode b = run.steps().get(i);
                assertThat(b.get("loss").asDouble()).isCloseTo(a.get("loss").asDouble(), relative(a, "loss", 1e-10));
            }
        }
        expectUsageError("--parallel-mode auto chooses the Ulysses and ring degrees", "--devices", "cpu:2",
                "--parallel-mode", "auto", "--ring-degree", "2");
    }

    /** dp × sp: two Ulysses pairs, one sequence each, equal one rank with both sequences in its batch. */
    @Test
    void dataParallelGroupsOfSequenceParallelRanksEqualOneRankWithTheWholeBatch() throws Exception {
        Run one = train(with("--devices", "cpu:1", "--batch-size", "2", "--dtype", "f64"));
        Run grid = train(with("--devices", "cpu:4", "--parallel-mode", "usp_attn", "--ulysses-degree", "2",
                "--dp-degree", "2", "--dtype", "f64"));
        assertThat(grid.code()).as(grid.stderr()).isZero();
        assertThat(grid.stderr()).contains("usp_attn (world 4 = dp 2 × ulysses 2 × ring 1)");
        for (int i = 0; i < 3; i++) {
            JsonNode a = one.steps().get(i);
            JsonNode b = grid.steps().get(i);
            assertThat(b.get("loss").asDouble()).isCloseTo(a.get("loss").asDouble(), relative(a, "loss", 1e-10));
            assertThat(b.get("grad_norm").asDouble())
                    .isCloseTo(a.get("grad_norm").asDouble(), relative(a, "grad_norm", 1e-10));
            assertThat(b.get("tokens").asLong()).isEqualTo(64);
        }
    }

    /**
     * ZeRO from the command line, stage 1 with the state in host memory and stage 3 streaming it through the device:
     * the replicated run's numbers (float64: the norm's order aside).
     */
    @ParameterizedTest(name = "zero stage {0}, optimizer offload {1}")
    @CsvSource({"1, cpu", "3, gpu_stream"})
    void aShardedRunTrainsAsTheReplicatedOne(int stage, String offload) throws Exception {
        Run replicated = train(with("--devices", "cpu:2", "--dtype", "f64"));
        Run sharded = train(with("--devices", "cpu:2", "--dtype", "f64", "--zero-stage", String.valueOf(stage),
                "--optimizer-offload", offload));
        assertThat(sharded.code()).as(sharded.stderr()).isZero();
        assertThat(sharded.stderr()).contains("zero_stage " + stage + ", optimizer_offload " + offload);
        assertThat(sharded.steps()).hasSize(3);
        for (int i = 0; i < 3; i++) {
            JsonNode a = replicated.steps().get(i);
            JsonNode b = sharded.steps().get(i);
            assertThat(b.get("loss").asDouble()).isCloseTo(a.get("loss").asDouble(), relative(a, "loss", 1e-12));
            assertThat(b.get("grad_norm").asDouble())
                    .isCloseTo(a.get("grad_norm").asDouble(), relative(a, "grad_norm", 1e-12));
        }
    }

    /** bf16 AdamW moments from the command line: said at the start, the same first loss, then other numbers. */
    @Test
    void bf16MomentsAreTakenAndSaidAndChangeTheUpdate() throws Exception {
        Run fp32 = train(with("--devices", "cpu:2", "--zero-stage", "1"));
        Run bf16 = train(with("--devices", "cpu:2", "--zero-stage", "1", "--optimizer-moments", "bf16"));
        assertThat(bf16.code()).as(bf16.stderr()).isZero();
        assertThat(fp32.stderr()).contains("fp32 AdamW moments");
        assertThat(bf16.stderr()).contains("bf16 AdamW moments");
        assertThat(bf16.steps()).hasSize(3);
        assertThat(bf16.steps().get(0).get("loss").asDouble()).isEqualTo(fp32.steps().get(0).get("loss").asDouble());
        assertThat(bf16.steps().get(2).get("loss").asDouble()).isNotEqualTo(fp32.steps().get(2).get("loss").asDouble());
        expectUsageError("--optimizer-moments must be fp32 or bf16, not 'fp16'", "--optimizer-moments", "fp16");
    }

    /** Kept attention skips a recomputation's attention and changes no bit: the same losses and norms. */
    @Test
    void keptAttentionLayersTrainExactlyAsWithout() throws Exception {
        Run recomputed = train(with("--devices", "cpu:2", "--parallel-mode", "ulysses_attn"));
        Run kept = train(with("--devices", "cpu:2", "--parallel-mode", "ulysses_attn", "--kept-attention-layers", "1"));
        assertThat(kept.code()).as(kept.stderr()).isZero();
        assertThat(kept.steps()).hasSize(3);
        for (int i = 0; i < 3; i++) {
            assertThat(kept.steps().get(i).get("loss").asDouble())
                    .isEqualTo(recomputed.steps().get(i).get("loss").asDouble());
            assertThat(kept.steps().get(i).get("grad_norm").asDouble())
                    .isEqualTo(recomputed.steps().get(i).get("grad_norm").asDouble());
        }
        expectUsageError("--kept-attention-layers must be greater than or equal to 0",
                "--kept-attention-layers", "-1");
        expectUsageError("--kept-attention-layers needs activationCheckpointing",
                "--kept-attention-layers", "2", "--activation-checkpointing", "false");
    }

    /** An offload without a sharded stage, a stage there is not, and stage 3 with one rank: refused clearly. */
    @Test
    void zeroFlagsThatCannotWorkExitTwo() throws Exception {
        expectUsageError("--optimizer-offload needs zeroStage 1, 2 or 3", "--optimizer-offload", "gpu_stream");
        expectUsageError("--zero-stage must be 0 (replicated optimizer state), 1 (optimizer state sharded), 2 (and "
                + "gradients) or 3 (and parameters), not 4", "--zero-stage", "4");
        expectUsageError("--zero-stage 3 shards gradients and parameters over the ranks, and cpu:1 has one",
                "--zero-stage", "3", "--devices", "cpu:1");
    }

    @Test
    void printsExactlyTheDocumentedFieldsPerStep() throws Exception {
        Run run = train(with("--devices", "cpu:2", "--parallel-mode", "ring_attn", "--max-train-steps", "1"));
        assertThat(run.code()).isZero();
        assertThat(run.stdout().lines()).hasSize(1);
        List<String> fields = new ArrayList<>();
        run.steps().get(0).fieldNames().forEachRemaining(fields::add);
        assertThat(fields).containsExactly("step", "loss", "grad_norm", "lr", "tokens", "tokens_per_s");
        assertThat(run.steps().get(0).get("tokens_per_s").asDouble()).isPositive();
        assertThat(run.stderr()).contains("step 1/1  loss ");
    }

    /**
     * {@code --profile-ops}: per rank and step a table and a JSON line on stderr, naming the ops that ran; stdout keeps
     * its one line per step with the same fields and numbers.
     */
    @Test
    void profileOpsPrintsEachRanksOpsPerStepOnStderrAndLeavesStdoutAsItWas() throws Exception {
        Run plain = train(with("--devices", "cpu:2", "--parallel-mode", "zigzag_ring_attn", "--max-train-steps", "2"));
        Run profiled = train(with("--devices", "cpu:2", "--parallel-mode", "zigzag_ring_attn", "--max-train-steps", "2",
                "--profile-ops"));
        assertThat(profiled.code()).as(profiled.stderr()).isZero();
        assertThat(profiled.steps()).hasSize(2);
        for (int i = 0; i < 2; i++) {
            JsonNode a = plain.steps().get(i);
            JsonNode b = profiled.steps().get(i);
            List<String> fields = new ArrayList<>();
            b.fieldNames().forEachRemaining(fields::add);
            assertThat(fields).containsExactly("step", "loss", "grad_norm", "lr", "tokens", "tokens_per_s");
            assertThat(b.get("loss").asDouble()).isEqualTo(a.get("loss").asDouble());
            assertThat(b.get("grad_norm").asDouble()).isEqualTo(a.get("grad_norm").asDouble());
        }
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> profiles = new ArrayList<>();
        for (String line : profiled.stderr().lines().filter(l -> l.startsWith("{")).toList()) {
            profiles.add(json.readTree(line));
        }
        assertThat(profiles).extracting(p -> p.get("rank").asInt() + "/" + p.get("step").asInt())
                .containsExactlyInAnyOrder("0/1", "1/1", "0/2", "1/2");
        for (JsonNode p : profiles) {
            assertThat(p.get("what").asText()).isEqualTo("op_profile");
            List<String> ops = new ArrayList<>();
            p.get("ops").forEach(op -> ops.add(op.get("op").asText()));
            assertThat(ops).contains("attentionForward", "attentionMerge", "matmul", "matmul(transA)",
                    "matmul(transB)", "adamW");
            assertThat(p.get("op_ms").asDouble()).isPositive().isLessThanOrEqualTo(p.get("wall_ms").asDouble());
        }
        assertThat(profiled.stderr()).contains("op profile, rank 0 step 1: wall ", "op profile, rank 1 step 2: wall ");
        assertThat(plain.stderr()).doesNotContain("op profile");
    }

    @Test
    void badConfigurationsExitTwoBeforeAnyWorkNamingTheConstraint() throws Exception {
        expectUsageError("zigzag_ring_attn needs seq_length divisible by 2 × ring size (2×4=8): 30 is not",
                "--devices", "cpu:4", "--parallel-mode", "zigzag_ring_attn", "--seq-length", "30");
        expectUsageError("ulysses_attn needs num_key_value_heads (2) divisible by the Ulysses degree (4)",
                "--devices", "cpu:4", "--parallel-mode", "ulysses_attn");
        expectUsageError("usp_attn needs world size (6) = ulysses_degree (4) × ring_degree (2)",
                "--devices", "cpu:6", "--parallel-mode", "usp_attn", "--ulysses-degree", "4", "--ring-degree", "2",
                "--dp-degree", "1");
        expectUsageError("world size (6) is not divisible by dp_degree (4)",
                "--devices", "cpu:6", "--parallel-mode", "ring_attn", "--dp-degree", "4");
        expectUsageError("--devices must be cpu:N", "--devices", "tpu:0");
        expectUsageError("--devices cpu:N needs N from 1 to 1024, not 'cpu:0'", "--devices", "cpu:0");
        expectUsageError("unknown parallel mode 'ring'", "--parallel-mode", "ring");
        expectUsageError("--auto-memory applies to GPU devices only: it chooses how GPU ranks hold their state, and "
                + "devices cpu:2 has none",
                "--devices", "cpu:2", "--auto-memory", "true");
        expectUsageError("--auto-memory applies to GPU devices only", "--devices", "cpu:2", "--auto-memory");
        expectUsageError("--model 'gpt2' is neither a preset", "--model", "gpt2");
        expectUsageError("--batch-size must be greater than or equal to 1", "--batch-size", "0");
        expectUsageError("--dtype must be f32 or f64", "--dtype", "bf16");
        expectUsageError("unknown flag --sequence-length", "--sequence-length", "64");
        expectUsageError("--seq-length must be an integer, not 'long'", "--seq-length", "long");
    }

    private static void expectUsageError(String message, String... flags) throws Exception {
        Run run = train(flags);
        assertThat(run.code()).as(String.join(" ", flags)).isEqualTo(2);
        assertThat(run.stderr()).startsWith("train: ").contains(message);
        assertThat(run.stdout()).isEmpty();
    }

    private static org.assertj.core.data.Offset<Double> relative(JsonNode reference, String field, double tolerance) {
        return org.assertj.core.data.Offset.offset(Math.abs(reference.get(field).asDouble()) * tolerance);
    }
}
