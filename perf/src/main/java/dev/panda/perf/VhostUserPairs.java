package dev.panda.perf;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The frame of a vhost-user comparison: {@code --pairs N --seconds S}, a private socket
 * directory, panda's run and DPDK's run interleaved pair by pair, and the medians.
 */
final class VhostUserPairs {

    /** One measured run: the median receive rate in packets per second, over {@code seconds}. */
    interface Run {
        double measure(Path socket, int seconds) throws Exception;
    }

    private VhostUserPairs() {}

    /**
     * Parses the options, runs {@code pairs} pairs of (panda, dpdk), prints each pair and the
     * medians; returns the exit code.
     */
    static int run(
            String name,
            String what,
            String pandaLabel,
            Run panda,
            String dpdkLabel,
            Run dpdk,
            String[] args,
            PrintStream out)
            throws Exception {
        int pairs = 3;
        int seconds = 4;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--pairs" -> pairs = RingIoComparison.positive(args, ++i);
                case "--seconds" -> seconds = RingIoComparison.positive(args, ++i);
                case "-h", "--help" -> {
                    out.println("usage: panda perf " + name + " [--pairs N (3)] [--seconds S (4)]");
                    return 0;
                }
                default ->
                    throw new IllegalArgumentException(
                            "unknown " + name + " option '" + args[i] + "'; accepted --pairs N, --seconds S");
            }
        }
        if (!DpdkProcess.available()) {
            throw new IllegalArgumentException(DpdkProcess.TESTPMD + " not found: run scripts/setup");
        }
        out.printf("%s: %d pair(s), %d s each; %s%n", name, pairs, seconds, what);
        List<Double> a = new ArrayList<>();
        List<Double> b = new ArrayList<>();
        List<Double> ratios = new ArrayList<>();
        Path dir = Files.createTempDirectory("panda-" + name);
        try {
            for (int p = 0; p < pairs; p++) {
                double x = panda.measure(dir.resolve("panda" + p + ".sock"), seconds);
                double y = dpdk.measure(dir.resolve("dpdk" + p + ".sock"), seconds);
                a.add(x);
                b.add(y);
                ratios.add(x / y);
                out.printf(
                        "  pair %d  %s %7.3f Mpps   %s %7.3f Mpps   ratio %.2f%n",
                        p + 1, pandaLabel, x / 1e6, dpdkLabel, y / 1e6, x / y);
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dir);
        }
        out.printf(
                "panda median %.3f Mpps, dpdk median %.3f Mpps, median ratio panda/dpdk: %.2f%n",
                RingIoComparison.median(a) / 1e6, RingIoComparison.median(b) / 1e6, RingIoComparison.median(ratios));
        return 0;
    }
}
