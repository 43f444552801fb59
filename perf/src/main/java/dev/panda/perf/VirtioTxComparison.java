package dev.panda.perf;

import dev.panda.dataplane.testpmd.Testpmd;
import dev.panda.dataplane.testpmd.TestpmdOptions;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * vhost-user transmit: a txonly generator on CPU 0 sends 64-byte frames through virtio-user into
 * DPDK's net_vhost in rxonly on CPU 1; the generator is panda's net_virtio_user or DPDK's own
 * virtio-user, in interleaved pairs. The figure for a run is the median of the receiver's
 * per-second rates (its own --stats-period output) after two periods of start-up.
 */
final class VirtioTxComparison {

    private VirtioTxComparison() {
    }

    static int run(String[] args, PrintStream out) throws Exception {
        int pairs = 3;
        int seconds = 4;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--pairs" -> pairs = Integer.parseInt(value(args, ++i));
                case "--seconds" -> seconds = Integer.parseInt(value(args, ++i));
                case "-h", "--help" -> {
                    out.println("usage: panda perf virtio-tx [--pairs N (3)] [--seconds S (4)]");
                    return 0;
                }
                default -> throw new IllegalArgumentException("unknown virtio-tx option '" + args[i]
                        + "'; accepted --pairs N, --seconds S");
            }
        }
        if (!DpdkProcess.available()) {
            throw new IllegalArgumentException(DpdkProcess.TESTPMD + " not found: run scripts/setup");
        }
        if (pairs < 1 || seconds < 1) {
            throw new IllegalArgumentException("--pairs and --seconds must be positive");
        }
        out.printf("virtio-tx: %d pair(s), %d s each; txonly 64 B virtio-user on CPU 0 -> dpdk net_vhost rxonly on CPU 1%n",
                pairs, seconds);
        List<Double> a = new ArrayList<>();
        List<Double> b = new ArrayList<>();
        List<Double> ratios = new ArrayList<>();
        Path dir = Files.createTempDirectory("panda-virtio-tx");
        try {
            for (int p = 0; p < pairs; p++) {
                Path sa = dir.resolve("panda" + p + ".sock");
                double panda = receive(sa, seconds, () -> pandaGenerator(sa));
                Path sb = dir.resolve("dpdk" + p + ".sock");
                double dpdk = receive(sb, seconds, () -> dpdkGenerator(sb));
                a.add(panda);
                b.add(dpdk);
                ratios.add(panda / dpdk);
                out.printf("  pair %d  panda virtio-user %7.3f Mpps   dpdk virtio-user %7.3f Mpps   ratio %.2f%n", p + 1,
                        panda / 1e6, dpdk / 1e6, panda / dpdk);
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dir);
        }
        out.printf("panda median %.3f Mpps, dpdk median %.3f Mpps, median ratio panda/dpdk: %.2f%n",
                RingIoComparison.median(a) / 1e6, RingIoComparison.median(b) / 1e6, RingIoComparison.median(ratios));
        return 0;
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) {
            throw new IllegalArgumentException("option " + args[i - 1] + " needs a value");
        }
        return args[i];
    }

    /** Something running that sends; closing it stops it. */
    private interface Generator extends AutoCloseable {
    }

    private static Generator pandaGenerator(Path sock) {
        TestpmdOptions o = TestpmdOptions.parse("--lcores", "0@0,1@0", "--vdev", "net_virtio_user0,path=" + sock,
                "--forward-mode=txonly", "--txpkts=64", "--burst=32");
        Testpmd app = Testpmd.open(o, new PrintStream(OutputStream.nullOutputStream()));
        app.start(0);
        return app::close;
    }

    private static Generator dpdkGenerator(Path sock) {
        try {
            DpdkProcess gen = new DpdkProcess("panda-vtgen-" + ProcessHandle.current().pid(),
                    List.of("--lcores", "0@0,1@0", "-m", "512", "--no-pci", "--single-file-segments",
                            "--vdev", "net_virtio_user0,path=" + sock),
                    List.of("--forward-mode=txonly", "--txpkts=64", "--burst=32"));
            return gen::close;
        } catch (IOException e) {
            throw new IllegalStateException("cannot start dpdk-testpmd: " + e.getMessage(), e);
        }
    }

    /** Starts DPDK's net_vhost in rxonly, then the generator; returns the median per-second rx rate. */
    private static double receive(Path sock, int seconds, Supplier<Generator> generator) throws Exception {
        List<String> eal = List.of("--lcores", "0@1,1@1", "-m", "512", "--no-pci", "--single-file-segments",
                "--vdev", "net_vhost0,iface=" + sock);
        try (DpdkProcess rx = new DpdkProcess("panda-vtrx-" + ProcessHandle.current().pid(), eal,
                List.of("--forward-mode=rxonly", "--burst=32", "--stats-period", "1"))) {
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (!Files.exists(sock)) {
                if (System.nanoTime() > deadline || !rx.alive()) {
                    throw new IOException("dpdk-testpmd net_vhost did not create " + sock + "; its output:\n" + rx.log());
                }
                Thread.sleep(20);
            }
            try (Generator g = generator.get()) {
                while (rx.rxPps().stream().filter(v -> v > 0).count() < seconds + 2) {
                    if (System.nanoTime() > deadline + seconds * 2_000_000_000L || !rx.alive()) {
                        throw new IOException("dpdk net_vhost received nothing; its output:\n" + rx.log());
                    }
                    Thread.sleep(100);
                }
            }
            List<Long> pps = rx.rxPps().stream().filter(v -> v > 0).toList();
            return RingIoComparison.median(pps.subList(2, 2 + seconds).stream().map(Long::doubleValue).toList());
        }
    }
}
