package io.easycontext.runtime.plan;

import io.easycontext.runtime.comm.RankDevices;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/** What this machine gives a run: device memory per rank and host memory for what its ranks offload. */
public final class NodeMemory {
    private static final long GIB = 1L << 30;
    /** Host memory kept for the JVM's heap, the OS and the page cache beside the offloaded state. */
    private static final long HOST_RESERVE = 16 * GIB;

    private NodeMemory() {
    }

    /** The pool every GPU rank of {@code devices} may fill: the smallest of their pools. */
    public static long devicePerRank(RankDevices devices) {
        return devices.devices().gpus().stream().mapToLong(devices::poolBytesOf).min().orElseThrow();
    }

    /**
     * Host memory for offloaded state and checkpoints: the machine's ({@code /proc/meminfo}), or the container's
     * memory limit where smaller (a Kubernetes pod sees the node's meminfo but is killed past its cgroup's limit),
     * less a reserve.
     */
    public static OptionalLong host() {
        return host(Path.of("/proc/meminfo"), Path.of("/sys/fs/cgroup/memory.max"),
                Path.of("/sys/fs/cgroup/memory/memory.limit_in_bytes"));
    }

    /** As {@link #host()}, from these files: meminfo, then a cgroup v2 and a cgroup v1 limit, each optional. */
    static OptionalLong host(Path meminfo, Path cgroupV2Max, Path cgroupV1Limit) {
        OptionalLong total = memTotal(meminfo);
        if (total.isEmpty()) {
            // Not Linux, or unreadable: the caller then does not bound host memory.
            return OptionalLong.empty();
        }
        long bytes = total.getAsLong();
        for (Path limit : new Path[] {cgroupV2Max, cgroupV1Limit}) {
            OptionalLong cap = cgroupLimit(limit);
            if (cap.isPresent()) {
                bytes = Math.min(bytes, cap.getAsLong());
            }
        }
        return OptionalLong.of(Math.max(0, bytes - HOST_RESERVE));
    }

    private static OptionalLong memTotal(Path meminfo) {
        try {
            for (String line : Files.readAllLines(meminfo)) {
                if (line.startsWith("MemTotal:")) {
                    return OptionalLong.of(Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // fall through: unknown
        }
        return OptionalLong.empty();
    }

    /** A cgroup memory limit in bytes; empty where the file is absent or says there is none ("max", or v1's huge value). */
    private static OptionalLong cgroupLimit(Path file) {
        try {
            String text = Files.readString(file).trim();
            if (text.equals("max")) {
                return OptionalLong.empty();
            }
            long bytes = Long.parseLong(text);
            // cgroup v1 writes "no limit" as the largest page-aligned long.
            return bytes >= Long.MAX_VALUE / 2 ? OptionalLong.empty() : OptionalLong.of(bytes);
        } catch (IOException | NumberFormatException e) {
            return OptionalLong.empty();
        }
    }
}
