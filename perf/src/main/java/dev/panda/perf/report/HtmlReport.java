package dev.panda.perf.report;

import java.util.List;
import java.util.Map;

/**
 * report.html: one self-contained page (inline CSS, inline SVG plots from {@link Charts}, no
 * script, no external resource) with the same tables as report.md.
 */
public final class HtmlReport {

    private HtmlReport() {}

    private static final String STYLE = """
            body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
            h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
            table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
            th, td { border: 1px solid #ccc; padding: 3px 8px; }
            th { background: #f0f0f0; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
            .warning { background: #fff3cd; border-left: 4px solid #e0a800; padding: 4px 10px; margin: 4px 0; }
            .note { color: #555; font-size: 0.9em; }
            svg { display: block; margin: 0.6em 0; }
            """;

    public static String render(Report r) {
        StringBuilder b = new StringBuilder(64 * 1024);
        b.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>panda perf report ")
                .append(esc(r.started()))
                .append("</title>\n<style>\n")
                .append(STYLE)
                .append("</style>\n</head>\n<body>\n");
        b.append("<h1>panda perf report</h1>\n<p>Mode <b>")
                .append(esc(r.mode()))
                .append("</b>, started ")
                .append(esc(r.started()))
                .append(", took ")
                .append(Progress.clock(r.seconds()))
                .append(" (<code>")
                .append(esc(r.command()))
                .append("</code>).</p>\n");
        b.append("<h2>Machine</h2>\n<table>\n");
        for (String[] row : MarkdownReport.machineRows(r.machine())) {
            b.append("<tr><th>")
                    .append(esc(row[0]))
                    .append("</th><td>")
                    .append(esc(row[1]))
                    .append("</td></tr>\n");
        }
        b.append("</table>\n");
        b.append("<h2>Cross-CPU round trip</h2>\n<p>")
                .append(esc(MarkdownReport.rttSummary(r.crossCpuRoundTrip())))
                .append("</p>\n");
        if (r.crossCpuRoundTrip().stream().anyMatch(s -> Double.isFinite(s.minNs()))) {
            b.append(Charts.roundTrips(r.crossCpuRoundTrip())).append('\n');
        }
        if (!r.skipped().isEmpty()) {
            b.append("<h2>Skipped</h2>\n<ul>\n");
            for (String s : r.skipped()) {
                b.append("<li>").append(esc(s)).append("</li>\n");
            }
            b.append("</ul>\n");
        }
        if (!r.comparisons().isEmpty()) {
            b.append("<h2>Summary</h2>\n");
            table(b, MarkdownReport.summaryTable(r.comparisons()), 2);
        }
        for (ComparisonResult c : r.comparisons()) {
            comparison(b, c);
        }
        if (!r.latency().isEmpty()) {
            b.append("<h2>Latency</h2>\n");
            table(b, MarkdownReport.latencyTable(r.latency()), 2);
            for (Map.Entry<String, List<LatencyFigure>> e :
                    Charts.byPath(r.latency()).entrySet()) {
                b.append(Charts.latency(e.getKey(), e.getValue())).append('\n');
            }
        }
        b.append("</body>\n</html>\n");
        return b.toString();
    }

    private static void comparison(StringBuilder b, ComparisonResult c) {
        ComparisonResult.Summary s = c.summary();
        b.append("<h2 id=\"")
                .append(esc(c.id()))
                .append("\">")
                .append(esc(c.id()))
                .append(": ")
                .append(esc(c.title()))
                .append("</h2>\n<p>")
                .append(esc(c.description()))
                .append("</p>\n");
        for (String w : MarkdownReport.warnings(c)) {
            b.append("<div class=\"warning\">warning: ").append(esc(w)).append("</div>\n");
        }
        b.append(Charts.pairsMpps(c)).append('\n');
        b.append(Charts.ratios(c)).append('\n');
        if (c.hasCycles()) {
            b.append(Charts.pairsCycles(c)).append('\n');
        }
        table(b, MarkdownReport.pairTable(c), 1);
        b.append("<p>Per-pair ratio ")
                .append(esc(c.pandaLabel()))
                .append(" / ")
                .append(esc(c.peerLabel()))
                .append(": median <b>")
                .append(Figures.spread(s.ratio(), s.ratioMin(), s.ratioMax()))
                .append("</b> over ")
                .append(c.pairs().size())
                .append(" pair(s)");
        if (!c.aaRatios().isEmpty()) {
            b.append("; A/A: ").append(Figures.spread(s.aaRatio(), s.aaMin(), s.aaMax()));
        }
        b.append(".</p>\n");
        for (String n : c.notes()) {
            b.append("<p class=\"note\">note: ").append(esc(n)).append("</p>\n");
        }
    }

    private static void table(StringBuilder b, List<List<String>> t, int left) {
        b.append("<table>\n");
        for (int i = 0; i < t.size(); i++) {
            b.append("<tr>");
            for (int k = 0; k < t.get(i).size(); k++) {
                String v = esc(t.get(i).get(k));
                if (i == 0) {
                    b.append("<th>").append(v).append("</th>");
                } else {
                    boolean num = k >= left && v.matches("[-0-9.]+.*|n/a|-");
                    b.append(num ? "<td class=\"num\">" : "<td>").append(v).append("</td>");
                }
            }
            b.append("</tr>\n");
        }
        b.append("</table>\n");
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
