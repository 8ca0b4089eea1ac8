package io.easycontext.runtime.parallel;

import io.easycontext.runtime.backend.AttentionMask;

/**
 * The causal mask between two chunks of one sequence, by their global chunk indices: a query chunk sees an earlier
 * key chunk fully, its own chunk causally, and a later chunk not at all. Every mode's schedule reduces to this rule.
 */
final class ChunkMask {

    private ChunkMask() {
    }

    /** The mask of block (query chunk, key chunk), or {@code null} when the keys all lie in the future. */
    static AttentionMask of(int queryChunk, int keyChunk) {
        if (keyChunk < queryChunk) {
            return AttentionMask.FULL;
        }
        return keyChunk == queryChunk ? AttentionMask.CAUSAL_DIAGONAL : null;
    }
}
