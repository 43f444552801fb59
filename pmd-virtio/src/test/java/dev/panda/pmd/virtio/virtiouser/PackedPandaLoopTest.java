package dev.panda.pmd.virtio.virtiouser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * panda on both ends of a packed ring, the driver (net_virtio_user, packed_vq=1) and the device
 * (net_vhost), in one thread: frames of 60 to 1514 bytes with a per-frame pattern both ways, many
 * laps of a small ring, with the receiving side taking irregular bursts (and sometimes none), so
 * rings fill, mergeable writes run out of buffers and rewind, and batches cross the wrap at every
 * position. Every frame must arrive, in order, byte for byte; nothing may be left in flight.
 */
class PackedPandaLoopTest {

    private static final int FRAMES = 200_000;

    @ParameterizedTest(name = "{0}")
    @ValueSource(
            strings = {
                "queue_size=64",
                "queue_size=64,mrg_rxbuf=0",
                "queue_size=64,in_order=1",
                "queue_size=256",
                "queue_size=256,in_order=1"
            })
    void everyFrameBothWaysIntactAndInOrder(String args) throws Exception {
        Path dir = Files.createTempDirectory("panda-packed-loop");
        Path sock = dir.resolve("p.sock");
        try (PacketPool pool =
                PacketPool.create(PoolConfig.defaults().withCount(8192).withHugepages(PoolConfig.Hugepages.OFF))) {
            Port vhost = Ports.discover().open("net_vhost3,iface=" + sock, PortContext.of(pool, 0));
            Port virtio = Ports.discover()
                    .open("net_virtio_user3,path=" + sock + ",packed_vq=1," + args, PortContext.of(pool, 1));
            try {
                long deadline = System.nanoTime() + 5_000_000_000L;
                while (!(vhost.link().up() && virtio.link().up()) && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                assertTrue(vhost.link().up() && virtio.link().up(), "both ends up");
                long seed = 0x5eed + args.hashCode();
                String fwd = run(pool, virtio, vhost, seed, "driver -> device");
                String back = run(pool, vhost, virtio, seed + 1, "device -> driver");
                System.out.println(args + ": " + fwd + "; " + back);
            } finally {
                virtio.close();
                vhost.close();
            }
            assertEquals(pool.capacity(), pool.available(), "every buffer back in the pool");
            assertEquals(0, pool.doubleFrees());
        } finally {
            Files.deleteIfExists(sock);
            Files.deleteIfExists(dir);
        }
    }

    /** {@code FRAMES} frames from {@code tx} to {@code rx}, checked; returns a summary. */
    private static String run(PacketPool pool, Port tx, Port rx, long seed, String what) {
        SplittableRandom r = new SplittableRandom(seed);
        SplittableRandom lens = new SplittableRandom(seed * 31);
        SplittableRandom check = new SplittableRandom(seed * 31);
        PacketBurst out = new PacketBurst(32);
        PacketBurst in = new PacketBurst(32);
        MemorySegment mem = pool.segment();
        int sent = 0;
        int got = 0;
        int pending = 0; // allocated in out, not yet taken by tx
        long idle = 0;
        while (got < FRAMES) {
            if (sent < FRAMES) {
                int want = Math.min(1 + r.nextInt(32), FRAMES - sent);
                if (pending == 0) {
                    int n = pool.allocBulk(out.handles, 0, want);
                    for (int i = 0; i < n; i++) {
                        int len = 60 + lens.nextInt(1514 - 60 + 1);
                        write(mem, pool.dataOffset(out.handles[i]), len, sent + i);
                        pool.setLength(out.handles[i], len);
                    }
                    pending = n;
                }
                int k = tx.txBurst(0, out, pending);
                sent += k;
                // what tx did not take moves to the front, in order
                System.arraycopy(out.handles, k, out.handles, 0, pending - k);
                pending -= k;
            }
            // the receiver takes an irregular share: sometimes nothing, so the ring fills
            if (r.nextInt(8) != 0) {
                int n = rx.rxBurst(0, in);
                for (int i = 0; i < n; i++) {
                    int h = in.handles[i];
                    int len = 60 + check.nextInt(1514 - 60 + 1);
                    assertEquals(len, pool.length(h), what + ": frame " + got + " length");
                    int bad = verify(mem, pool.dataOffset(h), len, got);
                    assertEquals(-1, bad, what + ": frame " + got + " differs at byte " + bad);
                    got++;
                }
                pool.freeBulk(in.handles, 0, n);
                idle = n == 0 ? idle + 1 : 0;
                assertTrue(idle < 5_000_000, what + ": stalled at " + got + " of " + sent + " sent");
            }
        }
        assertEquals(FRAMES, sent);
        assertEquals(0, rx.rxBurst(0, in), what + ": nothing beyond what was sent");
        return what + " " + got + " frames intact and in order";
    }

    private static void write(MemorySegment mem, long at, int len, int seq) {
        for (int i = 0; i < len; i++) {
            mem.set(ValueLayout.JAVA_BYTE, at + i, (byte) (seq * 7 + i));
        }
    }

    /** -1 if the frame carries frame {@code seq}'s pattern, else the first differing byte. */
    private static int verify(MemorySegment mem, long at, int len, int seq) {
        for (int i = 0; i < len; i++) {
            if (mem.get(ValueLayout.JAVA_BYTE, at + i) != (byte) (seq * 7 + i)) {
                return i;
            }
        }
        return -1;
    }
}
