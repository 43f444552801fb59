package dev.panda.vswitch.datapath;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.AbstractPort;
import dev.panda.dataplane.port.LinkStatus;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.vswitch.bridge.Fdb;
import dev.panda.vswitch.bridge.VlanPolicy;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The bridge's per-burst memos of the last learn, lookup and unicast egress: decisions inside a
 * burst are the ones the FDB gives packet by packet, and nothing a memo holds outlives its burst.
 * Drives {@link Switching} directly, one burst at a time, on ports that only record what they are
 * given.
 */
class SwitchingMemoTest {

    static final long A = 0x02_00_00_00_00_0aL, B = 0x02_00_00_00_00_0bL, C = 0x02_00_00_00_00_0cL;

    private final PacketPool pool = PacketPool.create(PoolConfig.defaults().withCount(1024));
    private final Switching sw = new Switching(pool, 0, 32);

    @AfterEach
    void close() {
        pool.close();
    }

    /** A port that keeps the destination MACs of what it is given, and frees the buffers. */
    final class Sink extends AbstractPort {
        final List<Long> dsts = new ArrayList<>();
        final List<Integer> vids = new ArrayList<>();

        Sink() {
            super("sink", "sink", 1, 1, 0);
        }

        @Override
        public int rxBurst(int queue, PacketBurst burst) {
            return 0;
        }

        @Override
        public int txBurst(int queue, PacketBurst burst, int n) {
            MemorySegment seg = pool.segment();
            for (int i = 0; i < n; i++) {
                int h = burst.handles[i];
                long off = pool.dataOffset(h);
                dsts.add(seg.get(BE64, off) >>> 16);
                boolean tagged = Short.toUnsignedInt(seg.get(BE16, off + 12)) == 0x8100;
                vids.add(tagged ? seg.get(BE16, off + 14) & 0xFFF : 0);
                pool.free(h);
            }
            return n;
        }

        @Override
        public LinkStatus link() {
            return LinkStatus.VIRTUAL_UP;
        }

        @Override
        public void close() {}
    }

    private static final ValueLayout.OfLong BE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final Fdb fdb = new Fdb(64, 300);
    private final BridgeEntry br = new BridgeEntry("br0", fdb);
    private final Sink[] sinks = {null, new Sink(), new Sink(), new Sink()};

    private PortEntry entry(int id, VlanPolicy vlan) {
        return new PortEntry(id, "p" + id, sinks[id], vlan, br, null, null);
    }

    private Snapshot snapshot(PortEntry... ports) {
        return new Snapshot(1, List.of(ports), List.of(br), List.of(List.of()));
    }

    private int frame(long dst, long src) {
        int h = header(dst, src, 0x0800);
        pool.setLength(h, 60);
        return h;
    }

    /** A frame tagged with VLAN {@code vid}. */
    private int tagged(long dst, long src, int vid) {
        int h = header(dst, src, 0x8100);
        long off = pool.dataOffset(h);
        pool.segment().set(BE16, off + 14, (short) vid);
        pool.segment().set(BE16, off + 16, (short) 0x0800);
        pool.setLength(h, 64);
        return h;
    }

    /** A new buffer whose frame starts with {@code dst}, {@code src} and {@code etherType}. */
    private int header(long dst, long src, int etherType) {
        int h = pool.alloc();
        long off = pool.dataOffset(h);
        pool.segment().set(BE64, off, dst << 16);
        pool.segment().set(BE64, off + 6, (src << 16) | etherType);
        return h;
    }

    /** One burst of frames {@code {dst, src}} received on port {@code in}. */
    private void burst(Snapshot s, int in, int now, long[]... frames) {
        int[] h = new int[frames.length];
        for (int i = 0; i < frames.length; i++) {
            h[i] = frame(frames[i][0], frames[i][1]);
        }
        sw.switchBurst(h, h.length, s.ports[in], now, s);
    }

    @Test
    void aLearnInsideABurstIsSeenByTheLookupsAfterIt() {
        Snapshot s = snapshot(entry(1, VlanPolicy.all()), entry(2, VlanPolicy.all()), entry(3, VlanPolicy.all()));
        // B unknown: flooded, and "unknown" is the lookup memo's; then a frame from B to itself
        // teaches the FDB B on port 1, so it and the next frame to B would go back out of their
        // ingress port: dropped, not flooded from the remembered "unknown"
        burst(s, 1, 10, new long[] {B, A}, new long[] {B, B}, new long[] {B, A});
        assertEquals(List.of(B), sinks[2].dsts);
        assertEquals(List.of(B), sinks[3].dsts);
        assertEquals(2, sw.counters.get(1, DropCounters.SAME_PORT));
        assertEquals(1, sw.counters.get(1, DropCounters.FLOODS));
    }

