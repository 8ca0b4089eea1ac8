package io.easycontext.runtime.eval.needle;

import io.easycontext.runtime.eval.text.Haystack;
import io.easycontext.runtime.tokenizer.Tokenizer;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Everything a needle test is defined by, EasyContext's flags and this project's template and seed.
 *
 * @param haystackDir a directory of {@code .txt} files, or null for the built-in filler
 */
public record NeedleSettings(NeedleGrid grid, int numSamples, int rndNumberDigits, int numDistractor,
                             Path haystackDir, NeedleTemplate template, long seed) {

    /** The test for {@code tokenizer}'s ids, with its haystack loaded and its numbers drawn. */
    public NeedleEvaluation evaluation(Tokenizer tokenizer) {
        Haystack haystack = haystackDir == null ? Haystack.filler(tokenizer, grid.maxLength())
                : Haystack.fromDirectory(haystackDir, tokenizer, grid.maxLength());
        return new NeedleEvaluation(new PromptBuilder(tokenizer, template, haystack), grid,
                NeedleNumbers.draw(seed, rndNumberDigits, template.distinctDigits(), numSamples, numDistractor), seed);
    }

    /** The settings under EasyContext's flag names, for a results file. */
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("min_context_length", grid.minLength());
        m.put("max_context_length", grid.maxLength());
        m.put("context_interval", grid.lengthStep());
        m.put("depth_interval", grid.depthStep());
        m.put("num_samples", numSamples);
        m.put("rnd_number_digits", rndNumberDigits);
        m.put("num_distractor", numDistractor);
        m.put("haystack", haystackDir == null ? "built-in filler" : haystackDir.toString());
        m.put("template", template.name());
        m.put("seed", seed);
        return m;
    }
}
