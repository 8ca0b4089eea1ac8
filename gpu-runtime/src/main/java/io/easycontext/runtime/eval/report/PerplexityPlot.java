package io.easycontext.runtime.eval.report;

import io.easycontext.runtime.eval.ppl.PerplexityPoint;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.nio.file.Path;
import java.util.List;

/** Perplexity against context length: one line with a marker per evaluated length. */
public final class PerplexityPlot {

    public static final int WIDTH = 1000;
    public static final int HEIGHT = 600;

    private PerplexityPlot() {
    }

    public static void write(Path file, String title, String seriesName, List<PerplexityPoint> points) {
        if (points.isEmpty()) {
            throw new IllegalArgumentException("no perplexities to plot");
        }
        XYSeries series = new XYSeries(seriesName);
        for (PerplexityPoint p : points) {
            series.add(p.contextLength(), p.perplexity());
        }
        JFreeChart chart = ChartFactory.createXYLineChart(title, "Context length (tokens)",
                "Perplexity (token-weighted)", new XYSeriesCollection(series), PlotOrientation.VERTICAL, true, false,
                false);
        XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Charts.GRID);
        plot.setRangeGridlinePaint(Charts.GRID);
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
        renderer.setSeriesPaint(0, new Color(0x1F, 0x77, 0xB4));
        renderer.setSeriesStroke(0, new BasicStroke(2.5f));
        plot.setRenderer(renderer);
        for (NumberAxis axis : List.of((NumberAxis) plot.getDomainAxis(), (NumberAxis) plot.getRangeAxis())) {
            axis.setLabelFont(Charts.LABEL);
            axis.setTickLabelFont(Charts.TICK);
            axis.setAutoRangeIncludesZero(false);
        }
        chart.getLegend().setItemFont(Charts.TICK);
        Charts.writePng(chart, file, WIDTH, HEIGHT);
    }
}
