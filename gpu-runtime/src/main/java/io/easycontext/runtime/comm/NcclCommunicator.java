package io.easycontext.runtime.comm;

import io.easycontext.runtime.backend.cuda.CudaBackend;
import io.easycontext.runtime.backend.cuda.CudaTensor;
import io.easycontext.runtime.cuda.CudaEvent;
import io.easycontext.runtime.cuda.CudaStream;
import io.easycontext.runtime.cuda.DeviceMemoryPool;
import io.easycontext.runtime.cuda.JavaCpp;
import io.easycontext.runtime.cuda.Nccl;
import io.easycontext.runtime.cuda.Transfers;
import io.easycontext.runtime.tensor.Tensor;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.nccl.ncclComm;
import org.bytedeco.javacpp.IntPointer;

import java.util.Arrays;
import java.util.List;

import static org.bytedeco.cuda.global.nccl.ncclAllGather;
import static org.bytedeco.cuda.global.nccl.ncclAllReduce;
import static org.bytedeco.cuda.global.nccl.ncclAvg;
import static org.bytedeco.cuda.global.nccl.ncclBfloat16;
import static org.bytedeco.cuda.global.nccl.ncclBroadcast;
import static org.bytedeco.cuda.global.nccl.ncclCommCount;
import static org.bytedeco.cuda.global.nccl.ncclCommDestroy;
import static org.bytedeco.cuda.global.nccl.ncclCommSplit;
import static org.bytedeco.cuda.global.nccl.ncclCommUserRank;
import static org.bytedeco.cuda.global.nccl.ncclFloat32;
import static org.bytedeco.cuda.global.nccl.ncclFloat64;
import static org.bytedeco.cuda.global.nccl.ncclGroupEnd;
import static org.bytedeco.cuda.global.nccl.ncclGroupStart;
import static org.bytedeco.cuda.global.nccl.ncclInt32;
import static org.bytedeco.cuda.global.nccl.ncclMax;
import static org.bytedeco.cuda.global.nccl.ncclRecv;
import static org.bytedeco.cuda.global.nccl.ncclReduceScatter;
import static org.bytedeco.cuda.global.nccl.ncclSend;
import static org.bytedeco.cuda.global.nccl.ncclSum;

/**
 * One GPU's rank of an NCCL communicator, used by that GPU's thread with its {@link CudaBackend}. Communication
 * runs on a stream of its own: each call makes the communication stream wait for the compute work queued so far
 * (an event, no host wait), and makes later compute wait for the communication. The host waits only where a
 * value must reach it ({@link #allReduce(double[], ReduceOp)}, {@link #barrier()}).
 *
 * <p>NCCL's reductions are deterministic for a given communicator and size, so every rank receives identical
 * bits and runs repeat exactly; unlike the in-process reference they are not summed in rank order.
 */
public final class NcclCommunicator implements Communicator {
    private final ncclComm comm;
    private final CudaBackend backend;
    private final CudaStream stream;
    private final CUstream_st ncclStream;
    private final CudaEvent computeReady = CudaEvent.forOrdering();
    private final CudaEvent commDone = CudaEvent.forOrdering();
    private final NcclWorld world;
    private final int rank;
    private final int size;

    /**
     * Takes ownership of {@code comm}, a rank of a communicator of {@code world} whose device is {@code backend}'s.
     */
    NcclCommunicator(ncclComm comm, CudaBackend backend, NcclWorld world) {
        this.comm = comm;
        this.backend = backend;
        this.world = world;
        world.register(comm);
        backend.bindToCurrentThread();
        this.stream = new CudaStream();
        this.ncclStream = JavaCpp.stream(stream);
        try (IntPointer p = new IntPointer(1)) {
            Nccl.check(ncclCommUserRank(comm, p), "ncclCommUserRank");
            this.rank = p.get();
            Nccl.check(ncclCommCount(comm, p), "ncclCommCount");
            this.size = p.get();
        }
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return size;
    }

    /** Runs {@code work} on the communication stream, ordered after queued compute and before later compute. */
    private void ordered(Runnable work) {
        afterQueuedCompute();
        work.run();
        commDone.record(stream);
        backend.stream().waitFor(commDone);
    }

    @Override
    public void sendRecv(List<P2POp> ops) {
        ordered(() -> p2p(ops));
    }

    /**
     * The transfers start after the compute queued so far, like every call here, but later compute waits for them
     * only from {@link Pending#await()}: the communication stream runs beside the compute stream until then. Each
     * owning buffer is declared used on the communication stream, so that the pool never hands its memory on while
     * a transfer may still touch it.
     */
    @Override
    public Pending sendRecvAsync(List<P2POp> ops) {
        afterQueuedCompute();
        p2p(ops);
        for (P2POp op : ops) {
            CudaTensor.of(op.tensor()).usedOn(stream);
        }
        CudaEvent done = CudaEvent.forOrdering().record(stream);
        return () -> {
            backend.stream().waitFor(done);
            done.close();
        };
    }

