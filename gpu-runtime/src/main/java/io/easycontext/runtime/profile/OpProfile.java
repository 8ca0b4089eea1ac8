package io.easycontext.runtime.profile;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cuda.CudaBackend;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where a backend's time goes, op by op: {@link #backend()} is the wrapped backend, every call of a {@link Backend}
 * method through it timed under the method's name, and {@link #report()} sums the calls since the last
 * {@link #reset()} (a training step) by name. {@code matmul} is split by its transposes, which tell a linear
 * layer's forward ({@code matmul(transB)}, {@code y = x·Wᵀ}), input gradient ({@code matmul}, {@code dx = dy·W}) and
 * weight gradient ({@code matmul(transA)}, {@code dW += dyᵀ·x}) apart.
 *
 * <p>On a CUDA backend an op's time is the GPU's, from events on its compute stream ({@link CudaEventClock}), and the
 * host waits for them once per report; elsewhere it is the host's time around the call ({@link HostClock}). What the
 * step's wall time holds beyond its ops is host work between ops (an optimizer offloaded to the CPU updates there)
 * and the compute stream's waits for others: communication, parked tensors coming back.
 *
 * <p>Not timed, as they queue no work on the compute stream or belong to the profile: {@code name}, the type
 * queries, {@code allocate} and {@code view} (pool bookkeeping), {@code park} (copies on a stream of its own),
 * {@code synchronize}, the peak-memory calls, {@code unwrap} and {@code close}. Calls the backend makes to itself
 * do not pass the wrapper and are not seen, so nothing is counted twice; nor are the ops of an offloaded optimizer's
 * transfer lanes, which {@link Backend#unwrap()} the backend.
 *
 * <p>A profile is used from the backend's thread, as the backend is. Closing it frees its clock (CUDA events), not
 * the backend; the wrapper's {@code close()} closes the wrapped backend, as any call is passed on.
 */
public final class OpProfile implements AutoCloseable {

    private static final Set<String> UNTIMED = Set.of("name", "floatType", "statsType", "allocate", "view", "park",
            "peakDeviceBytes", "resetPeakDeviceBytes", "synchronize", "unwrap", "close");

    /** The names of {@code matmul} by its {@code transA} (bit 1) and {@code transB} (bit 0). */
    private static final String[] MATMUL = {"matmul", "matmul(transB)", "matmul(transA)", "matmul(transA,transB)"};

    private final Backend delegate;
    private final OpClock clock;
    private final Backend proxy;
    /** The op of each span since the last reset. */
    private String[] ops = new String[1024];
    private int spans;
    private long resetNanos;

    OpProfile(Backend delegate, OpClock clock) {
        this.delegate = delegate;
        this.clock = clock;
        this.proxy = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[]{Backend.class},
                (self, method, args) -> invoke(self, method, args));
        reset();
    }

    /** A profile of the ops run through its {@link #backend()}, timed by GPU events where {@code backend} is CUDA. */
    public static OpProfile of(Backend backend) {
        OpClock clock = backend.unwrap() instanceof CudaBackend cuda ? new CudaEventClock(cuda.stream())
                : new HostClock();
        return new OpProfile(backend, clock);
    }

    /** The wrapped backend, to run the profiled work on. */
    public Backend backend() {
        return proxy;
    }

    /** Forgets the calls so far; the wall time starts now. */
    public void reset() {
        spans = 0;
        resetNanos = System.nanoTime();
    }

    /**
     * The calls since the last reset by op, the most time first, and the wall time from the reset to now; waits for
     * queued ops to finish first, so on a GPU the wall time covers their work.
     */
    public ProfileReport report() {
        double[] ms = clock.millis(spans);
        double wall = (System.nanoTime() - resetNanos) / 1e6;
        Map<String, double[]> byOp = new LinkedHashMap<>();
        for (int i = 0; i < spans; i++) {
            double[] callsAndMillis = byOp.computeIfAbsent(ops[i], op -> new double[2]);
            callsAndMillis[0]++;
            callsAndMillis[1] += ms[i];
        }
        List<ProfileReport.Op> list = new ArrayList<>();
        byOp.forEach((op, c) -> list.add(new ProfileReport.Op(op, (int) c[0], c[1])));
        list.sort(Comparator.comparingDouble(ProfileReport.Op::millis).reversed()
                .thenComparing(ProfileReport.Op::name));
        return new ProfileReport(wall, list);
    }

    @Override
    public void close() {
        clock.close();
    }

    private Object invoke(Object self, Method method, Object[] args) throws Throwable {
        String name = method.getName();
        if (method.getDeclaringClass() == Object.class) {
            return switch (name) {
                case "equals" -> self == args[0];
                case "hashCode" -> System.identityHashCode(self);
                default -> "profiled " + delegate.name();
            };
        }
        if (name.equals("unwrap")) {
            return delegate.unwrap();
        }
        if (UNTIMED.contains(name)) {
            return call(method, args);
        }
        int span = spans++;
        if (span == ops.length) {
            ops = Arrays.copyOf(ops, 2 * span);
        }
        ops[span] = name.equals("matmul") ? MATMUL[((Boolean) args[1] ? 2 : 0) + ((Boolean) args[3] ? 1 : 0)] : name;
        clock.start(span);
        try {
            return call(method, args);
        } finally {
            clock.stop(span);
        }
    }

    private Object call(Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(delegate, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
