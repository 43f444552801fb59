package dev.panda.perf;

import dev.panda.dataplane.testpmd.Testpmd;
import dev.panda.dataplane.testpmd.TestpmdOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;

/**
 * vhost-user transmit: a txonly generator on CPU 0 sends 64-byte frames (or --size) through virtio-user into
 * DPDK's net_vhost in rxonly on CPU 1; the generator is panda's net_virtio_user or DPDK's own
 * virtio-user, in interleaved pairs. The figure for a run is the median of the receiver's
 * per-second rates (its own --stats-period output) after two periods of start-up. With
 * {@code --packed} both generators run packed virtqueues in order ({@code packed_vq=1,in_order=1}
 * on panda's net_virtio_user and on DPDK's virtio-user, where in_order=1 is the default) into the
 * same net_vhost, which takes VIRTIO_F_RING_PACKED and VIRTIO_F_IN_ORDER when asked.
 */
final class VirtioTxComparison {

    private VirtioTxComparison() {}

    static int run(String[] args, PrintStream out) throws Exception {
        boolean packed = java.util.Arrays.asList(args).contains("--packed");
        String[] rest =
                java.util.Arrays.stream(args).filter(a -> !a.equals("--packed")).toArray(String[]::new);
        return VhostUserPairs.run(packed ? PACKED : SPEC, rest, out);
    }

    static final VhostUserPairs.Spec SPEC = spec("virtio-tx", "", "");

    /** {@code --packed}: both front-ends with packed_vq=1 and in_order=1 (DPDK virtio-user's default). */
    static final VhostUserPairs.Spec PACKED =
            spec("virtio-tx-packed", ",packed_vq=1,in_order=1", " packed_vq=1,in_order=1");

    private static VhostUserPairs.Spec spec(String name, String devargs, String label) {
        return new VhostUserPairs.Spec(
                name,
                "txonly %d B virtio-user" + label + " on CPU 0 -> dpdk net_vhost rxonly on CPU 1",
                "panda virtio-user",
                (sock, secs, size) -> receive(sock, secs, () -> pandaGenerator(sock, size, devargs)),
                "dpdk virtio-user",
                (sock, secs, size) -> receive(sock, secs, () -> dpdkGenerator(sock, size, devargs)));
    }

    /** Something running that sends; closing it stops it. */
    private interface Generator extends AutoCloseable {}

    private static Generator pandaGenerator(Path sock, int size, String devargs) {
        TestpmdOptions o = TestpmdOptions.parse(
                "--lcores",
                "0@0,1@0",
                "--vdev",
                "net_virtio_user0,path=" + sock + devargs,
                "--forward-mode=txonly",
                "--txpkts=" + size,
                "--burst=32",
                "--record-core-cycles");
        java.io.ByteArrayOutputStream output = new java.io.ByteArrayOutputStream();
        Testpmd app = Testpmd.open(o, new PrintStream(output, true, java.nio.charset.StandardCharsets.UTF_8));
        app.start(0);
        return () -> {
            try {
                app.showForwardStats(); // the whole run's busy cycles per packet, as DPDK's prints at exit
                Measured.cyclesFrom(output.toString(java.nio.charset.StandardCharsets.UTF_8));
            } finally {
                app.close();
            }
        };
    }

    private static Generator dpdkGenerator(Path sock, int size, String devargs) {
        try {
            DpdkProcess gen = new DpdkProcess(
                    "panda-vtgen-" + ProcessHandle.current().pid(),
                    List.of(
                            "--lcores",
                            "0@0,1@0",
                            "-m",
                            "512",
                            "--no-pci",
                            "--single-file-segments",
                            "--vdev",
                            "net_virtio_user0,path=" + sock + devargs),
                    List.of("--forward-mode=txonly", "--txpkts=" + size, "--burst=32", "--record-core-cycles"));
            return () -> {
                gen.close(); // SIGINT: it stops forwarding and prints the run's statistics and cycles
                Measured.cycles(gen.cyclesPerPacket());
            };
        } catch (IOException e) {
            throw new IllegalStateException("cannot start dpdk-testpmd: " + e.getMessage(), e);
        }
    }

    /** Starts DPDK's net_vhost in rxonly, then the generator; returns the per-second rx rates. */
    private static double[] receive(Path sock, int seconds, Supplier<Generator> generator) throws Exception {
        List<String> eal = List.of(
                "--lcores",
                "0@1,1@1",
                "-m",
                "512",
                "--no-pci",
                "--single-file-segments",
                "--vdev",
                "net_vhost0,iface=" + sock);
        try (DpdkProcess rx = new DpdkProcess(
                "panda-vtrx-" + ProcessHandle.current().pid(),
                eal,
                List.of("--forward-mode=rxonly", "--burst=32", "--stats-period", "1"))) {
            long deadline = System.nanoTime() + 20_000_000_000L;
            rx.awaitFile(sock, deadline);
            try (Generator g = generator.get()) {
                while (rx.rxPps().stream().filter(v -> v > 0).count() < seconds + 2) {
                    if (System.nanoTime() > deadline + seconds * 2_000_000_000L || !rx.alive()) {
                        throw new IOException("dpdk net_vhost received nothing; its output:\n" + rx.log());
                    }
                    Thread.sleep(100);
                }
            }
            List<Long> pps = rx.rxPps().stream().filter(v -> v > 0).toList();
            return Measured.toArray(
                    pps.subList(2, 2 + seconds).stream().map(Long::doubleValue).toList());
        }
    }
}
