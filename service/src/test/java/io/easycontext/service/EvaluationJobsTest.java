package io.easycontext.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import javax.imageio.ImageIO;

import io.easycontext.service.testsupport.CommandLineRun;
import io.easycontext.service.testsupport.ServiceClient;
import io.easycontext.service.testsupport.ServiceOverHttp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import tools.jackson.databind.JsonNode;

/**
 * Evaluation jobs over HTTP on the CPU backend, with the {@code small} preset (its vocabulary holds the byte
 * tokenizer's ids) on short contexts: they succeed, count their cells or lengths, write the results the job's
 * command line writes, and stop between two cells when cancelled.
 */
class EvaluationJobsTest extends ServiceOverHttp {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    @Test
    void aNeedleTestSucceedsWithTheHeatMapAndTheResultsOfItsCommandLine(@TempDir Path cli) throws IOException {
        String id = client.submitted("""
                {"kind": "EVAL_NEEDLE", "evalNeedle": {"model": "small", "minContextLength": 64,
                  "maxContextLength": 128, "contextInterval": 64, "depthInterval": 0.5, "numSamples": 1}}""");

        JsonNode job = client.awaitState(id, TIMEOUT, "SUCCEEDED", "FAILED");

        assertThat(job.get("state").asString()).as(job.toString()).isEqualTo("SUCCEEDED");
        assertThat(job.get("message").asString()).startsWith("6 cells; average accuracy ");
        assertProgress(job, 6, "cells");
        assertThat(listing(id)).contains("\"name\":\"eval-results/needle-small.json\"",
                "\"name\":\"eval-results/needle-small.csv\"", "\"name\":\"eval-results/needle-small.png\"");
        assertValidPng(download(id, "eval-results/needle-small.png"));

        CommandLineRun.in(cli, job.get("commandLines").get(0).asString());
        for (String file : new String[]{"needle-small.json", "needle-small.csv", "needle-small.png"}) {
            assertThat(download(id, "eval-results/" + file)).as(file)
                    .isEqualTo(Files.readAllBytes(cli.resolve("eval-results").resolve(file)));
        }
    }

    @Test
    void aPerplexityEvaluationSucceedsWithThePlotAndTheResultsOfItsCommandLine(@TempDir Path cli)
            throws IOException {
        String id = client.submitted("""
                {"kind": "EVAL_PERPLEXITY", "evalPerplexity": {"model": "small", "minTokens": 32, "maxTokens": 128,
                  "slidingWindow": 32, "devices": "cpu:2"}}""");

        JsonNode job = client.awaitState(id, TIMEOUT, "SUCCEEDED", "FAILED");

        assertThat(job.get("state").asString()).as(job.toString()).isEqualTo("SUCCEEDED");
        assertThat(job.get("message").asString()).startsWith("3 lengths; perplexity ").endsWith(" at 128 tokens");
        assertProgress(job, 3, "lengths");
        assertThat(listing(id)).contains("\"name\":\"eval-results/ppl-small.json\"",
                "\"name\":\"eval-results/ppl-small.csv\"", "\"name\":\"eval-results/ppl-small.png\"");
        assertValidPng(download(id, "eval-results/ppl-small.png"));

        String commandLine = job.get("commandLines").get(0).asString();
        assertThat(commandLine).contains("--devices cpu:2 --parallel-mode zigzag_ring_attn");
        CommandLineRun.in(cli, commandLine);
        for (String file : new String[]{"ppl-small.json", "ppl-small.csv", "ppl-small.png"}) {
            assertThat(download(id, "eval-results/" + file)).as(file)
                    .isEqualTo(Files.readAllBytes(cli.resolve("eval-results").resolve(file)));
        }
    }

    @Test
    void aCancelledNeedleTestStopsBetweenTwoCells() {
        String id = client.submitted("""
                {"kind": "EVAL_NEEDLE", "evalNeedle": {"model": "small", "minContextLength": 128,
                  "maxContextLength": 4096, "contextInterval": 128, "depthInterval": 0.1}}""");
        client.awaitJob(id, TIMEOUT, job -> !job.get("progress").isNull() && job.get("progress").get("done").asLong() > 0);

        ResponseEntity<String> cancel = client.cancel(id);

        assertThat(cancel.getStatusCode()).isEqualTo(HttpStatus.OK);
        JsonNode cancelled = client.awaitState(id, TIMEOUT, "CANCELLED");
        assertThat(cancelled.get("message").asString()).matches("cancelled after \\d+ of 352 cells");
        assertThat(listing(id)).doesNotContain("eval-results");
    }

    @Test
    void aSpecThatTheByteTokenizerCannotServeIsRefused() {
        ResponseEntity<String> tiny = client.submit("""
                {"kind": "EVAL_PERPLEXITY", "evalPerplexity": {"model": "tiny"}}""");

        assertThat(tiny.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat(ServiceClient.json(tiny.getBody()).get("detail").asString()).isEqualTo("evalPerplexity.tokenizer: "
                + "bytes need 258 ids, more than the model's vocabulary of 256; give a model whose vocabulary holds "
                + "them, or a tokenizer");
    }

    private static void assertProgress(JsonNode job, long total, String unit) {
        JsonNode progress = job.get("progress");
        assertThat(progress.get("done").asLong()).isEqualTo(total);
        assertThat(progress.get("total").asLong()).isEqualTo(total);
        assertThat(progress.get("unit").asString()).isEqualTo(unit);
        assertThat(progress.get("peakMemoryBytes").asLong()).isPositive();
        assertThat(progress.get("step").isNull()).isTrue();
    }

    private static void assertValidPng(byte[] png) throws IOException {
        assertThat(png).startsWith(PNG_SIGNATURE);
        assertThat(ImageIO.read(new ByteArrayInputStream(png)).getWidth()).isPositive();
    }
}
