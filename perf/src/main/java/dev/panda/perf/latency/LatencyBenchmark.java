package dev.panda.perf.latency;

import dev.panda.perf.DpdkProcess;
import dev.panda.perf.LoopSwitches;
import dev.panda.perf.LoopSwitches.LoopSwitch;
import dev.panda.vswitch.config.PmdConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.HdrHistogram.Histogram;

/**
 * {@code panda perf latency}: one-way latency percentiles of panda's generator through a path, at
 * fixed offered rates. The generator and the receiver are one panda lcore on CPU 0 (txonly paced
 * with {@code --tx-rate} and stamping {@code System.nanoTime()}, rxonly recording into an
 * HdrHistogram, as testpmd's {@code --latency}); the paths:
 *
 * <ul>
 *   <li>{@code ring}: a looped-back {@code net_ring0}, panda's own floor;
 *   <li>{@code vswitch}, {@code ovs}, {@code testpmd}: a vhost-user loop, two {@code
 *       net_virtio_user} servers (port 0 sends, port 1 receives) and between them the switch on
 *       CPU 1 with two vhost-user client ports: panda's vswitch (rtc, busy-spinning), OVS-DPDK 3.1's
 *       NORMAL bridge, or dpdk-testpmd io forwarding, started as {@code panda perf vswitch-loop}
 *       starts them ({@link LoopSwitches}).
 * </ul>
 *
 * Each path's switch is started once and every rate runs through it: warm-up, histogram reset,
 * the window, then the generator stops and the loop drains for 200 ms.
 */
public final class LatencyBenchmark {

    static final String RING = "net_ring loop";
    static final String VHOST = "vhost-user loop";
    static final Path TESTPMD = Path.of("/usr/bin/dpdk-testpmd");
    static final Path OVS = Path.of("/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk");

    private LatencyBenchmark() {}

