package io.easycontext.runtime.comm;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.backend.cuda.CudaBackend;
import io.easycontext.runtime.cuda.Cuda;
import io.easycontext.runtime.spec.Devices;
import io.easycontext.runtime.tensor.DType;

import java.util.List;

/**
 * The ranks of a run and what each runs on: simulated ranks of the CPU backend over an in-process communicator, or
 * one rank per GPU over NCCL ({@code ncclCommInitAll}: one JVM, one thread per GPU). Each rank opens its backend on
 * its own thread, as a GPU backend must be used from the thread it was made on, and closes it when its body ends,
 * which returns every byte of device memory the rank held.
 *
 * @param devices   the ranks: {@code cpu:N} or GPUs
 * @param cpuType   the CPU backend's precision (CUDA stores bf16)
 * @param poolBytes the most device memory a GPU rank may reserve; 0 for all of the GPU's memory but a reserve for
 *                  the CUDA context, cuBLAS and NCCL's own buffers
 */
public record RankDevices(Devices devices, DType cpuType, long poolBytes) {

    /** Device memory left outside the pool, for what CUDA, cuBLAS and NCCL allocate themselves. */
    public static final long RESERVE_BYTES = 2L << 30;

    /** One rank's work, given its backend and its communicator over all ranks. */
    @FunctionalInterface
    public interface RankBody<T> {
        T run(Backend backend, Communicator world) throws Exception;
    }

    public RankDevices {
        if (poolBytes < 0) {
            throw new IllegalArgumentException("a negative device memory cap: " + poolBytes);
        }
    }

    /** Parses a spec's {@code devices}; throws {@link IllegalArgumentException} naming what is wrong. */
    public static RankDevices parse(String value, DType cpuType, long poolBytes) {
        return new RankDevices(Devices.parse(value), cpuType, poolBytes);
    }

    /** {@code ranks} simulated ranks of the CPU backend in {@code cpuType}. */
    public static RankDevices cpu(int ranks, DType cpuType) {
        return new RankDevices(new Devices(ranks, List.of()), cpuType, 0);
    }

    public int ranks() {
        return devices.ranks();
    }

    public boolean cuda() {
        return devices.cuda();
    }

    /** Runs {@code body} on every rank and returns the results in rank order. */
    public <T> List<T> run(RankBody<T> body) {
        if (!cuda()) {
            return InProcessRanks.run(ranks(), world -> {
                try (Backend backend = new CpuBackend(cpuType)) {
                    return body.run(backend, world);
                }
            });
        }
        Cuda.require();
        NcclWorld nccl = NcclWorld.of(devices.gpus());
        return RankThreads.run(ranks(), rank -> {
            int gpu = nccl.gpu(rank);
            try (CudaBackend backend = new CudaBackend(gpu, poolBytesOf(gpu));
                 NcclCommunicator world = nccl.communicator(rank, backend)) {
                return body.run(backend, world);
            }
        }, (rank, cause) -> nccl.abort(cause));
    }

    /** The pool cap of a GPU rank on GPU {@code gpu}; a cap above the GPU's memory is refused, naming both. */
    public long poolBytesOf(int gpu) {
        long total = Cuda.device(gpu).totalMemory();
        if (poolBytes > total) {
            throw new IllegalArgumentException(String.format("a device memory cap of %.1f GiB exceeds GPU %d's %.1f GiB",
                    poolBytes / (double) (1L << 30), gpu, total / (double) (1L << 30)));
        }
        return pool(total, poolBytes);
    }

    /**
     * What a rank may fill on a GPU of {@code totalBytes}: the GPU's memory less {@link #RESERVE_BYTES}, or
     * {@code capBytes} where set (above 0) and smaller.
     */
    public static long pool(long totalBytes, long capBytes) {
        long available = Math.max(0, totalBytes - RESERVE_BYTES);
        return capBytes > 0 ? Math.min(capBytes, available) : available;
    }

    @Override
    public String toString() {
        return devices.toString();
    }
}
