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

    /** Host memory for offloaded state and checkpoints: the machine's ({@code /proc/meminfo}) less a reserve. */
    public static OptionalLong host() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    long kib = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    return OptionalLong.of(Math.max(0, kib * 1024 - HOST_RESERVE));
                }
            }
        } catch (IOException | NumberFormatException e) {
            // Not Linux, or unreadable: the caller then does not bound host memory.
        }
        return OptionalLong.empty();
    }
}
