package dev.panda.perf;

import dev.panda.jextract.Posix;
import dev.panda.vswitch.Vswitch;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.control.ControlServer;
import dev.panda.vswitch.ctl.CtlClient;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Does a burst of control API calls during traffic change the pmd's figures? The vswitch-loop set-up
 * (dpdk-testpmd on CPU 0 sending 64-byte frames in a closed vhost-user loop through panda's br0,
 * whose pmd owns CPU 1) runs quiet and with a client hammering the control socket (show, port-stats,
 * pmd-stats, fdb-show, config-show and a malformed add-br, round robin, one connection per call, at
 * {@code --rate} calls per second or as fast as it can). Each round runs quiet, burst and quiet
 * again (the A/A pair that shows the spread), alternating which of quiet and burst goes first; the
 * pmd's busy cycles per packet and the loop rate are compared as medians and per-round ratios.
 *
 * <p>The control threads and the burst client run on CPU 0 with the traffic side, never on the pmd
 * core: a burst costs the loop some offered load, which the report shows beside the cycles.
 */
final class ApiBurstComparison {

    private static final String[] CALLS = {
        "GET /v1/show",
        "GET /v1/ports/stats",
        "GET /v1/pmd-stats",
        "GET /v1/bridges/br0/fdb",
        "GET /v1/config",
        "POST /v1/bridges {\"name\": \"br1\", \"colour\": 1}"
    };

    private record Result(double mpps, double cycles, long calls) {}

    private ApiBurstComparison() {}

