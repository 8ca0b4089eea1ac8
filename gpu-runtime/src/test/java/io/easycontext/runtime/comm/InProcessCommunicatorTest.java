package io.easycontext.runtime.comm;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class InProcessCommunicatorTest {

    private static final Backend F32 = new CpuBackend(DType.F32);
    private static final Backend F64 = new CpuBackend(DType.F64);
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    /** An irrational-ish value per (rank, element) so that summation order shows in the low bits. */
    private static double value(int rank, int i) {
        return Math.sin(1.7 * rank + 0.37 * i + 0.1) * Math.pow(10, (i + rank) % 5 - 2);
    }

    private static Tensor filled(Backend b, int rank, int... shape) {
        Tensor t = b.allocate(b.floatType(), shape);
        double[] v = new double[(int) t.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = value(rank, i);
        }
        write(t, v);
        return t;
    }

    /** Host values into a tensor at full precision (upload goes through float). */
    private static void write(Tensor t, double[] v) {
        HostTensors.write(t, v, 0);
    }

    private static double round(Backend b, double v) {
        return b.floatType() == DType.F32 ? (float) v : v;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void allReduceAddsInRankOrderAndEveryRankGetsTheSameBits(int size) {
        for (Backend b : List.of(F32, F64)) {
            int n = 37;
            List<double[]> results = InProcessRanks.run(size, TIMEOUT, comm -> {
                Tensor t = filled(b, comm.rank(), n);
                comm.allReduce(t);
                return b.download(t);
            });
            double[] expected = new double[n];
            for (int i = 0; i < n; i++) {
                double acc = round(b, value(0, i));
                for (int r = 1; r < size; r++) {
                    acc += round(b, value(r, i));
                }
                expected[i] = round(b, acc);
            }
            for (double[] r : results) {
                assertThat(r).containsExactly(expected);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void allReduceAverageMaxAndHostValues(int size) {
        List<double[]> results = InProcessRanks.run(size, TIMEOUT, comm -> {
            Tensor avg = filled(F64, comm.rank(), 5);
            comm.allReduce(avg, ReduceOp.AVG);
            Tensor max = filled(F64, comm.rank(), 5);
            comm.allReduce(max, ReduceOp.MAX);
            double host = comm.allReduce(comm.rank() + 1.0, ReduceOp.SUM);
            double[] out = new double[11];
            System.arraycopy(F64.download(avg), 0, out, 0, 5);
            System.arraycopy(F64.download(max), 0, out, 5, 5);
            out[10] = host;
            return out;
        });
        for (double[] r : results) {
            for (int i = 0; i < 5; i++) {
                double sum = 0;
                double max = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < size; k++) {
                    sum += value(k, i);
                    max = Math.max(max, value(k, i));
                }
                assertThat(r[i]).isEqualTo(sum / size);
                assertThat(r[5 + i]).isEqualTo(max);
            }
            assertThat(r[10]).isEqualTo(size * (size + 1) / 2.0);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void allGatherConcatenatesInRankOrder(int size) {
        List<double[]> results = InProcessRanks.run(size, TIMEOUT, comm -> {
            Tensor send = filled(F64, comm.rank(), 2, 3);
            Tensor recv = F64.allocate(DType.F64, size * 2, 3);
            comm.allGather(send, recv);
            return F64.download(recv);
        });
        for (double[] r : results) {
            for (int k = 0; k < size; k++) {
                for (int i = 0; i < 6; i++) {
                    assertThat(r[k * 6 + i]).isEqualTo(value(k, i));
                }
            }
        }
    }

    /**
     * An asynchronous gather sends what {@code send} held when it started, leaves {@code recv} untouched until it is
     * awaited (as a GPU may), and matches the other ranks' gathers in the order they are awaited, across the other
     * collectives between; awaiting twice does nothing more.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void anAsynchronousGatherSendsWhatItStartedWithAndArrivesWhenAwaited(int size) {
        List<double[]> results = InProcessRanks.run(size, TIMEOUT, comm -> {
            Tensor send = filled(F64, comm.rank(), 2, 3);
            Tensor first = F64.allocate(DType.F64, size * 2, 3);
            Tensor second = F64.allocate(DType.F64, size * 2, 3);
            Communicator.Pending a = comm.allGatherAsync(send, first);
            write(send, new double[6]); // overwritten after the start: the gather must not see it
            Communicator.Pending b = comm.allGatherAsync(send, second);
            double beforeAwait = F64.download(first)[0];
            double sum = comm.allReduce(comm.rank() + 1.0, ReduceOp.SUM);
            a.await();
            a.await();
            b.await();
            double[] out = new double[2 + 2 * size * 6];
            out[0] = beforeAwait;
            out[1] = sum;
            System.arraycopy(F64.download(first), 0, out, 2, size * 6);
            System.arraycopy(F64.download(second), 0, out, 2 + size * 6, size * 6);
            return out;
        });
        for (double[] r : results) {
            assertThat(r[0]).as("untouched before the await").isZero();
            assertThat(r[1]).isEqualTo(size * (size + 1) / 2.0);
            for (int k = 0; k < size; k++) {
                for (int i = 0; i < 6; i++) {
                    assertThat(r[2 + k * 6 + i]).isEqualTo(value(k, i));
                    assertThat(r[2 + size * 6 + k * 6 + i]).isZero();
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void reduceScatterGivesEachRankItsReducedPart(int size) {
        int m = 4;
        List<double[]> results = InProcessRanks.run(size, TIMEOUT, comm -> {
            Tensor send = filled(F64, comm.rank(), size * m);
            Tensor recv = F64.allocate(DType.F64, m);
            comm.reduceScatter(send, recv, ReduceOp.SUM);
            return F64.download(recv);
        });
        for (int r = 0; r < size; r++) {
            for (int i = 0; i < m; i++) {
                double acc = value(0, r * m + i);
                for (int k = 1; k < size; k++) {
                    acc += value(k, r * m + i);
                }
                assertThat(results.get(r)[i]).isEqualTo(acc);
            }
        }
    }

    /** Ulysses' exchange: sequence shards [b, t/W, h, d] become head shards [b, t, h/W, d], and back. */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void allToAllMovesSequenceShardsToHeadShardsAndBack(int size) {
        int b = 2;
        int tLocal = 3;
        int h = 2 * size;
        int d = 2;
        List<double[][]> results = InProcessRanks.run(size, TIMEOUT, comm -> {
            // element [bi, t, hi, di] of the global tensor holds a code of its global coordinates
            Tensor seqShard = F64.allocate(DType.F64, b, tLocal, h, d);
            double[] v = new double[(int) seqShard.numel()];
            for (int bi = 0; bi < b; bi++) {
                for (int t = 0; t < tLocal; t++) {
                    for (int hi = 0; hi < h; hi++) {
                        for (int di = 0; di < d; di++) {
                            int globalT = comm.rank() * tLocal + t;
                            v[((bi * tLocal + t) * h + hi) * d + di] = code(bi, globalT, hi, di);
                        }
                    }
                }
            }
            write(seqShard, v);
            Tensor headShard = F64.allocate(DType.F64, b, tLocal * size, h / size, d);
            comm.allToAll(seqShard, headShard, 2, 1);
            Tensor back = F64.allocate(DType.F64, b, tLocal, h, d);
            comm.allToAll(headShard, back, 1, 2);
            return new double[][] {F64.download(headShard), F64.download(back), v};
        });
        int hLocal = h / size;
        for (int r = 0; r < size; r++) {
            double[] heads = results.get(r)[0];
            for (int bi = 0; bi < b; bi++) {
                for (int t = 0; t < tLocal * size; t++) {
                    for (int hi = 0; hi < hLocal; hi++) {
                        for (int di = 0; di < d; di++) {
                            assertThat(heads[((bi * tLocal * size + t) * hLocal + hi) * d + di])
                                    .isEqualTo(code(bi, t, r * hLocal + hi, di));
                        }
                    }
                }
            }
            assertThat(results.get(r)[1]).containsExactly(results.get(r)[2]);
        }
    }

    private static double code(int b, int t, int h, int d) {
        return b * 1_000_000 + t * 1_000 + h * 10 + d;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void broadcastFromEveryRoot(int size) {
        for (int root = 0; root < size; root++) {
            int from = root;
            List<double[]> results = InProcessRanks.run(size, TIMEOUT, comm -> {
                Tensor t = filled(F32, comm.rank(), 7);
                comm.broadcast(t, from);
                comm.barrier();
                return F32.download(t);
            });
            for (double[] r : results) {
                for (int i = 0; i < 7; i++) {
                    assertThat(r[i]).isEqualTo((float) value(from, i));
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void sendRecvShiftsARingBothWaysInOneBatch(int size) {
        List<double[][]> results = InProcessRanks.run(size, TIMEOUT, comm -> {
            int r = comm.rank();
            int next = (r + 1) % size;
            int prev = (r - 1 + size) % size;
            Tensor mine = filled(F64, r, 3);
            Tensor fromPrev = F64.allocate(DType.F64, 3);
            Tensor fromNext = F64.allocate(DType.F64, 3);
            // receives listed before the sends: a batch must still complete
            comm.sendRecv(List.of(P2POp.recv(fromPrev, prev), P2POp.recv(fromNext, next),
                    P2POp.send(mine, next), P2POp.send(mine, prev)));
            return new double[][] {F64.download(fromPrev), F64.download(fromNext)};
        });
        for (int r = 0; r < size; r++) {
            int prev = (r - 1 + size) % size;
            int next = (r + 1) % size;
            for (int i = 0; i < 3; i++) {
                assertThat(results.get(r)[0][i]).isEqualTo(value(prev, i));
                assertThat(results.get(r)[1][i]).isEqualTo(value(next, i));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4})
    void sendsBetweenOnePairArriveInOrder(int size) {
        List<double[]> results = InProcessRanks.run(size, TIMEOUT, comm -> {
            if (comm.rank() == 0) {
                comm.sendRecv(List.of(P2POp.send(filled(F64, 10, 2), size - 1), P2POp.send(filled(F64, 11, 2), size - 1)));
                return new double[0];
            }
            if (comm.rank() == size - 1) {
                Tensor a = F64.allocate(DType.F64, 2);
                Tensor b = F64.allocate(DType.F64, 2);
                comm.sendRecv(List.of(P2POp.recv(a, 0), P2POp.recv(b, 0)));
                return new double[] {F64.download(a)[0], F64.download(b)[0]};
            }
            return new double[0];
        });
        assertThat(results.get(size - 1)).containsExactly(value(10, 0), value(11, 0));
    }

    /** A 2-D grid of ranks as dp × sp: row groups and column groups reduce independently. */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void splitFormsIndependentSubGroupsOrderedByKey(int size) {
        int cols = size % 2 == 0 ? 2 : 1;
        List<int[]> results = InProcessRanks.run(size, TIMEOUT, comm -> {
            int row = comm.rank() / cols;
            int col = comm.rank() % cols;
            Communicator rowGroup = comm.split(row, col);
            // reversed key: the column group's rank order is the reverse of the world's
            Communicator colGroup = comm.split(col, -row);
            double rowSum = rowGroup.allReduce(comm.rank(), ReduceOp.SUM);
            Tensor gathered = F64.allocate(DType.F64, colGroup.size());
            Tensor mine = F64.allocate(DType.F64, 1);
            write(mine, new double[] {comm.rank()});
            colGroup.allGather(mine, gathered);
            double[] g = F64.download(gathered);
            int[] out = new int[3 + g.length];
            out[0] = rowGroup.rank();
            out[1] = colGroup.rank();
            out[2] = (int) rowSum;
            for (int i = 0; i < g.length; i++) {
                out[3 + i] = (int) g[i];
            }
            return out;
        });
        int rows = size / cols;
        for (int r = 0; r < size; r++) {
            int row = r / cols;
            int col = r % cols;
            int[] out = results.get(r);
            assertThat(out[0]).isEqualTo(col);
            assertThat(out[1]).isEqualTo(rows - 1 - row);
            int expectedRowSum = 0;
            for (int c = 0; c < cols; c++) {
                expectedRowSum += row * cols + c;
            }
            assertThat(out[2]).isEqualTo(expectedRowSum);
            List<Integer> colMembers = new ArrayList<>();
            for (int k = rows - 1; k >= 0; k--) {
                colMembers.add(k * cols + col);
            }
            for (int i = 0; i < rows; i++) {
                assertThat(out[3 + i]).isEqualTo(colMembers.get(i));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3})
    void mismatchedCollectivesFailOnEveryRankNamingBoth(int size) {
        assertThatThrownBy(() -> InProcessRanks.run(size, TIMEOUT, comm -> {
            if (comm.rank() == 0) {
                comm.barrier();
            } else {
                comm.allReduce(1.0, ReduceOp.SUM);
            }
            return null;
        })).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("collective mismatch").hasMessageContaining("barrier");
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 4})
    void aFailingRankAbortsThePeersWaitingForIt(int size) {
        long start = System.nanoTime();
        assertThatThrownBy(() -> InProcessRanks.run(size, TIMEOUT, comm -> {
            if (comm.rank() == size - 1) {
                throw new ArithmeticException("rank failed on purpose");
            }
            comm.barrier();
            Tensor t = F64.allocate(DType.F64, 1);
            comm.sendRecv(List.of(P2POp.recv(t, size - 1)));
            return null;
        })).isInstanceOf(ArithmeticException.class).hasMessage("rank failed on purpose");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(TIMEOUT);
    }

    @ParameterizedTest
    @ValueSource(ints = {2})
    void shapeErrorsNameTheNumbers(int size) {
        assertThatThrownBy(() -> InProcessRanks.run(size, TIMEOUT, comm -> {
            comm.allToAll(F64.allocate(DType.F64, 1, 3, 3, 2), F64.allocate(DType.F64, 1, 6, 1, 2), 2, 1);
            return null;
        })).hasMessageContaining("(3) is not divisible by the group size 2");
    }
}
