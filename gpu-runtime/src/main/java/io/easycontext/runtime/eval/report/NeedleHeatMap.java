package io.easycontext.runtime.eval.report;

import io.easycontext.runtime.eval.needle.CellScore;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.XYTextAnnotation;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.block.BlockBorder;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.title.PaintScaleLegend;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.data.xy.DefaultXYZDataset;

import java.awt.Color;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The needle test's heat map: context length across, needle depth down (0% at the top, as the haystack is read),
 * each cell coloured by its score on a red–yellow–green scale shown beside it, and labelled with its score where the
 * cells are large enough to hold one. The axes are the grid's own values, one tick per cell.
 */
public final class NeedleHeatMap {

    public static final int WIDTH = 1200;
    public static final int HEIGHT = 700;
    /** Past this many cells the labels would overlap; the colours alone then tell the scores. */
    private static final int MAX_LABELLED_CELLS = 240;

    private NeedleHeatMap() {
    }

    public static void write(Path file, String title, List<CellScore> cells) {
        if (cells.isEmpty()) {
            throw new IllegalArgumentException("no cells to plot");
        }
        List<Integer> lengths = cells.stream().map(CellScore::contextLength).distinct().sorted().toList();
        List<Integer> depths = cells.stream().map(CellScore::depthPercent).distinct().sorted().toList();
        double[][] xyz = new double[3][cells.size()];
        for (int i = 0; i < cells.size(); i++) {
            xyz[0][i] = lengths.indexOf(cells.get(i).contextLength());
            xyz[1][i] = depths.indexOf(cells.get(i).depthPercent());
            xyz[2][i] = cells.get(i).score();
        }
        DefaultXYZDataset data = new DefaultXYZDataset();
        data.addSeries("score", xyz);

        XYBlockRenderer renderer = new XYBlockRenderer();
        ScoreColors colors = new ScoreColors();
        renderer.setPaintScale(colors);
        SymbolAxis depthAxis = symbols("Needle depth (% of the haystack)", depths);
        depthAxis.setInverted(true);
        XYPlot plot = new XYPlot(data, symbols("Context length (haystack tokens)", lengths), depthAxis, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinesVisible(false);
        plot.setRangeGridlinesVisible(false);
        plot.setAxisOffset(RectangleInsets.ZERO_INSETS);
        if (cells.size() <= MAX_LABELLED_CELLS) {
            for (int i = 0; i < cells.size(); i++) {
                XYTextAnnotation label = new XYTextAnnotation(
                        String.format(Locale.ROOT, "%.0f%%", 100 * cells.get(i).score()), xyz[0][i], xyz[1][i]);
                label.setFont(Charts.TICK);
                plot.addAnnotation(label);
            }
        }

        JFreeChart chart = new JFreeChart(title, Charts.TITLE, plot, false);
        NumberAxis scoreAxis = new NumberAxis("Score (fraction of needles found)");
        style(scoreAxis);
        scoreAxis.setRange(0, 1);
        PaintScaleLegend legend = new PaintScaleLegend(colors, scoreAxis);
        legend.setPosition(RectangleEdge.RIGHT);
        legend.setStripWidth(18);
        legend.setMargin(new RectangleInsets(10, 12, 10, 10));
        legend.setFrame(BlockBorder.NONE);
        chart.addSubtitle(legend);
        Charts.writePng(chart, file, WIDTH, HEIGHT);
    }

    /** An axis whose ticks are the values, one per cell, the axis ending at the outer cells' edges. */
    private static SymbolAxis symbols(String label, List<Integer> values) {
        SymbolAxis axis = new SymbolAxis(label, values.stream().map(String::valueOf).toArray(String[]::new));
        style(axis);
        axis.setGridBandsVisible(false);
        axis.setRange(-0.5, values.size() - 0.5);
        return axis;
    }

    private static void style(ValueAxis axis) {
        axis.setLabelFont(Charts.LABEL);
        axis.setTickLabelFont(Charts.TICK);
    }
}
