package io.easycontext.runtime.optim.zero;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.comm.ReduceOp;
import io.easycontext.runtime.model.FlatLayout;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.model.Parameter;
import io.easycontext.runtime.model.ParameterUnits;
import io.easycontext.runtime.model.UnitLayout;
import io.easycontext.runtime.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One rank's parameters under ZeRO stage 2 or 3, laid out in units ({@link UnitLayout}), and the
 * {@link ParameterUnits} through which the model reaches them.
 *
 * <p><b>Stage 2.</b> Every rank keeps every value (bf16 on a GPU) in one buffer of the whole model, but no gradient of
 * the whole model: a unit's gradients accumulate in a buffer of the unit's size from the first backward use of the
 * unit to its last, which then reduce-scatters them into this rank's gradient shard and frees the buffer (the pool
 * hands the same memory to the next unit: a rotating per-layer buffer). The optimizer updates the rank's shard of
 * each unit in place in the whole buffer, and one in-place all-gather per unit hands every rank the new values.
 *
 * <p><b>Stage 3.</b> Values are sharded too: the rank's value shard is all it keeps. Before a unit's forward, its
 * recompute and its backward the ranks all-gather the unit into a buffer of its own, freed once the unit is done;
 * the next unit's gather is started before the current unit computes ({@link Communicator#allGatherAsync}), so at
 * most two gathered units exist at once (three around the loss, where the tiny final norm joins).
 *
 * <p>With more than one micro-batch a unit's shard receives one reduced sum per micro-batch, added in order; with
 * one micro-batch the reduce-scatter writes it directly. Over the in-process communicator, which sums in rank order
 * and rounds once, a one-micro-batch step's reduced gradients are bit for bit those of stages 0 and 1.
 */
public final class ShardedParameters implements ParameterUnits, ShardStore, AutoCloseable {

    private final Backend backend;
    private final Communicator world;
    private final LlamaConfig config;
    private final UnitLayout layout;
    private final int stage;
    private final int rank;
    private final Tensor valueShard;
    private final Tensor gradShard;
    /** Stage 2: every value; null under stage 3. */
    private final Tensor whole;
    private final LlamaWeights wholeWeights;
    /** Stage 3: each unit's gathered values while it is in use, or in flight. */
    private final Tensor[] gathered;
    private final Communicator.Pending[] inFlight;
    /** Each unit's gradients from its first backward use to its reduction. */
    private final Tensor[] grads;
    /** Whether the unit's shard already holds a reduced sum this step. */
    private final boolean[] reduced;
    private final RankShard shard;

    private ShardedParameters(Backend backend, Communicator world, LlamaConfig config, int stage) {
        if (stage != 2 && stage != 3) {
            throw new IllegalArgumentException("sharded parameters are ZeRO stage 2 or 3, not " + stage);
        }
        this.backend = backend;
        this.world = world;
        this.config = config;
        this.layout = UnitLayout.of(config, world.size());
        this.stage = stage;
        this.rank = world.rank();
        int units = layout.units().size();
        this.gathered = new Tensor[units];
        this.inFlight = new Communicator.Pending[units];
        this.grads = new Tensor[units];
        this.reduced = new boolean[units];
        this.valueShard = stage == 3
                ? backend.zeros(backend.floatType(), FlatLayout.shapeOf(layout.shardSize())) : null;
        this.gradShard = backend.zeros(backend.floatType(), FlatLayout.shapeOf(layout.shardSize()));
        if (stage == 2) {
            whole = backend.zeros(backend.floatType(), FlatLayout.shapeOf(layout.size()));
            List<Parameter> params = new ArrayList<>();
            for (UnitLayout.Unit u : layout.units()) {
                params.addAll(parameters(u, view(whole, u.offset(), u.size()), null));
            }
            wholeWeights = LlamaWeights.views(config, reorder(params));
        } else {
            whole = null;
            wholeWeights = null;
        }
        List<ShardPiece> pieces = new ArrayList<>();
        for (UnitLayout.Unit u : layout.units()) {
            pieces.addAll(ShardPiece.of(u.layout(), rank, u.shardOffset()));
        }
        this.shard = new RankShard(layout.shards(), rank, layout.fingerprint(),
                stage == 3 ? ShardValues.in(backend, valueShard) : this::inWhole, gradShard, pieces);
    }

