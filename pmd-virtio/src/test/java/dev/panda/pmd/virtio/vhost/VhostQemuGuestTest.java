package dev.panda.pmd.virtio.vhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.fwd.FwdStream;
import dev.panda.dataplane.port.PortStats;
import dev.panda.dataplane.testpmd.Testpmd;
import dev.panda.dataplane.testpmd.TestpmdOptions;
import dev.panda.pmd.virtio.guest.Initramfs;
import dev.panda.pmd.virtio.guest.QemuGuest;
import dev.panda.pmd.virtio.ring.VirtioFeatures;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * panda's net_vhost against the real Linux virtio-net driver: a QEMU guest (TCG, Debian's kernel,
 * a busybox initramfs built by the test) whose virtio-net-pci is backed by {@code -netdev
 * vhost-user} on panda's socket, with its RAM a shared memfd. panda runs testpmd's icmpecho on
 * net_vhost0 (server mode, loop topology: replies leave on the receiving port); the guest's /init
 * gives eth0 198.18.0.2/24 and pings 198.18.0.1, which only panda answers (ARP first, then
 * ICMP echo). The test reads the replies off the guest's serial console and checks them against
 * the guest's own interface counters and panda's.
 */
@Tag("peer")
class VhostQemuGuestTest {

    private static final Path CACHE = Path.of("target", "guest");
    private static final Duration BOOT = Duration.ofSeconds(180);
    private static final Pattern REPLY = Pattern.compile("(\\d+) bytes from 198\\.18\\.0\\.1: seq=(\\d+)");
    private static final Pattern STATS = Pattern.compile("(\\d+) packets transmitted, (\\d+) packets received");
    /** A reply line, or with ping -q the summary, whichever the console shows first. */
    private static final Pattern FIRST_REPLY = Pattern.compile("bytes from 198\\.18\\.0\\.1|packets received");

    private static final Pattern COUNTERS = Pattern.compile("PANDA-COUNTERS rx=(\\d+) tx=(\\d+)");
    private static final String UP = """
            ip link set eth0 up
            ip addr add 198.18.0.2/24 dev eth0
            echo PANDA-GUEST-UP
            """;
    private static final String COUNT = """
            echo "PANDA-COUNTERS rx=$(cat /sys/class/net/eth0/statistics/rx_packets) \
            tx=$(cat /sys/class/net/eth0/statistics/tx_packets)"
            """;

    @TempDir
    Path dir;

    @Test
    void guestLinuxDriverPingsPandaIcmpEcho() {
        int count = 5;
        Run r = run("""
                ping -c %d -w 90 198.18.0.1
                echo "PANDA-PING-DONE rc=$?"
                """.formatted(count));
        TreeSet<Integer> seqs = new TreeSet<>();
        Matcher m = REPLY.matcher(r.console);
        while (m.find()) {
            assertEquals(64, Integer.parseInt(m.group(1)), "reply size");
            seqs.add(Integer.parseInt(m.group(2)));
        }
        assertEquals(count, seqs.size(), "one reply per echo request " + seqs + "\n" + r.tail);
        assertTrue(r.console.contains("PANDA-PING-DONE rc=0"), "ping failed\n" + r.tail);
        Matcher s = STATS.matcher(r.console);
        assertTrue(s.find(), "no ping statistics\n" + r.tail);
        assertEquals(count, Integer.parseInt(s.group(1)));
        assertEquals(count, Integer.parseInt(s.group(2)));
        // panda answered every echo request and the ARP request before them
        assertTrue(
                r.tx >= count + 1, "panda sent " + r.tx + " frames for " + count + " echo requests and an ARP request");
    }

    @Test
    void packedRingGuestPingsPandaIcmpEcho() {
        // virtio 1.2 §2.8 on both sides: Linux's virtio_ring in packed mode, panda's PackedDeviceQueue
        int count = 5;
        int burst = 200;
        Run r = run("""
                ping -c %d -w 90 198.18.0.1
                echo "PANDA-PING-DONE rc=$?"
                ping -A -q -c %d -s 1400 -w 120 198.18.0.1
                """.formatted(count, burst), 1, true);
        assertTrue(
                VirtioFeatures.has(r.features, VirtioFeatures.F_RING_PACKED),
                "RING_PACKED negotiated: 0x" + Long.toHexString(r.features));
        TreeSet<Integer> seqs = new TreeSet<>();
        Matcher m = REPLY.matcher(r.console);
        while (m.find()) {
            seqs.add(Integer.parseInt(m.group(2)));
        }
        assertEquals(count, seqs.size(), "one reply per echo request " + seqs + "\n" + r.tail);
        assertTrue(r.console.contains("PANDA-PING-DONE rc=0"), "ping failed\n" + r.tail);
        Matcher s = STATS.matcher(r.console);
        assertTrue(s.find());
        assertTrue(s.find(), "statistics of the burst\n" + r.tail);
        assertEquals(burst, Integer.parseInt(s.group(2)), "replies to the 1400-byte burst\n" + r.tail);
        assertTrue(r.tx >= count + burst + 1, "panda sent " + r.tx);
    }

