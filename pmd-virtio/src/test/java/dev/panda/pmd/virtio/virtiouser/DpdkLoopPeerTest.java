package dev.panda.pmd.virtio.virtiouser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panda.dataplane.fwd.FwdStream;
import dev.panda.dataplane.fwd.Packets;
import dev.panda.dataplane.fwd.PayloadStamp;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortStats;
import dev.panda.dataplane.testpmd.Testpmd;
import dev.panda.dataplane.testpmd.TestpmdOptions;
import dev.panda.pmd.virtio.ring.VirtioFeatures;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The loop proof of issue 3: panda and DPDK 22.11's dpdk-testpmd joined by vhost-user, both in io
 * forwarding; panda starts with {@code start tx_first}, so its stamped packets (sequence number
 * and payload digest, {@link PayloadStamp}) circulate panda → DPDK → panda for some seconds. Then
 * panda stops forwarding and drains its port while DPDK goes on forwarding, and every injected
 * packet is accounted for: received at the sink intact and exactly once, or counted as dropped
 * by one side. Both roles: panda the vhost-user back-end (DPDK's virtio-user front-end, with and
 * without mergeable buffers) and panda the front-end (DPDK's net_vhost). With 1500-byte frames
 * DPDK's mbufs hold 1024 bytes, so frames span several of its buffers (mergeable receive,
 * chained or indirect transmit). panda's front-end also runs on packed rings ({@code packed_vq=1},
 * virtio 1.2 §2.8) with and without mergeable buffers ({@code mrg_rxbuf=0}): the fourth column is
 * DPDK's devargs when panda is the back-end, panda's when it is the front-end.
 */
@Tag("peer")
class DpdkLoopPeerTest {