    /**
     * This rank's part of a model's parameters sharded over {@code world} under ZeRO {@code stage} (2 or 3), each
     * parameter's values filled by {@code loader} (see {@link LlamaWeights#initializer}). Every rank must fill the
     * same values. Under stage 3 no rank ever holds more than one whole unit while loading.
     */
    public static ShardedParameters create(Backend backend, Communicator world, LlamaConfig config, int stage,
                                           LlamaWeights.Loader loader) {
        ShardedParameters p = new ShardedParameters(backend, world, config, stage);
        try {
            p.load(loader);
            return p;
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
    }

    /** The parameters in {@link LlamaWeights#layout} order (the units hold them in that order already). */
    private List<Parameter> reorder(List<Parameter> params) {
        List<Parameter> out = new ArrayList<>();
        for (String name : LlamaWeights.layout(config).keySet()) {
            for (Parameter p : params) {
                if (p.name().equals(name)) {
                    out.add(p);
                }
            }
        }
        return out;
    }

    private Tensor view(Tensor t, long offset, long n) {
        return backend.view(t, offset, FlatLayout.shapeOf(n));
    }

    /** The unit's parameters over {@code values} and {@code grads}, buffers of the unit's size (either may be null). */
    private List<Parameter> parameters(UnitLayout.Unit u, Tensor values, Tensor grads) {
        List<Parameter> params = new ArrayList<>();
        for (FlatLayout.Span s : u.layout().spans()) {
            params.add(new Parameter(s.name(), values == null ? null : backend.view(values, s.offset(), s.shape()),
                    grads == null ? null : backend.view(grads, s.offset(), s.shape())));
        }
        return params;
    }

    /** This rank's shard of unit {@code u} in a buffer of the unit's size. */
    private Tensor shardOf(UnitLayout.Unit u, Tensor unitBuffer) {
        return view(unitBuffer, u.layout().shardStart(rank), u.shardSize());
    }

    private Tensor valueShard(UnitLayout.Unit u) {
        return view(valueShard, u.shardOffset(), u.shardSize());
    }

    private Tensor gradShard(UnitLayout.Unit u) {
        return view(gradShard, u.shardOffset(), u.shardSize());
    }

    /**
     * Overwrites every parameter's value with what {@code loader} fills it with. Not collective: every rank fills its
     * own, and must fill the same values. Under stage 3 each unit is filled in a buffer of its own, whose shard this
     * rank keeps.
     */
    public void load(LlamaWeights.Loader loader) {
        for (UnitLayout.Unit u : layout.units()) {
            if (stage == 2) {
                for (Parameter p : parameters(u, view(whole, u.offset(), u.size()), null)) {
                    loader.fill(p.name(), p.value());
                }
            } else {
                try (Tensor unit = backend.zeros(backend.floatType(), FlatLayout.shapeOf(u.size()))) {
                    for (Parameter p : parameters(u, unit, null)) {
                        loader.fill(p.name(), p.value());
                    }
                    backend.copy(shardOf(u, unit), valueShard(u));
                }
            }
        }
    }

    /** The ZeRO stage: 2 or 3. */
    public int stage() {
        return stage;
    }

    public UnitLayout layout() {
        return layout;
    }

    /** Stage 2: every parameter's value, resident on this rank (gradients are not). Stage 3 holds none whole. */
    public LlamaWeights residentWeights() {
        if (wholeWeights == null) {
            throw new IllegalStateException("ZeRO stage 3 keeps no rank's parameters whole; gather them");
        }
        return wholeWeights;
    }

    /**
     * Collective: every parameter's current value on the host of rank {@code root}, as weights of a CPU backend in
     * the training precision where it computes in F64, else F32 (which holds bf16 exactly); null on the other ranks.
     * The ranks gather one unit at a time, so a device never holds more than one unit beyond its shard.
     */
    public LlamaWeights gatherToHost(CpuBackend host, int root) {
        List<Parameter> params = new ArrayList<>();
        for (UnitLayout.Unit u : layout.units()) {
            try (Tensor unit = backend.allocate(backend.floatType(), FlatLayout.shapeOf(u.size()))) {
                world.allGather(valueShard(u), unit);
                if (rank == root) {
                    for (Parameter p : parameters(u, unit, null)) {
                        Tensor copy = host.allocate(host.floatType(), p.value().shape());
                        host.uploadDoubles(copy, backend.download(p.value()));
                        params.add(new Parameter(p.name(), copy, null));
                    }
                }
            }
        }
        return rank == root ? LlamaWeights.views(config, reorder(params)) : null;
    }

    // ---- ParameterUnits ----

    @Override
    public int embeddingUnit() {
        return layout.embedding();
    }

    @Override
    public int layerUnit(int l) {
        return layout.layer(l);
    }

    @Override
    public int normUnit() {
        return layout.norm();
    }

    @Override
    public int lmHeadUnit() {
        return layout.lmHead();
    }

    @Override
    public void gather(int unit) {
        if (stage != 3) {
            return;
        }
        if (inFlight[unit] != null) {
            inFlight[unit].await();
            inFlight[unit] = null;
        } else if (gathered[unit] == null) {
            UnitLayout.Unit u = layout.unit(unit);
            gathered[unit] = backend.allocate(backend.floatType(), FlatLayout.shapeOf(u.size()));
            world.allGather(valueShard(u), gathered[unit]);
        }
    }

    @Override
    public void prefetch(int unit) {
        if (stage != 3 || gathered[unit] != null) {
            return;
        }
        UnitLayout.Unit u = layout.unit(unit);
        gathered[unit] = backend.allocate(backend.floatType(), FlatLayout.shapeOf(u.size()));
        inFlight[unit] = world.allGatherAsync(valueShard(u), gathered[unit]);
    }

    @Override
    public void release(int unit) {
        if (stage != 3 || gathered[unit] == null) {
            return;
        }
        if (inFlight[unit] != null) {
            inFlight[unit].await();
            inFlight[unit] = null;
        }
        gathered[unit].close();
        gathered[unit] = null;
    }

    @Override
    public void gradients(int unit) {
        if (grads[unit] == null) {
            grads[unit] = backend.zeros(backend.floatType(), FlatLayout.shapeOf(layout.unit(unit).size()));
        }
    }

    @Override
    public void reduce(int unit) {
        Tensor g = grads[unit];
        if (g == null) {
            throw new IllegalStateException("unit " + layout.unit(unit).name() + " has no gradients to reduce");
        }
        UnitLayout.Unit u = layout.unit(unit);
        Tensor into = gradShard(u);
        if (!reduced[unit]) {
            world.reduceScatter(g, into, ReduceOp.SUM);
            reduced[unit] = true;
        } else {
            // A later micro-batch: its sums are added to the earlier ones'.
            try (Tensor sums = backend.allocate(backend.floatType(), FlatLayout.shapeOf(u.shardSize()))) {
                world.reduceScatter(g, sums, ReduceOp.SUM);
                backend.addScaledAccumulate(into, sums, 1);
            }
        }
        g.close();
        grads[unit] = null;
    }

    @Override
    public Parameter embedding() {
        return parameter(layout.embedding(), "model.embed_tokens.weight");
    }

    @Override
    public LlamaWeights.Layer layer(int l) {
        int unit = layout.layer(l);
        List<Parameter> params = unitParameters(unit);
        return LlamaWeights.layer(l, name -> params.stream().filter(p -> p.name().equals(name)).findFirst()
                .orElseThrow());
    }

    @Override
    public Parameter norm() {
        return parameter(layout.norm(), "model.norm.weight");
    }

    @Override
    public Parameter lmHead() {
        return config.tieWordEmbeddings() ? embedding() : parameter(layout.lmHead(), "lm_head.weight");
    }

    private Parameter parameter(int unit, String name) {
        for (Parameter p : unitParameters(unit)) {
            if (p.name().equals(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("no parameter '" + name + "' in unit " + layout.unit(unit).name());
    }

    /** The unit's parameters as they are reachable now: values where resident or gathered, gradients where begun. */
    private List<Parameter> unitParameters(int unit) {
        UnitLayout.Unit u = layout.unit(unit);
        Tensor values = stage == 2 ? view(whole, u.offset(), u.size()) : gathered[unit];
        if (values != null && inFlight[unit] != null) {
            values = null; // not readable before its gather is awaited
        }
        return parameters(u, values, grads[unit]);
    }

    // ---- ShardStore ----

    @Override
    public RankShard rankShard() {
        return shard;
    }

    /**
     * Stage 2's values: where elements {@code [from, from + length)} of the shard lie in the whole buffer, which the
     * unit's all-gather then sends from in place. (Stage 3's are ranges of the value shard.)
     */
    private Tensor inWhole(long from, int length) {
        for (UnitLayout.Unit u : layout.units()) {
            if (from >= u.shardOffset() && from + length <= u.shardOffset() + u.shardSize()) {
                return backend.view(whole, u.offset() + u.layout().shardStart(rank) + from - u.shardOffset(), length);
            }
        }
        throw new IllegalArgumentException("elements " + from + "+" + length + " of the shard cross units");
    }

    /** The backward reduced every unit already; a unit still holding gradients is a bug. */
    @Override
    public void reduceGradients() {
        for (int u = 0; u < grads.length; u++) {
            if (grads[u] != null) {
                throw new IllegalStateException("unit " + layout.unit(u).name() + " was never reduced");
            }
        }
    }

    /** Stage 2: one all-gather per unit into every rank's whole buffer. Stage 3 gathers in the next forward. */
    @Override
    public void gatherValues() {
        if (stage != 2) {
            return;
        }
        for (UnitLayout.Unit u : layout.units()) {
            Tensor unit = view(whole, u.offset(), u.size());
            world.allGather(shardOf(u, unit), unit);
        }
    }

    @Override
    public void zeroGradients() {
        backend.fill(gradShard, 0);
        Arrays.fill(reduced, false);
    }

    /** Units whose gathered values this rank holds now (in flight included): for tests of the bound. */
    int gatheredUnits() {
        return (int) Arrays.stream(gathered).filter(t -> t != null).count();
    }

    /** Units whose whole-unit gradients this rank holds now: for tests of the bound. */
    int gradientUnits() {
        return (int) Arrays.stream(grads).filter(t -> t != null).count();
    }

    /** Elements of the whole-unit gradients this rank holds now: for tests of the bound. */
    long gradientElements() {
        return Arrays.stream(grads).filter(t -> t != null).mapToLong(Tensor::numel).sum();
    }

    /** This rank's reduced gradients of unit {@code unit}'s shard. */
    Tensor gradShard(int unit) {
        return gradShard(layout.unit(unit));
    }

    @Override
    public void close() {
        for (int u = 0; u < gathered.length; u++) {
            // A gather still in flight (a step that failed) is not awaited: its peers may never join it. The pool
            // keeps a buffer that the communication stream may still write until that stream is past it.
            inFlight[u] = null;
            if (gathered[u] != null) {
                gathered[u].close();
                gathered[u] = null;
            }
            if (grads[u] != null) {
                grads[u].close();
                grads[u] = null;
            }
        }
        if (valueShard != null) {
            valueShard.close();
        }
        gradShard.close();
        if (whole != null) {
            whole.close();
        }
    }
}
