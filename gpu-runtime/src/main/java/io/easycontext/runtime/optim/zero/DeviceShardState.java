package io.easycontext.runtime.optim.zero;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.optim.AdamW;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/** The shard's state as backend tensors of the shard's size, updated piece by piece by the backend's AdamW. */
final class DeviceShardState implements ShardState {

    private record PieceViews(ShardPiece piece, Tensor value, Tensor grad, Tensor master, Tensor m, Tensor v) {
    }

    private final Backend backend;
    private final AdamW.Hyper hyper;
    private final Tensor master;
    private final Tensor m;
    private final Tensor v;
    private final List<PieceViews> pieces = new ArrayList<>();

    /** The master weights start as the shard's values, the moments at zero. */
    DeviceShardState(Backend backend, ShardValues values, Tensor grads, List<ShardPiece> pieces, AdamW.Hyper hyper) {
        this.backend = backend;
        this.hyper = hyper;
        int[] shape = grads.shape();
        DType stats = backend.statsType();
        DType moments = hyper.moments().dtype(backend);
        master = backend.floatType() != stats ? backend.zeros(stats, shape) : null;
        m = backend.zeros(moments, shape);
        v = backend.zeros(moments, shape);
        for (ShardPiece p : pieces) {
            Tensor value = values.range(p.offset(), p.length());
            if (master != null) {
                backend.copy(value, view(master, p));
            }
            this.pieces.add(new PieceViews(p, value, view(grads, p), master == null ? null : view(master, p),
                    view(m, p), view(v, p)));
        }
    }

    private Tensor view(Tensor shard, ShardPiece p) {
        return backend.view(shard, p.offset(), p.length());
    }

    @Override
    public void update(double lr, long step, double gradScale) {
        for (PieceViews p : pieces) {
            backend.adamW(p.value(), p.master(), p.grad(), p.m(), p.v(), lr, hyper.beta1(), hyper.beta2(), hyper.eps(),
                    p.piece().weightDecay(hyper), step, gradScale);
        }
    }

    @Override
    public List<Vector> vectors() {
        List<Vector> all = new ArrayList<>();
        if (master != null) {
            all.add(new TensorVector(MASTER, master));
        }
        all.add(new TensorVector(EXP_AVG, m));
        all.add(new TensorVector(EXP_AVG_SQ, v));
        return all;
    }

    private final class TensorVector implements Vector {
        private final String name;
        private final Tensor tensor;

        TensorVector(String name, Tensor tensor) {
            this.name = name;
            this.tensor = tensor;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public DType dtype() {
            return tensor.dtype();
        }

        @Override
        public long length() {
            return tensor.numel();
        }

        @Override
        public double[] read(long from, int n) {
            return backend.download(backend.view(tensor, from, n));
        }

        @Override
        public void write(long from, double[] values) {
            backend.uploadDoubles(backend.view(tensor, from, values.length), values);
        }
    }

    @Override
    public void close() {
        if (master != null) {
            master.close();
        }
        m.close();
        v.close();
    }
}
