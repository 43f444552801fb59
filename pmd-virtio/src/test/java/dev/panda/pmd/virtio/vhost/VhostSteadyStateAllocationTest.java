package dev.panda.pmd.virtio.vhost;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_EVENT_IDX;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_MRG_RXBUF;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.dataplane.testing.AllocationWatch;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * docs/ARCHITECTURE.md, "No allocation per packet": after a warm-up, net_vhost's rxBurst and
 * txBurst (copies both ways, used-ring publication, call eventfd writes) allocate nothing on the
 * poller thread.
 */
class VhostSteadyStateAllocationTest {

    @TempDir
    Path dir;

    /** Without features, and with mergeable buffers (48 bytes each: every packet spans two) and EVENT_IDX. */
    @ParameterizedTest
    @ValueSource(longs = {0, 1L << F_MRG_RXBUF | 1L << F_EVENT_IDX})
    void burstsDoNotAllocate(long features) {
        Path sock = dir.resolve("alloc.sock");
        try (PacketPool pool = PacketPool.create(
                        PoolConfig.defaults().withCount(1024).withHugepages(PoolConfig.Hugepages.OFF));
                Port port = Ports.discover().open("net_vhost0,iface=" + sock, PortContext.of(pool, 0));
                TestFrontend fe = new TestFrontend(sock, 256, 0, features).start()) {
            while (!port.link().up()) {
                Thread.onSpinWait();
            }
            Loop loop = new Loop(port, pool, fe, features != 0 ? 48 : TestFrontend.BUF);
            loop.run(1_000_000);
            // Steady state means compiled: a round may still catch the JIT finishing a compile (a
            // few hundred bytes once), so up to five rounds run and the best must allocate nothing.
            StringBuilder rounds = new StringBuilder();
            long best = AllocationWatch.fewestBytesPerRound(5, () -> loop.run(500_000), rounds);
            assertEquals(0, best, "bytes allocated moving packets through net_vhost, per round: " + rounds);
        }
    }

    private static final class Loop {
        final Port port;
        final PacketPool pool;
        final TestFrontend fe;
        final PacketBurst burst = new PacketBurst(32);
        final int[] tokens = new int[256];
        final int[] lens = new int[256];
        final int rxLen;

        Loop(Port port, PacketPool pool, TestFrontend fe, int rxLen) {
            this.port = port;
            this.pool = pool;
            this.fe = fe;
            this.rxLen = rxLen;
        }

        /** Guest → panda → guest, 32 at a time; returns packets moved. */
        long run(int packets) {
            long moved = 0;
            while (moved < packets) {
                fe.reclaimTx();
                for (int i = 0; i < 32; i++) {
                    fe.txq.addOut(
                            TestFrontend.GPA + fe.txBuffers + (long) i * TestFrontend.BUF,
                            (int) TestFrontend.HDR + 64,
                            i);
                }
                fe.txq.publish();
                int n = port.rxBurst(0, burst);
                for (int i = 0; i < 64; i++) {
                    fe.rxq.addIn(TestFrontend.GPA + fe.rxBuffers + (long) i * TestFrontend.BUF, rxLen, i);
                }
                fe.rxq.publish();
                int sent = port.txBurst(0, burst, n);
                pool.freeBulk(burst.handles, sent, n - sent);
                fe.rxq.harvest(tokens, lens, 256);
                moved += n;
            }
            return moved;
        }
    }
}
