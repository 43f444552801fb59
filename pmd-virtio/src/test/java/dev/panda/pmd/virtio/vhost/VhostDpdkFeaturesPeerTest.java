package dev.panda.pmd.virtio.vhost;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_EVENT_IDX;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_INDIRECT_DESC;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_IN_ORDER;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_MRG_RXBUF;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_RING_PACKED;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.bit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortStats;
import dev.panda.dataplane.port.Ports;
import dev.panda.pmd.virtio.virtiouser.DpdkTestpmd;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * net_vhost's negotiated features against DPDK 22.11's virtio-user ({@code mrg_rxbuf=0|1},
 * split rings, and packed rings ({@code packed_vq=1}, virtio 1.2 §2.8) with {@code in_order=0|1}),
 * started and stopped by the test. With mergeable buffers DPDK's mbufs
 * hold 1024 bytes, so panda's 1500-byte frames span two of its receive buffers; without, DPDK's
 * default mbufs take 1000-byte frames whole. Then DPDK transmits two-segment frames (64 + 900 bytes), which its
 * virtio driver sends through an indirect table when INDIRECT_DESC is negotiated (a chain
 * otherwise). Every packet is accounted for both ways, with byte counts.
 */
@Tag("peer")
class VhostDpdkFeaturesPeerTest {

    /** The forward statistics testpmd prints at each {@code stop}. */
    private static final Pattern FWD = Pattern.compile(
            "Forward statistics for port 0.*?RX-packets:\\s+(\\d+)\\s+"
                    + "RX-dropped:\\s+(\\d+).*?TX-packets:\\s+(\\d+)\\s+TX-dropped:\\s+(\\d+)",
            Pattern.DOTALL);

    private static final Pattern NIC = Pattern.compile("RX-bytes:\\s+(\\d+)");

    @TempDir
    Path dir;

