package dev.panda.pmd.virtio.virtiouser;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.testing.AllocationWatch;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/ARCHITECTURE.md, "No allocation per packet": after a warm-up, net_virtio_user's txBurst and
 * rxBurst (descriptor posting, harvesting, refill, kicks) allocate nothing on the poller thread;
 * the back-end is panda's net_vhost, already proven allocation-free, polled on the same thread.
 */
class VirtioUserSteadyStateAllocationTest {

    @TempDir
    Path dir;

    @Test
    void burstsDoNotAllocate() {
        try (PacketPool hp = VirtioUserPortTest.pool(PoolConfig.Hugepages.OFF);
                PacketPool vp = VirtioUserPortTest.pool(PoolConfig.Hugepages.OFF)) {
            Port[] p = VirtioUserPortTest.pair(dir.resolve("alloc.sock"), hp, vp, "");
            try {
                Loop loop = new Loop(p[0], hp, p[1], vp);
                loop.run(1_000_000);
                StringBuilder rounds = new StringBuilder();
                long best = AllocationWatch.fewestBytesPerRound(5, () -> loop.run(500_000), rounds);
                assertEquals(0, best, "bytes allocated moving packets through net_virtio_user, per round: " + rounds);
            } finally {
                p[1].close();
                p[0].close();
            }
            assertEquals(vp.capacity(), vp.available());
        }
    }

    private static final class Loop {
        final Port vhost;
        final PacketPool hp;
        final Port virtio;
        final PacketPool vp;
        final PacketBurst burst = new PacketBurst(32);

        Loop(Port vhost, PacketPool hp, Port virtio, PacketPool vp) {
            this.vhost = vhost;
            this.hp = hp;
            this.virtio = virtio;
            this.vp = vp;
        }

        /** virtio-user tx → vhost rx → vhost tx → virtio-user rx, 32 at a time; returns packets moved. */
        long run(int packets) {
            long moved = 0;
            while (moved < packets) {
                int n = vp.allocBulk(burst.handles, 0, 32);
                for (int i = 0; i < n; i++) {
                    vp.setLength(burst.handles[i], 64);
                }
                int sent = virtio.txBurst(0, burst, n);
                vp.freeBulk(burst.handles, sent, n - sent);
                int r = vhost.rxBurst(0, burst);
                int back = vhost.txBurst(0, burst, r);
                hp.freeBulk(burst.handles, back, r - back);
                int k = virtio.rxBurst(0, burst);
                vp.freeBulk(burst.handles, 0, k);
                moved += Math.max(k, 1);
            }
            return moved;
        }
    }
}
