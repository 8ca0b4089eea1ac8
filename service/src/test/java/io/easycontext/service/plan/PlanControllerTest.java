package io.easycontext.service.plan;

import static io.easycontext.service.security.TestTokens.ADMIN;
import static io.easycontext.service.security.TestTokens.READER;
import static io.easycontext.service.security.TestTokens.bearer;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.plan.MemoryEstimate;
import io.easycontext.runtime.plan.MemoryPlanner;
import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.service.node.NodeGpus;
import io.easycontext.service.node.NodeHostMemory;
import io.easycontext.service.node.NodeProperties;
import io.easycontext.service.security.ApiSecurityTestConfiguration;
import io.easycontext.service.security.TestTokens;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.webmvc.test.autoconfigure.WebMvcTest;
import org.springframework.context.annotation.Import;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.test.context.TestPropertySource;
import org.springframework.test.web.servlet.assertj.MockMvcTester;
import org.springframework.test.web.servlet.assertj.MvcTestResult;

/**
 * The dry run on a node configured, as GpuJobsTest's, with two 80 GiB GPUs this machine need not have and 112 GiB
 * of host memory: the planner's numbers are real, only the GPUs are not.
 */
@WebMvcTest(PlanController.class)
@Import({ApiSecurityTestConfiguration.class, NodePlans.class, NodeGpus.class, NodeHostMemory.class})
@EnableConfigurationProperties(NodeProperties.class)
@TestPropertySource(properties = {TestTokens.ADMIN_PROPERTY, TestTokens.READER_PROPERTY,
        "easycontext.data-dir=target/slice-test-data", "easycontext.node.gpus=2",
        "easycontext.node.gpu-memory-gib=80", "easycontext.node.host-memory-gib=112"})
class PlanControllerTest {

    private static final String SMALL_ON_TWO_GPUS = """
            {"kind": "TRAIN", "gpus": 2,
             "train": {"model": "small", "seqLength": 65536, "parallelMode": "zigzag_ring_attn"}}""";

    @Autowired
    private MockMvcTester mvc;

    @Test
    void plansASmallModelOnTheNodesGpusWithThePlannersNumbers() {
        MvcTestResult result = post(ADMIN, SMALL_ON_TWO_GPUS);

        assertThat(result).hasStatusOk().hasContentType(MediaType.APPLICATION_JSON);
        assertThat(result).bodyJson().extractingPath("$.runs[0].parallel").isEqualTo(Map.of("mode",
                "zigzag_ring_attn", "world", 2, "dp", 1, "ulysses", 1, "ring", 2));
        assertThat(result).bodyJson().extractingPath("$.runs[0].fits").isEqualTo(true);
        // With memory to spare, auto keeps the attention of all four layers.
        assertThat(result).bodyJson().extractingPath("$.runs[0].autoChoice.options").isEqualTo(Map.of("zeroStage", 1,
                "optimizerOffload", "none", "offloadCheckpoints", 0, "keptAttentionLayers", 4));
        // The same run as the trainer takes it, through the planner directly: the endpoint adds nothing of its own.
        MemoryEstimate direct = MemoryPlanner.estimate(TrainSpec.builder().model("small").devices("cpu:2")
                .parallelMode(ParallelMode.ZIGZAG_RING_ATTN).seqLength(65536).build().toTrainConfig());
        Map<String, Long> components = Map.ofEntries(Map.entry("parameters", direct.parameters()),
                Map.entry("gradients", direct.gradients()), Map.entry("masterWeights", direct.masterWeights()),
                Map.entry("optimizerMoments", direct.optimizerMoments()),
                Map.entry("activationCheckpoints", direct.checkpoints()),
                Map.entry("keptAttention", direct.keptAttention()),
                Map.entry("layerWorkingSet", direct.layerWorkingSet()),
                Map.entry("attentionScratch", direct.attentionScratch()),
                Map.entry("sequenceParallelBuffers", direct.communication()), Map.entry("other", direct.other()),
                Map.entry("total", direct.total()), Map.entry("hostMemoryPerRank", direct.hostMemory()));
        components.forEach((name, bytes) -> assertThat(result).bodyJson()
                .extractingPath("$.runs[0].peak." + name).asNumber()
                .satisfies(n -> assertThat(n.longValue()).as(name).isEqualTo(bytes)));
    }

