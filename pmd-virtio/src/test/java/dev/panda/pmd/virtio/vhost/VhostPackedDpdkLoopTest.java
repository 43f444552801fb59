package dev.panda.pmd.virtio.vhost;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_IN_ORDER;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_MRG_RXBUF;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_RING_PACKED;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.has;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.dataplane.testing.AllocationWatch;
import dev.panda.pmd.virtio.virtiouser.DpdkTestpmd;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * net_vhost on packed rings (virtio 1.2 §2.8) in a loop through DPDK 22.11's virtio-user with
 * {@code packed_vq=1}, started and stopped by the test: DPDK forwards in io mode on its one port
 * ({@code --port-topology=loop}), so every frame panda transmits into DPDK's receive ring comes
 * back through DPDK's transmit ring into panda. Each frame carries a sequence number and a pattern
 * derived from it over its whole length (lengths vary from 60 to 1514 bytes, so with mergeable
 * buffers the longer ones span two of DPDK's receive buffers); panda checks every byte of every
 * frame that comes back. Then, the loop warm, the poller's bursts allocate nothing (as
 * {@link VhostSteadyStateAllocationTest} for split rings).
 */
@Tag("peer")
class VhostPackedDpdkLoopTest {

    @TempDir
    Path dir;

    private long nextSeq;
    private long expectSeq;
    private long checked;
    private long corrupt;
    private long outOfOrder;

    @ParameterizedTest(name = "mrg_rxbuf={0},in_order={1}")
    @CsvSource({"0,0", "1,0", "0,1", "1,1"})
    void framesComeBackByteForByteAndBurstsDoNotAllocate(int mrg, int inOrder) throws Exception {
        String prefix = "panda-vhpl-" + ProcessHandle.current().pid() + "-" + mrg + inOrder;
        Path sock = dir.resolve("vhpl.sock");
        try (PacketPool pool =
                PacketPool.create(PoolConfig.defaults().withCount(8192).withHugepages(PoolConfig.Hugepages.OFF))) {
            VhostPort port = (VhostPort) Ports.discover().open("net_vhost0,iface=" + sock, PortContext.of(pool, 0));
            List<String> app = new java.util.ArrayList<>(List.of("--forward-mode=io", "--port-topology=loop"));
            if (mrg == 1) {
                app.add("--mbuf-size=1152"); // 1024 data bytes: frames over that span two buffers
                app.add("--enable-scatter");
            }
            try (port;
                    DpdkTestpmd dpdk = new DpdkTestpmd(
                            prefix,
                            List.of("--lcores", "0@1,1@1"),
                            "net_virtio_user0,path=" + sock + ",packed_vq=1,mrg_rxbuf=" + mrg + ",in_order=" + inOrder,
                            dir.resolve("dpdk.log"),
                            app.toArray(String[]::new))) {
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (!port.link().up()) {
                    if (!dpdk.alive() || System.nanoTime() > deadline) {
                        fail("DPDK's virtio-user never started a vring on panda\n" + dpdk.tail());
                    }
                    DpdkTestpmd.sleep(50);
                }
                DpdkTestpmd.sleep(500);
                long f = port.negotiatedFeatures();
                assertTrue(has(f, F_RING_PACKED), "packed rings negotiated: 0x" + Long.toHexString(f));
                assertEquals(mrg == 1, has(f, F_MRG_RXBUF));
                assertEquals(inOrder == 1, has(f, F_IN_ORDER));
                dpdk.command("start");
                DpdkTestpmd.sleep(500);

                PacketBurst burst = new PacketBurst(32);
                long end = System.nanoTime() + 3_000_000_000L;
                while (System.nanoTime() < end) {
                    round(port, pool, burst);
                }
                drain(port, pool, burst);
                System.out.printf(
                        "packed loop mrg_rxbuf=%d in_order=%d: sent %d, back %d, checked byte for byte, %d corrupt, "
                                + "%d out of order%n",
                        mrg, inOrder, nextSeq, checked, corrupt, outOfOrder);
                assertTrue(checked > 1000, "frames that came back: " + checked + "\n" + dpdk.tail());
                assertEquals(0, corrupt, "frames whose bytes differ from what panda sent");
                assertEquals(0, outOfOrder, "frames out of order");
                assertEquals(0, port.stats().ierrors());
                assertEquals(0, port.stats().oerrors());

                // steady state: the bursts on this thread allocate nothing once compiled
                StringBuilder rounds = new StringBuilder();
                long best = AllocationWatch.fewestBytesPerRound(5, () -> rounds(port, pool, burst, 20_000), rounds);
                assertEquals(0, best, "bytes allocated moving packets through packed net_vhost, per round: " + rounds);
                drain(port, pool, burst);
                assertEquals(0, corrupt);
                dpdk.command("stop");
            }
        }
    }

