package io.easycontext.runtime.eval.needle;

/**
 * The result of one cell of the grid.
 *
 * @param contextLength haystack tokens
 * @param depth         where the needle was, from 0 to 1
 * @param score         the fraction of samples whose answer the model predicted
 */
public record CellScore(int contextLength, double depth, double score, int samples) {

    /** The depth in whole percent, as the heat map's rows are labelled. */
    public int depthPercent() {
        return (int) Math.round(depth * 100);
    }
}
