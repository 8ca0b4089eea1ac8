package io.easycontext.service.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.easycontext.runtime.spec.NeedleEvalSpec;
import io.easycontext.runtime.train.TrainingCancelledException;
import io.easycontext.service.execution.JobExecution;
import io.easycontext.service.execution.JobExecutor;
import io.easycontext.service.job.JobKind;
import io.easycontext.service.security.TestTokens;
import io.easycontext.service.testsupport.ServiceClient;
import io.easycontext.service.testsupport.ServiceOverHttp;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.test.context.bean.override.convention.TestBean;
import tools.jackson.databind.JsonNode;

/**
 * The scheduler on a node configured with two GPUs, with an executor that holds its GPUs until the test lets it
 * finish: which jobs start, in what order, on which GPUs. It replaces the needle evaluation's, which stands in for
 * any GPU job (the real one would look for the GPUs, which are not here); {@code numSamples} names the job in the
 * test.
 */
// In the place of ServiceOverHttp's @SpringBootTest: the same server, on a node with GPUs.
@SpringBootTest(webEnvironment = WebEnvironment.RANDOM_PORT,
        // Overriding lets @TestBean put the holding executor in the place of the needle evaluation's.
        properties = {TestTokens.ADMIN_PROPERTY, "easycontext.node.gpus=2",
                "spring.main.allow-bean-definition-overriding=true"})
class GpuSchedulingTest extends ServiceOverHttp {

    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    @TestBean(name = "needleEvaluationExecutor", methodName = "holdingExecutor")
    private HoldingExecutor executor;

    @Test
    void aRunningJobHoldsItsGpusAndTheQueueIsServedByPriorityThenOrder() throws Exception {
        String big = submit(1, 2, 0);
        executor.awaitStarted(1);
        String small = submit(2, 1, 0);
        String urgent = submit(3, 1, 5);
        String later = submit(4, 1, 5);

        // Both GPUs are taken: nothing else starts.
        Thread.sleep(300);
        assertThat(state(small)).isEqualTo("QUEUED");
        assertThat(state(urgent)).isEqualTo("QUEUED");
        assertThat(executor.gpusOf(1)).containsExactly(0, 1);

        executor.finish(1);
        executor.awaitStarted(3);
        executor.awaitStarted(4);
        assertThat(state(small)).isEqualTo("QUEUED");
        assertThat(List.of(executor.gpusOf(3), executor.gpusOf(4))).containsExactlyInAnyOrder(List.of(0), List.of(1));

        executor.finish(3);
        executor.awaitStarted(2);
        assertThat(client.job(small).get("gpuIds").get(0).asInt()).isEqualTo(executor.gpusOf(3).get(0));
        // 3 and 4 start together when 1 frees both GPUs: the scheduler claims 3 first, but their runner threads
        // may reach the executor in either order.
        assertThat(executor.started()).filteredOn(List.of(1, 2, 3, 4)::contains).satisfiesExactly(
                first -> assertThat(first).isEqualTo(1),
                second -> assertThat(second).isIn(3, 4),
                third -> assertThat(third).isIn(3, 4),
                last -> assertThat(last).isEqualTo(2));
        assertThat(Instant.parse(client.job(urgent).get("startedAt").asString()))
                .isBeforeOrEqualTo(Instant.parse(client.job(later).get("startedAt").asString()));
        executor.finish(4);
        executor.finish(2);
        assertThat(client.awaitState(small, TIMEOUT, "SUCCEEDED").get("gpus").asInt()).isEqualTo(1);
    }

    @Test
    void aJobAskingForMoreGpusThanTheNodeHasIsRefused() {
        assertThat(client.submit(needle(9, 3, 0)).getBody())
                .contains("gpus: must be less than or equal to 2, the GPUs of this node");
    }

    @Test
    void cancellingAQueuedJobEndsItWithoutEverStartingIt() throws Exception {
        String holder = submit(10, 2, 0);
        executor.awaitStarted(10);
        String waiting = submit(11, 1, 0);

        JsonNode cancelled = ServiceClient.json(client.cancel(waiting).getBody());
        executor.finish(10);

        assertThat(cancelled.get("state").asString()).isEqualTo("CANCELLED");
        client.awaitState(holder, TIMEOUT, "SUCCEEDED");
        assertThat(executor.started()).doesNotContain(11);
    }

    @Test
    void cancellingARunningJobReachesItsExecutorAndFreesItsGpus() throws Exception {
        String running = submit(20, 2, 0);
        executor.awaitStarted(20);

        client.cancel(running);

        JsonNode cancelled = client.awaitState(running, TIMEOUT, "CANCELLED");
        assertThat(cancelled.get("reason").asString()).isEqualTo("USER_CANCELLED");
        submit(21, 2, 0);
        executor.awaitStarted(21);
        executor.finish(21);
    }

    private String submit(int name, int gpus, int priority) {
        return client.submitted(needle(name, gpus, priority));
    }

    private static String needle(int name, int gpus, int priority) {
        return """
                {"kind": "EVAL_NEEDLE", "gpus": %d, "priority": %d, "evalNeedle": {"model": "small",
                  "minContextLength": 64, "maxContextLength": 64, "contextInterval": 64, "numSamples": %d}}"""
                .formatted(gpus, priority, name);
    }

    private String state(String id) {
        return client.job(id).get("state").asString();
    }

    static HoldingExecutor holdingExecutor() {
        return new HoldingExecutor();
    }

    /** Runs until the test calls {@link #finish}, or until cancelled; remembers the order and the GPUs. */
    static class HoldingExecutor implements JobExecutor {
        private final List<Integer> started = new CopyOnWriteArrayList<>();
        private final Map<Integer, List<Integer>> gpus = new ConcurrentHashMap<>();
        private final Map<Integer, CountDownLatch> finish = new ConcurrentHashMap<>();
        private final Map<Integer, CountDownLatch> begun = new ConcurrentHashMap<>();

        @Override
        public JobKind kind() {
            return JobKind.EVAL_NEEDLE;
        }

        @Override
        public boolean runsOnGpus() {
            return true;
        }

        @Override
        public String execute(JobExecution execution) throws InterruptedException {
            int name = ((NeedleEvalSpec) execution.spec()).numSamples();
            gpus.put(name, execution.gpuIds());
            started.add(name);
            latch(begun, name).countDown();
            CountDownLatch done = latch(finish, name);
            while (!done.await(20, TimeUnit.MILLISECONDS)) {
                if (execution.cancellation().isCancellationRequested()) {
                    throw new TrainingCancelledException(0);
                }
            }
            return "job " + name + " done";
        }

        void finish(int name) {
            latch(finish, name).countDown();
        }

        void awaitStarted(int name) throws InterruptedException {
            assertThat(latch(begun, name).await(20, TimeUnit.SECONDS)).as("job " + name + " started").isTrue();
        }

        List<Integer> started() {
            return started;
        }

        List<Integer> gpusOf(int name) {
            return gpus.get(name);
        }

        private static CountDownLatch latch(Map<Integer, CountDownLatch> latches, int name) {
            return latches.computeIfAbsent(name, n -> new CountDownLatch(1));
        }
    }
}
