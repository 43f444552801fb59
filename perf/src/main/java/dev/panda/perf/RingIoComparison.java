package dev.panda.perf;

import dev.panda.dataplane.port.PortStats;
import dev.panda.dataplane.testpmd.Testpmd;
import dev.panda.dataplane.testpmd.TestpmdOptions;
import dev.panda.perf.report.ComparisonResult;
import dev.panda.perf.report.PairFigure;
import dev.panda.perf.report.RunFigure;
import dev.panda.perf.report.RunObserver;
import dev.panda.perf.report.Stats;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * io forwarding between two net_ring ports on one forwarding lcore (pinned to the last CPU,
 * busy-spinning, one tx_first burst per stream in flight), panda against dpdk-testpmd doing the
 * same, interleaved (panda, dpdk, panda with byte counters, ...). DPDK's ring PMD counts no bytes,
 * so the compared panda run uses {@code count_bytes=0}; the third run shows what panda's byte
 * counters cost. The figure for each run is the median of its per-second forwarded rates (sum of
 * both ports' rx) after a warm-up second.
 */
final class RingIoComparison {

    private RingIoComparison() {}

    static int run(String[] args, PrintStream out) throws Exception {
        int pairs = 3;
        int seconds = 5;
        int burst = 32;
        boolean dpdk = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--pairs" -> pairs = positive(args, ++i);
                case "--seconds" -> seconds = positive(args, ++i);
                case "--burst" -> burst = positive(args, ++i);
                case "--no-dpdk" -> dpdk = false;
                case "-h", "--help" -> {
                    out.println(
                            "usage: panda perf ring-io [--pairs N (3)] [--seconds S (5)] [--burst N (32)] [--no-dpdk]");
                    return 0;
                }
                default ->
                    throw new IllegalArgumentException("unknown ring-io option '" + args[i]
                            + "'; accepted --pairs N, --seconds S, --burst N, --no-dpdk");
            }
        }
        if (dpdk && !DpdkProcess.available()) {
            out.println(
                    "note: " + DpdkProcess.TESTPMD + " not found (scripts/setup installs it); measuring panda alone");
            dpdk = false;
        }
        ComparisonResult r = measure(pairs, seconds, burst, dpdk, out, RunObserver.NONE);
        out.printf(
                "panda median %.3f Mpps (with byte counters %.3f Mpps)%n",
                r.summary().pandaMpps(),
                Stats.median(r.pairs().stream()
                        .map(p -> p.extra().get(WITH_BYTES).mpps())
                        .toList()));
        if (dpdk) {
            out.printf("dpdk-testpmd median %.3f Mpps%n", r.summary().peerMpps());
            out.printf("median ratio panda/dpdk-testpmd: %.2f%n", r.summary().ratio());
        }
        return 0;
    }

    /** The extra run of each pair: panda with its byte counters on. */
    static final String WITH_BYTES = "panda with byte counters";

    /**
     * Runs {@code pairs} interleaved pairs (panda, dpdk-testpmd unless {@code dpdk} is false, panda
     * with byte counters), printing each pair's line to {@code out}.
     */
    static ComparisonResult measure(int pairs, int seconds, int burst, boolean dpdk, PrintStream out, RunObserver obs)
            throws Exception {
        int cpus = Runtime.getRuntime().availableProcessors();
        String lcores = cpus >= 2 ? "0," + (cpus - 1) : "0@0,1@0";
        out.printf(
                "ring-io: %d pair(s), %d s each, burst %d, forwarding lcore on CPU %d%n",
                pairs, seconds, burst, cpus - 1);
        List<PairFigure> figures = new ArrayList<>();
        for (int p = 0; p < pairs; p++) {
            String at = "ring-io pair " + (p + 1) + "/" + pairs + ": ";
            obs.starting(at + "panda");
            RunFigure a = Measured.run("panda", () -> panda(lcores, burst, seconds, false));
            StringBuilder line = new StringBuilder(String.format(
                    java.util.Locale.ROOT,
                    "  pair %d  panda %8.3f Mpps (%.1f cycles/pkt)",
                    p + 1,
                    a.mpps(),
                    a.cyclesPerPacket()));
            RunFigure b = Measured.none("dpdk-testpmd");
            if (dpdk) {
                obs.starting(at + "dpdk-testpmd");
                b = Measured.run("dpdk-testpmd", () -> dpdk(lcores, burst, seconds));
                line.append(String.format(
                        java.util.Locale.ROOT,
                        "   dpdk-testpmd %8.3f Mpps (%.1f cycles/pkt)   ratio %.2f",
                        b.mpps(),
                        b.cyclesPerPacket(),
                        a.mpps() / b.mpps()));
            }
            obs.starting(at + WITH_BYTES);
            RunFigure c = Measured.run(WITH_BYTES, () -> panda(lcores, burst, seconds, true));
            line.append(String.format("   panda with byte counters %8.3f Mpps", c.mpps()));
            out.println(line);
            figures.add(new PairFigure(p + 1, a, b, Map.of(WITH_BYTES, c)));
        }
        return ComparisonResult.of(
                "ring-io",
                "io forwarding between two net_ring ports",
                String.format(
                        "io forwarding between two net_ring ports on one lcore pinned to CPU %d, busy-spinning, one"
                                + " tx_first burst of %d per stream in flight; panda with count_bytes=0 (DPDK's ring"
                                + " PMD counts no bytes) against dpdk-testpmd; a third run per pair shows panda with"
                                + " its byte counters. Figure: median of %d per-second rates after a warm-up second.",
                        cpus - 1, burst, seconds),
                "panda",
                "dpdk-testpmd",
                figures,
                List.of(),
                List.of());
    }

    /** The positive integer after an option, for the comparisons' --pairs/--seconds/--burst. */
    static int positive(String[] args, int i) {
        if (i >= args.length) {
            throw new IllegalArgumentException("option " + args[i - 1] + " needs a value");
        }
        int n = Integer.parseInt(args[i]);
        if (n < 1) {
            throw new IllegalArgumentException("option " + args[i - 1] + " must be positive");
        }
        return n;
    }

    /** Per-second forwarded packet rates of panda's in-process testpmd. */
    static double[] panda(String lcores, int burst, int seconds, boolean countBytes) throws InterruptedException {
        String args = countBytes ? "" : ",count_bytes=0";
        TestpmdOptions o = TestpmdOptions.parse(
                "--lcores",
                lcores,
                "--vdev",
                "net_ring0" + args,
                "--vdev",
                "net_ring1" + args,
                "--forward-mode=io",
                "--burst=" + burst,
                "--total-num-mbufs=8192",
                "--no-huge",
                "--record-core-cycles");
        java.io.ByteArrayOutputStream output = new java.io.ByteArrayOutputStream();
        PrintStream quiet = new PrintStream(output, true, java.nio.charset.StandardCharsets.UTF_8);
        try (Testpmd app = Testpmd.open(o, quiet)) {
            app.start(1);
            Thread.sleep(1000);
            double[] rates = new double[seconds];
            long prev = forwarded(app);
            long t0 = System.nanoTime();
            for (int s = 0; s < seconds; s++) {
                Thread.sleep(1000);
                long now = forwarded(app);
                long t1 = System.nanoTime();
                rates[s] = (now - prev) / ((t1 - t0) / 1e9);
                prev = now;
                t0 = t1;
            }
            app.showForwardStats(); // the whole run's busy cycles per packet, as DPDK's prints at exit
            Measured.cyclesFrom(output.toString(java.nio.charset.StandardCharsets.UTF_8));
            return rates;
        }
    }

    private static long forwarded(Testpmd app) {
        long rx = 0;
        for (int p = 0; p < app.portCount(); p++) {
            PortStats s = app.port(p).stats();
            rx += s.ipackets();
        }
        return rx;
    }

    /** Per-second forwarded packet rates of dpdk-testpmd, from its own --stats-period output. */
    static double[] dpdk(String lcores, int burst, int seconds) throws IOException, InterruptedException {
        List<String> eal = List.of(
                "--lcores", lcores, "--no-huge", "-m", "512", "--no-pci", "--vdev", "net_ring0", "--vdev", "net_ring1");
        List<String> app = List.of(
                "--forward-mode=io",
                "--tx-first",
                "--stats-period",
                "1",
                "--burst=" + burst,
                "--total-num-mbufs=8192",
                "--record-core-cycles");
        DpdkProcess proc =
                new DpdkProcess("panda-perf-" + ProcessHandle.current().pid(), eal, app);
        try (proc) {
            // two Rx-pps lines (ports 0 and 1) per period; the first two periods are start-up and warm-up
            int periods = seconds + 2;
            long deadline = System.nanoTime() + (periods + 20) * 1_000_000_000L;
            while (proc.rxPps().size() < 2 * periods) {
                if (!proc.alive() || System.nanoTime() > deadline) {
                    throw new IOException("dpdk-testpmd printed no statistics; its output was:\n" + proc.log());
                }
                Thread.sleep(100);
            }
            List<Long> pps = proc.rxPps();
            List<Double> rates = new ArrayList<>();
            for (int p = 2; p < periods; p++) {
                rates.add((double) (pps.get(2 * p) + pps.get(2 * p + 1)));
            }
            proc.close(); // SIGINT: it stops forwarding and prints the run's statistics and cycles
            Measured.cycles(proc.cyclesPerPacket());
            return Measured.toArray(rates);
        }
    }

    static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }

    static double median(List<Double> v) {
        return median(v.stream().mapToDouble(Double::doubleValue).toArray());
    }
}
