package dev.panda.perf;

import dev.panda.perf.latency.CaptureSweep;
import dev.panda.vswitch.capture.CaptureSpec;
import dev.panda.vswitch.capture.CaptureView;
import dev.panda.vswitch.config.PmdConfig;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;

/**
 * {@code panda perf capture}: what packet capture costs and sustains.
 *
 * <ol>
 *   <li>Journal appends per second on one writer thread, 64- and 1500-byte frames (a capture
 *       record each: 16-byte header and the frame), into a Chronicle Queue in {@code --dir}.
 *   <li>The vswitch loop of {@code vswitch-loop} (dpdk-testpmd on CPU 0, panda on CPU 1) without a
 *       capture (A), with a capture of every frame port vm0 receives and sends (B, no filter), and
 *       without again (A/A, the spread), in interleaved rounds: busy cycles per packet and the loop's
 *       rate; for B the capture's matched, captured and dropped, i.e. whether the offered rate was
 *       captured without loss.
 *   <li>A sweep of offered rates (panda's paced generator through the same vswitch, a capture of
 *       vm0's received frames per rate): the highest rate captured without loss ({@link
 *       CaptureSweep}).
 * </ol>
 */
final class CaptureCostComparison {

    private CaptureCostComparison() {}

    static int run(String[] args, PrintStream out) throws Exception {
        int pairs = 5;
        int seconds = 10;
        int warmup = 3;
        long records = 5_000_000;
        boolean journalOnly = false;
        boolean sweep = true;
        boolean sweepOnly = false;
        int sweepSeconds = 3;
        PmdConfig.Mode mode = PmdConfig.Mode.RTC;
        Path dir = Path.of(System.getProperty("java.io.tmpdir"));
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--pairs" -> pairs = RingIoComparison.positive(args, ++i);
                case "--seconds" -> seconds = RingIoComparison.positive(args, ++i);
                case "--warmup" -> warmup = RingIoComparison.positive(args, ++i);
                case "--records" -> records = RingIoComparison.positive(args, ++i);
                case "--journal-only" -> journalOnly = true;
                case "--no-sweep" -> sweep = false;
                case "--sweep-only" -> sweepOnly = true;
                case "--sweep-seconds" -> sweepSeconds = RingIoComparison.positive(args, ++i);
                case "--mode" -> mode = PmdConfig.Mode.parse(args[++i]);
                case "--dir" -> dir = Path.of(args[++i]);
                case "-h", "--help" -> {
                    out.println("usage: panda perf capture [--records N (5000000)] [--dir DIR (tmp)] [--journal-only]");
                    out.println("         [--pairs N (5)] [--seconds S (10)] [--warmup S (3)] [--mode rtc|pipeline]");
                    out.println("         [--no-sweep | --sweep-only] [--sweep-seconds S (3)]");
                    return 0;
                }
                default ->
                    throw new IllegalArgumentException("unknown capture option '" + args[i]
                            + "'; accepted --records, --dir, --journal-only, --pairs, --seconds, --warmup, --mode,"
                            + " --no-sweep, --sweep-only, --sweep-seconds");
            }
        }
        String idle = mode == PmdConfig.Mode.RTC ? "spin" : "yield";
        if (sweepOnly) {
            sweep(mode, idle, dir, sweepSeconds, out);
            return 0;
        }
        for (int size : new int[] {64, 1500}) {
            journal(out, dir, size, records);
        }
        if (journalOnly) {
            return 0;
        }
        if (!DpdkProcess.available()) {
            throw new IllegalArgumentException(DpdkProcess.TESTPMD + " not found: run scripts/setup");
        }
        out.printf(
                "capture cost: %d round(s) of A (no capture), B (capture of vm0, both directions), A again;"
                        + " warm-up %d s, window %d s%n",
                pairs, warmup, seconds);
        List<double[]> a = new ArrayList<>();
        List<double[]> b = new ArrayList<>();
        List<double[]> again = new ArrayList<>();
        Logger pandaLog = Logger.getLogger("dev.panda");
        Level level = pandaLog.getLevel();
        pandaLog.setLevel(Level.SEVERE);
        LoopRun loop = new LoopRun(warmup, seconds);
        Path state = Files.createTempDirectory(dir, "panda-capture-cost");
        try {
            for (int r = 1; r <= pairs; r++) {
                String[] labels = {"A no capture", "B capture", "A again (A/A)"};
                for (int i = 0; i < 3; i++) {
                    CaptureView[] end = {null};
                    int round = r;
                    LoopSwitches.Starter starter = i == 1
                            ? LoopSwitches.panda(mode, idle, (v, d, cpus) -> {
                                v.stateDir(state);
                                String name = "cost" + round;
                                v.captureStart(new CaptureSpec(name, "vm0", "both", 0, null, null, 0, 0));
                                return () -> end[0] = v.captureStop(name);
                            })
                            : LoopSwitches.panda(mode, idle);
                    try {
                        double[] x = loop.measure("panda-" + mode.label() + (i == 1 ? "-capture" : ""), starter);
                        (i == 0 ? a : i == 1 ? b : again).add(x);
                        out.printf(
                                "  round %d  %-15s busy %7.1f cycles/packet  %7.3f Mpps%s%n",
                                r,
                                labels[i],
                                x[1],
                                x[0],
                                end[0] == null
                                        ? ""
                                        : String.format(
                                                "  capture: matched %d captured %d dropped %d%s",
                                                end[0].matched(),
                                                end[0].captured(),
                                                end[0].dropped(),
                                                end[0].dropped() == 0 ? " (no loss)" : ""));
                    } catch (Exception e) {
                        out.printf(
                                "  round %d  %-15s failed: %s%n",
                                r, labels[i], VswitchLoopComparison.tail(e.getMessage(), 20));
                    }
                }
            }
        } finally {
            loop.close();
            pandaLog.setLevel(level);
            deleteTree(state);
        }
        out.printf(
                "medians: A %.1f, B %.1f, A again %.1f busy cycles/packet; B/A %.3f, A again/A %.3f%n",
                median(a), median(b), median(again), median(b) / median(a), median(again) / median(a));
        if (sweep) {
            sweep(mode, idle, dir, sweepSeconds, out);
        }
        return 0;
    }

    /** Offered rates for the lossless-capture sweep, packets per second. */
    static final double[] SWEEP_PPS = {50e3, 100e3, 200e3, 400e3, 600e3, 800e3, 1.2e6, 1.6e6, 2.4e6, 3.2e6};

    private static void sweep(PmdConfig.Mode mode, String idle, Path dir, int seconds, PrintStream out)
            throws Exception {
        Logger pandaLog = Logger.getLogger("dev.panda");
        Level level = pandaLog.getLevel();
        pandaLog.setLevel(Level.SEVERE);
        try {
            CaptureSweep.run(mode, idle, dir, SWEEP_PPS, seconds, out);
        } finally {
            pandaLog.setLevel(level);
        }
    }

    private static double median(List<double[]> xs) {
        double[] v = xs.stream().mapToDouble(x -> x[1]).filter(Double::isFinite).toArray();
        return v.length == 0 ? Double.NaN : RingIoComparison.median(v);
    }

    /** Appends {@code n} capture records of {@code frame} bytes from one thread; prints the rate. */
    static void journal(PrintStream out, Path dir, int frame, long n) throws Exception {
        Path q = Files.createTempDirectory(dir, "panda-capture-journal");
        byte[] rec = new byte[16 + frame];
        Bytes<byte[]> bytes = Bytes.wrapForRead(rec);
        try (SingleChronicleQueue queue = SingleChronicleQueueBuilder.binary(q)
                        .rollCycle(RollCycles.FAST_HOURLY)
                        .build();
                ExcerptAppender app = queue.createAppender()) {
            long warm = Math.min(n / 10, 200_000);
            for (long i = 0; i < warm; i++) {
                bytes.readPositionRemaining(0, rec.length);
                app.writeBytes(bytes);
            }
            long t0 = System.nanoTime();
            for (long i = 0; i < n; i++) {
                rec[8] = (byte) i;
                bytes.readPositionRemaining(0, rec.length);
                app.writeBytes(bytes);
            }
            double s = (System.nanoTime() - t0) / 1e9;
            out.printf(
                    "journal: %d-byte frames: %,d appends in %.2f s = %,.0f appends/s (%.1f MB/s) on one thread%n",
                    frame, n, s, n / s, n * (double) rec.length / s / 1e6);
        } finally {
            deleteTree(q);
        }
    }

    static void deleteTree(Path p) throws java.io.IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (var s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder())
                    .forEach(f -> f.toFile().delete());
        }
    }
}
