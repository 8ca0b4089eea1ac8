package io.easycontext.runtime.comm;

/** How a reducing collective combines the ranks' values, element by element. */
public enum ReduceOp {
    /** The sum, added in rank order. */
    SUM,
    /** The sum in rank order, then divided by the group size. */
    AVG,
    /** The largest value. */
    MAX
}
