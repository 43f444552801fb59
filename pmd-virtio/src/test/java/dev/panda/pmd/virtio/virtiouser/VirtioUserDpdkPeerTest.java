package dev.panda.pmd.virtio.virtiouser;

import static dev.panda.pmd.virtio.virtiouser.DpdkTestpmd.sleep;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortStats;
import dev.panda.dataplane.port.Ports;
import dev.panda.pmd.virtio.RxSink;
import dev.panda.pmd.virtio.ring.VirtioFeatures;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * panda's net_virtio_user against DPDK 22.11's vhost PMD (net_vhost), a back-end nobody here
 * wrote, both directions with 64-byte frames: every packet one side counts as sent is counted as
 * received by the other. dpdk-testpmd is started and stopped by the test ({@code -l 0,1});
 * panda's side yields when idle. Each direction runs on split rings and on packed rings
 * ({@code packed_vq=1}, virtio 1.2 §2.8, with and without {@code mrg_rxbuf}, and with
 * {@code in_order=1}: DPDK's vhost then closes batches of used transmit buffers with one
 * descriptor); DPDK's side is the
 * same net_vhost, which takes VIRTIO_F_RING_PACKED when panda asks for it.
 */
@Tag("peer")
class VirtioUserDpdkPeerTest {

    private static final Pattern NIC_RX =
            Pattern.compile("RX-packets:\\s+(\\d+)\\s+RX-missed:\\s+(\\d+)\\s+RX-bytes:\\s+(\\d+)", Pattern.DOTALL);
    private static final Pattern NIC_TX =
            Pattern.compile("TX-packets:\\s+(\\d+)\\s+TX-errors:\\s+(\\d+)\\s+TX-bytes:\\s+(\\d+)", Pattern.DOTALL);
    private static final long SEND_NANOS = TimeUnit.SECONDS.toNanos(3);

    @TempDir
    Path dir;

    private static PacketPool pool() {
        return PacketPool.create(PoolConfig.defaults().withCount(8192).withHugepages(PoolConfig.Hugepages.OFF));
    }

