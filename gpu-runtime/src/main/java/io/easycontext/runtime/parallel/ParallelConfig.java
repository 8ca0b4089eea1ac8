package io.easycontext.runtime.parallel;

/**
 * How a world of ranks is divided: {@code world = dp × sp} and, inside each sequence-parallel group,
 * {@code sp = ulysses × ring}. Every mode is a special case: data_parallel has {@code sp = 1}; ring_attn,
 * zigzag_ring_attn and dist_flash_attn have {@code ulysses = 1}; ulysses_attn has {@code ring = 1}.
 *
 * <p>{@link #resolve} checks the group arithmetic and {@link #validate} the constraints of the model and the
 * sequence; both run before any work and name the constraint and the numbers when it does not hold.
 */
public record ParallelConfig(ParallelMode mode, int worldSize, int dpDegree, int ulyssesDegree, int ringDegree) {

    static final String AUTO_UNRESOLVED = "parallel mode auto is a training's to choose (train, plan and training "
            + "jobs); give a mode here";

    /** Marks a degree the user did not give. */
    public static final int UNSET = 0;

    public ParallelConfig {
        if (mode == ParallelMode.AUTO) {
            throw new ParallelConfigException(AUTO_UNRESOLVED);
        }
        if (worldSize < 1 || dpDegree < 1 || ulyssesDegree < 1 || ringDegree < 1
                || worldSize != dpDegree * ulyssesDegree * ringDegree) {
            throw new ParallelConfigException("inconsistent parallel degrees: world " + worldSize + ", dp " + dpDegree
                    + ", ulysses " + ulyssesDegree + ", ring " + ringDegree + " (world must be dp × ulysses × ring)");
        }
    }

    /** Ranks that share one sequence. */
    public int spDegree() {
        return ulyssesDegree * ringDegree;
    }

    /** The sequence layout inside a ring: zigzag chunks or contiguous shards. */
    public boolean zigzag() {
        return mode == ParallelMode.ZIGZAG_RING_ATTN || mode == ParallelMode.USP_ATTN;
    }

    /**
     * Fills in the degrees the user left {@link #UNSET} and checks that they multiply up to the world size.
     * {@code dp} defaults to the world for data_parallel and to what the sequence-parallel degrees leave otherwise;
     * usp_attn needs at least one of {@code ulysses} and {@code ring}.
     */
    public static ParallelConfig resolve(ParallelMode mode, int worldSize, int dp, int ulysses, int ring) {
        if (worldSize < 1) {
            throw new ParallelConfigException("the world size must be at least 1, not " + worldSize);
        }
        requireNonNegative("dp_degree", dp);
        requireNonNegative("ulysses_degree", ulysses);
        requireNonNegative("ring_degree", ring);
        if (dp != UNSET && worldSize % dp != 0) {
            throw new ParallelConfigException("world size (" + worldSize + ") is not divisible by dp_degree (" + dp + ")");
        }
        return switch (mode) {
            case DATA_PARALLEL -> {
                requireOneOrUnset(mode, "--ulysses-degree", ulysses);
                requireOneOrUnset(mode, "--ring-degree", ring);
                if (dp != UNSET && dp != worldSize) {
                    throw new ParallelConfigException("data_parallel makes every rank data-parallel: dp_degree (" + dp
                            + ") must equal the world size (" + worldSize + ")");
                }
                yield new ParallelConfig(mode, worldSize, worldSize, 1, 1);
            }
            case RING_ATTN, ZIGZAG_RING_ATTN, DIST_FLASH_ATTN -> {
                requireOneOrUnset(mode, "--ulysses-degree", ulysses);
                int sp = dp == UNSET ? (ring == UNSET ? worldSize : ring) : worldSize / dp;
                checkProduct(mode, worldSize, dp, "ring_degree", ring, sp);
                yield new ParallelConfig(mode, worldSize, worldSize / sp, 1, sp);
            }
            case ULYSSES_ATTN -> {
                requireOneOrUnset(mode, "--ring-degree", ring);
                int sp = dp == UNSET ? (ulysses == UNSET ? worldSize : ulysses) : worldSize / dp;
                checkProduct(mode, worldSize, dp, "ulysses_degree", ulysses, sp);
                yield new ParallelConfig(mode, worldSize, worldSize / sp, sp, 1);
            }
            case USP_ATTN -> resolveUsp(worldSize, dp, ulysses, ring);
            case AUTO -> throw new ParallelConfigException(AUTO_UNRESOLVED);
        };
    }

