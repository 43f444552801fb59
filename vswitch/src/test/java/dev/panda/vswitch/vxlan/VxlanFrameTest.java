package dev.panda.vswitch.vxlan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.vswitch.config.VxlanConfig;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What a tunnel port puts on the underlay, read raw from the far end of a ring pair: the outer
 * headers byte by byte (RFC 7348 section 5), the outer source port per flow, the frame moved back
 * when the headroom is short, the size limit of the MTU rule, and {@code unresolved}.
 */
class VxlanFrameTest {

    private static final long REMOTE_MAC = 0x02_00_00_00_00_02L;
    private final PacketPool pool = PacketPool.create(PoolConfig.defaults().withCount(1024));
    private final Port wire;
    private final VxlanPort tunnel;
    private final PacketBurst burst = new PacketBurst(32);

    VxlanFrameTest() {
        Ports ports = Ports.discover();
        wire = ports.open("net_ring960", PortContext.of(pool, 0));
        tunnel = new Underlays(ports, pool)
                .openTunnel(
                        "t", new VxlanConfig(0xabcdef, "198.18.0.1", "198.18.0.2", "net_ring961,peer=net_ring960"), 1);
    }

    @AfterEach
    void close() {
        tunnel.close();
        wire.close();
        assertEquals(pool.capacity(), pool.available(), "buffers lost");
        pool.close();
    }

    @Test
    void outerHeadersAreRfc7348() {
        tunnel.remoteMac = REMOTE_MAC;
        byte[] inner = udp(1234, 64);
        byte[] out = roundTrip(inner, 0);
        ByteBuffer b = ByteBuffer.wrap(out);
        assertEquals(50 + 64, out.length);
        assertEquals(REMOTE_MAC, (Short.toUnsignedLong(b.getShort(0)) << 32) | Integer.toUnsignedLong(b.getInt(2)));
        assertEquals(
                tunnel.underlay().mac,
                (Short.toUnsignedLong(b.getShort(6)) << 32) | Integer.toUnsignedLong(b.getInt(8)));
        assertEquals(0x0800, b.getShort(12));
        assertEquals(0x45, b.get(14));
        assertEquals(20 + 8 + 8 + 64, b.getShort(16));
        assertEquals(0x4000, b.getShort(20), "DF, no fragment");
        assertEquals(64, b.get(22));
        assertEquals(17, b.get(23));
        assertEquals(0, VxlanFrame.ipChecksum(MemorySegment.ofArray(out), 14, 20), "IPv4 header checksum");
        assertEquals(VxlanConfig.ipv4("198.18.0.1"), b.getInt(26));
        assertEquals(VxlanConfig.ipv4("198.18.0.2"), b.getInt(30));
        int sport = Short.toUnsignedInt(b.getShort(34));
        assertTrue(sport >= 49152 && sport <= 65535, "source port " + sport);
        assertEquals(4789, b.getShort(36));
        assertEquals(8 + 8 + 64, b.getShort(38));
        assertEquals(0, b.getShort(40), "UDP checksum 0");
        assertEquals(0x08_000000, b.getInt(42), "I flag, reserved 0");
        assertEquals(0xabcdef << 8, b.getInt(46), "VNI, reserved 0");
        assertArrayEquals(inner, Arrays.copyOfRange(out, 50, out.length));
        assertEquals(1, tunnel.stats().opackets());
        assertEquals(64, tunnel.stats().obytes());
    }

    @Test
    void oneFlowOneSourcePortManyFlowsMany() {
        tunnel.remoteMac = REMOTE_MAC;
        int first = sourcePort(roundTrip(udp(1000, 80), 0));
        assertEquals(first, sourcePort(roundTrip(udp(1000, 80), 0)), "a flow changed its source port");
        assertEquals(first, sourcePort(roundTrip(udp(1000, 200), 0)), "the length changed the source port");
        Set<Integer> ports = new HashSet<>();
        for (int i = 0; i < 64; i++) {
            int p = sourcePort(roundTrip(udp(2000 + i, 80), 0));
            assertTrue(p >= 49152 && p <= 65535, "source port " + p);
            ports.add(p);
        }
        assertTrue(ports.size() >= 56, "64 flows got only " + ports.size() + " source ports");
    }

    @Test
    void shortHeadroomMovesTheFrameBack() {
        tunnel.remoteMac = REMOTE_MAC;
        byte[] inner = udp(7, 1400);
        byte[] out = roundTrip(inner, 10);
        assertEquals(1450, out.length);
        assertArrayEquals(inner, Arrays.copyOfRange(out, 50, out.length));
        assertEquals(0, VxlanFrame.ipChecksum(MemorySegment.ofArray(out), 14, 20));
    }

    @Test
    void theMtuRuleAndUnresolvedRemotesDropAndCount() {
        tunnel.remoteMac = REMOTE_MAC;
        assertEquals(1500 + 14, roundTrip(udp(1, VxlanFrame.MAX_INNER), 0).length);
        send(udp(1, VxlanFrame.MAX_INNER + 1), 0);
        assertEquals(1, tunnel.drops("too_big"));
        assertEquals(0, wire.rxBurst(0, burst));
        send(new byte[13], 0);
        assertEquals(1, tunnel.drops("malformed"));
        tunnel.remoteMac = -1;
        send(udp(1, 64), 0);
        send(udp(2, 64), 0);
        assertEquals(2, tunnel.drops("unresolved"));
        assertEquals(0, wire.rxBurst(0, burst));
    }

    private static int sourcePort(byte[] out) {
        return Short.toUnsignedInt(ByteBuffer.wrap(out).getShort(34));
    }

    private byte[] roundTrip(byte[] inner, int headroom) {
        send(inner, headroom);
        assertEquals(1, wire.rxBurst(0, burst));
        int h = burst.handles[0];
        byte[] out = new byte[pool.length(h)];
        MemorySegment.copy(pool.segment(), ValueLayout.JAVA_BYTE, pool.dataOffset(h), out, 0, out.length);
        pool.free(h);
        return out;
    }

    /** Sends {@code f} through the tunnel, from a buffer with {@code headroom} bytes in front (0: the pool's). */
    private void send(byte[] f, int headroom) {
        int h = pool.alloc();
        if (headroom > 0) {
            pool.adjust(h, headroom - pool.headroom());
        }
        MemorySegment.copy(f, 0, pool.segment(), ValueLayout.JAVA_BYTE, pool.dataOffset(h), f.length);
        pool.setLength(h, f.length);
        burst.handles[0] = h;
        assertEquals(1, tunnel.txBurst(0, burst, 1));
    }

    /** An Ethernet/IPv4/UDP frame of {@code len} bytes from UDP port {@code sport}. */
    private static byte[] udp(int sport, int len) {
        ByteBuffer b = ByteBuffer.allocate(len);
        b.putShort((short) 0x0200).putInt(0x0000_0b01).putShort((short) 0x0200).putInt(0x0000_0a01);
        b.putShort((short) 0x0800);
        b.put((byte) 0x45)
                .put((byte) 0)
                .putShort((short) (len - 14))
                .putInt(0)
                .put((byte) 64)
                .put((byte) 17);
        b.putShort((short) 0).putInt(VxlanConfig.ipv4("198.18.2.1")).putInt(VxlanConfig.ipv4("198.18.2.2"));
        b.putShort((short) sport).putShort((short) 53);
        while (b.hasRemaining()) {
            b.put((byte) b.position());
        }
        return b.array();
    }
}