    /** Connects to DPDK's vhost socket; DPDK may still be between bind and listen, so retry a little. */
    private static Port connect(String device, PacketPool pool, DpdkTestpmd dpdk) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) {
            try {
                return Ports.discover().open(device, PortContext.of(pool, 0));
            } catch (DeviceException e) {
                if (System.nanoTime() > deadline || !dpdk.alive()) {
                    fail("panda could not connect to DPDK's net_vhost: " + e.getMessage() + "\n" + dpdk.tail());
                }
                sleep(100);
            }
        }
    }

    /** Checks the ring format the devargs asked for was negotiated. */
    private static void assertFormat(Port port, String devargs) {
        long f = ((VirtioUserPort) port).features();
        assertEquals(
                devargs.contains("packed_vq=1"),
                VirtioFeatures.has(f, VirtioFeatures.F_RING_PACKED),
                "VIRTIO_F_RING_PACKED as asked (" + devargs + "): 0x" + Long.toHexString(f));
        assertEquals(
                !devargs.contains("mrg_rxbuf=0"),
                VirtioFeatures.has(f, VirtioFeatures.F_MRG_RXBUF),
                "VIRTIO_NET_F_MRG_RXBUF as asked (" + devargs + "): 0x" + Long.toHexString(f));
        assertEquals(
                devargs.contains("in_order=1"),
                VirtioFeatures.has(f, VirtioFeatures.F_IN_ORDER),
                "VIRTIO_F_IN_ORDER as asked (" + devargs + "): 0x" + Long.toHexString(f));
    }

    @ParameterizedTest(name = "devargs [{0}]")
    @ValueSource(strings = {"", ",packed_vq=1", ",packed_vq=1,mrg_rxbuf=0", ",packed_vq=1,in_order=1"})
    void pandaVirtioUserTxIntoDpdkVhostRxonlyEveryPacketReceived(String devargs) throws Exception {
        String prefix = "panda-vu-" + ProcessHandle.current().pid() + "-rx";
        Path sock = dir.resolve("vu-rx.sock");
        try (PacketPool pool = pool();
                DpdkTestpmd dpdk =
                        new DpdkTestpmd(prefix, sock, dir.resolve("testpmd-rx.log"), "--forward-mode=rxonly")) {
            dpdk.awaitSocket(sock);
            Port port = connect("net_virtio_user0,path=" + sock + devargs, pool, dpdk);
            assertFormat(port, devargs);
            try {
                dpdk.command("start");
                sleep(500);
                PacketBurst burst = new PacketBurst(32);
                MemorySegment mem = pool.segment();
                long sent = 0;
                long deadline = System.nanoTime() + SEND_NANOS;
                while (System.nanoTime() < deadline) {
                    int n = pool.allocBulk(burst.handles, 0, 32);
                    for (int i = 0; i < n; i++) {
                        int h = burst.handles[i];
                        long off = pool.dataOffset(h);
                        pool.setLength(h, 64);
                        mem.asSlice(off, 64).fill((byte) 0);
                        mem.asSlice(off, 6).fill((byte) 0xff); // broadcast
                        mem.set(ValueLayout.JAVA_BYTE, off + 6, (byte) 0x02); // locally administered source
                        mem.set(ValueLayout.JAVA_BYTE, off + 12, (byte) 0x08); // IPv4
                    }
                    int k = port.txBurst(0, burst, n);
                    pool.freeBulk(burst.handles, k, n - k);
                    sent += k;
                    if (k < n) {
                        Thread.yield(); // ring full: DPDK's lcore is behind
                    }
                }
                sleep(1000); // DPDK's forwarding lcore takes what is still in the ring
                dpdk.command("stop");
                PortStats s = port.stats();
                port.close(); // GET_VRING_BASE on both rings while DPDK is still up
                assertEquals(pool.capacity(), pool.available(), "buffers lost after close");
                Matcher m = dpdk.statsAtQuit(NIC_RX);
                long dpdkReceived = Long.parseLong(m.group(1));
                long missed = Long.parseLong(m.group(2));
                System.out.printf(
                        "panda net_virtio_user TX-packets %d (oerrors %d), DPDK net_vhost RX-packets %d "
                                + "(RX-missed %d, RX-bytes %s)%n",
                        s.opackets(), s.oerrors(), dpdkReceived, missed, m.group(3));
                assertTrue(s.opackets() > 0, "panda sent nothing\n" + dpdk.tail());
                assertEquals(sent, s.opackets());
                assertEquals(0, s.oerrors());
                assertEquals(s.opackets() * 64, s.obytes());
                assertEquals(
                        s.opackets(), dpdkReceived, "every packet panda sent was received by DPDK\n" + dpdk.tail());
                assertEquals(0, missed);
            } finally {
                port.close();
            }
            assertEquals(pool.capacity(), pool.available(), "buffers lost after close");
        }
    }

    @ParameterizedTest(name = "devargs [{0}]")
    @ValueSource(strings = {"", ",packed_vq=1", ",packed_vq=1,mrg_rxbuf=0", ",packed_vq=1,in_order=1"})
    void dpdkVhostTxonlyIntoPandaVirtioUserEveryPacketReceived(String devargs) throws Exception {
        String prefix = "panda-vu-" + ProcessHandle.current().pid() + "-tx";
        Path sock = dir.resolve("vu-tx.sock");
        try (PacketPool pool = pool();
                DpdkTestpmd dpdk = new DpdkTestpmd(
                        prefix, sock, dir.resolve("testpmd-tx.log"), "--forward-mode=txonly", "--txpkts=64")) {
            dpdk.awaitSocket(sock);
            Port port = connect("net_virtio_user1,path=" + sock + devargs, pool, dpdk);
            assertFormat(port, devargs);
            RxSink sink = new RxSink("virtio-user-peer-rx", port, pool, 64, -1);
            try {
                dpdk.command("start");
                sleep(4000);
                assertTrue(sink.received() > 0, "no packet arrived while DPDK was sending\n" + dpdk.tail());
                dpdk.command("stop");
                // what DPDK put in the ring still drains into panda
                sink.awaitDrained();
                sink.close();
                PortStats s = port.stats();
                port.close(); // GET_VRING_BASE on both rings while DPDK is still up
                assertEquals(pool.capacity(), pool.available(), "buffers lost after close");
                Matcher m = dpdk.statsAtQuit(NIC_TX);
                long dpdkSent = Long.parseLong(m.group(1));
                System.out.printf(
                        "DPDK net_vhost TX-packets %d (TX-errors %s), "
                                + "panda net_virtio_user RX-packets %d (ierrors %d, rx_nombuf %d)%n",
                        dpdkSent, m.group(2), s.ipackets(), s.ierrors(), s.rxNombuf());
                assertTrue(dpdkSent > 0, "DPDK sent nothing\n" + dpdk.tail());
                assertEquals(dpdkSent, s.ipackets(), "every packet DPDK sent was received by panda");
                assertEquals(dpdkSent, sink.received());
                assertEquals(0, s.ierrors());
                assertEquals(dpdkSent * 64, s.ibytes());
                assertEquals(0, sink.wrongLength(), "frames that are not 64 bytes");
            } finally {
                sink.close();
                port.close();
            }
            assertEquals(pool.capacity(), pool.available(), "buffers lost after close");
        }
    }
}
