package dev.panda.perf.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads report.md's tables back and checks every figure in them against report.json: the
 * Markdown cell, parsed as a number, must be the JSON value rounded to the cell's decimals
 * (three for Mpps, two for ratios, one for cycles and percentages), and "n/a" must stand where
 * the JSON holds null. The mapping from column to JSON field comes from the column's head, not
 * from the code that wrote the file.
 */
public final class ReportChecks {

    private ReportChecks() {}

    /** Checks report.md against report.json in {@code dir}; returns how many figures it compared. */
    public static int markdownMatchesJson(Path dir) throws IOException {
        JsonNode json = new ObjectMapper().readTree(dir.resolve("report.json").toFile());
        List<String> md = Files.readAllLines(dir.resolve("report.md"));
        int checked = 0;
        Map<String, JsonNode> byId = new HashMap<>();
        for (JsonNode c : json.path("comparisons")) {
            byId.put(c.path("id").asText(), c);
        }
        for (JsonNode c : json.path("comparisons")) {
            String id = c.path("id").asText();
            List<List<String>> t = tableAfter(md, "### " + id + ": ");
            checked += pairTable(c, t);
        }
        if (!byId.isEmpty()) {
            List<List<String>> summary = tableAfter(md, "## Summary");
            assertEquals(byId.size() + 1, summary.size(), "summary rows");
            for (List<String> row : summary.subList(1, summary.size())) {
                JsonNode c = byId.get(row.get(0));
                assertTrue(c != null, "summary row for an unknown comparison: " + row);
                JsonNode s = c.path("summary");
                checked += same(row.get(2), s.path("pandaMpps"), 3);
                checked += same(row.get(4), s.path("peerMpps"), 3);
                checked += spread(row.get(5), s.path("ratio"), s.path("ratioMin"), s.path("ratioMax"));
                if (!row.get(6).equals("-")) {
                    checked += spread(row.get(6), s.path("aaRatio"), s.path("aaMin"), s.path("aaMax"));
                }
                if (!row.get(7).equals("-")) {
                    String[] ab = row.get(7).split(" / ");
                    checked += same(ab[0], s.path("pandaCycles"), 1) + same(ab[1], s.path("peerCycles"), 1);
                }
                assertEquals(s.path("disturbedRuns").asText(), row.get(8), "disturbed runs of " + row.get(0));
                checked++;
            }
        }
        if (!json.path("latency").isEmpty()) {
            List<List<String>> t = tableAfter(md, "## Latency");
            assertEquals(json.path("latency").size() + 1, t.size(), "latency rows");
            String[] fields = {"p50Ns", "p99Ns", "p999Ns", "p9999Ns", "maxNs"};
            for (int i = 0; i < json.path("latency").size(); i++) {
                JsonNode l = json.path("latency").get(i);
                List<String> row = t.get(i + 1);
                assertEquals(l.path("path").asText(), row.get(0));
                assertEquals(l.path("sw").asText(), row.get(1));
                checked += same(row.get(2), l.path("offeredMpps"), 3);
                assertEquals(l.path("samples").asText(), row.get(3));
                for (int k = 0; k < fields.length; k++) {
                    assertEquals(l.path(fields[k]).asText(), row.get(4 + k), fields[k] + " of latency row " + i);
                    checked++;
                }
            }
        }
        return checked;
    }

