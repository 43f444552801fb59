package dev.panda.perf;

import dev.panda.perf.report.Budget;
import dev.panda.perf.report.ComparisonResult;
import dev.panda.perf.report.CrossCpuRtt;
import dev.panda.perf.report.Figures;
import dev.panda.perf.report.LatencyFigure;
import dev.panda.perf.report.LatencyRunner;
import dev.panda.perf.report.MachineInfo;
import dev.panda.perf.report.Progress;
import dev.panda.perf.report.Report;
import dev.panda.perf.report.ReportFiles;
import dev.panda.perf.report.RunObserver;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code panda perf report}: runs the comparisons within a time budget, skipping with one line
 * each whose peer is missing, shows progress, and writes report.html, report.json and report.md.
 */
final class PerfReport {

    static final List<String> NAMES =
            List.of("ring-io", "vhost-rx", "virtio-tx", "xdp-rxdrop", "vswitch-loop", "classifier", "latency");

    /** The frame sizes of the vhost-user comparisons. */
    static final int[] SIZES = {64, 1500};

    private PerfReport() {}

    /** One comparison of the plan: about how long each run takes, how many runs, and what it does. */
    private record Section(String name, double secondsPerRun, int runs, String skip, Body body) {
        double estimate() {
            return skip == null ? secondsPerRun * runs : 0;
        }
    }

    @FunctionalInterface
    private interface Body {
        /** Runs the section, handing each comparison's result to {@code sink} as soon as it is there. */
        void run(
                PrintStream out,
                RunObserver obs,
                Consumer<ComparisonResult> sink,
                List<LatencyFigure> latency,
                List<String> skipped)
                throws Exception;
    }