    /** Orders what this rank queues next on the communication stream after the compute queued so far. */
    private void afterQueuedCompute() {
        world.checkAlive();
        computeReady.record(backend.stream());
        stream.waitFor(computeReady);
    }

    private void p2p(List<P2POp> ops) {
        Nccl.check(ncclGroupStart(), "ncclGroupStart");
        for (P2POp op : ops) {
            CudaTensor t = CudaTensor.of(op.tensor());
            if (op.kind() == P2POp.Kind.SEND) {
                Nccl.check(ncclSend(JavaCpp.pointer(t.ptr()), t.numel(), type(t), op.peer(), comm, ncclStream), "ncclSend");
            } else {
                Nccl.check(ncclRecv(JavaCpp.pointer(t.ptr()), t.numel(), type(t), op.peer(), comm, ncclStream), "ncclRecv");
            }
        }
        Nccl.check(ncclGroupEnd(), "ncclGroupEnd");
    }

    @Override
    public void allReduce(Tensor tensor, ReduceOp op) {
        CudaTensor t = CudaTensor.of(tensor);
        ordered(() -> Nccl.check(ncclAllReduce(JavaCpp.pointer(t.ptr()), JavaCpp.pointer(t.ptr()), t.numel(), type(t),
                reduction(op), comm, ncclStream), "ncclAllReduce"));
    }

    @Override
    public double[] allReduce(double[] values, ReduceOp op) {
        DeviceMemoryPool.Block buffer = backend.pool().allocate(8L * values.length);
        try {
            backend.synchronize();
            Transfers.upload(buffer.ptr(), values);
            ordered(() -> Nccl.check(ncclAllReduce(JavaCpp.pointer(buffer.ptr()), JavaCpp.pointer(buffer.ptr()),
                    values.length, ncclFloat64, reduction(op), comm, ncclStream), "ncclAllReduce"));
            stream.synchronize();
            // A peer's failure aborts the kernel this rank waited on: what it left in the buffer is not a result.
            world.checkAlive();
            return Transfers.downloadDoubles(buffer.ptr(), values.length);
        } finally {
            backend.pool().free(buffer);
        }
    }

    @Override
    public void allGather(Tensor send, Tensor recv) {
        CudaTensor s = CudaTensor.of(send);
        CudaTensor r = CudaTensor.of(recv);
        require(r.numel() == s.numel() * size, "allGather of %s into %s over %d ranks", s, r, size);
        ordered(() -> Nccl.check(ncclAllGather(JavaCpp.pointer(s.ptr()), JavaCpp.pointer(r.ptr()), s.numel(), type(s),
                comm, ncclStream), "ncclAllGather"));
    }

    /**
     * The gather starts after the compute queued so far, like every call here, but later compute waits for it only
     * from {@link Pending#await()}: it runs on the communication stream beside the compute stream until then. Both
     * buffers are declared used on the communication stream, so that the pool does not hand their memory on while
     * the gather may still touch it.
     */
    @Override
    public Pending allGatherAsync(Tensor send, Tensor recv) {
        CudaTensor s = CudaTensor.of(send);
        CudaTensor r = CudaTensor.of(recv);
        require(r.numel() == s.numel() * size, "allGather of %s into %s over %d ranks", s, r, size);
        afterQueuedCompute();
        Nccl.check(ncclAllGather(JavaCpp.pointer(s.ptr()), JavaCpp.pointer(r.ptr()), s.numel(), type(s), comm,
                ncclStream), "ncclAllGather");
        s.usedOn(stream);
        r.usedOn(stream);
        CudaEvent done = CudaEvent.forOrdering().record(stream);
        return new Pending() {
            private boolean awaited;

            @Override
            public void await() {
                if (!awaited) {
                    awaited = true;
                    backend.stream().waitFor(done);
                    done.close();
                }
            }
        };
    }

    @Override
    public void reduceScatter(Tensor send, Tensor recv, ReduceOp op) {
        CudaTensor s = CudaTensor.of(send);
        CudaTensor r = CudaTensor.of(recv);
        require(s.numel() == r.numel() * size, "reduceScatter of %s into %s over %d ranks", s, r, size);
        ordered(() -> Nccl.check(ncclReduceScatter(JavaCpp.pointer(s.ptr()), JavaCpp.pointer(r.ptr()), r.numel(),
                type(s), reduction(op), comm, ncclStream), "ncclReduceScatter"));
    }