    private static int pairTable(JsonNode c, List<List<String>> t) {
        String id = c.path("id").asText();
        String panda = c.path("pandaLabel").asText();
        String peer = c.path("peerLabel").asText();
        JsonNode pairs = c.path("pairs");
        JsonNode s = c.path("summary");
        assertEquals(pairs.size() + 2, t.size(), id + ": head, one row per pair, medians");
        List<String> head = t.getFirst();
        int checked = 0;
        for (int r = 1; r < t.size(); r++) {
            List<String> row = t.get(r);
            boolean median = r == t.size() - 1;
            assertEquals(median ? "median" : pairs.get(r - 1).path("pair").asText(), row.get(0), id + " row " + r);
            JsonNode p = median ? null : pairs.get(r - 1);
            for (int k = 1; k < head.size(); k++) {
                String h = head.get(k);
                String cell = row.get(k);
                String where = id + " row " + r + " column '" + h + "'";
                if (h.equals(panda + " Mpps")) {
                    checked += same(
                            cell, median ? s.path("pandaMpps") : p.path("panda").path("mpps"), 3, where);
                } else if (h.equals(peer + " Mpps")) {
                    checked += same(
                            cell, median ? s.path("peerMpps") : p.path("peer").path("mpps"), 3, where);
                } else if (h.equals("ratio")) {
                    checked += same(cell, median ? s.path("ratio") : p.path("ratio"), 2, where);
                } else if (h.equals(panda + " cycles/packet")) {
                    checked += same(
                            cell,
                            median ? s.path("pandaCycles") : p.path("panda").path("cyclesPerPacket"),
                            1,
                            where);
                } else if (h.equals(peer + " cycles/packet")) {
                    checked += same(
                            cell, median ? s.path("peerCycles") : p.path("peer").path("cyclesPerPacket"), 1, where);
                } else if (h.equals("cycles ratio")) {
                    checked += same(cell, median ? s.path("cyclesRatio") : p.path("cyclesRatio"), 2, where);
                } else if (h.startsWith("other CPU %")) {
                    if (!median) {
                        String[] ab = cell.split(" / ");
                        checked += same(ab[0], p.path("panda").path("otherCpuPercent"), 1, where)
                                + same(ab[1], p.path("peer").path("otherCpuPercent"), 1, where);
                    }
                } else if (h.endsWith(" Mpps") || h.endsWith(" cycles/packet")) {
                    boolean mpps = h.endsWith(" Mpps");
                    String name = h.substring(0, h.length() - (mpps ? " Mpps" : " cycles/packet").length());
                    if (median) {
                        assertEquals("", cell, where);
                    } else {
                        JsonNode x = p.path("extra").path(name);
                        assertTrue(!x.isMissingNode(), where + ": no extra run '" + name + "' in report.json");
                        checked += same(cell, x.path(mpps ? "mpps" : "cyclesPerPacket"), mpps ? 3 : 1, where);
                    }
                } else {
                    fail(where + ": a column the check does not know");
                }
            }
        }
        return checked;
    }

    private static int spread(String cell, JsonNode median, JsonNode min, JsonNode max) {
        // "0.71 (0.56..0.80)"
        String[] a = cell.split(" \\(|\\.\\.|\\)");
        return same(a[0], median, 2) + same(a[1], min, 2) + same(a[2], max, 2);
    }

    private static int same(String cell, JsonNode v, int decimals) {
        return same(cell, v, decimals, "");
    }

    /** The cell is {@code v} printed with {@code decimals} decimals, or n/a where v is null. */
    private static int same(String cell, JsonNode v, int decimals, String where) {
        assertTrue(!v.isMissingNode(), where + ": no such value in report.json");
        if (v.isNull()) {
            assertEquals("n/a", cell, where + ": report.json holds null");
            return 1;
        }
        assertTrue(
                cell.matches("-?\\d+\\.\\d{" + decimals + "}"),
                where + ": '" + cell + "' is not a figure with " + decimals + " decimals");
        double printed = Double.parseDouble(cell);
        double raw = v.asDouble();
        assertTrue(
                Math.abs(printed - raw) <= 0.5 * Math.pow(10, -decimals) + 1e-9,
                where + ": report.md says " + cell + ", report.json " + raw);
        return 1;
    }

    /** The first Markdown table after the line starting with {@code heading}: its head and rows, cells trimmed. */
    static List<List<String>> tableAfter(List<String> md, String heading) {
        int i = 0;
        while (i < md.size() && !md.get(i).startsWith(heading)) {
            i++;
        }
        assertTrue(i < md.size(), "report.md has no '" + heading + "'");
        while (i < md.size() && !md.get(i).startsWith("|")) {
            i++;
        }
        List<List<String>> t = new ArrayList<>();
        for (; i < md.size() && md.get(i).startsWith("|"); i++) {
            if (md.get(i).startsWith("|---")) {
                continue;
            }
            String line = md.get(i).strip();
            List<String> cells = new ArrayList<>();
            for (String c : line.substring(1, line.length() - 1).split("(?<!\\\\)\\|", -1)) {
                cells.add(c.strip().replace("\\|", "|"));
            }
            t.add(cells);
        }
        return t;
    }
}
