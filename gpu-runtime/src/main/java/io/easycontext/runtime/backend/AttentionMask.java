package io.easycontext.runtime.backend;

/** The two masks a block of attention needs: a diagonal block of a causal sequence, or a block wholly in the past. */
public enum AttentionMask {
    /** Query block and key block cover the same positions: key j is visible to query i iff j ≤ i. */
    CAUSAL_DIAGONAL,
    /** Every key of the block precedes every query of the block: nothing masked. */
    FULL
}
