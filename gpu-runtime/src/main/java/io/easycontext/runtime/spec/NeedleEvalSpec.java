package io.easycontext.runtime.spec;

import io.easycontext.runtime.eval.needle.NeedleNumbers;
import io.easycontext.runtime.eval.needle.NeedleTemplate;
import io.easycontext.runtime.parallel.ParallelMode;

import java.nio.file.Files;
import java.util.List;

/**
 * A needle-in-a-haystack evaluation ({@code eval-needle}): a random number is hidden at several depths of
 * haystacks of several lengths, and the model is asked for it. Fields left null take the command's defaults.
 *
 * @param minContextLength the shortest haystack, in tokens
 * @param contextInterval the step from one haystack length to the next, in tokens
 * @param depthInterval the step from one needle depth to the next, as a fraction of the haystack
 * @param numSamples how many needles per length and depth
 * @param rndNumberDigits how many digits the hidden number has
 * @param numDistractor how many other numbers are hidden as distractors
 * @param haystackDir a directory of text files to build haystacks from; null uses the runtime's own
 * @param template the needle's wording: {@code magic-number} (EasyContext's) or {@code passkey}
 */
public record NeedleEvalSpec(
        String model,
        Integer minContextLength,
        Integer maxContextLength,
        Integer contextInterval,
        Double depthInterval,
        Integer numSamples,
        Integer rndNumberDigits,
        Integer numDistractor,
        String haystackDir,
        String template,
        String tokenizer,
        Double ropeTheta,
        String devices,
        ParallelMode parallelMode,
        Integer ulyssesDegree,
        Integer ringDegree,
        String dtype,
        Long seed,
        Boolean plot) implements EvalSpec {

    public NeedleEvalSpec {
        minContextLength = minContextLength == null ? 1000 : minContextLength;
        maxContextLength = maxContextLength == null ? 4000 : maxContextLength;
        contextInterval = contextInterval == null ? 1000 : contextInterval;
        depthInterval = depthInterval == null ? 0.1 : depthInterval;
        numSamples = numSamples == null ? 1 : numSamples;
        rndNumberDigits = rndNumberDigits == null ? 7 : rndNumberDigits;
        numDistractor = numDistractor == null ? 0 : numDistractor;
        template = template == null ? NeedleTemplate.MAGIC_NUMBER.name() : template;
        devices = EvalFields.devices(devices);
        parallelMode = EvalFields.parallelMode(parallelMode, devices);
        dtype = EvalFields.dtype(dtype);
        seed = EvalFields.seed(seed);
        plot = EvalFields.plot(plot);
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public List<Violation> validate() {
        Checks checks = new Checks();
        EvalFields.check(checks, this);
        checks.atLeast("minContextLength", minContextLength, 1);
        checks.atLeast("contextInterval", contextInterval, 1);
        checks.ordered("minContextLength", minContextLength, "maxContextLength", maxContextLength);
        checks.greaterThan("depthInterval", depthInterval, 0);
        checks.atMost("depthInterval", depthInterval, 1);
        checks.atLeast("numSamples", numSamples, 1);
        checks.atLeast("numDistractor", numDistractor, 0);
        checks.maxLength("haystackDir", haystackDir, TrainSpec.MAX_PATH);
        if (haystackDir != null && !EvalFields.isPath(haystackDir, Files::isDirectory)) {
            checks.reject("haystackDir", "must be a directory of .txt files, not '" + haystackDir + "'");
        }
        try {
            NeedleTemplate t = NeedleTemplate.named(template);
            // A template whose numbers repeat no digit has only ten digits to use.
            checks.atLeast("rndNumberDigits", rndNumberDigits, 1);
            checks.atMost("rndNumberDigits", rndNumberDigits, t.distinctDigits() ? 10 : NeedleNumbers.MAX_DIGITS);
        } catch (IllegalArgumentException e) {
            checks.reject("template", e.getMessage());
        }
        return checks.violations();
    }

    @Override
    public List<List<String>> commandLines() {
        return List.of(EvalFields.render(CommandLine.of("eval-needle")
                .flag("model", model)
                .flag("minContextLength", minContextLength)
                .flag("maxContextLength", maxContextLength)
                .flag("contextInterval", contextInterval)
                .flag("depthInterval", depthInterval)
                .flag("numSamples", numSamples)
                .flag("rndNumberDigits", rndNumberDigits)
                .flag("numDistractor", numDistractor)
                .flag("haystackDir", haystackDir)
                .flag("template", template), this)
                .args());
    }

    /** For code that sets a few fields: tests, clients in Java. */
    public static final class Builder extends EvalSpecBuilder<Builder> {
        private Integer minContextLength;
        private Integer maxContextLength;
        private Integer contextInterval;
        private Double depthInterval;
        private Integer numSamples;
        private Integer rndNumberDigits;
        private Integer numDistractor;
        private String haystackDir;
        private String template;

        private Builder() {
        }

        public Builder minContextLength(Integer v) { minContextLength = v; return this; }
        public Builder maxContextLength(Integer v) { maxContextLength = v; return this; }
        public Builder contextInterval(Integer v) { contextInterval = v; return this; }
        public Builder depthInterval(Double v) { depthInterval = v; return this; }
        public Builder numSamples(Integer v) { numSamples = v; return this; }
        public Builder rndNumberDigits(Integer v) { rndNumberDigits = v; return this; }
        public Builder numDistractor(Integer v) { numDistractor = v; return this; }
        public Builder haystackDir(String v) { haystackDir = v; return this; }
        public Builder template(String v) { template = v; return this; }

        @Override
        public NeedleEvalSpec build() {
            return new NeedleEvalSpec(model, minContextLength, maxContextLength, contextInterval, depthInterval,
                    numSamples, rndNumberDigits, numDistractor, haystackDir, template, tokenizer, ropeTheta, devices,
                    parallelMode, ulyssesDegree, ringDegree, dtype, seed, plot);
        }
    }
}
