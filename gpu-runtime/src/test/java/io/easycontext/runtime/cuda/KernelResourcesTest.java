package io.easycontext.runtime.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The build packs PTX for every kernels/*.cu (where nvcc was found) and records what it did. */
class KernelResourcesTest {
    private static final Path SOURCES = Path.of("..", "kernels");

    @Test
    void everyKernelFileHasPtxForEachArchitectureOrTheManifestSaysWhyNot() throws IOException {
        if (!KernelLibrary.built()) {
            assertThat(KernelLibrary.manifest().getProperty("reason")).contains("nvcc");
            return;
        }
        List<String> sources;
        try (Stream<Path> files = Files.list(SOURCES)) {
            sources = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cu"))
                    .map(n -> n.substring(0, n.length() - 3)).sorted().toList();
        }
        assertThat(sources).isNotEmpty();
        assertThat(KernelLibrary.modules()).containsExactlyInAnyOrderElementsOf(sources);
        for (String module : sources) {
            for (String arch : List.of("sm_80", "sm_90")) {
                String resource = "kernels/" + module + "." + arch + ".ptx";
                try (var in = getClass().getClassLoader().getResourceAsStream(resource)) {
                    assertThat(in).as(resource).isNotNull();
                    String ptx = new String(in.readAllBytes());
                    assertThat(ptx).contains(".target " + arch);
                }
            }
            // kernels/build.sh adds sm_90a for files with a line "// arch: sm_90a".
            boolean hopper = Pattern.compile("(?m)^// arch: sm_90a").matcher(Files.readString(SOURCES.resolve(module + ".cu"))).find();
            assertThat(getClass().getClassLoader().getResource("kernels/" + module + ".sm_90a.ptx") != null)
                    .as("sm_90a PTX for " + module).isEqualTo(hopper);
        }
    }
}
