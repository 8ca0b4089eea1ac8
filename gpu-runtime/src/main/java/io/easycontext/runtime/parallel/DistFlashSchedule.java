package io.easycontext.runtime.parallel;

/**
 * LightSeq's load-balanced schedule for causal attention over contiguous shards. Rank {@code r} of {@code W} owns
 * query and key/value chunk {@code r} and needs the {@code r} off-diagonal blocks {@code (r, j), j < r}: the last
 * rank needs {@code W−1}, the first none. Step 0 computes every diagonal block. At step {@code t = 1 … ⌊W/2⌋}:
 * <ul>
 *   <li>the blocks at distance {@code t}, {@code (o, o−t)} for {@code o ≥ t}, are computed by their owner {@code o},
 *       which receives key/value chunk {@code o−t};</li>
 *   <li>the blocks at distance {@code W−t}, {@code (o, o−(W−t))} for {@code o ≥ W−t}, are computed by the key/value
 *       owner {@code j = o−(W−t) < t}, which would otherwise be idle: it receives query chunk {@code o} and returns
 *       the partial {@code (out, lse)} (in backward: receives {@code q, dOut, out, lse} and returns {@code dq},
 *       keeping {@code dk, dv}).</li>
 * </ul>
 * When {@code W−t = t} (the last step of an even {@code W}) these are the same {@code W/2} blocks, and they are
 * {@link #split} by query rows, as in LightSeq: the owner {@code o} computes the first half of its rows against the
 * key/value chunk it receives, and the key/value owner {@code j = o−W/2} the second half, which it receives, against
 * its own. So every rank computes the same number of rows at every step, one block or (last step, even {@code W})
 * half of one, and the {@code W(W−1)/2} off-diagonal blocks take {@code ⌊W/2⌋} steps instead of the ring's
 * {@code W−1}. Any world size works. A chunk of odd length does not split in two; there the owners compute the whole
 * last-step blocks alone and the other half of the ranks waits.
 *
 * @param kvFrom rank whose key/value chunk this rank attends to for its own queries, or −1
 * @param kvTo   rank that receives this rank's key/value chunk, or −1
 * @param qFrom  rank whose queries this rank computes as a helper, or −1
 * @param qTo    rank that computes for this rank's queries as a helper, or −1
 * @param split  whether this step's blocks are shared by query rows: the owner computes its first half of rows
 *               (against {@code kvFrom}), the helper the second half of {@code qFrom}'s; {@code kvFrom = qTo} and
 *               {@code kvTo = qFrom} then
 */
record DistFlashSchedule(int kvFrom, int kvTo, int qFrom, int qTo, boolean split) {

    /** Steps after the diagonal one. */
    static int steps(int worldSize) {
        return worldSize / 2;
    }

    /** What rank {@code r} of {@code w} does at step {@code t ≥ 1}; {@code halves}: whether a chunk splits in two. */
    static DistFlashSchedule of(int r, int w, int t, boolean halves) {
        boolean split = halves && t == w - t;
        boolean helpersWork = t < w - t || split;
        return new DistFlashSchedule(
                r >= t ? r - t : -1,
                r + t < w ? r + t : -1,
                helpersWork && r < t ? r + w - t : -1,
                helpersWork && r >= w - t ? r - (w - t) : -1,
                split);
    }
}