    private static ParallelConfig resolveUsp(int worldSize, int dp, int ulysses, int ring) {
        if (ulysses == UNSET && ring == UNSET) {
            throw new ParallelConfigException("usp_attn needs --ulysses-degree or --ring-degree (or both)");
        }
        int sp;
        if (dp != UNSET) {
            sp = worldSize / dp;
        } else if (ulysses != UNSET && ring != UNSET) {
            sp = ulysses * ring;
            if (worldSize % sp != 0) {
                throw new ParallelConfigException("usp_attn needs world size (" + worldSize + ") divisible by ulysses_degree ("
                        + ulysses + ") × ring_degree (" + ring + ") = " + sp);
            }
        } else {
            sp = worldSize;
        }
        String spText = dp == UNSET || dp == 1 ? "world size (" + sp + ")"
                : "world size / dp_degree (" + worldSize + "/" + dp + "=" + sp + ")";
        if (ulysses == UNSET || ring == UNSET) {
            int given = ulysses == UNSET ? ring : ulysses;
            String name = ulysses == UNSET ? "ring_degree" : "ulysses_degree";
            if (sp % given != 0) {
                throw new ParallelConfigException("usp_attn needs " + spText + " divisible by " + name + " (" + given + ")");
            }
            if (ulysses == UNSET) {
                ulysses = sp / ring;
            } else {
                ring = sp / ulysses;
            }
        }
        if (ulysses * ring != sp) {
            throw new ParallelConfigException("usp_attn needs " + spText + " = ulysses_degree (" + ulysses
                    + ") × ring_degree (" + ring + ")");
        }
        return new ParallelConfig(ParallelMode.USP_ATTN, worldSize, worldSize / sp, ulysses, ring);
    }

    /** A single-degree mode: the degree, if given, must be the sequence-parallel size that dp leaves. */
    private static void checkProduct(ParallelMode mode, int worldSize, int dp, String name, int degree, int sp) {
        if (sp < 1 || worldSize % sp != 0) {
            throw new ParallelConfigException(mode + " needs world size (" + worldSize + ") divisible by " + name
                    + " (" + sp + ")");
        }
        if (degree != UNSET && degree != sp) {
            throw new ParallelConfigException(mode + " needs " + name + " (" + degree + ") = world size / dp_degree ("
                    + worldSize + "/" + dp + "=" + sp + ")");
        }
    }

    private static void requireOneOrUnset(ParallelMode mode, String flag, int degree) {
        if (degree != UNSET && degree != 1) {
            throw new ParallelConfigException(mode + " does not take " + flag + " (" + degree + "); only usp_attn combines "
                    + "Ulysses and ring degrees");
        }
    }

    private static void requireNonNegative(String name, int degree) {
        if (degree < 0) {
            throw new ParallelConfigException(name + " must be positive, not " + degree);
        }
    }

    /**
     * The constraints of the mode on the model and the sequence: shards of equal length, and heads that split
     * evenly over the Ulysses degree (query heads and, with grouped-query attention, key/value heads too, so that
     * every rank keeps whole query groups with their kv head).
     */
    public void validate(int seqLength, int numHeads, int numKvHeads) {
        if (seqLength < 1) {
            throw new ParallelConfigException("seq_length must be positive, not " + seqLength);
        }
        if (numKvHeads < 1 || numHeads % numKvHeads != 0) {
            throw new ParallelConfigException("num_attention_heads (" + numHeads
                    + ") must be a multiple of num_key_value_heads (" + numKvHeads + ")");
        }
        int sp = spDegree();
        switch (mode) {
            case DATA_PARALLEL -> {
            }
            case RING_ATTN, DIST_FLASH_ATTN -> requireDivisible(seqLength, sp,
                    mode + " needs seq_length divisible by the sequence-parallel size (" + sp + ")");
            case ZIGZAG_RING_ATTN -> requireDivisible(seqLength, 2 * sp,
                    mode + " needs seq_length divisible by 2 × ring size (2×" + sp + "=" + 2 * sp + ")");
            case ULYSSES_ATTN -> {
                requireHeads(numKvHeads);
                requireDivisible(seqLength, sp, mode + " needs seq_length divisible by the Ulysses degree (" + sp + ")");
            }
            case USP_ATTN -> {
                requireHeads(numKvHeads);
                requireDivisible(seqLength, 2 * ringDegree, mode + " needs seq_length divisible by 2 × ring_degree (2×"
                        + ringDegree + "=" + 2 * ringDegree + ")");
                int perRing = seqLength / ringDegree;
                if (perRing % ulyssesDegree != 0) {
                    throw new ParallelConfigException(mode + " needs seq_length / ring_degree (" + seqLength + "/"
                            + ringDegree + "=" + perRing + ") divisible by the Ulysses degree (" + ulyssesDegree + ")");
                }
            }
        }
    }

    /** Query heads are a multiple of kv heads (checked above), so kv heads dividing evenly is enough. */
    private void requireHeads(int numKvHeads) {
        if (numKvHeads % ulyssesDegree != 0) {
            throw new ParallelConfigException(mode + " needs num_key_value_heads (" + numKvHeads
                    + ") divisible by the Ulysses degree (" + ulyssesDegree + ")");
        }
    }

    private static void requireDivisible(int seqLength, int by, String constraint) {
        if (seqLength % by != 0) {
            throw new ParallelConfigException(constraint + ": " + seqLength + " is not");
        }
    }

    @Override
    public String toString() {
        return mode + " (world " + worldSize + " = dp " + dpDegree + " × ulysses " + ulyssesDegree + " × ring "
                + ringDegree + ")";
    }
}
