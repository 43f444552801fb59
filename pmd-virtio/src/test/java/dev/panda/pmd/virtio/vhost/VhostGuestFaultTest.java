package dev.panda.pmd.virtio.vhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.jextract.Posix;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile front-end shrinks the memfd it shared with SET_MEM_TABLE: the poller's next access
 * to that memory is a SIGBUS, which FFM raises as InternalError. net_vhost treats it as a device
 * error (counted, logged once, that connection ended and its memory unmapped) while the process
 * and its other ports go on serving, and the port accepts the next front-end.
 */
class VhostGuestFaultTest {

    @TempDir
    Path dir;

    @Test
    void aShrunkenMemfdResetsThatDeviceOnlyOnReceiveAndTransmit() {
        try (PacketPool pool =
                PacketPool.create(PoolConfig.defaults().withCount(1024).withHugepages(PoolConfig.Hugepages.OFF))) {
            Path sockA = dir.resolve("a.sock");
            Path sockB = dir.resolve("b.sock");
            VhostPort a = (VhostPort) Ports.discover().open("net_vhost0,iface=" + sockA, PortContext.of(pool, 0));
            VhostPort b = (VhostPort) Ports.discover().open("net_vhost1,iface=" + sockB, PortContext.of(pool, 1));
            try (TestFrontend feB = new TestFrontend(sockB, 64).start()) {
                awaitLink(b, true);
                try (TestFrontend feA = new TestFrontend(sockA, 64).start()) {
                    awaitLink(a, true);
                    assertEquals(3, roundTrip(pool, a, feA, 3), "port A works before the fault");
                    // the hostile part: the guest memory (rings and buffers) loses its pages
                    Posix.ftruncate(feA.memfd, 0);
                    awaitFault(pool, a, true, 1);
                    awaitLink(a, false);
                    assertTrue(a.stats().ierrors() >= 1, "the fault counted as an rx error");
                    assertEquals(5, roundTrip(pool, b, feB, 5), "port B goes on serving");
                }
                // the device was reset: a new front-end is served again, and a fault on transmit is handled too
                try (TestFrontend feA = new TestFrontend(sockA, 64).start()) {
                    awaitLink(a, true);
                    assertEquals(4, roundTrip(pool, a, feA, 4), "port A serves its next front-end");
                    long before = a.deviceFaults();
                    Posix.ftruncate(feA.memfd, 0);
                    awaitFault(pool, a, false, before + 1);
                    awaitLink(a, false);
                    assertTrue(a.stats().oerrors() >= 1, "the fault counted as a tx error");
                }
                assertEquals(2, roundTrip(pool, b, feB, 2), "port B still serving");
            } finally {
                a.close();
                b.close();
            }
            assertEquals(pool.capacity(), pool.available(), "every buffer back in the pool");
        }
    }

    /** The front-end sends {@code n} frames, panda receives them and sends them back; how many returned. */
    private static int roundTrip(PacketPool pool, VhostPort port, TestFrontend fe, int n) {
        fe.reclaimTx();
        for (int i = 0; i < n; i++) {
            assertTrue(fe.send(i, 100 + i, i));
        }
        fe.txq.publish();
        fe.postRx(0, n);
        PacketBurst burst = new PacketBurst(32);
        int got = 0;
        for (long deadline = System.nanoTime() + 10_000_000_000L; got < n && System.nanoTime() < deadline; ) {
            int k = port.rxBurst(0, burst);
            if (k > 0) {
                int sent = port.txBurst(0, burst, k);
                pool.freeBulk(burst.handles, sent, k - sent);
                got += k;
            } else {
                Thread.yield();
            }
        }
        int[] tokens = new int[64];
        int[] lens = new int[64];
        int back = fe.harvestRx(tokens, lens);
        for (int i = 0; i < back; i++) {
            assertEquals(TestFrontend.HDR + 100 + i, lens[i], "frame " + i + " came back whole");
        }
        return back;
    }

    /** Polls (rx, or tx of one packet) until the port has counted {@code faults} device faults. */
    private static void awaitFault(PacketPool pool, VhostPort port, boolean rx, long faults) {
        PacketBurst burst = new PacketBurst(32);
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (port.deviceFaults() < faults) {
            assertTrue(System.nanoTime() < deadline, "no fault seen after the memfd shrank");
            if (rx) {
                int k = port.rxBurst(0, burst);
                pool.freeBulk(burst.handles, 0, k);
            } else {
                int h = pool.alloc();
                pool.setLength(h, 64);
                burst.handles[0] = h;
                int sent = port.txBurst(0, burst, 1);
                if (sent == 0) {
                    pool.free(h);
                }
            }
        }
    }

    private static void awaitLink(VhostPort port, boolean up) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (port.link().up() != up) {
            assertTrue(System.nanoTime() < deadline, "link of " + port.name() + " never went " + (up ? "up" : "down"));
            Thread.yield();
        }
    }
}
