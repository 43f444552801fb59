package dev.panda.pmd.virtio.virtiouser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.dataplane.testing.AllocationWatch;
import dev.panda.pmd.virtio.ring.VirtioFeatures;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * docs/ARCHITECTURE.md, "No allocation per packet", on packed rings: after a warm-up,
 * net_virtio_user's txBurst and rxBurst with {@code packed_vq=1} (descriptor posting with buffer
 * ids, harvesting with the wrap counters, in order or not, mergeable receive, refill, kicks) allocate nothing on the
 * poller thread. The back-end is DPDK 22.11's net_vhost in io forwarding on a loop topology (every
 * packet panda sends comes back), in its own process, so only panda's thread is measured.
 */
@Tag("peer")
class VirtioUserPackedSteadyStateAllocationTest {

    @TempDir
    Path dir;

    @ParameterizedTest(name = "packed_vq=1{0}")
    @ValueSource(strings = {"", ",in_order=1"})
    void packedBurstsDoNotAllocate(String devargs) throws Exception {
        String prefix = "panda-vu-alloc-" + ProcessHandle.current().pid();
        Path sock = dir.resolve("packed-alloc.sock");
        try (PacketPool pool = PacketPool.create(
                        PoolConfig.defaults().withCount(8192).withHugepages(PoolConfig.Hugepages.OFF));
                DpdkTestpmd dpdk = new DpdkTestpmd(
                        prefix,
                        List.of("-l", "0,1"),
                        "net_vhost0,iface=" + sock,
                        dir.resolve("testpmd.log"),
                        "--forward-mode=io",
                        "--port-topology=loop")) {
            dpdk.awaitSocket(sock);
            Port port = connect("net_virtio_user0,path=" + sock + ",packed_vq=1" + devargs, pool, dpdk);
            try {
                assertTrue(
                        VirtioFeatures.has(((VirtioUserPort) port).features(), VirtioFeatures.F_RING_PACKED),
                        "packed rings negotiated with DPDK's net_vhost");
                dpdk.command("start");
                DpdkTestpmd.sleep(500);
                Loop loop = new Loop(port, pool);
                loop.run(300_000);
                assertTrue(loop.received > 0, "nothing came back from DPDK\n" + dpdk.tail());
                StringBuilder rounds = new StringBuilder();
                long best = AllocationWatch.fewestBytesPerRound(5, () -> loop.run(200_000), rounds);
                System.out.printf("packed net_virtio_user <-> DPDK io loop: %s%n", rounds);
                assertEquals(
                        0, best, "bytes allocated moving packets through packed net_virtio_user, per round: " + rounds);
                assertEquals(0, port.stats().ierrors() + port.stats().oerrors(), "port errors");
                dpdk.command("stop");
            } finally {
                port.close();
            }
            assertEquals(pool.capacity(), pool.available(), "buffers lost after close");
        }
    }

    private static Port connect(String device, PacketPool pool, DpdkTestpmd dpdk) {
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (true) {
            try {
                return Ports.discover().open(device, PortContext.of(pool, 0));
            } catch (DeviceException e) {
                if (System.nanoTime() > deadline || !dpdk.alive()) {
                    try {
                        fail("cannot connect to DPDK's net_vhost: " + e.getMessage() + "\n" + dpdk.tail());
                    } catch (java.io.IOException io) {
                        fail("cannot connect to DPDK's net_vhost: " + e.getMessage());
                    }
                }
                DpdkTestpmd.sleep(100);
            }
        }
    }

    private static final class Loop {
        final Port port;
        final PacketPool pool;
        final PacketBurst burst = new PacketBurst(32);
        long received;

        Loop(Port port, PacketPool pool) {
            this.port = port;
            this.pool = pool;
        }

        /** Sends up to 32, takes what came back; returns packets (or empty polls) until {@code packets}. */
        long run(int packets) {
            long moved = 0;
            while (moved < packets) {
                int n = pool.allocBulk(burst.handles, 0, 32);
                for (int i = 0; i < n; i++) {
                    pool.setLength(burst.handles[i], 64);
                }
                int sent = port.txBurst(0, burst, n);
                pool.freeBulk(burst.handles, sent, n - sent);
                int k = port.rxBurst(0, burst);
                pool.freeBulk(burst.handles, 0, k);
                received += k;
                if (k == 0) {
                    Thread.onSpinWait();
                }
                moved += Math.max(k, 1);
            }
            return moved;
        }
    }
}
