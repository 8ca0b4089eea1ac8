package io.easycontext.service.job.spec;

import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import jakarta.validation.constraints.PositiveOrZero;
import jakarta.validation.constraints.Size;

/**
 * A needle-in-a-haystack evaluation: a random number is hidden at several depths of haystacks of several lengths,
 * and the model is asked for it.
 *
 * @param contextInterval the step from one haystack length to the next, in tokens
 * @param depthInterval the step from one needle depth to the next, as a fraction of the haystack
 * @param numSamples how many needles per length and depth
 * @param rndNumberDigits how many digits the hidden number has
 * @param numDistractor how many other numbers are hidden as distractors
 * @param haystackDir a directory of text files to build haystacks from; null uses the runtime's own
 */
@RangeOrder(min = "minContextLength", max = "maxContextLength")
public record NeedleEvalSpec(
        @NotBlank @Size(max = 1024) String model,
        @NotNull @Min(1) Integer minContextLength,
        @NotNull @Min(1) Integer maxContextLength,
        @NotNull @Min(1) Integer contextInterval,
        @Positive @DecimalMax("1.0") Double depthInterval,
        @Min(1) Integer numSamples,
        // Any 18-digit number fits in a long, whichever runtime draws it.
        @Min(1) @Max(18) Integer rndNumberDigits,
        @PositiveOrZero Integer numDistractor,
        @Size(max = 1024) String haystackDir) implements KindSpec {

    public NeedleEvalSpec {
        depthInterval = depthInterval == null ? 0.1 : depthInterval;
        numSamples = numSamples == null ? 1 : numSamples;
        rndNumberDigits = rndNumberDigits == null ? 7 : rndNumberDigits;
        numDistractor = numDistractor == null ? 0 : numDistractor;
    }
}