    /** The docs' example (api.md): 7B replicated on one GPU needs 111.51 GiB; autoMemory streams its state. */
    /** parallelMode auto: the plan shows the mode the job will run, the fastest the model and length allow. */
    @Test
    void autoModeIsPlannedAsTheModeItChooses() {
        MvcTestResult result = post(ADMIN, """
                {"kind": "TRAIN", "gpus": 2,
                 "train": {"model": "small", "seqLength": 65536, "parallelMode": "auto"}}""");

        assertThat(result).hasStatusOk();
        assertThat(result).bodyJson().extractingPath("$.runs[0].parallel").isEqualTo(Map.of("mode",
                "ulysses_attn", "world", 2, "dp", 1, "ulysses", 2, "ring", 1));
        MvcTestResult degrees = post(ADMIN, """
                {"kind": "TRAIN", "gpus": 2,
                 "train": {"model": "small", "seqLength": 65536, "parallelMode": "auto", "ringDegree": 2}}""");
        assertThat(degrees).hasStatus(400);
        assertThat(degrees).bodyText().contains("auto chooses the Ulysses and ring degrees");
    }

    @Test
    void aRunThatDoesNotFitAsGivenShowsTheRemedyAndWhatAutoMemoryWouldChoose() {
        MvcTestResult result = post(ADMIN, """
                {"kind": "TRAIN", "gpus": 1, "train": {"model": "llama2-7b", "seqLength": 32768}}""");

        assertThat(result).hasStatusOk();
        assertThat(result).bodyJson().isStrictlyEqualTo("""
                {"poolBytes": 83751862272, "poolSource": "80.00 GiB per GPU less 2 GiB for CUDA, cuBLAS and NCCL",
                 "hostMemoryBytes": 120259084288, "autoMemory": false,
                 "runs": [{"field": "train", "seqLength": 32768, "batchSize": 1, "tokensPerRank": 32768,
                   "parallel": {"mode": "data_parallel", "world": 1, "dp": 1, "ulysses": 1, "ring": 1},
                   "optimizerMoments": "fp32",
                   "options": {"zeroStage": 0, "optimizerOffload": "none", "offloadCheckpoints": 0,
                     "keptAttentionLayers": 0},
                   "peak": {"parameters": 13476831232, "gradients": 13476831232, "masterWeights": 26953662464,
                     "optimizerMoments": 53907324928, "activationCheckpoints": 8589934592, "keptAttention": 0,
                     "layerWorkingSet": 2415919104, "attentionScratch": 545259520, "sequenceParallelBuffers": 0,
                     "other": 367525888, "total": 119733288960, "hostMemoryPerRank": 0},
                   "fits": false,
                   "autoChoice": {"options": {"zeroStage": 1, "optimizerOffload": "gpu_stream",
                       "offloadCheckpoints": 0, "keptAttentionLayers": 32},
                     "peak": {"parameters": 13476831232, "gradients": 13476831232, "masterWeights": 50331648,
                       "optimizerMoments": 100663296, "activationCheckpoints": 8589934592,
                       "keptAttention": 8724152320, "layerWorkingSet": 2147483648, "attentionScratch": 541065216,
                       "sequenceParallelBuffers": 0, "other": 367525888, "total": 47474819072,
                       "hostMemoryPerRank": 80860987392}},
                   "remedy": "the weights, gradients and optimizer state alone take 100.41 GiB; these options fit: zeroStage 1, optimizerOffload gpu_stream, offloadCheckpoints 0, keptAttentionLayers 32, or autoMemory: true"}]}
                """);
    }