    @Test
    void guestBurstsOfLargeFramesAreAllAnswered() {
        int pingers = 4;
        int each = 100;
        int size = 1400;
        StringBuilder script = new StringBuilder();
        for (int i = 0; i < pingers; i++) {
            // -A: the next request as soon as the reply is in, so four requests are in flight at once.
            // (Not -p: busybox 1.35 writes the pattern over the ICMP code byte too, and a request with
            // a code other than 0 is not an echo request panda answers.)
            script.append("ping -A -q -c %d -s %d -w 150 198.18.0.1 > /tmp/ping%d 2>&1 &\n".formatted(each, size, i));
        }
        script.append("wait\ncat /tmp/ping*\necho PANDA-PING-DONE\n");
        Run r = run(script.toString());
        Matcher s = STATS.matcher(r.console);
        int found = 0;
        long sent = 0;
        while (s.find()) {
            found++;
            // with -A busybox also sends on its 1 s timer, so a ping may send one more than -c
            // and stop once -c replies are in: the extra request's reply then comes after it left
            sent += Integer.parseInt(s.group(1));
            assertTrue(Integer.parseInt(s.group(1)) >= each, "requests sent\n" + r.tail);
            assertEquals(each, Integer.parseInt(s.group(2)), "replies received\n" + r.tail);
        }
        assertEquals(pingers, found, "statistics of every ping\n" + r.tail);
        long frame = 14 + 20 + 8 + size;
        long echoes = (long) pingers * each;
        assertTrue(r.tx >= sent, "panda sent " + r.tx + " frames for the " + sent + " echo requests the guest sent");
        assertTrue(
                r.port.obytes() >= echoes * frame,
                "panda's tx bytes " + r.port.obytes() + " < " + echoes + " replies of " + frame + " bytes");
        assertTrue(r.port.ibytes() >= echoes * frame, "panda's rx bytes " + r.port.ibytes());
    }

    @Test
    void twoQueuePairsGuestPingsFromEachCpu() {
        // two guest CPUs, two queue pairs: virtio_net uses both and maps tx queue i to CPU i (XPS)
        int count = 5;
        Run r = run("""
                taskset 1 ping -c %1$d -w 90 198.18.0.1 > /tmp/ping0 2>&1 &
                taskset 2 ping -c %1$d -w 90 198.18.0.1 > /tmp/ping1 2>&1 &
                wait
                cat /tmp/ping0 /tmp/ping1
                echo "PANDA-QUEUES $(ls /sys/class/net/eth0/queues | tr '\\n' ' ')"
                echo PANDA-PING-DONE
                """.formatted(count), 2);
        Matcher s = STATS.matcher(r.console);
        int found = 0;
        while (s.find()) {
            found++;
            assertEquals(count, Integer.parseInt(s.group(2)), "replies received\n" + r.tail);
        }
        assertEquals(2, found, "statistics of both pings\n" + r.tail);
        assertTrue(
                r.console.contains("PANDA-QUEUES rx-0 rx-1 tx-0 tx-1"),
                "the guest driver uses two queue pairs" + " (VIRTIO_NET_F_MQ negotiated through QEMU)\n" + r.tail);
        for (int q = 0; q < 2; q++) {
            assertTrue(
                    r.repliesPerQueue[q] > 0,
                    "no echo request came in on queue pair " + q + ": " + java.util.Arrays.toString(r.repliesPerQueue)
                            + "\n" + r.tail);
        }
    }

    /** What one guest run left: its console, the guest's counters and panda's. */
    private record Run(String console, String tail, long tx, PortStats port, long[] repliesPerQueue, long features) {}

    /**
     * Starts panda's icmpecho on net_vhost0, boots a guest that brings eth0 up and runs
     * {@code script}, waits for PANDA-PING-DONE and the guest's power-off, stops panda, checks
     * that both sides counted the same frames, and prints how long each step took.
     */
    private Run run(String script) {
        return run(script, 1);
    }

    /** As {@link #run(String)} with {@code queues} queue pairs on both sides and as many guest CPUs. */
    private Run run(String script, int queues) {
        return run(script, queues, false);
    }

