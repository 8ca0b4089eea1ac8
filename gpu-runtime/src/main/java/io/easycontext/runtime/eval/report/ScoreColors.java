package io.easycontext.runtime.eval.report;

import org.jfree.chart.renderer.PaintScale;

import java.awt.Color;
import java.awt.Paint;

/** Scores from 0 to 1 as colours: red (nothing found), through yellow, to green (all found). */
final class ScoreColors implements PaintScale {

    private static final Color RED = new Color(0xE0, 0x4A, 0x5F);
    private static final Color YELLOW = new Color(0xF2, 0xC1, 0x4E);
    private static final Color GREEN = new Color(0x2B, 0xB6, 0x73);

    @Override
    public double getLowerBound() {
        return 0;
    }

    @Override
    public double getUpperBound() {
        return 1;
    }

    @Override
    public Paint getPaint(double score) {
        double s = Math.max(0, Math.min(1, score));
        return s < 0.5 ? mix(RED, YELLOW, s * 2) : mix(YELLOW, GREEN, (s - 0.5) * 2);
    }

    private static Color mix(Color a, Color b, double t) {
        return new Color(channel(a.getRed(), b.getRed(), t), channel(a.getGreen(), b.getGreen(), t),
                channel(a.getBlue(), b.getBlue(), t));
    }

    private static int channel(int a, int b, double t) {
        return (int) Math.round(a + (b - a) * t);
    }
}
