package dev.panda.perf;

import dev.panda.perf.report.ComparisonResult;
import dev.panda.perf.report.CpuWatch;
import dev.panda.perf.report.PairFigure;
import dev.panda.perf.report.RunFigure;
import dev.panda.perf.report.RunObserver;
import dev.panda.vswitch.config.PmdConfig;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A closed vhost-user loop: dpdk-testpmd on CPU 0 sends 64-byte frames out of two virtio-user
 * ports ({@code start tx_first 32}, then mac forwarding, each port addressing the other's MAC) into
 * a switch on CPU 1 that sends them back: panda's vswitch in rtc and in pipeline mode, OVS-DPDK's
 * NORMAL bridge, and dpdk-testpmd io forwarding (the loop's ceiling). Each round runs every switch
 * once and then the first one again (the A/A pair that shows the spread). A run warms up, then
 * measures the loop rate (the traffic side's RX-packets of both ports over the window) and the
 * switch's own busy cycles per packet.
 */
final class VswitchLoopComparison {

    private record Variant(String name, LoopSwitches.Starter starter) {}

    private record Result(double mpps, double cycles, double traffic) {
        static Result of(RunFigure r, double traffic) {
            return new Result(r.mpps(), r.cyclesPerPacket(), traffic);
        }
    }

    /**
     * Two runs whose traffic sides spent per packet within this factor of each other had the same
     * placement: the host's two placements differ by 2x and more in that figure here.
     */
    static final double SAME_PLACEMENT = 1.25;

    /** Every switch {@code --only} accepts; panda-io (panda's testpmd io as the switch) only when asked for. */
    private static final List<String> NAMES = List.of("panda-rtc", "panda-pipeline", "ovs", "testpmd", "panda-io");

    private static final List<String> DEFAULT = NAMES.subList(0, 4);

    private VswitchLoopComparison() {}

    static int run(String[] args, PrintStream out) throws Exception {
        int pairs = 7;
        int seconds = 5;
        int warmup = 3;
        String idle = null;
        List<String> only = DEFAULT;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--pairs" -> pairs = RingIoComparison.positive(args, ++i);
                case "--seconds" -> seconds = RingIoComparison.positive(args, ++i);
                case "--warmup" -> warmup = RingIoComparison.positive(args, ++i);
                case "--idle" -> {
                    idle = value(args, ++i);
                    if (!List.of("spin", "yield", "park").contains(idle)) {
                        throw new IllegalArgumentException("--idle: spin, yield or park, got '" + idle + "'");
                    }
                }
                case "--only" -> only = only(value(args, ++i));
                case "-h", "--help" -> {
                    out.println("usage: panda perf vswitch-loop [--pairs N (7)] [--seconds S (5)] [--warmup S (3)]");
                    out.println(
                            "         [--only panda-rtc,panda-pipeline,ovs,testpmd (default),panda-io] [--idle spin|yield|park]");
                    return 0;
                }
                default ->
                    throw new IllegalArgumentException("unknown vswitch-loop option '" + args[i]
                            + "'; accepted --pairs N, --seconds S, --warmup S, --only LIST, --idle MODE");
            }
        }
        if (!DpdkProcess.available()) {
            throw new IllegalArgumentException(DpdkProcess.TESTPMD + " not found: run scripts/setup");
        }
        if (Runtime.getRuntime().availableProcessors() < 2) {
            throw new IllegalArgumentException("vswitch-loop needs CPUs 0 and 1");
        }
        Rounds rounds = measure(pairs, seconds, warmup, only, idle, out, RunObserver.NONE);
        List<String> chosen = rounds.chosen();
        Map<String, List<Result>> results = new LinkedHashMap<>();
        for (var e : rounds.runs().entrySet()) {
            results.put(e.getKey(), results(e.getValue(), rounds.traffic().get(e.getKey())));
        }
        List<Result> again = results(rounds.again(), rounds.againTraffic());

        out.println();
        out.printf("medians over %d round(s):%n", pairs);
        out.printf("  %-22s %10s %20s %14s%n", "switch", "loop Mpps", "busy cycles/packet", "traffic side");
        for (var e : results.entrySet()) {
            out.printf(
                    "  %-22s %10.3f %20.1f %14.1f%n",
                    e.getKey(),
                    median(e.getValue(), Result::mpps),
                    median(e.getValue(), Result::cycles),
                    median(e.getValue(), Result::traffic));
        }
        out.printf(
                "  %-22s %10.3f %20.1f %14.1f%n",
                chosen.getFirst() + " (A/A)",
                median(again, Result::mpps),
                median(again, Result::cycles),
                median(again, Result::traffic));
        out.printf(
                "median of the per-round ratios (same placement: the rounds whose two runs' traffic sides"
                        + " spent within %.2fx of each other):%n",
                SAME_PLACEMENT);
        String a = chosen.getFirst();
        ratio(out, a + "/" + a + " (A/A, the spread)", results.get(a), again, Result::mpps, "loop Mpps", "");
        ratio(out, a + "/" + a + " (A/A, the spread)", results.get(a), again, Result::cycles, "busy cycles/packet", "");
        for (String p : List.of("panda-rtc", "panda-pipeline", "panda-io")) {
            if (results.containsKey(p) && results.containsKey("testpmd")) {
                ratio(
                        out,
                        p + "/testpmd",
                        results.get(p),
                        results.get("testpmd"),
                        Result::mpps,
                        "loop Mpps",
                        "   (target >= 1.00)");
            }
            if (results.containsKey(p) && results.containsKey("ovs")) {
                ratio(
                        out,
                        p + "/ovs",
                        results.get(p),
                        results.get("ovs"),
                        Result::cycles,
                        "busy cycles/packet",
                        "   (target <= 0.67)");
            }
        }
        return 0;
    }

    /**
     * Every run of every round: per switch of {@code chosen} (in order, OVS left out when it is not
     * installed) one figure per round, and the first switch's A/A run per round. A run that failed
     * has NaN figures. {@code traffic} and {@code againTraffic} hold the traffic side's busy cycles
     * per packet of the same runs (NaN for a failed run).
     */
    record Rounds(
            List<String> chosen,
            Map<String, List<RunFigure>> runs,
            List<RunFigure> again,
            String setup,
            Map<String, List<Double>> traffic,
            List<Double> againTraffic) {}

    /** The switches {@code --only} accepts, in their default order. */
    static List<String> names() {
        return NAMES;
    }

    /** Runs {@code pairs} rounds of {@code only} and the A/A run, printing each run's line to {@code out}. */
    static Rounds measure(
            int pairs, int seconds, int warmup, List<String> only, String idle, PrintStream out, RunObserver obs)
            throws Exception {
        List<String> chosen = new ArrayList<>(only);
        if (chosen.contains("ovs") && !OvsDpdk.available()) {
            out.println("note: " + OvsDpdk.VSWITCHD + " not found (scripts/setup installs openvswitch-switch-dpdk);"
                    + " leaving ovs out");
            chosen.remove("ovs");
        }
        String rtcIdle = idle == null ? "spin" : idle;
        String pipelineIdle = idle == null ? "yield" : idle;
        Map<String, Variant> all = new LinkedHashMap<>();
        all.put("panda-rtc", new Variant("panda-rtc", LoopSwitches.panda(PmdConfig.Mode.RTC, rtcIdle)));
        all.put(
                "panda-pipeline",
                new Variant("panda-pipeline", LoopSwitches.panda(PmdConfig.Mode.PIPELINE, pipelineIdle)));
        all.put("ovs", new Variant("ovs", LoopSwitches::ovs));
        all.put("testpmd", new Variant("testpmd", LoopSwitches::testpmd));
        all.put("panda-io", new Variant("panda-io", LoopSwitches::pandaIo));
        List<Variant> variants = chosen.stream().map(all::get).toList();

        out.printf(
                "vswitch-loop: %d round(s) of %s + %s again (A/A); warm-up %d s, window %d s%n",
                pairs, String.join(", ", chosen), chosen.getFirst(), warmup, seconds);
        String traffic = String.format(
                "traffic: dpdk-testpmd, 2 virtio-user servers (mac=%s, %s), mac fwd with eth-peers crossed,"
                        + " tx_first 32, CPU %d",
                LoopSwitches.MAC0, LoopSwitches.MAC1, LoopSwitches.TRAFFIC_CPU);
        String sw = String.format(
                "switch on CPU %d between 2 vhost-user client ports; panda idle: rtc %s, pipeline %s (stages on CPU %d)",
                LoopSwitches.SWITCH_CPU, rtcIdle, pipelineIdle, LoopSwitches.SWITCH_CPU);
        String huge = String.format(
                "hugepages: each testpmd -m %d with %d mbufs; OVS dpdk-socket-mem %d, socket-limit %d;"
                        + " panda a %d-buffer pool",
                LoopSwitches.TESTPMD_MEM,
                LoopSwitches.TESTPMD_MBUFS,
                LoopSwitches.OVS_SOCKET_MEM,
                LoopSwitches.OVS_SOCKET_LIMIT,
                dev.panda.dataplane.mem.PoolConfig.DEFAULT_COUNT);
        out.println("  " + traffic);
        out.println("  " + sw);
        out.println("  " + huge);

        Map<String, List<RunFigure>> results = new LinkedHashMap<>();
        Map<String, List<Double>> trafficCycles = new LinkedHashMap<>();
        for (String n : chosen) {
            results.put(n, new ArrayList<>());
            trafficCycles.put(n, new ArrayList<>());
        }
        List<RunFigure> again = new ArrayList<>();
        List<Double> againTraffic = new ArrayList<>();
        // panda's ports log each vhost-user (re)connection (System.Logger, on java.util.logging):
        // only errors while runs come and go
        Logger pandaLog = Logger.getLogger("dev.panda");
        Level level = pandaLog.getLevel();
        pandaLog.setLevel(Level.SEVERE);
        LoopRun loop = new LoopRun(warmup, seconds);
        try {
            for (int r = 1; r <= pairs; r++) {
                List<Variant> order = new ArrayList<>(variants);
                order.add(variants.getFirst());
                for (int i = 0; i < order.size(); i++) {
                    Variant v = order.get(i);
                    boolean aa = i == order.size() - 1;
                    String label = aa ? v.name() + " (A/A)" : v.name();
                    obs.starting("vswitch-loop round " + r + "/" + pairs + ": " + label);
                    RunFigure res;
                    double side = Double.NaN;
                    CpuWatch w = CpuWatch.start();
                    try {
                        double[] m = loop.measure(v.name(), v.starter());
                        res = new RunFigure(label, m[0], m[1], w.otherPercent(), List.of());
                        side = m[2];
                        out.printf(
                                "  round %d  %-22s %7.3f Mpps   busy %7.1f cycles/packet   traffic side %6.1f%n",
                                r, label, res.mpps(), res.cyclesPerPacket(), m[2]);
                    } catch (Exception e) {
                        res = new RunFigure(label, Double.NaN, Double.NaN, w.otherPercent(), List.of());
                        out.printf("  round %d  %-22s failed: %s%n", r, label, tail(e.getMessage(), 40));
                    }
                    (aa ? again : results.get(v.name())).add(res);
                    (aa ? againTraffic : trafficCycles.get(v.name())).add(side);
                }
            }
        } finally {
            loop.close();
            pandaLog.setLevel(level);
        }
        return new Rounds(chosen, results, again, traffic + "; " + sw + "; " + huge, trafficCycles, againTraffic);
    }

    /**
     * The report's comparisons out of the rounds: panda rtc (or the first panda switch run) against
     * testpmd-as-switch and against OVS, each with the other panda mode and the A/A run as extra
     * runs of the round and the A/A Mpps ratios.
     */
    static List<ComparisonResult> comparisons(Rounds rounds, int seconds, int warmup) {
        List<ComparisonResult> out = new ArrayList<>();
        String panda = rounds.chosen().stream()
                .filter(n -> n.startsWith("panda"))
                .findFirst()
                .orElse(null);
        if (panda == null) {
            return out;
        }
        String first = rounds.chosen().getFirst();
        List<Double> aa = new ArrayList<>();
        for (int i = 0; i < rounds.again().size(); i++) {
            aa.add(rounds.runs().get(first).get(i).mpps()
                    / rounds.again().get(i).mpps());
        }
        for (String peer : List.of("testpmd", "ovs")) {
            if (!rounds.runs().containsKey(peer)) {
                continue;
            }
            List<PairFigure> pairs = new ArrayList<>();
            List<RunFigure> a = rounds.runs().get(panda);
            for (int i = 0; i < a.size(); i++) {
                Map<String, RunFigure> extra = new LinkedHashMap<>();
                for (var e : rounds.runs().entrySet()) {
                    if (!e.getKey().equals(panda) && !e.getKey().equals(peer)) {
                        extra.put(e.getKey(), e.getValue().get(i));
                    }
                }
                extra.put(first + " (A/A)", rounds.again().get(i));
                pairs.add(
                        new PairFigure(i + 1, a.get(i), rounds.runs().get(peer).get(i), extra));
            }
            String peerLabel = peer.equals("ovs") ? "OVS-DPDK NORMAL" : "dpdk-testpmd io";
            out.add(ComparisonResult.of(
                    "vswitch-loop-" + peer,
                    "vswitch loop: " + panda + " against " + peerLabel + " as the switch",
                    "A closed vhost-user loop; " + rounds.setup() + ". Each round runs "
                            + String.join(", ", rounds.chosen()) + " and " + first + " again (A/A); warm-up "
                            + warmup + " s, window " + seconds + " s. Figure: the loop's Mpps (the traffic side's"
                            + " RX-packets over the window) and the switch's own busy cycles per packet.",
                    panda,
                    peerLabel,
                    pairs,
                    aa,
                    peer.equals("ovs")
                            ? List.of("target (issue 9): panda's busy cycles per packet at most 0.67 of OVS's")
                            : List.of("target (issue 9): loop Mpps at least that of testpmd as the switch")));
        }
        return out;
    }

    private static void ratio(
            PrintStream out,
            String what,
            List<Result> x,
            List<Result> y,
            java.util.function.ToDoubleFunction<Result> f,
            String unit,
            String target) {
        List<Double> ratios = new ArrayList<>();
        List<Double> same = new ArrayList<>();
        for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
            double q = f.applyAsDouble(x.get(i)) / f.applyAsDouble(y.get(i));
            if (Double.isFinite(q)) {
                ratios.add(q);
                if (samePlacement(x.get(i).traffic(), y.get(i).traffic())) {
                    same.add(q);
                }
            }
        }
        if (ratios.isEmpty()) {
            out.printf("  %-40s %-19s n/a%n", what, unit);
            return;
        }
        out.printf(
                "  %-40s %-19s %5.2f  (range %.2f..%.2f)%s%n",
                what,
                unit,
                RingIoComparison.median(ratios),
                ratios.stream().min(Comparator.naturalOrder()).orElseThrow(),
                ratios.stream().max(Comparator.naturalOrder()).orElseThrow(),
                target);
        out.printf(
                "  %-40s %-19s %s%n",
                "",
                "  same placement",
                same.isEmpty()
                        ? "n/a (no round had both runs in the same placement)"
                        : String.format(
                                "%5.2f  (range %.2f..%.2f, %d of %d rounds)",
                                RingIoComparison.median(same),
                                same.stream().min(Comparator.naturalOrder()).orElseThrow(),
                                same.stream().max(Comparator.naturalOrder()).orElseThrow(),
                                same.size(),
                                ratios.size()));
    }

    /** Whether two runs' traffic sides spent per packet within {@link #SAME_PLACEMENT} of each other. */
    static boolean samePlacement(double a, double b) {
        return a > 0 && b > 0 && Math.max(a, b) / Math.min(a, b) <= SAME_PLACEMENT;
    }

    private static List<Result> results(List<RunFigure> runs, List<Double> traffic) {
        List<Result> out = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) {
            out.add(Result.of(runs.get(i), i < traffic.size() ? traffic.get(i) : Double.NaN));
        }
        return out;
    }

    private static double median(List<Result> rs, java.util.function.ToDoubleFunction<Result> f) {
        double[] v = rs.stream().mapToDouble(f).filter(Double::isFinite).toArray();
        return v.length == 0 ? Double.NaN : RingIoComparison.median(v);
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) {
            throw new IllegalArgumentException("option " + args[i - 1] + " needs a value");
        }
        return args[i];
    }

    static List<String> only(String list) {
        List<String> out = new ArrayList<>();
        for (String s : list.split(",")) {
            String n = s.strip();
            if (!NAMES.contains(n)) {
                throw new IllegalArgumentException(
                        "--only: unknown switch '" + n + "'; accepted " + String.join(", ", NAMES));
            }
            if (!out.contains(n)) {
                out.add(n);
            }
        }
        return out;
    }

    /** The last {@code lines} lines of {@code s}. */
    static String tail(String s, int lines) {
        if (s == null) {
            return "(no message)";
        }
        String[] l = s.split("\n");
        return l.length <= lines ? s : String.join("\n", List.of(l).subList(l.length - lines, l.length));
    }
}