    /** As {@link #run(String, int)}, the guest's virtio-net-pci with {@code packed=on} if {@code packed}. */
    private Run run(String script, int queues, boolean packed) {
        QemuGuest.requireInstalled();
        long t0 = System.nanoTime();
        Path initramfs = Initramfs.forHostKernel()
                .modules("virtio_pci", "virtio_net")
                .script(UP + script + COUNT)
                .build(CACHE);
        long t1 = System.nanoTime();
        Path sock = dir.resolve("vh0.sock");
        TestpmdOptions o = TestpmdOptions.parse(
                "-l",
                "0,1",
                "--no-huge",
                "--vdev",
                "net_vhost0,iface=" + sock + ",queues=" + queues,
                "--",
                "--forward-mode=icmpecho",
                "--port-topology=loop",
                "--idle=park",
                "--no-pin",
                "--rxq=" + queues,
                "--txq=" + queues,
                "--total-num-mbufs=4096");
        try (Testpmd app = Testpmd.open(o, System.out)) {
            app.start(0);
            QemuGuest.Builder b = QemuGuest.builder(
                            QemuGuest.kernel(Initramfs.forHostKernel().kernelRelease()), initramfs)
                    .cpus(queues)
                    .args(
                            "-chardev",
                            "socket,id=vh0,path=" + sock,
                            "-netdev",
                            "vhost-user,id=net0,chardev=vh0,queues=" + queues,
                            // vectors=0: QEMU 7.2 under TCG crashes starting vhost-net with MSI-X
                            "-device",
                            "virtio-net-pci,netdev=net0,mac=52:54:00:12:34:56,vectors=0,romfile="
                                    + (queues > 1 ? ",mq=on" : "")
                                    + (packed ? ",packed=on" : ""));
            long t2;
            long t3;
            long t4;
            long features;
            String console;
            String tail;
            try (QemuGuest g = b.start(dir.resolve("console.log"))) {
                t2 = System.nanoTime();
                g.await("PANDA-GUEST-UP", BOOT);
                t3 = System.nanoTime();
                g.await(FIRST_REPLY, BOOT);
                t4 = System.nanoTime();
                features = ((VhostPort) app.port(0)).negotiatedFeatures();
                g.await("PANDA-PING-DONE", BOOT);
                g.await(COUNTERS, Duration.ofSeconds(60));
                assertEquals(0, g.awaitExit(Duration.ofSeconds(60)), "QEMU's exit code\n" + g.tail());
                console = g.console();
                tail = g.tail();
            }
            long t5 = System.nanoTime();
            app.stop();
            List<FwdStream> streams = app.streams();
            assertEquals(queues, streams.size());
            long streamRx = 0;
            long streamTx = 0;
            long streamDropped = 0;
            long[] perQueue = new long[queues];
            for (FwdStream fs : streams) {
                streamRx += fs.rxPackets();
                streamTx += fs.txPackets();
                streamDropped += fs.fwdDropped();
                perQueue[fs.rxQueue] = fs.txPackets();
            }
            PortStats port = app.port(0).stats();
            Matcher c = COUNTERS.matcher(console);
            assertTrue(c.find());
            long guestRx = Long.parseLong(c.group(1));
            long guestTx = Long.parseLong(c.group(2));
            System.out.printf(
                    "guest run: initramfs %d ms, QEMU start to eth0 up %d ms, eth0 up to first reply (or summary) %d ms,"
                            + " to power-off %d ms; guest rx %d tx %d, panda rx %d tx %d dropped %d (port ipackets %d"
                            + " opackets %d oerrors %d ierrors %d), replies per queue %s%n",
                    ms(t1 - t0),
                    ms(t3 - t2),
                    ms(t4 - t3),
                    ms(t5 - t4),
                    guestRx,
                    guestTx,
                    streamRx,
                    streamTx,
                    streamDropped,
                    port.ipackets(),
                    port.opackets(),
                    port.oerrors(),
                    port.ierrors(),
                    java.util.Arrays.toString(perQueue));
            assertEquals(0, port.oerrors(), "guest rx buffers panda could not fill\n" + tail);
            assertEquals(0, port.ierrors(), "guest frames panda could not take\n" + tail);
            assertEquals(streamTx, port.opackets());
            // every frame panda sent reached the guest's driver; the guest may send more after its count
            assertEquals(guestRx, port.opackets(), "guest rx_packets vs panda's tx\n" + tail);
            assertTrue(port.ipackets() >= guestTx, "panda rx " + port.ipackets() + " < guest tx_packets " + guestTx);
            return new Run(console, tail, streamTx, port, perQueue, features);
        }
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }
}
