package io.easycontext.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.logging.Level;

import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.plan.MemoryPlanner;
import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.service.security.TestTokens;
import io.easycontext.service.testsupport.HeadlessChromium;
import io.easycontext.service.testsupport.RequiresChromium;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The dashboard in a real browser against the whole service: a tiny CPU training submitted through the form, watched
 * in the list until it succeeds, and its page with the loss chart drawn from the event stream and the log; an
 * evaluation's plot shown inline; validation messages beside their fields; a training's memory checked without
 * submitting it. The node is configured, as GpuJobsTest's, with two 80 GiB GPUs this machine need not have: jobs with
 * gpus 0 run on the CPU backend as ever, and the memory check plans for those GPUs.
 */
@RequiresChromium
@SpringBootTest(webEnvironment = WebEnvironment.RANDOM_PORT, properties = {TestTokens.ADMIN_PROPERTY,
        "easycontext.node.gpus=2", "easycontext.node.gpu-memory-gib=80", "easycontext.node.host-memory-gib=112"})
@DirtiesContext // closes the database before JUnit deletes the @TempDir it lives in
class DashboardBrowserTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final int STEPS = 3;

    @TempDir
    static Path dataDir;

    private static ChromeDriver browser;

    @LocalServerPort
    private int port;

    @DynamicPropertySource
    static void useTheTemporaryDataDir(DynamicPropertyRegistry registry) {
        registry.add("easycontext.data-dir", () -> dataDir.toString());
    }

    @BeforeAll
    static void startBrowser() {
        browser = HeadlessChromium.start();
    }

    @AfterAll
    static void quitBrowser() {
        if (browser != null) {
            browser.quit();
        }
    }

    @BeforeEach
    void openTheDashboardWithTheAdminToken() {
        browser.get(base() + "/");
        WebElement token = browser.findElement(By.id("token-input"));
        token.clear();
        token.sendKeys(TestTokens.ADMIN);
        browser.findElement(By.id("token-save")).click();
        assertThat(browser.findElement(By.id("token-status")).getText()).isEqualTo("token saved in this browser");
    }

    @Test
    void aTrainingSubmittedInTheFormSucceedsAndItsPageChartsTheLossAndShowsTheLog() throws IOException {
        browser.findElement(By.cssSelector("#kind option[value='TRAIN']")).click();
        type("f-gpus", "0");
        type("f-train-model", "tiny");
        type("f-train-seqLength", "32");
        type("f-train-maxTrainSteps", Integer.toString(STEPS));
        browser.findElement(By.id("submit-job")).click();

        String id = await().until(() -> browser.findElements(By.cssSelector(".submit-result a[data-job-id]")),
                links -> !links.isEmpty()).get(0).getDomAttribute("data-job-id");
        By row = By.cssSelector("#job-list tr[data-job-id='" + id + "']");
        await().until(() -> browser.findElements(row).stream().map(r -> r.getDomAttribute("data-state")).toList(),
                states -> states.contains("SUCCEEDED"));
        assertThat(browser.findElement(row).getText()).contains("TRAIN", "CPU", STEPS + "/" + STEPS + " steps (100%)");
        saveScreenshot("dashboard-list.png");

        browser.findElement(row).findElement(By.tagName("a")).click();

        await().until(() -> browser.findElement(By.id("job-state")).getText(), "SUCCEEDED"::equals);
        assertThat(summary("state")).isEqualTo("SUCCEEDED (COMPLETED)");
        assertThat(summary("progress")).isEqualTo(STEPS + "/" + STEPS + " steps (100%)");
        assertThat(summary("GPUs")).isEqualTo("CPU backend");
        WebElement loss = browser.findElement(By.cssSelector("[data-chart='loss'] svg"));
        await().until(() -> loss.getDomAttribute("data-points"), Integer.toString(STEPS)::equals);
        // One move and a line to each further step: the curve is drawn, not just the empty frame.
        String curve = loss.findElement(By.cssSelector("path.line")).getDomAttribute("d");
        assertThat(curve).startsWith("M").matches("M[^L]+( L[^L]+){" + (STEPS - 1) + "}");
        assertThat(chartPoints("tokens-per-second")).isEqualTo(STEPS);
        // Memory comes with the job's progress, MFU only on GPUs with a known peak: none here.
        assertThat(chartPoints("memory")).isPositive();
        assertThat(chartPoints("mfu")).isZero();
        await().until(() -> browser.findElement(By.id("log")).getText(),
                log -> log.contains("SUCCEEDED (COMPLETED)"));
        assertThat(browser.findElement(By.id("log")).getText())
                .contains("queued: TRAIN, priority 0, CPU backend", "stage 1/1 step " + STEPS + "/" + STEPS);
        await().until(() -> browser.findElement(By.id("artifacts")).getText(),
                artifacts -> artifacts.contains("metrics/stage-0.jsonl"));

        saveScreenshot("dashboard-job.png");
        assertThat(requestedUrls()).isNotEmpty().allSatisfy(url -> assertThat(url).startsWith(base() + "/"));
        assertThat(consoleErrors()).isEmpty();
    }

    @Test
    void anEvaluationsPageShowsItsResultPlotInline() throws IOException {
        browser.findElement(By.cssSelector("#kind option[value='EVAL_PERPLEXITY']")).click();
        type("f-evalPerplexity-model", "small");
        type("f-evalPerplexity-minTokens", "32");
        type("f-evalPerplexity-maxTokens", "64");
        type("f-evalPerplexity-slidingWindow", "32");
        browser.findElement(By.id("submit-job")).click();
        String id = await().until(() -> browser.findElements(By.cssSelector(".submit-result a[data-job-id]")),
                links -> !links.isEmpty()).get(0).getDomAttribute("data-job-id");

        browser.get(base() + "/#/jobs/" + id);

        await().until(() -> browser.findElement(By.id("job-state")).getText(), "SUCCEEDED"::equals);
        WebElement plot = await().until(
                () -> browser.findElements(By.cssSelector(".result-images img[data-name='eval-results/ppl-small.png']")),
                images -> !images.isEmpty()).get(0);
        // Decoded, not a broken image: the PNG came through the API into the page.
        await().until(() -> ((JavascriptExecutor) browser).executeScript("return arguments[0].naturalWidth", plot),
                width -> ((Number) width).intValue() > 0);
        assertThat(browser.findElement(By.cssSelector(".charts")).isDisplayed()).isFalse();
        assertThat(browser.findElement(By.id("artifacts")).getText()).contains("eval-results/ppl-small.json");
        saveScreenshot("dashboard-evaluation.png");
    }

    @Test
    void theServicesValidationMessagesShowBesideTheFieldsTheyName() throws IOException {
        browser.findElement(By.cssSelector("#kind option[value='TRAIN']")).click();
        type("f-train-model", "no-such-model");
        type("f-train-maxTrainSteps", "0");
        browser.findElement(By.id("submit-job")).click();

        WebElement model = browser.findElement(By.cssSelector("[data-error-for='train.model']"));
        await().until(model::isDisplayed);
        assertThat(model.getText()).contains("'no-such-model' is neither a preset");
        assertThat(browser.findElement(By.cssSelector("[data-error-for='train.maxTrainSteps']")).getText())
                .isEqualTo("must be greater than or equal to 1");
        assertThat(browser.findElement(By.id("f-train-model")).getDomAttribute("aria-invalid")).isEqualTo("true");
        assertThat(browser.findElement(By.cssSelector("[data-error-for='train.seqLength']")).isDisplayed()).isFalse();
        assertThat(browser.findElements(By.cssSelector(".submit-result a"))).isEmpty();
        saveScreenshot("dashboard-validation.png");
    }

    /** The dry run of PlanControllerTest, through the form: the planner's numbers, and its choice filled in. */
    @Test
    void checkMemoryShowsATrainingsPeakPerGpuAndAutoMemorysChoiceWithoutSubmitting() throws IOException {
        browser.findElement(By.cssSelector("#kind option[value='TRAIN']")).click();
        type("f-gpus", "2");
        type("f-train-model", "small");
        type("f-train-seqLength", "65536");
        browser.findElement(By.cssSelector("#f-train-parallelMode option[value='zigzag_ring_attn']")).click();
        browser.findElement(By.id("check-memory")).click();

        WebElement run = await().until(() -> browser.findElements(By.cssSelector("#plan-result [data-run='train']")),
                runs -> !runs.isEmpty()).get(0);
        long peak = MemoryPlanner.estimate(TrainSpec.builder().model("small").devices("cpu:2")
                .parallelMode(ParallelMode.ZIGZAG_RING_ATTN).seqLength(65536).build().toTrainConfig()).total();
        assertThat(browser.findElement(By.id("plan-result")).getText())
                .contains("Pool 78.00 GiB per GPU", "Host memory for offloads: 112.00 GiB");
        assertThat(run.getDomAttribute("data-fits")).isEqualTo("true");
        assertThat(run.getText()).contains(
                "train: seqLength 65536 × batch 1, zigzag_ring_attn on 2 (dp 1 × ulysses 1 × ring 2)",
                "As given (zeroStage 0, optimizerOffload none, offloadCheckpoints 0, keptAttentionLayers 0): peak "
                        + gib(peak) + " of 78.00 GiB per GPU: fits",
                "parameters, gradients and optimizer state", "activation checkpoints and kept attention",
                "working set", "autoMemory would choose zeroStage 1, optimizerOffload none, offloadCheckpoints 0, "
                        + "keptAttentionLayers 4: peak ");
        saveScreenshot("dashboard-plan.png");

        run.findElement(By.cssSelector("button.use-choice")).click();

        assertThat(browser.findElement(By.id("f-train-zeroStage")).getDomProperty("value")).isEqualTo("1");
        assertThat(browser.findElement(By.id("f-train-optimizerOffload")).getDomProperty("value")).isEqualTo("none");
        assertThat(browser.findElement(By.id("f-train-offloadCheckpoints")).getDomProperty("value")).isEqualTo("0");
        assertThat(browser.findElement(By.id("f-train-keptAttentionLayers")).getDomProperty("value")).isEqualTo("4");
        // Checked again with the options filled in: now they are the ones given.
        await().until(() -> browser.findElement(By.cssSelector("#plan-result [data-run='train']")).getText(),
                text -> text.contains("As given (zeroStage 1, optimizerOffload none, offloadCheckpoints 0, "
                        + "keptAttentionLayers 4)"));
        assertThat(browser.findElements(By.cssSelector(".submit-result a"))).isEmpty();

        // A refusal shows as a submission's does: gpus 0 is the CPU backend, which the planner does not plan.
        type("f-gpus", "0");
        browser.findElement(By.id("check-memory")).click();
        WebElement gpus = browser.findElement(By.cssSelector("[data-error-for='gpus']"));
        await().until(gpus::isDisplayed);
        assertThat(gpus.getText()).startsWith("must be at least 1");
        assertThat(browser.findElement(By.id("plan-result")).isDisplayed()).isFalse();
        // The browser logs the 400 itself; nothing else went wrong (and reading the log empties it).
        assertThat(consoleErrors()).allSatisfy(error -> assertThat(error).contains("/api/plans", "400"));
    }

    /** The docs' example (api.md): 7B replicated on one GPU does not fit; autoMemory streams its optimizer state. */
    @Test
    void checkMemoryShowsTheRemedyWhereNothingFitsAsGivenAndSetsAutoMemory() {
        browser.findElement(By.cssSelector("#kind option[value='TRAIN']")).click();
        type("f-gpus", "1");
        type("f-train-model", "llama2-7b");
        type("f-train-seqLength", "32768");
        browser.findElement(By.id("check-memory")).click();

        WebElement run = await().until(() -> browser.findElements(By.cssSelector("#plan-result [data-run='train']")),
                runs -> !runs.isEmpty()).get(0);
        assertThat(run.getDomAttribute("data-fits")).isEqualTo("false");
        assertThat(run.getText()).contains("peak 111.51 GiB of 78.00 GiB per GPU: does not fit",
                "autoMemory would choose zeroStage 1, optimizerOffload gpu_stream, offloadCheckpoints 0, "
                        + "keptAttentionLayers 32: peak 44.21 GiB per GPU, 75.31 GiB host memory per rank");
        assertThat(run.findElement(By.cssSelector(".plan-remedy")).getText())
                .startsWith("the weights, gradients and optimizer state alone take 100.41 GiB");

        browser.findElement(By.cssSelector("#plan-result button.use-auto-memory")).click();

        assertThat(browser.findElement(By.id("f-train-autoMemory")).getDomProperty("value")).isEqualTo("true");
        await().until(() -> browser.findElement(By.cssSelector("#plan-result [data-run='train']")).getText(),
                text -> text.contains("111.51 GiB of 78.00 GiB per GPU: fits (with autoMemory)"));
        assertThat(browser.findElements(By.cssSelector(".submit-result a"))).isEmpty();
    }

    private static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
    }

    private String base() {
        return "http://localhost:" + port;
    }

    private static String summary(String key) {
        return browser.findElement(By.cssSelector(".summary dd[data-key='" + key + "']")).getText();
    }

    private static int chartPoints(String chart) {
        return Integer.parseInt(browser.findElement(By.cssSelector("[data-chart='" + chart + "'] svg"))
                .getDomAttribute("data-points"));
    }

    private void type(String inputId, String text) {
        WebElement input = browser.findElement(By.id(inputId));
        input.clear();
        input.sendKeys(text);
    }

    private static ConditionFactory await() {
        return Awaitility.await().atMost(TIMEOUT).pollInterval(Duration.ofMillis(100)).ignoreExceptions();
    }

    /** Every URL the page has fetched: the dashboard's files and API calls, and nothing from elsewhere. */
    @SuppressWarnings("unchecked")
    private static List<String> requestedUrls() {
        return (List<String>) ((JavascriptExecutor) browser).executeScript(
                "return performance.getEntriesByType('resource').map(e => e.name)"
                        + ".concat(performance.getEntriesByType('navigation').map(e => e.name));");
    }

    private static List<String> consoleErrors() {
        return browser.manage().logs().get(LogType.BROWSER).getAll().stream()
                .filter(entry -> entry.getLevel().intValue() >= Level.SEVERE.intValue())
                .map(LogEntry::getMessage)
                .toList();
    }

    private static void saveScreenshot(String name) throws IOException {
        Path dir = Path.of(System.getProperty("easycontext.test.screenshots", "target/screenshots"));
        Files.createDirectories(dir);
        Path file = dir.resolve(name);
        Files.copy(browser.getScreenshotAs(OutputType.FILE).toPath(), file, StandardCopyOption.REPLACE_EXISTING);
        assertThat(Files.readAllBytes(file)).startsWith((byte) 0x89, (byte) 'P', (byte) 'N', (byte) 'G');
    }
}