    /**
     * Measures every path of {@code o.only()} at every rate and returns the results in that order;
     * {@code progress} gets one line per run (and a note for a path that cannot run here, which
     * then has no results). A run that fails is reported there and left out.
     */
    public static List<LatencyResult> run(LatencyOptions o, PrintStream progress) throws Exception {
        List<LatencyResult> results = new ArrayList<>();
        Logger pandaLog = Logger.getLogger("dev.panda");
        Level level = pandaLog.getLevel();
        pandaLog.setLevel(Level.SEVERE); // vhost-user (re)connections are logged: only errors here
        Path base = Files.createTempDirectory("panda-latency");
        String prefix = "panda-latency-" + ProcessHandle.current().pid();
        Thread hook = new Thread(() -> emergencyCleanup(base, prefix), "latency-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            for (String path : o.only()) {
                switch (path) {
                    case "ring" -> ring(o, progress, results);
                    case "vswitch" ->
                        vhost(
                                o,
                                progress,
                                results,
                                "panda-vswitch",
                                LoopSwitches.panda(PmdConfig.Mode.RTC, "spin"),
                                base,
                                prefix);
                    case "ovs" -> {
                        if (!Files.isExecutable(OVS)) {
                            progress.println("latency: " + OVS + " not found (scripts/setup installs"
                                    + " openvswitch-switch-dpdk); leaving ovs out");
                        } else {
                            vhost(o, progress, results, "ovs", LoopSwitches::ovs, base, prefix);
                        }
                    }
                    case "testpmd" -> {
                        if (!Files.isExecutable(TESTPMD)) {
                            progress.println("latency: " + TESTPMD + " not found (scripts/setup installs dpdk-dev);"
                                    + " leaving testpmd out");
                        } else {
                            vhost(o, progress, results, "testpmd", LoopSwitches::testpmd, base, prefix);
                        }
                    }
                    default -> throw new IllegalArgumentException("unknown path " + path);
                }
            }
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // shutting down: the hook runs
            }
            DpdkProcess.removeLeftovers(prefix + "-sw");
            LoopSwitches.deleteTree(base);
            pandaLog.setLevel(level);
        }
        return results;
    }

    private static void ring(LatencyOptions o, PrintStream progress, List<LatencyResult> results) {
        try (TrafficSide t = new TrafficSide(List.of("net_ring0"), LoopSwitches.TRAFFIC_CPU)) {
            for (double mpps : o.ratesMpps()) {
                measure(t, RING, "none", mpps, o, progress, results, null);
            }
        } catch (Exception e) {
            progress.println("latency: net_ring loop failed: " + e);
        }
    }

    private static void vhost(
            LatencyOptions o,
            PrintStream progress,
            List<LatencyResult> results,
            String name,
            LoopSwitches.Starter starter,
            Path base,
            String prefix) {
        Path dir = base.resolve(name);
        try {
            Files.createDirectories(dir);
            Path sock0 = dir.resolve("vm0.sock");
            Path sock1 = dir.resolve("vm1.sock");
            try (TrafficSide t = new TrafficSide(
                            List.of(
                                    "net_virtio_user0,path=" + sock0 + ",server=1",
                                    "net_virtio_user1,path=" + sock1 + ",server=1"),
                            LoopSwitches.TRAFFIC_CPU);
                    LoopSwitch sw = starter.start(dir, sock0, sock1, prefix + "-sw")) {
                t.awaitLinks(System.nanoTime() + TimeUnit.SECONDS.toNanos(60));
                for (double mpps : o.ratesMpps()) {
                    measure(t, VHOST, name, mpps, o, progress, results, sw);
                }
            }
        } catch (Exception e) {
            progress.println("latency: vhost-user loop through " + name + " failed: " + e);
        } finally {
            try {
                LoopSwitches.deleteTree(dir);
            } catch (IOException e) {
                progress.println("latency: cleanup: " + e.getMessage());
            }
        }
    }

    private static void measure(
            TrafficSide t,
            String path,
            String sw,
            double mpps,
            LatencyOptions o,
            PrintStream progress,
            List<LatencyResult> results,
            LoopSwitch loopSwitch)
            throws Exception {
        TrafficSide.Run r = t.run(mpps * 1e6, o.warmup(), o.seconds());
        if (loopSwitch != null && !loopSwitch.alive()) {
            throw new IOException(sw + " died during the run; its output:\n" + loopSwitch.log());
        }
        Histogram h = r.latency();
        long count = h.getTotalCount();
        LatencyResult res = new LatencyResult(
                path,
                sw,
                mpps * 1e6,
                r.achievedPps(),
                h.getValueAtPercentile(50),
                h.getValueAtPercentile(99),
                h.getValueAtPercentile(99.9),
                h.getValueAtPercentile(99.99),
                h.getMaxValue(),
                count,
                Math.max(0, r.sent() - count));
        results.add(res);
        progress.println("  " + row(res) + (r.negative() > 0 ? "  (" + r.negative() + " stamps from the future)" : ""));
    }

    /** {@code panda perf latency [options]}: runs and prints the table; returns the exit code. */
    public static int main(String[] args, PrintStream out) throws Exception {
        if (args.length == 1 && (args[0].equals("-h") || args[0].equals("--help"))) {
            out.println("usage: panda perf latency [--rates 0.1,1,5] [--seconds N (5)] [--warmup N (2)]"
                    + " [--only ring,vswitch,ovs,testpmd]");
            return 0;
        }
        LatencyOptions o = LatencyOptions.parse(args);
        if (Runtime.getRuntime().availableProcessors() < 2 && !o.only().equals(List.of("ring"))) {
            throw new IllegalArgumentException("the vhost-user loops need CPUs 0 and 1");
        }
        out.printf(
                Locale.ROOT,
                "latency: %s at %s Mpps offered; warm-up %d s, window %d s; 64-byte frames, burst 32;"
                        + " generator and receiver: one panda lcore on CPU %d, switch on CPU %d%n",
                String.join(", ", o.only()),
                o.ratesMpps().stream()
                        .map(r -> String.format(Locale.ROOT, "%g", r))
                        .toList(),
                o.warmup(),
                o.seconds(),
                LoopSwitches.TRAFFIC_CPU,
                LoopSwitches.SWITCH_CPU);
        out.println("  " + header());
        List<LatencyResult> results = run(o, out);
        out.println();
        out.println("  " + header());
        for (LatencyResult r : results) {
            out.println("  " + row(r));
        }
        return results.isEmpty() ? 1 : 0;
    }

    static String header() {
        return String.format(
                Locale.ROOT,
                "%-16s %-14s %8s %8s %9s %9s %9s %9s %10s %10s %8s",
                "path",
                "switch",
                "offered",
                "achieved",
                "p50 ns",
                "p99 ns",
                "p99.9 ns",
                "p99.99 ns",
                "max ns",
                "count",
                "lost");
    }

    static String row(LatencyResult r) {
        return String.format(
                Locale.ROOT,
                "%-16s %-14s %8.3f %8.3f %9d %9d %9d %9d %10d %10d %8d",
                r.path(),
                r.switchName(),
                r.offeredPps() / 1e6,
                r.achievedPps() / 1e6,
                r.p50Ns(),
                r.p99Ns(),
                r.p999Ns(),
                r.p9999Ns(),
                r.maxNs(),
                r.count(),
                r.lost());
    }

    /** On Ctrl-C: end the peers this process started and remove their files. */
    private static void emergencyCleanup(Path base, String prefix) {
        ProcessHandle.current().descendants().forEach(ProcessHandle::destroy);
        try {
            Thread.sleep(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        ProcessHandle.current().descendants().forEach(ProcessHandle::destroyForcibly);
        try {
            DpdkProcess.removeLeftovers(prefix + "-sw");
            LoopSwitches.deleteTree(base);
        } catch (IOException e) {
            System.err.println("latency: cleanup: " + e.getMessage());
        }
    }
}