    @ParameterizedTest(name = "mrg_rxbuf={0},packed_vq={1},in_order={2}")
    @CsvSource({"0,0,0", "1,0,0", "0,1,0", "1,1,0", "0,1,1", "1,1,1"})
    void framesBothWaysWithWhatDpdkVirtioUserNegotiated(int mrg, int packed, int inOrder) throws Exception {
        String prefix = "panda-vhf-" + ProcessHandle.current().pid() + "-" + mrg + packed + inOrder;
        Path sock = dir.resolve("vhf.sock");
        int frame = mrg == 1 ? 1500 : 1000;
        try (PacketPool pool =
                PacketPool.create(PoolConfig.defaults().withCount(8192).withHugepages(PoolConfig.Hugepages.OFF))) {
            VhostPort port = (VhostPort) Ports.discover().open("net_vhost0,iface=" + sock, PortContext.of(pool, 0));
            List<String> app = new ArrayList<>(List.of("--forward-mode=rxonly"));
            if (mrg == 1) {
                // 1024 data bytes per mbuf; DPDK's virtio rx refuses mbufs smaller than a frame without scatter
                app.add("--mbuf-size=1152");
                app.add("--enable-scatter");
            }
            try (port;
                    DpdkTestpmd dpdk = new DpdkTestpmd(
                            prefix,
                            List.of("--lcores", "0@1,1@1"),
                            "net_virtio_user0,path=" + sock + ",mrg_rxbuf=" + mrg + ",packed_vq=" + packed
                                    + ",in_order=" + inOrder,
                            dir.resolve("dpdk.log"),
                            app.toArray(String[]::new))) {
                awaitLinkUp(port, dpdk);
                long f = port.negotiatedFeatures();
                System.out.printf(
                        "DPDK virtio-user mrg_rxbuf=%d negotiated 0x%x (MRG_RXBUF %b, INDIRECT_DESC %b, "
                                + "EVENT_IDX %b)%n",
                        mrg,
                        f,
                        (f & bit(F_MRG_RXBUF)) != 0,
                        (f & bit(F_INDIRECT_DESC)) != 0,
                        (f & bit(F_EVENT_IDX)) != 0);
                assertEquals(mrg == 1, (f & bit(F_MRG_RXBUF)) != 0, "MRG_RXBUF as DPDK was told");
                assertEquals(packed == 1, (f & bit(F_RING_PACKED)) != 0, "RING_PACKED as DPDK was told");
                assertEquals(inOrder == 1, (f & bit(F_IN_ORDER)) != 0, "IN_ORDER as DPDK was told");
                // DPDK 22.11's virtio-user sets the status through SET_STATUS when STATUS is offered:
                // ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK once its port started
                assertEquals(0xF, port.deviceStatus(), "device status set by DPDK's virtio-user");

                // panda → DPDK rxonly
                dpdk.command("start");
                DpdkTestpmd.sleep(500);
                PacketBurst burst = new PacketBurst(32);
                long deadline = System.nanoTime() + 2_000_000_000L;
                while (System.nanoTime() < deadline) {
                    int n = pool.allocBulk(burst.handles, 0, 32);
                    for (int i = 0; i < n; i++) {
                        int h = burst.handles[i];
                        pool.setLength(h, frame);
                        pool.segment().asSlice(pool.dataOffset(h), 64).fill((byte) 0);
                        pool.segment().asSlice(pool.dataOffset(h), 6).fill((byte) 0xff);
                        pool.segment().set(ValueLayout.JAVA_BYTE, pool.dataOffset(h) + 12, (byte) 0x08);
                    }
                    int k = port.txBurst(0, burst, n);
                    pool.freeBulk(burst.handles, k, n - k);
                    if (k < n) {
                        Thread.yield();
                    }
                }
                DpdkTestpmd.sleep(3000); // DPDK takes what is still in its ring (its lcore shares a busy CPU)
                dpdk.command("stop");
                PortStats afterTx = port.stats();

                // DPDK txonly, two segments per frame → panda
                dpdk.command("set fwd txonly");
                dpdk.command("set txpkts 64,900");
                dpdk.command("start");
                long received = 0;
                long wrong = 0;
                deadline = System.nanoTime() + 2_000_000_000L;
                while (System.nanoTime() < deadline) {
                    received += receive(port, pool, burst, 964);
                }
                dpdk.command("stop");
                long quiet = System.nanoTime();
                while (System.nanoTime() - quiet < 3_000_000_000L) {
                    int n = receive(port, pool, burst, 964);
                    received += n;
                    if (n > 0) {
                        quiet = System.nanoTime();
                    }
                }
                wrong = badLengths;
                dpdk.statsAtQuit(NIC);
                String out = Files.readString(dpdk.log);
                Matcher m = FWD.matcher(out);
                if (!m.find()) {
                    fail("no forward statistics for the rxonly run\n" + dpdk.tail());
                }
                long dpdkRx = Long.parseLong(m.group(1));
                long dpdkRxDropped = Long.parseLong(m.group(2));
                if (!m.find()) {
                    fail("no forward statistics for the txonly run\n" + dpdk.tail());
                }
                long dpdkTx = Long.parseLong(m.group(3));
                System.out.printf(
                        "mrg_rxbuf=%d: panda sent %d x %d B, DPDK received %d (dropped %d); DPDK sent %d x "
                                + "964 B in two segments, panda received %d%n",
                        mrg, afterTx.opackets(), frame, dpdkRx, dpdkRxDropped, dpdkTx, received);
                assertTrue(afterTx.opackets() > 0, "panda sent nothing\n" + dpdk.tail());
                assertEquals(0, afterTx.oerrors(), "DPDK's buffers refused frames\n" + dpdk.tail());
                assertEquals(afterTx.opackets(), dpdkRx + dpdkRxDropped, "every frame panda delivered, at DPDK");
                assertEquals(afterTx.opackets() * frame, afterTx.obytes());
                assertTrue(dpdkTx > 0, "DPDK sent nothing\n" + dpdk.tail());
                assertEquals(dpdkTx, received, "every two-segment frame DPDK sent, at panda");
                assertEquals(0, wrong, "frames that are not 964 bytes");
                assertEquals(0, port.stats().ierrors());
            }
        }
    }

    private long badLengths;

    private int receive(VhostPort port, PacketPool pool, PacketBurst burst, int len) {
        int n = port.rxBurst(0, burst);
        for (int i = 0; i < n; i++) {
            if (pool.length(burst.handles[i]) != len) {
                badLengths++;
            }
        }
        pool.freeBulk(burst.handles, 0, n);
        if (n == 0) {
            Thread.yield();
        }
        return n;
    }

    private static void awaitLinkUp(VhostPort port, DpdkTestpmd dpdk) throws Exception {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!port.link().up()) {
            if (!dpdk.alive()) {
                fail("dpdk-testpmd exited\n" + dpdk.tail());
            }
            if (System.nanoTime() > deadline) {
                fail("DPDK's virtio-user never started a vring on panda\n" + dpdk.tail());
            }
            DpdkTestpmd.sleep(50);
        }
        DpdkTestpmd.sleep(500); // the other vrings follow
    }
}