    private static final Pattern FWD = Pattern.compile(
            "Forward statistics for port 0.*?RX-packets:\\s+(\\d+)\\s+"
                    + "RX-dropped:\\s+(\\d+).*?TX-packets:\\s+(\\d+)\\s+TX-dropped:\\s+(\\d+)",
            Pattern.DOTALL);
    private static final Pattern NIC = Pattern.compile("RX-packets:\\s+(\\d+)");
    private static final long CIRCULATE_MILLIS = 4000;
    private static final int BURSTS = 4;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "panda {0}, {1}-byte frames, devargs {2}")
    @CsvSource({
        "net_vhost, 256, 'mrg_rxbuf=0'",
        "net_vhost, 1500, 'mrg_rxbuf=1'",
        "net_virtio_user, 256, ''",
        "net_virtio_user, 1500, ''",
        "net_virtio_user, 256, 'packed_vq=1'",
        "net_virtio_user, 1500, 'packed_vq=1'",
        "net_virtio_user, 1500, 'packed_vq=1,mrg_rxbuf=0'",
        "net_virtio_user, 256, 'packed_vq=1,in_order=1'",
        "net_virtio_user, 1500, 'packed_vq=1,in_order=1'",
    })
    void txFirstPacketsCirculateAndEveryOneIsAccountedFor(String pandaRole, int frame, String dpdkArgs)
            throws Exception {
        String prefix = "panda-loop-" + ProcessHandle.current().pid() + "-" + pandaRole + "-" + frame;
        Path sock = dir.resolve("loop.sock");
        Path dpdkLog = dir.resolve("dpdk-testpmd.log");
        boolean pandaIsBackEnd = pandaRole.equals("net_vhost");
        List<String> dpdkApp = new ArrayList<>(List.of("--forward-mode=io", "--port-topology=loop"));
        if (frame > 1024) {
            // 1024 bytes of data behind the 128-byte headroom: a frame takes several mbufs
            dpdkApp.add("--mbuf-size=1152");
            if (pandaIsBackEnd) {
                dpdkApp.add("--enable-scatter"); // DPDK's virtio rx refuses small mbufs without it
            }
        }
        String pandaVdev = pandaIsBackEnd
                ? "net_vhost0,iface=" + sock
                : "net_virtio_user0,path=" + sock + (dpdkArgs.isEmpty() ? "" : "," + dpdkArgs);
        ByteArrayOutputStream pandaOut = new ByteArrayOutputStream();
        TestpmdOptions o = TestpmdOptions.parse(
                "-l",
                "0,1",
                "--no-huge",
                "--vdev",
                pandaVdev,
                "--",
                "--no-pin",
                "--forward-mode=io",
                "--idle=yield",
                "--total-num-mbufs=4096",
                "--txpkts=" + frame);
        DpdkTestpmd dpdk = null;
        Testpmd panda = null;
        try {
            if (pandaIsBackEnd) {
                panda = Testpmd.open(o, new PrintStream(pandaOut, true, StandardCharsets.UTF_8));
                dpdk = new DpdkTestpmd(
                        prefix,
                        List.of("--lcores", "0@1,1@1"),
                        "net_virtio_user0,path=" + sock + (dpdkArgs.isEmpty() ? "" : "," + dpdkArgs)
                                + ",packed_vq=0,in_order=0",
                        dpdkLog,
                        dpdkApp.toArray(String[]::new));
            } else {
                dpdk = new DpdkTestpmd(
                        prefix,
                        List.of("--lcores", "0@1,1@1"),
                        "net_vhost0,iface=" + sock,
                        dpdkLog,
                        dpdkApp.toArray(String[]::new));
                dpdk.awaitSocket(sock);
                panda = Testpmd.open(o, new PrintStream(pandaOut, true, StandardCharsets.UTF_8));
            }
            Port port = panda.port(0);
            awaitLinkUp(port, dpdk);
            if (!pandaIsBackEnd) {
                long f = ((VirtioUserPort) port).features();
                assertEquals(
                        dpdkArgs.contains("packed_vq=1"),
                        VirtioFeatures.has(f, VirtioFeatures.F_RING_PACKED),
                        "VIRTIO_F_RING_PACKED negotiated as asked: 0x" + Long.toHexString(f));
                assertEquals(
                        !dpdkArgs.contains("mrg_rxbuf=0"),
                        VirtioFeatures.has(f, VirtioFeatures.F_MRG_RXBUF),
                        "VIRTIO_NET_F_MRG_RXBUF negotiated as asked: 0x" + Long.toHexString(f));
            }
            DpdkTestpmd.sleep(500); // DPDK's side of the rings comes up after panda's
            dpdk.command("start");
            DpdkTestpmd.sleep(500);
            panda.start(BURSTS);
            int injected = BURSTS * 32;
            DpdkTestpmd.sleep(CIRCULATE_MILLIS);
            PortStats mid = port.stats();
            panda.stop();
            long pandaDropped = 0;
            long badPayload = 0;
            for (FwdStream fs : panda.streams()) {
                pandaDropped += fs.fwdDropped();
                badPayload += fs.badPayload();
            }
            // the sink: panda's port, while DPDK forwards what is still on its side back to panda
            Drain d = drain(port, panda.pool(), injected, frame);
            dpdk.command("stop");
            dpdk.statsAtQuit(NIC);
            String out = Files.readString(dpdkLog);
            Matcher m = FWD.matcher(out);
            if (!m.find()) {
                fail("no forward statistics from dpdk-testpmd\n" + dpdk.tail());
            }
            long dpdkRx = Long.parseLong(m.group(1));
            long dpdkDropped = Long.parseLong(m.group(2)) + Long.parseLong(m.group(4));
            long laps = mid.ipackets() / injected;
            System.out.printf(
                    "loop %s %d B %s: %d packets, %d laps in %d ms (%.0f packets/s through panda), "
                            + "sink %d intact, dropped panda %d DPDK %d%n",
                    pandaRole,
                    frame,
                    dpdkArgs,
                    injected,
                    laps,
                    CIRCULATE_MILLIS,
                    mid.ipackets() * 1000.0 / CIRCULATE_MILLIS,
                    d.intact,
                    pandaDropped,
                    dpdkDropped);
            String context = "\npanda:\n" + pandaOut.toString(StandardCharsets.UTF_8) + "\nDPDK:\n" + dpdk.tail();
            assertTrue(laps >= 10, "packets did not circulate: " + mid.ipackets() + " received by panda" + context);
            assertTrue(dpdkRx > 0, "DPDK forwarded nothing" + context);
            assertEquals(0, badPayload, context);
            assertEquals(0, d.corrupt, "packets whose stamp or digest did not verify at the sink" + context);
            assertEquals(0, d.duplicates, "sequence numbers seen twice at the sink" + context);
            assertEquals(0, d.foreign, "packets panda never injected" + context);
            assertEquals(
                    injected,
                    d.intact + pandaDropped + dpdkDropped,
                    "every injected packet received intact at the sink or counted as dropped" + context);
            assertEquals(0, port.stats().ierrors() + port.stats().oerrors(), "panda port errors" + context);
        } finally {
            if (panda != null) {
                panda.close();
            }
            if (dpdk != null) {
                dpdk.close();
            }
        }
    }

    private record Drain(int intact, int corrupt, int duplicates, int foreign) {}

    /** Receives until nothing arrives for three seconds (DPDK shares a busy CPU); checks each packet's stamp and sequence number. */
    private static Drain drain(Port port, PacketPool pool, int injected, int frame) {
        BitSet seen = new BitSet(injected);
        PacketBurst burst = new PacketBurst(32);
        int intact = 0;
        int corrupt = 0;
        int duplicates = 0;
        int foreign = 0;
        long quietSince = System.nanoTime();
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (System.nanoTime() - quietSince < 3_000_000_000L && System.nanoTime() < deadline) {
            int n = port.rxBurst(0, burst);
            if (n == 0) {
                Thread.yield();
                continue;
            }
            quietSince = System.nanoTime();
            for (int i = 0; i < n; i++) {
                int h = burst.handles[i];
                long off = pool.dataOffset(h);
                int len = pool.length(h);
                if (len != frame
                        || !PayloadStamp.verify(pool.segment(), off + Packets.PAYLOAD, len - Packets.PAYLOAD)) {
                    corrupt++;
                    continue;
                }
                int seq = PayloadStamp.seq(pool.segment(), off + Packets.PAYLOAD);
                if (seq < 0 || seq >= injected) {
                    foreign++;
                } else if (seen.get(seq)) {
                    duplicates++;
                } else {
                    seen.set(seq);
                    intact++;
                }
            }
            pool.freeBulk(burst.handles, 0, n);
        }
        return new Drain(intact, corrupt, duplicates, foreign);
    }

    private static void awaitLinkUp(Port port, DpdkTestpmd dpdk) throws Exception {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!port.link().up()) {
            if (!dpdk.alive()) {
                fail("dpdk-testpmd exited\n" + dpdk.tail());
            }
            if (System.nanoTime() > deadline) {
                fail("panda's port never came up\n" + dpdk.tail());
            }
            DpdkTestpmd.sleep(50);
        }
    }
}