    static int run(String[] args, PrintStream out) throws Exception {
        Budget budget = Budget.STANDARD;
        List<String> only = NAMES;
        Path dir = null;
        Integer pairs = null;
        Integer seconds = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> budget = Budget.QUICK;
                case "--full" -> budget = Budget.FULL;
                case "--only" -> only = only(value(args, ++i));
                case "--out" -> dir = Path.of(value(args, ++i));
                case "--pairs" -> pairs = RingIoComparison.positive(args, ++i);
                case "--seconds" -> seconds = RingIoComparison.positive(args, ++i);
                case "-h", "--help" -> {
                    out.println("usage: panda perf report [--quick | --full] [--only NAME,...] [--out DIR]"
                            + " [--pairs N] [--seconds S]");
                    out.println("  names: " + String.join(", ", NAMES));
                    out.println("  --quick about 5 minutes (2 pairs of 2 s, one vswitch-loop round); default 3 pairs"
                            + " of 4 s, 3 rounds; --full 5 pairs of 5 s, 7 rounds");
                    out.println("  writes DIR/report.html, report.json, report.md (DIR: perf-report-YYYYMMDD-HHMMSS)");
                    return 0;
                }
                default ->
                    throw new IllegalArgumentException("unknown report option '" + args[i]
                            + "'; accepted --quick, --full, --only LIST, --out DIR, --pairs N, --seconds S");
            }
        }
        if (pairs != null || seconds != null) {
            budget = new Budget(
                    budget.mode() + " (custom)",
                    pairs == null ? budget.pairs() : pairs,
                    seconds == null ? budget.seconds() : seconds,
                    budget.warmup(),
                    pairs == null ? budget.loopRounds() : pairs);
        }
        Instant started = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        if (dir == null) {
            dir = Path.of("perf-report-"
                    + DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
                            .withZone(ZoneOffset.UTC)
                            .format(started));
        }
        Files.createDirectories(dir);
        String command = "panda perf report " + String.join(" ", args);
        MachineInfo machine = MachineInfo.collect();
        out.printf(
                "perf report (%s: %d pair(s) of %d s, vswitch-loop %d round(s)) -> %s%n",
                budget.mode(), budget.pairs(), budget.seconds(), budget.loopRounds(), dir);
        out.printf(
                "  %s, %d cores, TSC %.3f GHz, kernel %s; %s; %s; hugepages %s%n",
                machine.cpuModel(),
                machine.cores(),
                machine.tscGhz(),
                machine.kernel(),
                machine.dpdk(),
                machine.ovs(),
                machine.hugepages());

        List<Section> plan = plan(budget, only);
        double total = plan.stream().mapToDouble(Section::estimate).sum();
        out.printf("  about %s in all%n", Progress.clock(total));
        List<ComparisonResult> results = new ArrayList<>();
        List<LatencyFigure> latency = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        int failed = 0;
        int cpus = Runtime.getRuntime().availableProcessors();
        CrossCpuRtt rtt = cpus >= 2 ? CrossCpuRtt.start(0, cpus - 1, 1000) : null;
        long t0 = System.nanoTime();
        // panda's ports log each vhost-user (re)connection: only warnings and errors while runs come and go
        java.util.logging.Logger pandaLog = java.util.logging.Logger.getLogger("dev.panda");
        java.util.logging.Level level = pandaLog.getLevel();
        pandaLog.setLevel(java.util.logging.Level.WARNING);
        try (Progress progress = new Progress(out, Progress.stdoutIsTerminal(), total)) {
            PrintStream lines = progress.lines();
            for (Section s : plan) {
                if (s.skip() != null) {
                    String line = s.name() + ": skipped, " + s.skip();
                    progress.line("skip " + line);
                    skipped.add(line);
                    continue;
                }
                progress.section(s.secondsPerRun());
                try {
                    s.body()
                            .run(
                                    lines,
                                    progress,
                                    c -> {
                                        results.add(c);
                                        progress.line(summaryLine(c));
                                    },
                                    latency,
                                    skipped);
                } catch (Exception e) {
                    failed++;
                    String why = e.getMessage() == null ? e.toString() : e.getMessage();
                    progress.line(s.name() + ": failed, " + VswitchLoopComparison.tail(why, 20));
                    skipped.add(
                            s.name() + ": failed, " + why.lines().findFirst().orElse(""));
                } finally {
                    progress.endSection(s.estimate());
                }
            }
        } finally {
            pandaLog.setLevel(level);
            if (rtt != null) {
                rtt.close();
            }
        }
        double took = (System.nanoTime() - t0) / 1e9;
        Report report = new Report(
                budget.mode(),
                DateTimeFormatter.ISO_INSTANT.format(started),
                took,
                command,
                machine,
                rtt == null ? List.of() : rtt.samples(),
                results,
                latency,
                skipped);
        ReportFiles.write(report, dir);
        out.printf(
                "wrote %s, %s, %s (%d comparison(s), %d latency run(s), %d skipped or failed) in %s%n",
                dir.resolve("report.html"),
                dir.resolve("report.json"),
                dir.resolve("report.md"),
                results.size(),
                latency.size(),
                skipped.size(),
                Progress.clock(took));
        return failed == 0 ? 0 : 1;
    }

    private static String summaryLine(ComparisonResult c) {
        ComparisonResult.Summary s = c.summary();
        StringBuilder b = new StringBuilder(String.format(
                "= %s: %s %s Mpps, %s %s Mpps, median ratio %s",
                c.id(),
                c.pandaLabel(),
                Figures.mpps(s.pandaMpps()),
                c.peerLabel(),
                Figures.mpps(s.peerMpps()),
                Figures.spread(s.ratio(), s.ratioMin(), s.ratioMax())));
        if (c.hasCycles()) {
            b.append(", busy cycles/packet ")
                    .append(Figures.cycles(s.pandaCycles()))
                    .append(" / ")
                    .append(Figures.cycles(s.peerCycles()));
        }
        if (!c.aaRatios().isEmpty()) {
            b.append(", A/A ").append(Figures.spread(s.aaRatio(), s.aaMin(), s.aaMax()));
        }
        if (s.disturbedRuns() > 0) {
            b.append(" (warning: other processes used more than 5% of the CPU in ")
                    .append(s.disturbedRuns())
                    .append(" run(s))");
        }
        return b.toString();
    }

    private static List<Section> plan(Budget b, List<String> only) {
        boolean dpdk = DpdkProcess.available();
        boolean root = isRoot();
        int cpus = Runtime.getRuntime().availableProcessors();
        String noDpdk = DpdkProcess.TESTPMD + " is not installed (scripts/setup installs Debian's dpdk-dev)";
        String hugepages =
                freeHugepages() < 512 ? "fewer than 512 free 2 MiB hugepages (scripts/setup reserves 1024)" : null;
        List<Section> plan = new ArrayList<>();
        for (String name : only) {
            plan.add(
                    switch (name) {
                        case "ring-io" ->
                            new Section(
                                    name,
                                    b.seconds() + 3,
                                    3 * b.pairs(),
                                    dpdk ? null : noDpdk,
                                    (out, obs, sink, l, sk) -> sink.accept(
                                            RingIoComparison.measure(b.pairs(), b.seconds(), 32, true, out, obs)));
                        case "vhost-rx", "virtio-tx" ->
                            new Section(
                                    name,
                                    b.seconds() + 4,
                                    2 * b.pairs() * SIZES.length,
                                    !dpdk ? noDpdk : hugepages,
                                    (out, obs, sink, l, sk) -> {
                                        VhostUserPairs.Spec spec = name.equals("vhost-rx")
                                                ? VhostRxComparison.SPEC
                                                : VirtioTxComparison.SPEC;
                                        for (int size : SIZES) {
                                            sink.accept(VhostUserPairs.measure(
                                                    spec, b.pairs(), b.seconds(), size, out, obs));
                                        }
                                    });
                        case "xdp-rxdrop" ->
                            new Section(
                                    name,
                                    b.seconds() + 2,
                                    2 * b.pairs(),
                                    root ? null : "it needs root (XDP programs and a veth pair)",
                                    (out, obs, sink, l, sk) ->
                                            sink.accept(XdpRxDropComparison.measure(b.pairs(), b.seconds(), out, obs)));
                        case "vswitch-loop" -> {
                            List<String> sw = b == Budget.QUICK || b.mode().startsWith("quick")
                                    ? List.of("panda-rtc", "ovs", "testpmd")
                                    : List.of("panda-rtc", "panda-pipeline", "ovs", "testpmd");
                            String skip = !dpdk
                                    ? noDpdk
                                    : !root
                                            ? "it needs root (hugepages, vhost-user sockets)"
                                            : cpus < 2 ? "it needs CPUs 0 and 1" : hugepages;
                            yield new Section(
                                    name,
                                    6 + b.warmup() + b.seconds(),
                                    b.loopRounds() * (sw.size() + 1),
                                    skip,
                                    (out, obs, sink, l, sk) -> {
                                        if (!OvsDpdk.available()) {
                                            sk.add(
                                                    "vswitch-loop-ovs: skipped, " + OvsDpdk.VSWITCHD
                                                            + " is not installed (scripts/setup installs openvswitch-switch-dpdk)");
                                        }
                                        VswitchLoopComparison.Rounds r = VswitchLoopComparison.measure(
                                                b.loopRounds(), b.seconds(), b.warmup(), sw, null, out, obs);
                                        VswitchLoopComparison.comparisons(r, b.seconds(), b.warmup())
                                                .forEach(sink);
                                    });
                        }
                        case "classifier" ->
                            new Section(
                                    name,
                                    0,
                                    0,
                                    "panda has no flows yet (OpenFlow is a later issue): no classifier scaling to measure",
                                    null);
                        case "latency" -> latencySection(b);
                        default -> throw new IllegalStateException(name);
                    });
        }
        return plan;
    }

    private static Section latencySection(Budget b) {
        LatencyRunner runner =
                ServiceLoader.load(LatencyRunner.class).findFirst().orElse(null);
        if (runner == null) {
            return new Section(
                    "latency", 0, 0, "no latency runner in this build (dev.panda.perf.latency is not wired in)", null);
        }
        String why = runner.unavailable();
        return new Section("latency", runner.secondsPerRun(b), runner.runs(b), why, (out, obs, sink, l, sk) -> {
            l.addAll(runner.run(b, out, obs));
        });
    }

    static boolean isRoot() {
        try {
            Matcher m = Pattern.compile("(?m)^Uid:\\s+(\\d+)").matcher(Files.readString(Path.of("/proc/self/status")));
            return m.find() && m.group(1).equals("0");
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private static long freeHugepages() {
        try {
            Matcher m = Pattern.compile("(?m)^HugePages_Free:\\s+(\\d+)")
                    .matcher(Files.readString(Path.of("/proc/meminfo")));
            return m.find() ? Long.parseLong(m.group(1)) : 0;
        } catch (java.io.IOException e) {
            return 0;
        }
    }

    private static List<String> only(String list) {
        List<String> out = new ArrayList<>();
        for (String s : list.split(",")) {
            String n = s.strip();
            if (!NAMES.contains(n)) {
                throw new IllegalArgumentException(
                        "--only: unknown comparison '" + n + "'; accepted " + String.join(", ", NAMES));
            }
            if (!out.contains(n)) {
                out.add(n);
            }
        }
        return out;
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) {
            throw new IllegalArgumentException("option " + args[i - 1] + " needs a value");
        }
        return args[i];
    }
}
