package dev.panda.perf;

import dev.panda.dataplane.testpmd.Testpmd;
import dev.panda.dataplane.testpmd.TestpmdOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * vhost-user receive: dpdk-testpmd's virtio-user in txonly (64-byte frames, or --size) sends into a
 * vhost-user back-end in rxonly that is either panda's net_vhost or DPDK's own net_vhost, in
 * interleaved pairs. The generator runs on CPU 0 and the receiver on CPU 1 in both cases; the
 * figure for a run is the median of the receiver's per-second rates after a warm-up second. With
 * {@code --packed} the generator's virtio-user asks for packed virtqueues ({@code packed_vq=1},
 * virtio 1.2 §2.8), which both back-ends offer, so both receive on packed rings.
 */
final class VhostRxComparison {

    private static final List<String> GENERATOR_LCORES = List.of("--lcores", "0@0,1@0");
    private static final String RECEIVER_LCORES = "0@1,1@1";

    private VhostRxComparison() {}

    /** {@code --packed} (this comparison's own option) picks {@link #PACKED}; the rest is {@link VhostUserPairs}'s. */
    static int run(String[] args, PrintStream out) throws Exception {
        boolean packed = java.util.Arrays.asList(args).contains("--packed");
        String[] rest =
                java.util.Arrays.stream(args).filter(a -> !a.equals("--packed")).toArray(String[]::new);
        if (java.util.Arrays.asList(rest).contains("--help")
                || java.util.Arrays.asList(rest).contains("-h")) {
            out.println("  --packed: packed virtqueues (the generator's virtio-user with packed_vq=1)");
        }
        return VhostUserPairs.run(packed ? PACKED : SPEC, rest, out);
    }

    static final VhostUserPairs.Spec SPEC = spec(false);

    /** The same comparison on packed virtqueues. */
    static final VhostUserPairs.Spec PACKED = spec(true);

    private static VhostUserPairs.Spec spec(boolean packed) {
        return new VhostUserPairs.Spec(
                "vhost-rx",
                "dpdk virtio-user txonly %d B" + (packed ? ", packed rings," : "")
                        + " on CPU 0 -> rxonly back-end on CPU 1",
                "panda net_vhost",
                (sock, seconds, size) -> panda(sock, seconds, size, packed),
                "dpdk net_vhost",
                (sock, seconds, size) -> dpdk(sock, seconds, size, packed));
    }

    private static DpdkProcess generator(Path sock, int size, boolean packed) throws IOException {
        List<String> eal = new ArrayList<>(GENERATOR_LCORES);
        eal.addAll(List.of(
                "-m",
                "512",
                "--no-pci",
                "--single-file-segments",
                "--vdev",
                "net_virtio_user0,path=" + sock + (packed ? ",packed_vq=1" : "")));
        return new DpdkProcess(
                "panda-vhgen-" + ProcessHandle.current().pid(),
                eal,
                List.of("--forward-mode=txonly", "--txpkts=" + size, "--burst=32", "--stats-period", "1"));
    }

    /** Per-second rx rates of panda's net_vhost in rxonly, fed by DPDK's virtio-user. */
    static double[] panda(Path sock, int seconds, int size, boolean packed) throws Exception {
        TestpmdOptions o = TestpmdOptions.parse(
                "--lcores",
                RECEIVER_LCORES,
                "--vdev",
                "net_vhost0,iface=" + sock,
                "--forward-mode=rxonly",
                "--burst=32",
                "--record-core-cycles");
        java.io.ByteArrayOutputStream output = new java.io.ByteArrayOutputStream();
        try (Testpmd app = Testpmd.open(o, new PrintStream(output, true, java.nio.charset.StandardCharsets.UTF_8))) {
            app.start(0);
            try (DpdkProcess gen = generator(sock, size, packed)) {
                long deadline = System.nanoTime() + 20_000_000_000L;
                while (app.port(0).stats().ipackets() == 0) {
                    if (System.nanoTime() > deadline || !gen.alive()) {
                        throw new IOException("no packets from dpdk-testpmd virtio-user; its output:\n" + gen.log());
                    }
                    Thread.sleep(20);
                }
                Thread.sleep(1000);
                double[] rates = new double[seconds];
                long prev = app.port(0).stats().ipackets();
                long t0 = System.nanoTime();
                for (int s = 0; s < seconds; s++) {
                    Thread.sleep(1000);
                    long now = app.port(0).stats().ipackets();
                    long t1 = System.nanoTime();
                    rates[s] = (now - prev) / ((t1 - t0) / 1e9);
                    prev = now;
                    t0 = t1;
                }
                app.showForwardStats(); // the whole run's busy cycles per packet, as DPDK's prints at exit
                Measured.cyclesFrom(output.toString(java.nio.charset.StandardCharsets.UTF_8));
                return rates;
            } finally {
                app.stop();
            }
        }
    }

    /** Per-second rx rates of DPDK's net_vhost in rxonly, from its own --stats-period output. */
    static double[] dpdk(Path sock, int seconds, int size, boolean packed) throws Exception {
        List<String> eal = List.of(
                "--lcores",
                RECEIVER_LCORES,
                "-m",
                "512",
                "--no-pci",
                "--single-file-segments",
                "--vdev",
                "net_vhost0,iface=" + sock);
        DpdkProcess rx = new DpdkProcess(
                "panda-vhrx-" + ProcessHandle.current().pid(),
                eal,
                List.of("--forward-mode=rxonly", "--burst=32", "--stats-period", "1", "--record-core-cycles"));
        try (rx) {
            long deadline = System.nanoTime() + 20_000_000_000L;
            rx.awaitFile(sock, deadline);
            try (DpdkProcess gen = generator(sock, size, packed)) {
                // rx-pps lines start once forwarding runs; skip two periods (start-up and warm-up)
                while (nonZero(rx.rxPps()) < seconds + 2) {
                    if (System.nanoTime() > deadline + seconds * 2_000_000_000L || !rx.alive() || !gen.alive()) {
                        throw new IOException("dpdk net_vhost received nothing; its output:\n" + rx.log()
                                + "\ngenerator:\n" + gen.log());
                    }
                    Thread.sleep(100);
                }
                List<Long> pps = rx.rxPps().stream().filter(v -> v > 0).toList();
                double[] rates = Measured.toArray(pps.subList(2, 2 + seconds).stream()
                        .map(Long::doubleValue)
                        .toList());
                rx.close(); // SIGINT: it stops forwarding and prints the run's statistics and cycles
                Measured.cycles(rx.cyclesPerPacket());
                return rates;
            }
        }
    }

    private static int nonZero(List<Long> v) {
        return (int) v.stream().filter(x -> x > 0).count();
    }
}
