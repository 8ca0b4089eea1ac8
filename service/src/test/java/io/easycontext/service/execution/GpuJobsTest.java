package io.easycontext.service.execution;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import io.easycontext.runtime.cuda.Cuda;
import io.easycontext.runtime.optim.zero.OffloadMode;
import io.easycontext.runtime.optim.zero.Sharding;
import io.easycontext.runtime.spec.Devices;
import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.runtime.train.CancellationToken;
import io.easycontext.runtime.train.Checkpointing;
import io.easycontext.runtime.train.DataSource;
import io.easycontext.runtime.train.DistributedTrainer;
import io.easycontext.runtime.train.StepMetrics;
import io.easycontext.runtime.train.TrainConfig;
import io.easycontext.runtime.train.TrainingCancelledException;
import io.easycontext.runtime.train.WeightsSnapshot;
import io.easycontext.service.job.spec.JobDevices;
import io.easycontext.service.security.TestTokens;
import io.easycontext.service.testsupport.ServiceClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.context.bean.override.convention.TestBean;
import tools.jackson.databind.JsonNode;

/**
 * GPU jobs on a node configured with two 80 GiB GPUs that this machine does not have. Trainings meet the runtime
 * through {@link TrainingRuntime}, which here trains each run on as many CPU ranks as it was given GPUs: what the
 * service decides (which GPUs, the spec and command lines that name them, admission, cancellation, release) is
 * real, and so is the training, only not on the GPUs.
 */
@SpringBootTest(webEnvironment = WebEnvironment.RANDOM_PORT, properties = {TestTokens.ADMIN_PROPERTY,
        "easycontext.node.gpus=2", "easycontext.node.gpu-memory-gib=80", "easycontext.node.host-memory-gib=112"})
