package io.easycontext.runtime.eval.needle;

import java.util.ArrayList;
import java.util.List;

/**
 * The cells of a needle test: context lengths from {@code minLength} to {@code maxLength} in steps of
 * {@code lengthStep}, and depths from 0 in steps of {@code depthStep} up to 1 (a last step that would pass 1 stops
 * at 1, where EasyContext's {@code arange} would go past the end of the haystack).
 */
public record NeedleGrid(int minLength, int maxLength, int lengthStep, double depthStep) {

    public NeedleGrid {
        if (minLength < 1 || maxLength < minLength || lengthStep < 1) {
            throw new IllegalArgumentException("context lengths from " + minLength + " to " + maxLength + " by "
                    + lengthStep + " make no grid");
        }
        if (!(depthStep > 0 && depthStep <= 1)) {
            throw new IllegalArgumentException("the depth interval must be within (0, 1], not " + depthStep);
        }
    }

    public List<Integer> lengths() {
        List<Integer> lengths = new ArrayList<>();
        for (int n = minLength; n <= maxLength; n += lengthStep) {
            lengths.add(n);
        }
        return lengths;
    }

    public List<Double> depths() {
        List<Double> depths = new ArrayList<>();
        // Multiplying rather than adding keeps 0.1 steps on 0.3, 0.7, … instead of accumulating rounding.
        for (int i = 0; i * depthStep < 1 + 1e-9; i++) {
            depths.add(Math.min(1, i * depthStep));
        }
        if (depths.get(depths.size() - 1) < 1 - 1e-9) {
            depths.add(1.0);
        }
        return depths;
    }
}