    @Test
    void aMacThatMovesBetweenBurstsIsFollowedByTheNextBurst() {
        Snapshot s = snapshot(entry(1, VlanPolicy.all()), entry(2, VlanPolicy.all()), entry(3, VlanPolicy.all()));
        fdb.learn(0, B, 2, 10);
        burst(s, 1, 10, new long[] {B, A}, new long[] {B, A}, new long[] {B, A}, new long[] {B, A});
        assertEquals(4, sinks[2].dsts.size());
        fdb.learn(0, B, 3, 11); // B moved to port 3
        burst(s, 1, 11, new long[] {B, A}, new long[] {B, A}, new long[] {B, A});
        assertEquals(4, sinks[2].dsts.size());
        assertEquals(3, sinks[3].dsts.size());
    }

    @Test
    void aPortThatLeavesBetweenBurstsGetsNothingMore() {
        PortEntry p1 = entry(1, VlanPolicy.all()), p3 = entry(3, VlanPolicy.all());
        Snapshot s = snapshot(p1, entry(2, VlanPolicy.all()), p3);
        fdb.learn(0, B, 2, 10);
        burst(s, 1, 10, new long[] {B, A}, new long[] {B, A});
        assertEquals(2, sinks[2].dsts.size());
        Snapshot without2 = snapshot(p1, p3); // its FDB entry not yet flushed: the frames flood
        burst(without2, 1, 10, new long[] {B, A}, new long[] {B, A});
        assertEquals(2, sinks[2].dsts.size());
        assertEquals(2, sinks[3].dsts.size());
    }

    @Test
    void everyBurstRefreshesItsSourcesLastSeenTime() {
        Snapshot s = snapshot(entry(1, VlanPolicy.all()), entry(2, VlanPolicy.all()));
        burst(s, 1, 10, new long[] {B, A}, new long[] {B, A});
        burst(s, 1, 25, new long[] {B, A}, new long[] {B, A});
        int[] seen = {-1};
        fdb.forEach((vlan, mac, port, last) -> {
            if (mac == A) {
                seen[0] = last;
            }
        });
        assertEquals(25, seen[0]);
        assertEquals(0, fdb.age(25 + 299));
        assertEquals(1, fdb.age(25 + 300));
    }

    @Test
    void aFullTableIsCountedForEveryFrameOfTheBurst() {
        Fdb small = new Fdb(1, 300);
        BridgeEntry b = new BridgeEntry("br1", small);
        PortEntry p1 = new PortEntry(1, "p1", sinks[1], VlanPolicy.all(), b, null, null);
        PortEntry p2 = new PortEntry(2, "p2", sinks[2], VlanPolicy.all(), b, null, null);
        Snapshot s = new Snapshot(1, List.of(p1, p2), List.of(b), List.of(List.of()));
        small.learn(0, C, 2, 10);
        burst(s, 1, 10, new long[] {C, A}, new long[] {C, A}, new long[] {C, A}, new long[] {C, B}, new long[] {C, C});
        // A, A, A and B find the table full; C is known (it moved to port 1) and is refreshed
        assertEquals(4, sw.counters.get(1, DropCounters.TABLE_FULL));
        assertEquals(4, sinks[2].dsts.size()); // the first four went to C on port 2; the fifth taught C on port 1
        assertEquals(1, sw.counters.get(1, DropCounters.SAME_PORT));
    }

    @Test
    void theEgressMemoKeepsEachPortsVlanTagging() {
        PortEntry access = entry(1, VlanPolicy.of(10, null, null));
        PortEntry trunk = entry(2, VlanPolicy.of(null, List.of(10, 20), null));
        PortEntry access20 = entry(3, VlanPolicy.of(20, null, null));
        Snapshot s = snapshot(access, trunk, access20);
        fdb.learn(10, B, 2, 10);
        burst(s, 1, 10, new long[] {B, A}, new long[] {B, A}, new long[] {B, A});
        assertEquals(List.of(10, 10, 10), sinks[2].vids);
        assertEquals(0, sinks[3].dsts.size(), "VLAN 20 sees nothing of VLAN 10");
    }

    @Test
    void taggedFramesLeaveAnAccessPortUntaggedAndATrunkRetagged() {
        PortEntry trunk = entry(1, VlanPolicy.of(null, List.of(10, 20), null));
        PortEntry access = entry(2, VlanPolicy.of(10, null, null));
        PortEntry trunk2 = entry(3, VlanPolicy.of(null, List.of(10), null));
        Snapshot s = snapshot(trunk, access, trunk2);
        fdb.learn(10, B, 2, 10);
        fdb.learn(10, C, 3, 10);
        int[] h = {tagged(B, A, 10), tagged(B, A, 10), tagged(C, A, 10), tagged(C, A, 10), tagged(B, A, 20)};
        sw.switchBurst(h, h.length, trunk, 10, s);
        assertEquals(List.of(0, 0), sinks[2].vids, "the access port sends VLAN 10 untagged");
        assertEquals(List.of(10, 10), sinks[3].vids, "the other trunk keeps the tag");
        assertEquals(List.of(C, C), sinks[3].dsts);
        // B in VLAN 20 is unknown: flooded to the ports that carry 20, none here but the ingress
        assertEquals(2, sinks[2].dsts.size());
    }
}
