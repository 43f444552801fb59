package dev.panda.perf.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Rectangle;
import java.text.DecimalFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.StandardChartTheme;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.LineAndShapeRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.jfree.svg.SVGGraphics2D;

/** The report's plots: JFreeChart charts drawn by JFreeSVG into inline SVG elements. */
public final class Charts {

    static final int WIDTH = 720;
    static final int HEIGHT = 300;
    private static final AtomicInteger IDS = new AtomicInteger();
    private static final Color[] COLORS = {
        new Color(0x1f77b4),
        new Color(0xff7f0e),
        new Color(0x2ca02c),
        new Color(0xd62728),
        new Color(0x9467bd),
        new Color(0x8c564b),
        new Color(0xe377c2),
        new Color(0x7f7f7f)
    };

    static {
        System.setProperty("java.awt.headless", "true");
        ChartFactory.setChartTheme(StandardChartTheme.createJFreeTheme());
    }

    private Charts() {}

    /** Each pair's Mpps for panda and the peer (and the extra runs of the round), as grouped bars. */
    public static String pairsMpps(ComparisonResult c) {
        DefaultCategoryDataset d = new DefaultCategoryDataset();
        for (PairFigure p : c.pairs()) {
            String col = "pair " + p.pair();
            add(d, p.panda().mpps(), c.pandaLabel(), col);
            add(d, p.peer().mpps(), c.peerLabel(), col);
            for (String e : MarkdownReport.extraNames(c)) {
                RunFigure x = p.extra().get(e);
                if (x != null) {
                    add(d, x.mpps(), e, col);
                }
            }
        }
        JFreeChart chart = ChartFactory.createBarChart(
                c.id() + ": Mpps per pair", null, "Mpps", d, PlotOrientation.VERTICAL, true, false, false);
        styleBars(chart);
        return svg(chart, WIDTH, HEIGHT);
    }

    /** Each pair's busy cycles per packet. */
    public static String pairsCycles(ComparisonResult c) {
        DefaultCategoryDataset d = new DefaultCategoryDataset();
        for (PairFigure p : c.pairs()) {
            String col = "pair " + p.pair();
            add(d, p.panda().cyclesPerPacket(), c.pandaLabel(), col);
            add(d, p.peer().cyclesPerPacket(), c.peerLabel(), col);
            for (String e : MarkdownReport.extraNames(c)) {
                RunFigure x = p.extra().get(e);
                if (x != null) {
                    add(d, x.cyclesPerPacket(), e, col);
                }
            }
        }
        JFreeChart chart = ChartFactory.createBarChart(
                c.id() + ": busy cycles per packet",
                null,
                "cycles/packet",
                d,
                PlotOrientation.VERTICAL,
                true,
                false,
                false);
        styleBars(chart);
        return svg(chart, WIDTH, HEIGHT);
    }

    /** The per-pair ratios (and A/A ratios) with a line at 1. */
    public static String ratios(ComparisonResult c) {
        DefaultCategoryDataset d = new DefaultCategoryDataset();
        for (PairFigure p : c.pairs()) {
            add(d, p.ratio(), c.pandaLabel() + " / " + c.peerLabel(), "pair " + p.pair());
        }
        for (int i = 0; i < c.aaRatios().size(); i++) {
            add(d, c.aaRatios().get(i), "A/A", "pair " + (i + 1));
        }
        JFreeChart chart = ChartFactory.createLineChart(
                c.id() + ": per-pair ratio (median " + Figures.ratio(c.summary().ratio()) + ")",
                null,
                "ratio",
                d,
                PlotOrientation.VERTICAL,
                true,
                false,
                false);
        CategoryPlot plot = chart.getCategoryPlot();
        plot.addRangeMarker(new org.jfree.chart.plot.ValueMarker(1.0, Color.GRAY, new BasicStroke(1f)));
        LineAndShapeRenderer r = (LineAndShapeRenderer) plot.getRenderer();
        r.setDefaultShapesVisible(true);
        colors(r::setSeriesPaint, d.getRowCount());
        style(chart);
        return svg(chart, WIDTH, 220);
    }