    /**
     * NCCL's all-to-all moves contiguous equal parts, so the parts along {@code scatterDim} are packed into a
     * contiguous buffer first and the received parts unpacked along {@code gatherDim} after, each by one 2-D copy
     * (rows = the dimensions before the cut, row width = the part).
     */
    @Override
    public void allToAll(Tensor send, Tensor recv, int scatterDim, int gatherDim) {
        CudaTensor s = CudaTensor.of(send);
        CudaTensor r = CudaTensor.of(recv);
        int[] ss = s.shape();
        int[] rs = r.shape();
        require(ss[scatterDim] % size == 0, "allToAll: dimension %d of %s is not divisible by %d ranks", scatterDim, s, size);
        int[] expected = ss.clone();
        expected[scatterDim] /= size;
        expected[gatherDim] *= size;
        require(Arrays.equals(expected, rs), "allToAll of %s along %d→%d needs a receive shape %s, got %s", s,
                scatterDim, gatherDim, Arrays.toString(expected), r);
        long partElems = s.numel() / size;
        long eb = s.dtype().bytes();
        DeviceMemoryPool.Block packed = backend.pool().allocate(s.bytes());
        DeviceMemoryPool.Block received = backend.pool().allocate(s.bytes());
        backend.pool().recordUse(packed, stream);
        backend.pool().recordUse(received, stream);
        try {
            ordered(() -> {
                Slab from = Slab.of(ss, scatterDim, size, eb);
                for (int j = 0; j < size; j++) {
                    Transfers.copy2d(stream, s.ptr(), from.pitch, j * from.width,
                            packed.ptr().plus(j * partElems * eb), from.width, 0, from.width, from.rows);
                }
                Nccl.check(ncclGroupStart(), "ncclGroupStart");
                for (int j = 0; j < size; j++) {
                    Nccl.check(ncclSend(JavaCpp.pointer(packed.address() + j * partElems * eb), partElems, type(s), j,
                            comm, ncclStream), "ncclSend");
                    Nccl.check(ncclRecv(JavaCpp.pointer(received.address() + j * partElems * eb), partElems, type(s), j,
                            comm, ncclStream), "ncclRecv");
                }
                Nccl.check(ncclGroupEnd(), "ncclGroupEnd");
                Slab into = Slab.of(rs, gatherDim, size, eb);
                for (int j = 0; j < size; j++) {
                    Transfers.copy2d(stream, received.ptr().plus(j * partElems * eb), into.width, 0, r.ptr(),
                            into.pitch, j * into.width, into.width, into.rows);
                }
            });
        } finally {
            backend.pool().free(packed);
            backend.pool().free(received);
        }
    }

    /** A tensor seen as rows × pitch bytes, cut along one dimension into parts of {@code width} bytes per row. */
    private record Slab(long rows, long pitch, long width) {
        static Slab of(int[] shape, int dim, int parts, long elementBytes) {
            long outer = 1;
            for (int i = 0; i < dim; i++) {
                outer *= shape[i];
            }
            long inner = elementBytes;
            for (int i = dim + 1; i < shape.length; i++) {
                inner *= shape[i];
            }
            return new Slab(outer, shape[dim] * inner, shape[dim] / parts * inner);
        }
    }

    @Override
    public void broadcast(Tensor tensor, int root) {
        CudaTensor t = CudaTensor.of(tensor);
        ordered(() -> Nccl.check(ncclBroadcast(JavaCpp.pointer(t.ptr()), JavaCpp.pointer(t.ptr()), t.numel(), type(t),
                root, comm, ncclStream), "ncclBroadcast"));
    }

    @Override
    public void barrier() {
        allReduce(new double[]{0}, ReduceOp.SUM);
    }

    @Override
    public Communicator split(int color, int key) {
        require(color >= 0, "split colors are non-negative, got %d", color);
        world.checkAlive();
        ncclComm child = new ncclComm();
        Nccl.check(ncclCommSplit(comm, color, key, child, null), "ncclCommSplit");
        return new NcclCommunicator(child, backend, world);
    }

    @Override
    public void close() {
        stream.synchronize();
        world.unregister(comm);
        if (!world.isAborted()) {
            Nccl.check(ncclCommDestroy(comm), "ncclCommDestroy");
        }
        computeReady.close();
        commDone.close();
        stream.close();
    }

    private static int type(CudaTensor t) {
        return switch (t.dtype()) {
            case BF16 -> ncclBfloat16;
            case F32 -> ncclFloat32;
            case I32 -> ncclInt32;
            case F64 -> ncclFloat64;
        };
    }

    private static int reduction(ReduceOp op) {
        return switch (op) {
            case SUM -> ncclSum;
            case AVG -> ncclAvg;
            case MAX -> ncclMax;
        };
    }

    private static void require(boolean ok, String format, Object... args) {
        if (!ok) {
            throw new IllegalArgumentException(String.format(format, args));
        }
    }
}
