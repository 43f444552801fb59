package dev.panda.perf;

import dev.panda.perf.report.ComparisonResult;
import dev.panda.perf.report.PairFigure;
import dev.panda.perf.report.RunFigure;
import dev.panda.perf.report.RunObserver;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The frame of a vhost-user comparison: {@code --pairs N --seconds S --size B}, a private socket
 * directory, panda's run and DPDK's run interleaved pair by pair, and the medians.
 */
final class VhostUserPairs {

    /** One measured run: the per-second receive rates in packets per second, over {@code seconds}. */
    interface Run {
        double[] measure(Path socket, int seconds, int size) throws Exception;
    }

    /** What a comparison is: its name, a one-line description (with %d for the frame size), its two sides. */
    record Spec(String name, String what, String pandaLabel, Run panda, String dpdkLabel, Run dpdk) {}

    private VhostUserPairs() {}

    /**
     * Parses the options, runs {@code pairs} pairs of (panda, dpdk), prints each pair and the
     * medians; returns the exit code.
     */
    static int run(Spec spec, String[] args, PrintStream out) throws Exception {
        int pairs = 3;
        int seconds = 4;
        int size = 64;
        boolean aa = false;
        String name = spec.name();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--pairs" -> pairs = RingIoComparison.positive(args, ++i);
                case "--seconds" -> seconds = RingIoComparison.positive(args, ++i);
                case "--size" -> {
                    size = RingIoComparison.positive(args, ++i);
                    if (size < 60 || size > 1514) {
                        throw new IllegalArgumentException("--size: 60..1514 bytes, got " + size);
                    }
                }
                case "--aa" -> aa = true;
                case "-h", "--help" -> {
                    out.println("usage: panda perf " + name
                            + " [--pairs N (3)] [--seconds S (4)] [--size B (64)] [--aa (panda against itself)]");
                    return 0;
                }
                default ->
                    throw new IllegalArgumentException("unknown " + name + " option '" + args[i]
                            + "'; accepted --pairs N, --seconds S, --size B, --aa");
            }
        }
        if (!DpdkProcess.available()) {
            throw new IllegalArgumentException(DpdkProcess.TESTPMD + " not found: run scripts/setup");
        }
        Spec s = aa
                ? new Spec(
                        spec.name(),
                        spec.what() + " (A/A: panda against itself)",
                        spec.pandaLabel(),
                        spec.panda(),
                        spec.pandaLabel() + " (A/A)",
                        spec.panda())
                : spec;
        ComparisonResult r = measure(s, pairs, seconds, size, out, RunObserver.NONE);
        out.printf(
                java.util.Locale.ROOT,
                "%s median %.3f Mpps, %s median %.3f Mpps, median ratio: %.3f (%.3f..%.3f)%n",
                s.pandaLabel(),
                r.summary().pandaMpps(),
                s.dpdkLabel(),
                r.summary().peerMpps(),
                r.summary().ratio(),
                r.pairs().stream().mapToDouble(PairFigure::ratio).min().orElse(Double.NaN),
                r.pairs().stream().mapToDouble(PairFigure::ratio).max().orElse(Double.NaN));
        out.printf(
                java.util.Locale.ROOT,
                "busy cycles/packet medians: %s %.1f (%.1f ns), %s %.1f (%.1f ns)%n",
                s.pandaLabel(),
                median(r.pairs().stream().map(f -> f.panda().cyclesPerPacket()).toList()),
                Measured.nanos(median(
                        r.pairs().stream().map(f -> f.panda().cyclesPerPacket()).toList())),
                s.dpdkLabel(),
                median(r.pairs().stream().map(f -> f.peer().cyclesPerPacket()).toList()),
                Measured.nanos(median(
                        r.pairs().stream().map(f -> f.peer().cyclesPerPacket()).toList())));
        return 0;
    }

    private static double median(List<Double> v) {
        List<Double> finite = v.stream().filter(x -> !Double.isNaN(x)).toList();
        return finite.isEmpty() ? Double.NaN : dev.panda.perf.report.Stats.median(finite);
    }

    /** Runs the pairs with {@code size}-byte frames, printing the header and each pair's line to {@code out}. */
    static ComparisonResult measure(Spec spec, int pairs, int seconds, int size, PrintStream out, RunObserver obs)
            throws Exception {
        String name = spec.name();
        String what = String.format(spec.what(), size);
        out.printf("%s: %d pair(s), %d s each; %s%n", name, pairs, seconds, what);
        List<PairFigure> figures = new ArrayList<>();
        Path dir = Files.createTempDirectory("panda-" + name);
        try {
            for (int p = 0; p < pairs; p++) {
                Path a = dir.resolve("panda" + p + ".sock");
                Path b = dir.resolve("dpdk" + p + ".sock");
                String at = name + " " + size + " B pair " + (p + 1) + "/" + pairs + ": ";
                obs.starting(at + spec.pandaLabel());
                RunFigure x = Measured.run(spec.pandaLabel(), () -> spec.panda().measure(a, seconds, size));
                obs.starting(at + spec.dpdkLabel());
                RunFigure y = Measured.run(spec.dpdkLabel(), () -> spec.dpdk().measure(b, seconds, size));
                PairFigure f = new PairFigure(p + 1, x, y);
                figures.add(f);
                out.printf(
                        java.util.Locale.ROOT,
                        "  pair %d  %s %7.3f Mpps (%.1f cycles, %.1f ns/pkt, rtt %.0f ns)   %s %7.3f Mpps (%.1f cycles,"
                                + " %.1f ns/pkt, rtt %.0f ns)   ratio %.3f%n",
                        p + 1,
                        spec.pandaLabel(),
                        x.mpps(),
                        x.cyclesPerPacket(),
                        Measured.nanos(x.cyclesPerPacket()),
                        x.crossCpuRttNs(),
                        spec.dpdkLabel(),
                        y.mpps(),
                        y.cyclesPerPacket(),
                        Measured.nanos(y.cyclesPerPacket()),
                        y.crossCpuRttNs(),
                        f.ratio());
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dir);
        }
        return ComparisonResult.of(
                name + "-" + size,
                (name.equals("vhost-rx") ? "vhost-user receive" : "virtio-user transmit") + ", " + size
                        + "-byte frames",
                what + ". Figure: the receiver's median per-second rate over " + seconds + " s after warm-up;"
                        + " busy cycles per packet of the side under test (the "
                        + (name.equals("vhost-rx") ? "receiver" : "generator")
                        + ") from --record-core-cycles over its whole run, panda's and DPDK's alike.",
                spec.pandaLabel(),
                spec.dpdkLabel(),
                figures,
                List.of(),
                List.of());
    }
}
