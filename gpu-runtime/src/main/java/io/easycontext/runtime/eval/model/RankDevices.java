package io.easycontext.runtime.eval.model;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.backend.cuda.CudaBackend;
import io.easycontext.runtime.comm.InProcessCommunicator;
import io.easycontext.runtime.comm.InProcessRanks;
import io.easycontext.runtime.cuda.Cuda;
import io.easycontext.runtime.tensor.DType;

import java.util.List;
import java.util.Locale;

/**
 * Where the ranks of an evaluation or a passkey run live: {@code cpu:N}, N simulated ranks of the CPU backend, or
 * {@code cuda:K}, one rank on GPU {@code K}. Each rank runs on its own thread and opens its backend there, as a GPU
 * backend must be used from the thread it was made on.
 *
 * @param gpu       the GPU ordinal, or −1 for CPU ranks
 * @param cpuType   the CPU backend's precision (CUDA stores bf16)
 * @param poolBytes the most device memory a GPU rank may reserve
 */
public record RankDevices(int ranks, int gpu, DType cpuType, long poolBytes) {

    /** One rank's work, given its backend and its communicator over all ranks. */
    @FunctionalInterface
    public interface RankBody<T> {
        T run(Backend backend, InProcessCommunicator world) throws Exception;
    }

    public RankDevices {
        if (ranks < 1 || (gpu >= 0 && ranks != 1)) {
            throw new IllegalArgumentException(ranks + " ranks on " + (gpu >= 0 ? "GPU " + gpu : "the CPU"));
        }
    }

    /** {@code cpu:N} or {@code cuda:K}; throws {@link IllegalArgumentException} naming what is wrong. */
    public static RankDevices parse(String value, DType cpuType, long poolBytes) {
        String[] kindAndNumber = value.toLowerCase(Locale.ROOT).split(":", 2);
        if (kindAndNumber.length == 2 && kindAndNumber[1].matches("[0-9]{1,4}")) {
            int n = Integer.parseInt(kindAndNumber[1]);
            if (kindAndNumber[0].equals("cpu") && n >= 1) {
                return new RankDevices(n, -1, cpuType, poolBytes);
            }
            if (kindAndNumber[0].equals("cuda")) {
                return new RankDevices(1, n, cpuType, poolBytes);
            }
        }
        throw new IllegalArgumentException("devices must be cpu:N (N simulated CPU ranks) or cuda:K (GPU K), not '"
                + value + "'");
    }

    /** Runs {@code body} on every rank and returns the results in rank order. */
    public <T> List<T> run(RankBody<T> body) {
        if (gpu >= 0) {
            Cuda.require();
        }
        return InProcessRanks.run(ranks, world -> {
            try (Backend backend = gpu >= 0 ? new CudaBackend(gpu, poolBytes) : new CpuBackend(cpuType)) {
                return body.run(backend, world);
            }
        });
    }

    @Override
    public String toString() {
        return gpu >= 0 ? "cuda:" + gpu : "cpu:" + ranks;
    }
}
