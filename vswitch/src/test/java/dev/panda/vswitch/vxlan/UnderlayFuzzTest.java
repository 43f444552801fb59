package dev.panda.vswitch.vxlan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.vswitch.config.VxlanConfig;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Any bytes as one frame on an underlay (a ring port the test writes into) go through the real
 * {@link Underlay} of a tunnel port (VNI 42, local 198.18.0.1, remote 198.18.0.2): each is exactly
 * one of delivered (the tunnel's {@code rxBurst} hands out the inner frame, byte for byte what the
 * decoder located), answered (an ARP reply comes back on the underlay) or counted once under one
 * reason; no exception, and every buffer returns to the pool.
 *
 * <p>Without {@code JAZZER_FUZZ=1} only the seeds in {@code UnderlayFuzzTestInputs/} run.
 */
class UnderlayFuzzTest {

    private static PacketPool pool;
    private static Port wire;
    private static VxlanPort tunnel;
    private static final PacketBurst burst = new PacketBurst(32);

    private static synchronized void setUp() {
        if (pool != null) {
            return;
        }
        pool = PacketPool.create(PoolConfig.defaults().withCount(1024));
        Ports ports = Ports.discover();
        wire = ports.open("net_ring990", PortContext.of(pool, 0));
        Underlays u = new Underlays(ports, pool);
        tunnel = u.openTunnel(
                "fuzz", new VxlanConfig(42, "198.18.0.1", "198.18.0.2", "net_ring991,peer=net_ring990"), 1);
    }

    @FuzzTest(maxDuration = "30s")
    void anyUnderlayFrameIsDeliveredAnsweredOrDroppedWithAReason(byte[] input) {
        setUp();
        drainWire();
        int before = pool.available();
        long counted = counted();
        byte[] frame = input.length > pool.maxPacketLength() ? Arrays.copyOf(input, pool.maxPacketLength()) : input;
        int h = pool.alloc();
        MemorySegment.copy(frame, 0, pool.segment(), ValueLayout.JAVA_BYTE, pool.dataOffset(h), frame.length);
        pool.setLength(h, frame.length);
        burst.handles[0] = h;
        assertEquals(1, wire.txBurst(0, burst, 1));

        int delivered = tunnel.rxBurst(0, burst);
        byte[] inner = null;
        for (int i = 0; i < delivered; i++) {
            int d = burst.handles[i];
            inner = new byte[pool.length(d)];
            MemorySegment.copy(pool.segment(), ValueLayout.JAVA_BYTE, pool.dataOffset(d), inner, 0, inner.length);
            pool.free(d);
        }
        int answered = drainWire();
        long drops = counted() - counted;
        assertEquals(
                1,
                delivered + answered + drops,
                "delivered " + delivered + ", answered " + answered + ", counted " + drops + " for " + frame.length
                        + " bytes");
        if (delivered == 1) {
            UnderlayDecoder d = new UnderlayDecoder();
            MemorySegment copy = MemorySegment.ofArray(frame.clone());
            assertEquals(UnderlayDecoder.VXLAN, d.decode(copy, 0, frame.length, VxlanConfig.ipv4("198.18.0.1")));
            assertArrayEquals(Arrays.copyOfRange(frame, d.innerOffset, d.innerOffset + d.innerLength), inner);
        }
        assertEquals(before, pool.available(), "a buffer was lost or freed twice");
        assertEquals(0, pool.doubleFrees());
    }

    /** Every way a frame is consumed without being delivered or answered. */
    private static long counted() {
        Underlay u = tunnel.underlay();
        long n = tunnel.drops("inbox_full") + u.counter("arp_replies");
        for (int i = 0; i < Underlay.DROP_REASONS; i++) {
            n += u.counter(Underlay.NAMES[i]);
        }
        return n;
    }

    /** Frees what the underlay sent; returns how many were ARP replies (opcode 2). */
    private static int drainWire() {
        int replies = 0;
        int n;
        while ((n = wire.rxBurst(0, burst)) > 0) {
            for (int i = 0; i < n; i++) {
                int h = burst.handles[i];
                long off = pool.dataOffset(h);
                if (pool.length(h) >= 42
                        && pool.segment().get(VxlanFrame.BE16, off + 12) == VxlanFrame.ETHERTYPE_ARP
                        && pool.segment().get(VxlanFrame.BE16, off + 20) == 2) {
                    replies++;
                }
            }
            pool.freeBulk(burst.handles, 0, n);
        }
        return replies;
    }
}