@DirtiesContext
class GpuJobsTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final CpuRanksForGpus RANKS = new CpuRanksForGpus();

    @TempDir
    static Path dataDir;

    @LocalServerPort
    private int port;

    @TestBean(methodName = "cpuRanksForGpus")
    private TrainingRuntime runtime;

    private ServiceClient client;

    @DynamicPropertySource
    static void useTheTemporaryDataDir(DynamicPropertyRegistry registry) {
        registry.add("easycontext.data-dir", () -> dataDir.toString());
    }

    static TrainingRuntime cpuRanksForGpus() {
        return RANKS;
    }

    @BeforeEach
    void connect() {
        client = new ServiceClient(port, TestTokens.ADMIN);
    }

    @AfterEach
    void noGpuWasEverHeldByTwoRunsAtOnce() {
        assertThat(RANKS.overlaps).isEmpty();
    }

    @Test
    void aGpuTrainingRunsOnTheGpuItWasGivenAndItsSpecAndCommandLineSaySo() {
        String holder = client.submitted(training(1, 1, 100_000));
        client.awaitJob(holder, TIMEOUT, job -> !job.get("progress").isNull());

        JsonNode queued = ServiceClient.json(client.submit(training(2, 1, 3)).getBody());
        JsonNode done = client.awaitState(queued.get("id").asString(), TIMEOUT, "SUCCEEDED", "FAILED");

        // GPU 0 is the holder's: the job runs on GPU 1, though it was queued naming GPU 0.
        assertThat(queued.get("spec").get("devices").asString()).isEqualTo("cuda:0");
        assertThat(done.get("state").asString()).as(done.toString()).isEqualTo("SUCCEEDED");
        assertThat(done.get("gpuIds").get(0).asInt()).isEqualTo(1);
        assertThat(done.get("spec").get("devices").asString()).isEqualTo("cuda:1");
        assertThat(done.get("commandLines").get(0).asString()).contains(" --devices cuda:1 --parallel-mode ");
        assertThat(RANKS.gpusOf(2)).containsExactly(1);
        assertThat(RANKS.gpusOf(1)).containsExactly(0);
        client.cancel(holder);
        client.awaitState(holder, TIMEOUT, "CANCELLED");
    }

    @Test
    void aCancelledGpuTrainingStopsAtAStepAndFreesItsGpusOnlyOnceTheRuntimeHasReturned() throws Exception {
        RANKS.holdReturnOf(11);
        String running = client.submitted(training(11, 2, 100_000));
        client.awaitJob(running, TIMEOUT, job -> !job.get("progress").isNull());
        String next = client.submitted(training(12, 2, 2));

        client.cancel(running);
        RANKS.awaitStopped(11);
        // The trainer has stopped, but the runtime has not returned (its ranks would still be freeing their GPUs):
        // the job is not over, and its GPUs are not free.
        Thread.sleep(300);
        assertThat(client.job(running).get("state").asString()).isEqualTo("CANCELLING");
        assertThat(client.job(next).get("state").asString()).isEqualTo("QUEUED");

        RANKS.letReturn(11);
        JsonNode cancelled = client.awaitState(running, TIMEOUT, "CANCELLED");
        assertThat(cancelled.get("reason").asString()).isEqualTo("USER_CANCELLED");
        assertThat(cancelled.get("message").asString()).matches("cancelled after \\d+ step\\(s\\) of the stage it was in");
        assertThat(cancelled.get("progress").get("step").asLong()).isLessThan(100_000);
        JsonNode after = client.awaitState(next, TIMEOUT, "SUCCEEDED", "FAILED");
        assertThat(after.get("state").asString()).as(after.toString()).isEqualTo("SUCCEEDED");
        assertThat(RANKS.gpusOf(12)).containsExactly(0, 1);
    }

    @Test
    void devicesThatDisagreeWithGpusAreRefusedOnTheFieldToChange() {
        ResponseEntity<String> tooFew = client.submit("""
                {"kind": "TRAIN", "gpus": 2, "train": {"devices": "cuda:0"}}""");
        ResponseEntity<String> uncounted = client.submit("""
                {"kind": "TRAIN", "train": {"devices": "cuda:0,1"}}""");

        assertThat(tooFew.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat(ServiceClient.json(tooFew.getBody()).get("detail").asString()).isEqualTo("train.devices: must "
                + "name 2 GPU(s), as gpus asks, not 1 (cuda:0); the scheduler replaces the ordinals with the GPUs it "
                + "assigns");
        assertThat(uncounted.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat(ServiceClient.json(uncounted.getBody()).get("detail").asString()).isEqualTo("gpus: must be 2 to "
                + "run on cuda:0,1: a job holds GPUs through gpus, and the scheduler picks which");
    }

    @Test
    void aTrainingIsRefusedWhenTheMemoryPlannerSaysAStageCannotFitTheGpus() {
        ResponseEntity<String> tooLong = client.submit("""
                {"kind": "TRAIN", "gpus": 2, "train": {"model": "small", "parallelMode": "zigzag_ring_attn",
                  "stages": [{"seqLength": 4096}, {"seqLength": 67108864, "ropeTheta": 1e7}]}}""");
        String fits = client.submitted("""
                {"kind": "TRAIN", "gpus": 2, "train": {"model": "tiny", "parallelMode": "zigzag_ring_attn",
                  "seqLength": 128, "maxTrainSteps": 2}}""");

        assertThat(tooLong.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        JsonNode problem = ServiceClient.json(tooLong.getBody());
        assertThat(problem.get("errors")).singleElement().satisfies(error -> {
            assertThat(error.get("field").asString()).isEqualTo("train.stages[1]");
            assertThat(error.get("message").asString()).startsWith("does not fit the GPUs: needs ")
                    .contains(", 78.00 GiB available (80.00 GiB per GPU less 2 GiB for CUDA, cuBLAS and NCCL); ");
        });
        assertThat(client.awaitState(fits, TIMEOUT, "SUCCEEDED", "FAILED").get("state").asString())
                .isEqualTo("SUCCEEDED");
    }

    /**
     * The request autoMemory is for: Llama-2-7B at 256K tokens on one 80 GB GPU and a 112 GiB host, refused with
     * the options as given (replicated), accepted with autoMemory, and started with the planner's choice, which the
     * job's log names. The run is not trained: 7B on CPU ranks would take the machine.
     */
    @Test
    void aTrainingWithAutoMemoryIsAcceptedWhereItsOptionsAloneAreRefusedAndRunsWithThePlannersChoice() {
        String given = """
                {"kind": "TRAIN", "gpus": 1, "train": {"model": "llama2-7b", "seqLength": 262144,
                  "optimizerMoments": "bf16", "maxTrainSteps": 1, "seed": 21%s}}""";
        ResponseEntity<String> refused = client.submit(given.formatted(""));
        assertThat(refused.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat(ServiceClient.json(refused.getBody()).get("detail").asString()).startsWith("train: does not fit "
                + "the GPUs: needs ").endsWith("; these options fit: zeroStage 1, optimizerOffload gpu_stream, "
                + "offloadCheckpoints 21, keptAttentionLayers 1, or autoMemory: true");

        RANKS.trainNothing(21);
        ResponseEntity<String> submitted = client.submit(given.formatted(", \"autoMemory\": true"));
        assertThat(submitted.getStatusCode()).as(submitted.getBody()).isEqualTo(HttpStatus.CREATED);
        JsonNode accepted = ServiceClient.json(submitted.getBody());
        String id = accepted.get("id").asString();
        assertThat(accepted.get("spec").get("autoMemory").asBoolean()).isTrue();
        assertThat(accepted.get("commandLines").get(0).asString()).contains(" --auto-memory true ");
        RANKS.awaitStarted(21);

        TrainConfig started = RANKS.configOf(21);
        assertThat(started.sharding()).isEqualTo(new Sharding(1, OffloadMode.GPU_STREAM));
        assertThat(started.offloadedCheckpoints()).isEqualTo(21);
        // The last layer's attention is free at the peak, where its backward holds it anyway.
        assertThat(started.keptAttentionLayers()).isEqualTo(1);
        client.cancel(id);
        client.awaitState(id, TIMEOUT, "CANCELLED");
        String log = client.http().get().uri("/api/jobs/{id}/logs", id).retrieve().body(String.class);
        assertThat(log).containsPattern("stage 1/1: autoMemory chose zeroStage 1, optimizerOffload gpu_stream, "
                + "offloadCheckpoints 21, keptAttentionLayers 1: [0-9.]+ GiB per GPU of 78\\.00 GiB, [0-9.]+ GiB of "
                + "host memory per GPU");
    }

    @Test
    void anEvaluationOnAGpuThisMachineDoesNotHaveFailsNamingIt() {
        assumeFalse(Cuda.availability().available(), "this machine has a GPU: the evaluation would run on it");
        String id = client.submitted("""
                {"kind": "EVAL_PERPLEXITY", "gpus": 1, "evalPerplexity": {"model": "small", "minTokens": 32,
                  "maxTokens": 64, "slidingWindow": 32}}""");

        JsonNode failed = client.awaitState(id, TIMEOUT, "FAILED", "SUCCEEDED");

        assertThat(failed.get("reason").asString()).isEqualTo("INTERNAL");
        assertThat(failed.get("message").asString()).startsWith("devices: 'cuda:"
                + failed.get("gpuIds").get(0).asInt() + "' needs GPUs, but this machine has none (");
    }

    private static String training(long seed, int gpus, int steps) {
        return """
                {"kind": "TRAIN", "gpus": %d, "train": {"model": "tiny", "parallelMode": "zigzag_ring_attn",
                  "seqLength": 64, "maxTrainSteps": %d, "seed": %d}}""".formatted(gpus, steps, seed);
    }

    /**
     * Trains each run on CPU ranks in the place of the GPUs its spec names, which it remembers by the run's seed.
     * It can hold a run's return as a GPU run's is held while its ranks free their devices, and it notes any GPU
     * that a run got while another had not returned it.
     */
    static final class CpuRanksForGpus implements TrainingRuntime {
        private final Map<Long, List<Integer>> gpusBySeed = new ConcurrentHashMap<>();
        private final Set<Integer> inUse = ConcurrentHashMap.newKeySet();
        private final List<String> overlaps = new CopyOnWriteArrayList<>();
        private final Map<Long, CountDownLatch> stopped = new ConcurrentHashMap<>();
        private final Map<Long, CountDownLatch> held = new ConcurrentHashMap<>();
        private final Set<Long> untrained = ConcurrentHashMap.newKeySet();
        private final Map<Long, TrainConfig> configs = new ConcurrentHashMap<>();
        private final Map<Long, CountDownLatch> started = new ConcurrentHashMap<>();

        @Override
        public TrainConfig configure(TrainSpec run) {
            gpusBySeed.put(run.seed(), Devices.parse(run.devices()).gpus());
            return ((TrainSpec) JobDevices.withoutGpus(run)).toTrainConfig();
        }

        @Override
        public DistributedTrainer.Result train(TrainConfig config, DataSource data, Consumer<StepMetrics> onStep,
                CancellationToken cancellation, WeightsSnapshot initialWeights, boolean keepFinalWeights,
                Checkpointing checkpointing) {
            List<Integer> gpus = gpusOf(config.seed());
            for (int gpu : gpus) {
                if (!inUse.add(gpu)) {
                    overlaps.add("GPU " + gpu + " for the run of seed " + config.seed());
                }
            }
            configs.put(config.seed(), config);
            latch(started, config.seed()).countDown();
            try {
                if (untrained.contains(config.seed())) {
                    while (!cancellation.isCancellationRequested()) {
                        sleep(10);
                    }
                    throw new TrainingCancelledException(0);
                }
                return DistributedTrainer.train(config, data, onStep, cancellation, initialWeights, keepFinalWeights,
                        checkpointing);
            } finally {
                latch(stopped, config.seed()).countDown();
                CountDownLatch hold = held.get(config.seed());
                if (hold != null) {
                    await(hold);
                }
                gpus.forEach(inUse::remove);
            }
        }

        List<Integer> gpusOf(long seed) {
            return gpusBySeed.get(seed);
        }

        /** The run of this seed is started as a real one, and then waits for its cancellation without training. */
        void trainNothing(long seed) {
            untrained.add(seed);
        }

        void awaitStarted(long seed) {
            assertThat(await(latch(started, seed))).as("the run of seed " + seed + " started").isTrue();
        }

        /** The config the run of this seed was started with. */
        TrainConfig configOf(long seed) {
            return configs.get(seed);
        }

        void holdReturnOf(long seed) {
            latch(held, seed);
        }

        void letReturn(long seed) {
            latch(held, seed).countDown();
        }

        void awaitStopped(long seed) {
            assertThat(await(latch(stopped, seed))).as("the run of seed " + seed + " stopped").isTrue();
        }

        private static CountDownLatch latch(Map<Long, CountDownLatch> latches, long seed) {
            return latches.computeIfAbsent(seed, s -> new CountDownLatch(1));
        }

        private static void sleep(long millis) {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        private static boolean await(CountDownLatch latch) {
            try {
                return latch.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }
}
