package io.easycontext.runtime.plan;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class NodeMemoryTest {
    private static final long GIB = 1L << 30;

    @TempDir
    Path dir;

    private Path file(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    private Path meminfo(long gib) throws IOException {
        return file("meminfo", "MemTotal:       " + gib * 1024 * 1024 + " kB\nMemFree:        1024 kB\n");
    }

    @Test
    void theMachinesMemoryLessTheReserveWhereNoCgroupLimitsIt() throws IOException {
        Path none = dir.resolve("absent");
        assertThat(NodeMemory.host(meminfo(128), none, none)).hasValue(112 * GIB);
        assertThat(NodeMemory.host(meminfo(128), file("v2", "max\n"), none)).hasValue(112 * GIB);
        assertThat(NodeMemory.host(meminfo(128), none, file("v1", "9223372036854771712\n"))).hasValue(112 * GIB);
    }

    /** A pod on a 2 TiB node with a 200 GiB limit is killed past 200 GiB, whatever meminfo says. */
    @Test
    void aContainersLimitBelowTheMachinesIsWhatCounts() throws IOException {
        Path none = dir.resolve("absent");
        assertThat(NodeMemory.host(meminfo(2048), file("v2", 200 * GIB + "\n"), none)).hasValue(184 * GIB);
        assertThat(NodeMemory.host(meminfo(2048), none, file("v1", String.valueOf(200 * GIB)))).hasValue(184 * GIB);
        assertThat(NodeMemory.host(meminfo(64), file("v2", 200 * GIB + "\n"), none)).hasValue(48 * GIB);
    }

    @Test
    void noMeminfoNoBound() {
        Path none = dir.resolve("absent");
        assertThat(NodeMemory.host(none, none, none)).isEmpty();
    }
}
