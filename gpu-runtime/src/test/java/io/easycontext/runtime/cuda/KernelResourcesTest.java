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
            String source = Files.readString(SOURCES.resolve(module + ".cu"));
            // kernels/build.sh adds sm_90a for files with a line "// arch: sm_90a", and builds only sm_90a for
            // files with "// arch: sm_90a only".
            boolean hopperOnly = Pattern.compile("(?m)^// arch: sm_90a only$").matcher(source).find();
            boolean hopper = hopperOnly || Pattern.compile("(?m)^// arch: sm_90a$").matcher(source).find();
            for (String arch : List.of("sm_80", "sm_90", "sm_90a")) {
                boolean expected = arch.equals("sm_90a") ? hopper : !hopperOnly;
                String resource = "kernels/" + module + "." + arch + ".ptx";
                try (var in = getClass().getClassLoader().getResourceAsStream(resource)) {
                    assertThat(in != null).as(resource).isEqualTo(expected);
                    if (in != null) {
                        assertThat(new String(in.readAllBytes())).as(resource).contains(".target " + arch);
                    }
                }
            }
        }
    }
}
