package io.easycontext.runtime.spec;

import java.util.List;

/**
 * A needle-in-a-haystack evaluation ({@code eval-needle}): a random number is hidden at several depths of
 * haystacks of several lengths, and the model is asked for it.
 *
 * @param contextInterval the step from one haystack length to the next, in tokens
 * @param depthInterval the step from one needle depth to the next, as a fraction of the haystack
 * @param numSamples how many needles per length and depth
 * @param rndNumberDigits how many digits the hidden number has
 * @param numDistractor how many other numbers are hidden as distractors
 * @param haystackDir a directory of text files to build haystacks from; null uses the runtime's own
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
        String haystackDir) implements RunSpec {

    public NeedleEvalSpec {
        depthInterval = depthInterval == null ? 0.1 : depthInterval;
        numSamples = numSamples == null ? 1 : numSamples;
        rndNumberDigits = rndNumberDigits == null ? 7 : rndNumberDigits;
        numDistractor = numDistractor == null ? 0 : numDistractor;
    }

    @Override
    public List<Violation> validate() {
        Checks checks = new Checks();
        checks.notBlank("model", model);
        checks.maxLength("model", model, TrainSpec.MAX_PATH);
        required(checks, "minContextLength", minContextLength);
        required(checks, "maxContextLength", maxContextLength);
        required(checks, "contextInterval", contextInterval);
        checks.ordered("minContextLength", minContextLength, "maxContextLength", maxContextLength);
        checks.greaterThan("depthInterval", depthInterval, 0);
        if (depthInterval != null && depthInterval > 1) {
            checks.reject("depthInterval", "must be less than or equal to 1");
        }
        checks.atLeast("numSamples", numSamples, 1);
        // Any 18-digit number fits in a long, whichever runtime draws it.
        checks.atLeast("rndNumberDigits", rndNumberDigits, 1);
        checks.atMost("rndNumberDigits", rndNumberDigits, 18);
        checks.atLeast("numDistractor", numDistractor, 0);
        checks.maxLength("haystackDir", haystackDir, TrainSpec.MAX_PATH);
        return checks.violations();
    }

    static void required(Checks checks, String field, Integer value) {
        if (value == null) {
            checks.reject(field, "must not be null");
        } else {
            checks.atLeast(field, value, 1);
        }
    }

    @Override
    public List<List<String>> commandLines() {
        return List.of(CommandLine.of("eval-needle")
                .flag("model", model)
                .flag("minContextLength", minContextLength)
                .flag("maxContextLength", maxContextLength)
                .flag("contextInterval", contextInterval)
                .flag("depthInterval", depthInterval)
                .flag("numSamples", numSamples)
                .flag("rndNumberDigits", rndNumberDigits)
                .flag("numDistractor", numDistractor)
                .flag("haystackDir", haystackDir)
                .args());
    }
}