    /** The cross-CPU round trip over the run: each sample's fastest and median round trip. */
    public static String roundTrips(List<CrossCpuRtt.Sample> samples) {
        XYSeries min = new XYSeries("fastest round trip");
        XYSeries med = new XYSeries("median round trip");
        for (CrossCpuRtt.Sample s : samples) {
            if (Double.isFinite(s.minNs())) {
                min.add(s.atSeconds(), s.minNs());
                med.add(s.atSeconds(), s.medianNs());
            }
        }
        XYSeriesCollection d = new XYSeriesCollection();
        d.addSeries(min);
        d.addSeries(med);
        JFreeChart chart = ChartFactory.createXYLineChart(
                "cross-CPU round trip during the run",
                "seconds into the run",
                "ns",
                d,
                PlotOrientation.VERTICAL,
                true,
                false,
                false);
        XYPlot plot = chart.getXYPlot();
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
        colors(r::setSeriesPaint, 2);
        plot.setRenderer(r);
        style(chart);
        return svg(chart, WIDTH, HEIGHT);
    }

    /**
     * The latency percentiles of one path, one line per (switch, offered rate), on a logarithmic
     * ns axis.
     */
    public static String latency(String path, List<LatencyFigure> figures) {
        DefaultCategoryDataset d = new DefaultCategoryDataset();
        long lo = Long.MAX_VALUE;
        long hi = 1;
        for (LatencyFigure f : figures) {
            String series = (f.sw().equals("-") ? "" : f.sw() + " @ ") + Figures.mpps(f.offeredMpps()) + " Mpps";
            long[] v = f.values();
            for (int i = 0; i < v.length; i++) {
                long x = Math.max(1, v[i]);
                d.addValue(x, series, LatencyFigure.LABELS[i]);
                lo = Math.min(lo, x);
                hi = Math.max(hi, x);
            }
        }
        JFreeChart chart = ChartFactory.createLineChart(
                path + ": latency percentiles", "percentile", "ns", d, PlotOrientation.VERTICAL, true, false, false);
        CategoryPlot plot = chart.getCategoryPlot();
        // a log axis from the power of ten below the smallest value to the one above the largest
        LogAxis axis = new LogAxis("ns (log scale)");
        axis.setBase(10);
        axis.setSmallestValue(1);
        axis.setTickUnit(new NumberTickUnit(1.0));
        axis.setNumberFormatOverride(new DecimalFormat("#,##0"));
        axis.setRange(Math.pow(10, Math.floor(Math.log10(lo))), Math.pow(10, Math.ceil(Math.log10(hi) + 1e-9)));
        plot.setRangeAxis(axis);
        LineAndShapeRenderer r = (LineAndShapeRenderer) plot.getRenderer();
        r.setDefaultShapesVisible(true);
        colors(r::setSeriesPaint, d.getRowCount());
        style(chart);
        return svg(chart, WIDTH, 340);
    }

    /** Latency figures grouped by path, in first-seen order. */
    public static Map<String, List<LatencyFigure>> byPath(List<LatencyFigure> figures) {
        Map<String, List<LatencyFigure>> m = new LinkedHashMap<>();
        for (LatencyFigure f : figures) {
            m.computeIfAbsent(f.path(), k -> new java.util.ArrayList<>()).add(f);
        }
        return m;
    }

    private static void add(DefaultCategoryDataset d, double v, String row, String col) {
        d.addValue(Double.isFinite(v) ? Double.valueOf(v) : null, row, col);
    }

    private static void styleBars(JFreeChart chart) {
        CategoryPlot plot = chart.getCategoryPlot();
        BarRenderer r = (BarRenderer) plot.getRenderer();
        r.setBarPainter(new StandardBarPainter());
        r.setShadowVisible(false);
        r.setItemMargin(0.05);
        colors(r::setSeriesPaint, plot.getDataset().getRowCount());
        style(chart);
    }

    private interface SeriesPaint {
        void set(int series, java.awt.Paint paint);
    }

    private static void colors(SeriesPaint p, int n) {
        for (int i = 0; i < n; i++) {
            p.set(i, COLORS[i % COLORS.length]);
        }
    }

    private static void style(JFreeChart chart) {
        chart.setBackgroundPaint(Color.WHITE);
        chart.getTitle().setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        chart.getPlot().setBackgroundPaint(new Color(0xf7f7f7));
    }

    /** The chart as an {@code <svg>} element, its defs ids unique within the page. */
    static String svg(JFreeChart chart, int width, int height) {
        SVGGraphics2D g = new SVGGraphics2D(width, height);
        g.setDefsKeyPrefix("c" + IDS.incrementAndGet() + "_");
        chart.draw(g, new Rectangle(0, 0, width, height));
        return g.getSVGElement();
    }
}
