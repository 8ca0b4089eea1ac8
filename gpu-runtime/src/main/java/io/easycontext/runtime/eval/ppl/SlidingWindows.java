package io.easycontext.runtime.eval.ppl;

import io.easycontext.runtime.model.LlamaModel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;

/**
 * Cuts a document into the windows EasyContext's perplexity scores at one context length: windows of up to
 * {@code maxLength} tokens (BOS included, where the tokenizer has one) start every {@code stride} tokens, and each
 * scores only the tokens that no earlier window scored, each predicted from everything before it in its window. So
 * every token is scored once, with at least {@code maxLength − stride} tokens of context once the first window is
 * past. A stride longer than a window is cut to the window, where EasyContext would skip the tokens in between (as
 * its default stride of 256 does at 256 tokens, BOS taking one). With {@code truncate} a document is cut to one
 * window and the rest is dropped.
 */
public record SlidingWindows(int maxLength, int stride, boolean truncate, OptionalInt bos) {

    public SlidingWindows {
        int content = maxLength - (bos.isPresent() ? 1 : 0);
        if (content < 1 || stride < 1) {
            throw new IllegalArgumentException("windows of " + maxLength + " tokens every " + stride
                    + " leave no room for text");
        }
    }

    public List<Window> of(int[] document) {
        int content = maxLength - (bos.isPresent() ? 1 : 0);
        int[] doc = truncate && document.length > content ? Arrays.copyOf(document, content) : document;
        int step = truncate ? content : Math.min(stride, content);
        List<Window> windows = new ArrayList<>();
        int scoredUpTo = 0;
        for (int begin = 0; begin < doc.length; begin += step) {
            int end = Math.min(begin + content, doc.length);
            windows.add(window(doc, begin, end, end - scoredUpTo));
            scoredUpTo = end;
            if (end == doc.length) {
                break;
            }
        }
        return windows;
    }

    /** Tokens {@code [begin, end)} after BOS; the last {@code scored} of them are targets. */
    private Window window(int[] doc, int begin, int end, int scored) {
        int lead = bos.isPresent() ? 1 : 0;
        int[] ids = new int[lead + end - begin];
        if (lead == 1) {
            ids[0] = bos.getAsInt();
        }
        System.arraycopy(doc, begin, ids, lead, end - begin);
        int[] targets = new int[ids.length];
        Arrays.fill(targets, LlamaModel.IGNORE_INDEX);
        // Position i predicts ids[i + 1]; the first token of a document without BOS has nothing to be predicted from.
        for (int i = Math.max(0, ids.length - scored - 1); i < ids.length - 1; i++) {
            targets[i] = ids[i + 1];
        }
        return new Window(ids, targets);
    }
}