    static int run(String[] args, PrintStream out) throws Exception {
        int pairs = 7;
        int seconds = 5;
        int warmup = 3;
        PmdConfig.Mode mode = PmdConfig.Mode.RTC;
        String idle = null;
        int rate = 0; // 0: as fast as the client can
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--pairs" -> pairs = RingIoComparison.positive(args, ++i);
                case "--seconds" -> seconds = RingIoComparison.positive(args, ++i);
                case "--warmup" -> warmup = RingIoComparison.positive(args, ++i);
                case "--mode" -> mode = PmdConfig.Mode.parse(value(args, ++i));
                case "--idle" -> idle = value(args, ++i);
                case "--rate" -> {
                    String v = value(args, ++i);
                    rate = v.equals("max") ? 0 : RingIoComparison.positive(args, i);
                }
                case "-h", "--help" -> {
                    out.println("usage: panda perf api-burst [--pairs N (7)] [--seconds S (5)] [--warmup S (3)]");
                    out.println(
                            "         [--mode rtc|pipeline (rtc)] [--idle spin|yield|park] [--rate CALLS_PER_S|max (max)]");
                    return 0;
                }
                default ->
                    throw new IllegalArgumentException("unknown api-burst option '" + args[i]
                            + "'; accepted --pairs N, --seconds S, --warmup S, --mode M, --idle I, --rate R");
            }
        }
        if (idle != null && !List.of("spin", "yield", "park").contains(idle)) {
            throw new IllegalArgumentException("--idle: spin, yield or park, got '" + idle + "'");
        }
        if (!DpdkProcess.available()) {
            throw new IllegalArgumentException(DpdkProcess.TESTPMD + " not found: run scripts/setup");
        }
        if (Runtime.getRuntime().availableProcessors() < 2) {
            throw new IllegalArgumentException("api-burst needs CPUs 0 and 1");
        }
        String pmdIdle = idle != null ? idle : mode == PmdConfig.Mode.RTC ? "spin" : "yield";
        AtomicLong calls = new AtomicLong();
        int callRate = rate;
        int warmupS = warmup;
        int secondsS = seconds;
        LoopSwitches.Starter quiet = LoopSwitches.panda(mode, pmdIdle);
        LoopSwitches.Starter burst =
                LoopSwitches.panda(mode, pmdIdle, (v, dir, cpus) -> new Burst(v, dir, callRate, calls));

        out.printf(
                "api-burst: %d round(s) of quiet, burst (order alternating) + quiet again (A/A); warm-up %d s,"
                        + " window %d s%n",
                pairs, warmup, seconds);
        out.printf(
                "  panda %s (idle %s), pmd on CPU %d; traffic: dpdk-testpmd mac fwd in a closed vhost-user loop on CPU %d%n",
                mode.label(), pmdIdle, LoopSwitches.SWITCH_CPU, LoopSwitches.TRAFFIC_CPU);
        out.printf(
                "  burst: one client on the control socket, %s, round robin over: %s%n",
                rate == 0 ? "as fast as it can" : rate + " calls/s", String.join(", ", CALLS));

        List<Result> quietRuns = new ArrayList<>();
        List<Result> burstRuns = new ArrayList<>();
        List<Result> again = new ArrayList<>();
        Logger pandaLog = Logger.getLogger("dev.panda");
        Level level = pandaLog.getLevel();
        pandaLog.setLevel(Level.SEVERE);
        LoopRun loop = new LoopRun(warmup, seconds);
        try {
            for (int r = 1; r <= pairs; r++) {
                boolean burstFirst = r % 2 == 0;
                for (int step = 0; step < 3; step++) {
                    boolean isBurst = step < 2 && (step == 0) == burstFirst;
                    String label = step == 2 ? "quiet (A/A)" : isBurst ? "burst" : "quiet";
                    calls.set(0);
                    Result res;
                    try {
                        double[] m = loop.measure(isBurst ? "burst" : "quiet", isBurst ? burst : quiet);
                        res = new Result(m[0], m[1], calls.get());
                        out.printf(
                                "  round %d  %-12s %7.3f Mpps   busy %7.1f cycles/packet%s%n",
                                r,
                                label,
                                res.mpps(),
                                res.cycles(),
                                isBurst
                                        ? String.format(
                                                "   %d API calls (%.0f/s over warm-up and window)",
                                                res.calls(), res.calls() / (double) (warmupS + secondsS))
                                        : "");
                    } catch (Exception e) {
                        res = new Result(Double.NaN, Double.NaN, 0);
                        out.printf(
                                "  round %d  %-12s failed: %s%n",
                                r, label, VswitchLoopComparison.tail(e.getMessage(), 40));
                    }
                    (step == 2 ? again : isBurst ? burstRuns : quietRuns).add(res);
                }
            }
        } finally {
            loop.close();
            pandaLog.setLevel(level);
        }
        out.println();
        out.printf("medians over %d round(s):%n", pairs);
        out.printf("  %-14s %10s %20s%n", "", "loop Mpps", "busy cycles/packet");
        row(out, "quiet", quietRuns);
        row(out, "burst", burstRuns);
        row(out, "quiet (A/A)", again);
        out.println("median of the per-round ratios (range):");
        ratio(out, "burst/quiet", burstRuns, quietRuns);
        ratio(out, "quiet again/quiet (A/A)", again, quietRuns);
        out.println("the burst changes no pmd figure beyond noise when burst/quiet's cycles ratio lies within the"
                + " A/A range");
        return 0;
    }

    private static void row(PrintStream out, String name, List<Result> rs) {
        out.printf(
                "  %-14s %10.3f %20.1f%n",
                name,
                median(rs.stream().mapToDouble(Result::mpps).toArray()),
                median(rs.stream().mapToDouble(Result::cycles).toArray()));
    }

    private static void ratio(PrintStream out, String what, List<Result> x, List<Result> y) {
        List<Double> cycles = new ArrayList<>();
        List<Double> mpps = new ArrayList<>();
        for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
            double c = x.get(i).cycles() / y.get(i).cycles();
            double m = x.get(i).mpps() / y.get(i).mpps();
            if (Double.isFinite(c)) {
                cycles.add(c);
            }
            if (Double.isFinite(m)) {
                mpps.add(m);
            }
        }
        out.printf("  %-26s cycles/packet %s   loop Mpps %s%n", what, summary(cycles), summary(mpps));
    }

    private static String summary(List<Double> v) {
        if (v.isEmpty()) {
            return "n/a";
        }
        return String.format(
                "%5.3f (%.3f..%.3f)",
                RingIoComparison.median(v),
                v.stream().min(Comparator.naturalOrder()).orElseThrow(),
                v.stream().max(Comparator.naturalOrder()).orElseThrow());
    }

    private static double median(double[] v) {
        double[] f = Arrays.stream(v).filter(Double::isFinite).toArray();
        return f.length == 0 ? Double.NaN : RingIoComparison.median(f);
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) {
            throw new IllegalArgumentException("option " + args[i - 1] + " needs a value");
        }
        return args[i];
    }

    /** The control server on the switch, and one client calling it until closed. */
    private static final class Burst implements AutoCloseable {
        private final ControlServer server;
        private final Thread client;
        private final AtomicBoolean stop = new AtomicBoolean();

        Burst(Vswitch v, Path dir, int rate, AtomicLong calls) {
            int[] others = Arrays.stream(Posix.getAffinity())
                    .filter(c -> c != LoopSwitches.SWITCH_CPU)
                    .toArray();
            server = ControlServer.start(dir.resolve("ctl"), v, others.length > 0 ? others : null);
            CtlClient c = new CtlClient(server.path(), Duration.ofSeconds(10));
            long gapNanos = rate == 0 ? 0 : 1_000_000_000L / rate;
            client = new Thread(
                    () -> {
                        long next = System.nanoTime();
                        for (int i = 0; !stop.get(); i++) {
                            String[] call = CALLS[i % CALLS.length].split(" ", 3);
                            byte[] body = call.length > 2 ? call[2].getBytes(StandardCharsets.UTF_8) : null;
                            try {
                                c.call(call[0], call[1], body, null);
                                calls.incrementAndGet();
                            } catch (java.io.IOException e) {
                                if (!stop.get()) {
                                    System.err.println("api-burst: " + e.getMessage());
                                }
                            }
                            if (gapNanos > 0) {
                                next += gapNanos;
                                long wait = next - System.nanoTime();
                                if (wait > 0) {
                                    java.util.concurrent.locks.LockSupport.parkNanos(wait);
                                }
                            }
                        }
                    },
                    "api-burst");
            client.setDaemon(true);
            client.start();
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            client.join(15_000);
            server.close();
        }
    }
}
