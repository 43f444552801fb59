package dev.panda.perf.report;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * report.md: the summary tables. Each comparison is a section headed {@code ### ID: title} whose
 * first table has one row per pair and a last row of medians; every figure is printed with
 * {@link Figures} from the value report.json holds.
 */
public final class MarkdownReport {

    private MarkdownReport() {}

    public static String render(Report r) {
        StringBuilder b = new StringBuilder();
        b.append("# panda perf report\n\n");
        b.append("Mode ")
                .append(r.mode())
                .append(", started ")
                .append(r.started())
                .append(", took ")
                .append(Progress.clock(r.seconds()))
                .append(" (`")
                .append(r.command())
                .append("`).\n\n");
        b.append("## Machine\n\n| item | value |\n|---|---|\n");
        for (String[] row : machineRows(r.machine())) {
            b.append("| ").append(row[0]).append(" | ").append(cell(row[1])).append(" |\n");
        }
        b.append("\n## Cross-CPU round trip\n\n")
                .append(rttSummary(r.crossCpuRoundTrip()))
                .append("\n\n");
        if (!r.skipped().isEmpty()) {
            b.append("## Skipped\n\n");
            for (String s : r.skipped()) {
                b.append("- ").append(s).append('\n');
            }
            b.append('\n');
        }
        if (!r.comparisons().isEmpty()) {
            b.append("## Summary\n\n");
            table(b, summaryTable(r.comparisons()), 2);
        }
        for (ComparisonResult c : r.comparisons()) {
            comparison(b, c);
        }
        if (!r.latency().isEmpty()) {
            b.append("## Latency\n\n");
            table(b, latencyTable(r.latency()), 2);
        }
        return b.toString();
    }

    private static void comparison(StringBuilder b, ComparisonResult c) {
        b.append("### ").append(c.id()).append(": ").append(c.title()).append("\n\n");
        b.append(c.description()).append("\n\n");
        table(b, pairTable(c), 1);
        ComparisonResult.Summary s = c.summary();
        b.append("Per-pair ratio ")
                .append(c.pandaLabel())
                .append(" / ")
                .append(c.peerLabel())
                .append(": median ")
                .append(Figures.spread(s.ratio(), s.ratioMin(), s.ratioMax()))
                .append(" over ")
                .append(c.pairs().size())
                .append(" pair(s)");
        if (!c.aaRatios().isEmpty()) {
            b.append("; A/A (the same switch run twice per round): ")
                    .append(Figures.spread(s.aaRatio(), s.aaMin(), s.aaMax()));
        }
        b.append(".\n\n");
        for (String w : warnings(c)) {
            b.append("> **warning:** ").append(w).append("\n\n");
        }
        for (String n : c.notes()) {
            b.append("- note: ").append(n).append('\n');
        }
        if (!c.notes().isEmpty()) {
            b.append('\n');
        }
    }

    /** A table in Markdown: the first row is the head; the first {@code left} columns are left-aligned. */
    private static void table(StringBuilder b, List<List<String>> t, int left) {
        for (int i = 0; i < t.size(); i++) {
            b.append("| ")
                    .append(String.join(
                            " | ", t.get(i).stream().map(MarkdownReport::cell).toList()))
                    .append(" |\n");
            if (i == 0) {
                for (int k = 0; k < t.get(0).size(); k++) {
                    b.append(k < left ? "|---" : "|---:");
                }
                b.append("|\n");
            }
        }
        b.append('\n');
    }

    /** The summary: one row per comparison, after a head row. */
    public static List<List<String>> summaryTable(List<ComparisonResult> cs) {
        List<List<String>> t = new ArrayList<>();
        t.add(List.of(
                "comparison",
                "panda",
                "panda Mpps",
                "peer",
                "peer Mpps",
                "median ratio (range)",
                "A/A (range)",
                "busy cycles/packet panda / peer",
                "runs with other CPU use > 5%"));
        for (ComparisonResult c : cs) {
            ComparisonResult.Summary s = c.summary();
            t.add(List.of(
                    c.id(),
                    c.pandaLabel(),
                    Figures.mpps(s.pandaMpps()),
                    c.peerLabel(),
                    Figures.mpps(s.peerMpps()),
                    Figures.spread(s.ratio(), s.ratioMin(), s.ratioMax()),
                    c.aaRatios().isEmpty() ? "-" : Figures.spread(s.aaRatio(), s.aaMin(), s.aaMax()),
                    c.hasCycles() ? Figures.cycles(s.pandaCycles()) + " / " + Figures.cycles(s.peerCycles()) : "-",
                    Integer.toString(s.disturbedRuns())));
        }
        return t;
    }

    /** A comparison's pairs: a head row, one row per pair, and a row of medians. */
    public static List<List<String>> pairTable(ComparisonResult c) {
        List<String> extras = extraNames(c);
        boolean cycles = c.hasCycles();
        List<String> head =
                new ArrayList<>(List.of("pair", c.pandaLabel() + " Mpps", c.peerLabel() + " Mpps", "ratio"));
        if (cycles) {
            head.addAll(List.of(c.pandaLabel() + " cycles/packet", c.peerLabel() + " cycles/packet", "cycles ratio"));
        }
        for (String e : extras) {
            head.add(e + " Mpps");
            if (cycles) {
                head.add(e + " cycles/packet");
            }
        }
        head.add("other CPU % (" + c.pandaLabel() + " / " + c.peerLabel() + ")");
        List<List<String>> t = new ArrayList<>();
        t.add(head);
        for (PairFigure p : c.pairs()) {
            List<String> row = new ArrayList<>(List.of(
                    Integer.toString(p.pair()),
                    Figures.mpps(p.panda().mpps()),
                    Figures.mpps(p.peer().mpps()),
                    Figures.ratio(p.ratio())));
            if (cycles) {
                row.addAll(List.of(
                        Figures.cycles(p.panda().cyclesPerPacket()),
                        Figures.cycles(p.peer().cyclesPerPacket()),
                        Figures.ratio(p.cyclesRatio())));
            }
            for (String e : extras) {
                RunFigure x = p.extra().get(e);
                row.add(x == null ? "n/a" : Figures.mpps(x.mpps()));
                if (cycles) {
                    row.add(x == null ? "n/a" : Figures.cycles(x.cyclesPerPacket()));
                }
            }
            row.add(Figures.percent(p.panda().otherCpuPercent()) + " / "
                    + Figures.percent(p.peer().otherCpuPercent()));
            t.add(row);
        }
        ComparisonResult.Summary s = c.summary();
        List<String> med = new ArrayList<>(
                List.of("median", Figures.mpps(s.pandaMpps()), Figures.mpps(s.peerMpps()), Figures.ratio(s.ratio())));
        if (cycles) {
            med.addAll(List.of(
                    Figures.cycles(s.pandaCycles()), Figures.cycles(s.peerCycles()), Figures.ratio(s.cyclesRatio())));
        }
        for (int i = 0; i < extras.size() * (cycles ? 2 : 1); i++) {
            med.add("");
        }
        med.add("");
        t.add(med);
        return t;
    }

    /** The latency runs: a head row and one row per run. */
    public static List<List<String>> latencyTable(List<LatencyFigure> figures) {
        List<List<String>> t = new ArrayList<>();
        t.add(List.of(
                "path", "switch", "offered Mpps", "samples", "p50 ns", "p99 ns", "p99.9 ns", "p99.99 ns", "max ns"));
        for (LatencyFigure l : figures) {
            List<String> row = new ArrayList<>(
                    List.of(l.path(), l.sw(), Figures.mpps(l.offeredMpps()), Long.toString(l.samples())));
            for (long v : l.values()) {
                row.add(Long.toString(v));
            }
            t.add(row);
        }
        return t;
    }

    /** The names of the extra runs of a comparison's pairs, in first-seen order. */
    static List<String> extraNames(ComparisonResult c) {
        Set<String> names = new LinkedHashSet<>();
        for (PairFigure p : c.pairs()) {
            names.addAll(p.extra().keySet().stream().sorted().toList());
        }
        return List.copyOf(names);
    }

    /** One line per run during which other processes used more than 5% of the CPU. */
    public static List<String> warnings(ComparisonResult c) {
        List<String> out = new ArrayList<>();
        for (PairFigure p : c.pairs()) {
            List<RunFigure> runs = new ArrayList<>(List.of(p.panda(), p.peer()));
            runs.addAll(p.extra().values());
            for (RunFigure r : runs) {
                if (r.disturbed()) {
                    out.add("other processes used " + Figures.percent(r.otherCpuPercent()) + "% of the CPU during pair "
                            + p.pair() + "'s " + r.label() + " run");
                }
            }
        }
        return out;
    }

    static List<String[]> machineRows(MachineInfo m) {
        return List.of(
                new String[] {"CPU", m.cpuModel()},
                new String[] {"cores", Integer.toString(m.cores())},
                new String[] {"TSC rate", String.format(java.util.Locale.ROOT, "%.3f GHz", m.tscGhz())},
                new String[] {"kernel", m.kernel()},
                new String[] {"JDK", m.jdk()},
                new String[] {"DPDK", m.dpdk()},
                new String[] {"OVS", m.ovs()},
                new String[] {"QEMU", m.qemu()},
                new String[] {"hugepages", m.hugepages()});
    }

    /** "N samples between the two CPUs: fastest round trip ... ns, ...". */
    static String rttSummary(List<CrossCpuRtt.Sample> samples) {
        List<Double> mins = samples.stream()
                .map(CrossCpuRtt.Sample::minNs)
                .filter(Double::isFinite)
                .toList();
        List<Double> medians = samples.stream()
                .map(CrossCpuRtt.Sample::medianNs)
                .filter(Double::isFinite)
                .toList();
        if (mins.isEmpty()) {
            return "No sample (" + samples.size() + " tried; one CPU, or no round trip completed).";
        }
        double fastest = Stats.min(mins);
        List<Double> fast = mins.stream().filter(m -> m <= 1.5 * fastest).toList();
        List<Double> slow = mins.stream().filter(m -> m > 1.5 * fastest).toList();
        return samples.size() + " samples, about one a second (" + mins.size() + " with a figure): per-sample fastest"
                + " round trip " + Figures.ns(fastest) + " .. " + Figures.ns(Stats.max(mins)) + " ns (median "
                + Figures.ns(Stats.median(mins)) + "), per-sample median round trip median "
                + Figures.ns(Stats.median(medians)) + " ns. Placement: " + fast.size() + " sample(s) fast (within 1.5x"
                + " of the run's fastest, median " + Figures.ns(Stats.median(fast)) + " ns), " + slow.size()
                + " slow" + (slow.isEmpty() ? "" : " (median " + Figures.ns(Stats.median(slow)) + " ns)")
                + ". Slow samples during the run mean the two CPUs were placed further apart for a while (on a VM:"
                + " other host cores or sockets), or a busy machine kept the two threads from meeting.";
    }

    static String cell(String s) {
        return s.replace("|", "\\|").replace("\n", " ");
    }
}
