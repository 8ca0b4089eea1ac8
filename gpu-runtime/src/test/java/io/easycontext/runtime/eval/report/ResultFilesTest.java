package io.easycontext.runtime.eval.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.easycontext.runtime.eval.needle.CellScore;
import io.easycontext.runtime.eval.ppl.PerplexityPoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class ResultFilesTest {

    private static final int RED = 0xE04A5F;
    private static final int GREEN = 0x2BB673;

    private static List<CellScore> cells(double leftScore, double rightScore) {
        List<CellScore> cells = new ArrayList<>();
        for (int length : new int[] {1000, 2000}) {
            for (double depth : new double[] {0, 0.5, 1}) {
                cells.add(new CellScore(length, depth, length == 1000 ? leftScore : rightScore, 4));
            }
        }
        return cells;
    }

    private static int count(BufferedImage image, int rgb) {
        int n = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                n += (image.getRGB(x, y) & 0xFFFFFF) == rgb ? 1 : 0;
            }
        }
        return n;
    }

    @Test
    void needleResultsAreJsonCsvAndAHeatMapColouredByScore(@TempDir Path dir) throws IOException {
        ResultFiles files = new ResultFiles(dir.resolve("out"), "needle-x");
        files.writeNeedle(Map.of("model", "x"), cells(0, 1), "Needle in a haystack: x", true);

        JsonNode json = new ObjectMapper().readTree(files.json().toFile());
        assertThat(json.get("model").asText()).isEqualTo("x");
        assertThat(json.get("title").asText()).isEqualTo("Needle in a haystack: x");
        assertThat(json.get("average_accuracy").asDouble()).isEqualTo(0.5);
        assertThat(json.get("cells")).hasSize(6);
        assertThat(json.get("cells").get(4).get("depth_percent").asInt()).isEqualTo(50);
        assertThat(Files.readAllLines(files.csv())).containsExactly("context_length,depth_percent,score",
                "1000,0,0.0", "1000,50,0.0", "1000,100,0.0", "2000,0,1.0", "2000,50,1.0", "2000,100,1.0");

        BufferedImage image = ImageIO.read(files.png().toFile());
        assertThat(image.getWidth()).isEqualTo(NeedleHeatMap.WIDTH);
        assertThat(image.getHeight()).isEqualTo(NeedleHeatMap.HEIGHT);
        // Half the plot red, half green; the colour bar holds only a thin strip of each.
        int red = count(image, RED);
        int green = count(image, GREEN);
        assertThat(red).isGreaterThan(100_000);
        assertThat(green).isGreaterThan(100_000);
        assertThat((double) red / green).isBetween(0.9, 1.1);
    }

    @Test
    void aPerfectScoreLeavesRedOnlyInTheColourBar(@TempDir Path dir) throws IOException {
        ResultFiles files = new ResultFiles(dir, "needle-y");
        files.writeNeedle(Map.of(), cells(1, 1), "all found", true);
        BufferedImage image = ImageIO.read(files.png().toFile());
        assertThat(count(image, GREEN)).isGreaterThan(200_000);
        assertThat(count(image, RED)).isLessThan(200);
    }

    @Test
    void perplexityResultsAreJsonCsvAndALinePlot(@TempDir Path dir) throws IOException {
        ResultFiles files = new ResultFiles(dir, "ppl-x");
        List<PerplexityPoint> points = List.of(new PerplexityPoint(256, 5000, 20, 12.5, 13.0),
                new PerplexityPoint(512, 5000, 10, 10.25, 10.5));
        files.writePerplexity(Map.of("dataset", "d"), points, "Perplexity: x", "x", true);
        assertThat(Files.readAllLines(files.csv())).containsExactly(
                "context_length,tokens,windows,perplexity,window_mean_perplexity", "256,5000,20,12.5,13.0",
                "512,5000,10,10.25,10.5");
        JsonNode json = new ObjectMapper().readTree(files.json().toFile());
        assertThat(json.get("points").get(1).get("perplexity").asDouble()).isEqualTo(10.25);
        BufferedImage image = ImageIO.read(files.png().toFile());
        assertThat(image.getWidth()).isEqualTo(PerplexityPlot.WIDTH);
        assertThat(image.getHeight()).isEqualTo(PerplexityPlot.HEIGHT);
        assertThat(count(image, 0x1F77B4)).as("the line's colour").isGreaterThan(500);
    }

    @Test
    void aPlotLeftOutIsDrawnLaterFromTheJsonAlone(@TempDir Path dir) throws IOException {
        ResultFiles needle = new ResultFiles(dir, "needle-z");
        needle.writeNeedle(Map.of(), cells(0, 1), "later", false);
        assertThat(needle.png()).doesNotExist();
        assertThat(ResultFiles.redraw(needle.json())).isEqualTo(needle.png());
        BufferedImage image = ImageIO.read(needle.png().toFile());
        assertThat((double) count(image, RED) / count(image, GREEN)).isBetween(0.9, 1.1);

        ResultFiles ppl = new ResultFiles(dir, "ppl-z");
        ppl.writePerplexity(Map.of(), List.of(new PerplexityPoint(128, 10, 1, 3, 3)), "later", "z", false);
        assertThat(ppl.png()).doesNotExist();
        assertThat(ImageIO.read(ResultFiles.redraw(ppl.json()).toFile()).getWidth()).isEqualTo(PerplexityPlot.WIDTH);
    }
}