    /** Each stage is its own run with its own sequence; a stage admission would refuse is named as it would be. */
    @Test
    void aStagedSpecIsPlannedStageByStageWithAutoMemory() {
        MvcTestResult result = post(ADMIN, """
                {"kind": "TRAIN", "gpus": 1, "train": {"model": "llama2-7b", "autoMemory": true,
                 "stages": [{"seqLength": 4096}, {"seqLength": 1048576}]}}""");

        assertThat(result).hasStatusOk();
        assertThat(result).bodyJson().extractingPath("$.autoMemory").isEqualTo(true);
        assertThat(result).bodyJson().extractingPath("$.runs[*].field").asArray()
                .containsExactly("train.stages[0]", "train.stages[1]");
        assertThat(result).bodyJson().extractingPath("$.runs[*].fits").asArray().containsExactly(true, false);
        assertThat(result).bodyJson().extractingPath("$.runs[1].autoChoice").isNull();
        assertThat(result).bodyJson().extractingPath("$.runs[1].remedy").asString()
                .startsWith("no sharding or offload makes it fit: more GPUs sharing each sequence");
    }

    @Test
    void aMalformedSpecIsTheSame400AsSubmittingIt() {
        MvcTestResult result = post(ADMIN, """
                {"kind": "TRAIN", "gpus": 2, "train": {"seqLength": 0}}""");

        assertThat(result).hasStatus(HttpStatus.BAD_REQUEST).hasContentType(MediaType.APPLICATION_PROBLEM_JSON);
        assertThat(result).bodyJson().extractingPath("$.errors[?(@.field == 'train.seqLength')].message")
                .asArray().containsExactly("must be greater than or equal to 1");
    }

    @Test
    void aTrainingOnTheCpuBackendIsA400NamingGpus() {
        MvcTestResult result = post(ADMIN, """
                {"kind": "TRAIN", "train": {"model": "tiny", "devices": "cpu:2", "seqLength": 64}}""");

        assertThat(result).hasStatus(HttpStatus.BAD_REQUEST).hasContentType(MediaType.APPLICATION_PROBLEM_JSON);
        assertThat(result).bodyJson().extractingPath("$.detail").isEqualTo("gpus: must be at least 1: the memory "
                + "planner plans GPU ranks, and gpus 0 runs on the CPU backend");
    }

    @Test
    void anEvaluationOrMoreGpusThanTheNodeHasIsA400() {
        assertThat(post(ADMIN, """
                {"kind": "EVAL_PERPLEXITY", "evalPerplexity": {"model": "small"}}""")).hasStatus(HttpStatus.BAD_REQUEST)
                .bodyJson().extractingPath("$.detail")
                .isEqualTo("kind: must be TRAIN: the memory planner plans trainings, not EVAL_PERPLEXITY");
        assertThat(post(ADMIN, """
                {"kind": "TRAIN", "gpus": 4, "train": {"model": "tiny"}}""")).hasStatus(HttpStatus.BAD_REQUEST)
                .bodyJson().extractingPath("$.detail")
                .isEqualTo("gpus: must be less than or equal to 2, the GPUs of this node");
    }

    /** As submitting: the spec's validation reads the server's files (a model directory's config.json). */
    @Test
    void planningNeedsTheTokenThatSubmittingNeeds() {
        assertThat(mvc.post().uri("/api/plans").contentType(MediaType.APPLICATION_JSON).content(SMALL_ON_TWO_GPUS))
                .hasStatus(HttpStatus.UNAUTHORIZED);
        assertThat(post(READER, SMALL_ON_TWO_GPUS)).hasStatus(HttpStatus.FORBIDDEN);
    }

    private MvcTestResult post(String token, String body) {
        return mvc.post().uri("/api/plans").header(HttpHeaders.AUTHORIZATION, bearer(token))
                .contentType(MediaType.APPLICATION_JSON).content(body).exchange();
    }
}