    /** Bursts until {@code bursts} transmit bursts were made; returns packets moved. */
    private long rounds(VhostPort port, PacketPool pool, PacketBurst burst, int bursts) {
        long moved = 0;
        for (int i = 0; i < bursts; i++) {
            moved += round(port, pool, burst);
        }
        return moved;
    }

    /** Transmits up to 32 numbered frames (fewer when many are in flight), receives what came back. */
    private int round(VhostPort port, PacketPool pool, PacketBurst burst) {
        int n = 0;
        if (nextSeq - expectSeq < 128) {
            n = pool.allocBulk(burst.handles, 0, 32);
            for (int i = 0; i < n; i++) {
                fill(pool, burst.handles[i], nextSeq + i);
            }
            int k = port.txBurst(0, burst, n);
            nextSeq += k;
            if (k < n) {
                pool.freeBulk(burst.handles, k, n - k);
            }
        }
        int got = port.rxBurst(0, burst);
        for (int i = 0; i < got; i++) {
            check(pool, burst.handles[i]);
        }
        pool.freeBulk(burst.handles, 0, got);
        return n + got;
    }

    private void drain(VhostPort port, PacketPool pool, PacketBurst burst) {
        long quiet = System.nanoTime();
        while (System.nanoTime() - quiet < 1_000_000_000L && expectSeq < nextSeq) {
            int got = port.rxBurst(0, burst);
            for (int i = 0; i < got; i++) {
                check(pool, burst.handles[i]);
            }
            pool.freeBulk(burst.handles, 0, got);
            if (got > 0) {
                quiet = System.nanoTime();
            } else {
                Thread.onSpinWait();
            }
        }
    }

    private static int length(long seq) {
        return 60 + (int) (seq * 37 % 1455);
    }

    /** Broadcast MAC, ethertype 0x88b5 (local experimental), the sequence number, then a pattern. */
    private static void fill(PacketPool pool, int h, long seq) {
        MemorySegment m = pool.segment();
        long at = pool.dataOffset(h);
        int len = length(seq);
        for (int i = 0; i < 6; i++) {
            m.set(ValueLayout.JAVA_BYTE, at + i, (byte) 0xff);
        }
        m.set(ValueLayout.JAVA_BYTE, at + 12, (byte) 0x88);
        m.set(ValueLayout.JAVA_BYTE, at + 13, (byte) 0xb5);
        m.set(ValueLayout.JAVA_LONG_UNALIGNED, at + 14, seq);
        for (int i = 22; i < len; i++) {
            m.set(ValueLayout.JAVA_BYTE, at + i, (byte) (seq + i));
        }
        pool.setLength(h, len);
    }

    private void check(PacketPool pool, int h) {
        MemorySegment m = pool.segment();
        long at = pool.dataOffset(h);
        long seq = m.get(ValueLayout.JAVA_LONG_UNALIGNED, at + 14);
        if (seq != expectSeq) {
            outOfOrder++;
        }
        expectSeq = seq + 1;
        checked++;
        int len = length(seq);
        boolean ok = pool.length(h) == len && m.get(ValueLayout.JAVA_BYTE, at + 12) == (byte) 0x88;
        for (int i = 22; ok && i < len; i++) {
            ok = m.get(ValueLayout.JAVA_BYTE, at + i) == (byte) (seq + i);
        }
        if (!ok) {
            corrupt++;
        }
    }
}
