package dev.panda.dataplane.fwd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.fwd.engines.FlowGenEngine;
import dev.panda.dataplane.fwd.engines.IcmpEchoEngine;
import dev.panda.dataplane.fwd.engines.MacEngine;
import dev.panda.dataplane.fwd.engines.MacSwapEngine;
import dev.panda.dataplane.fwd.engines.RxOnlyEngine;
import dev.panda.dataplane.fwd.engines.TxOnlyEngine;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Each engine on a loopback ring port: what goes in, what comes out. */
class EngineTest {

    private PacketPool pool;
    private Port port;
    private MemorySegment mem;

    @BeforeEach
    void open() {
        pool = PacketPool.create(PoolConfig.defaults().withCount(1024).withHugepages(PoolConfig.Hugepages.OFF));
        port = Ports.discover().open("net_ring5", PortContext.of(pool, 0));
        mem = pool.segment();
    }

    @AfterEach
    void close() {
        port.close();
        assertEquals(pool.capacity(), pool.available(), "buffers lost");
        assertEquals(0, pool.doubleFrees());
        pool.close();
    }

    private FwdStream stream(FwdConfig cfg) {
        return new FwdStream(0, port, 0, 0, port, 0, 0, pool, cfg);
    }

    /** Puts one frame (hex) on the port's rx ring. */
    private void inject(String hex) {
        byte[] b = HexFormat.of().parseHex(hex.replace(" ", ""));
        PacketBurst burst = new PacketBurst(1);
        burst.handles[0] = pool.alloc();
        MemorySegment.copy(MemorySegment.ofArray(b), 0, mem, pool.dataOffset(burst.handles[0]), b.length);
        pool.setLength(burst.handles[0], b.length);
        assertEquals(1, port.txBurst(0, burst, 1));
    }

    /** Takes one frame off the port's rx ring, as hex, and frees it. */
    private String take() {
        PacketBurst burst = new PacketBurst(1);
        assertEquals(1, port.rxBurst(0, burst), "expected a frame");
        int h = burst.handles[0];
        byte[] b = mem.asSlice(pool.dataOffset(h), pool.length(h)).toArray(ValueLayout.JAVA_BYTE);
        pool.free(h);
        return HexFormat.of().formatHex(b);
    }

    private int drain() {
        PacketBurst burst = new PacketBurst(64);
        int total = 0;
        int n;
        while ((n = port.rxBurst(0, burst)) > 0) {
            pool.freeBulk(burst.handles, 0, n);
            total += n;
        }
        return total;
    }

    // An ICMP echo request 198.18.0.1 -> 198.18.0.2, id 0x1234 seq 1, 8 payload bytes, as ping sends it.
    private static final String PING = "020000000001" + "0a0000000001" + "0800"
            + "4500001c" + "abcd0000" + "4001" + "0000" + "c6120001" + "c6120002"
            + "0800" + "0000" + "1234" + "0001";

    private static String withChecksums(String hex) {
        byte[] b = HexFormat.of().parseHex(hex);
        MemorySegment s = MemorySegment.ofArray(b);
        Packets.ipv4Checksum(s, 14);
        int icmpLen = b.length - 34;
        Packets.u16(s, 36, 0);
        Packets.u16(s, 36, Packets.fold(Packets.sum16(s, 34, icmpLen)));
        return HexFormat.of().formatHex(b);
    }

    @Test
    void icmpEchoAnswersPingWithValidChecksums() {
        inject(withChecksums(PING));
        FwdStream s = stream(FwdConfig.defaults());
        IcmpEchoEngine e = new IcmpEchoEngine();
        e.begin(s);
        assertEquals(1, e.forward(s));
        String reply = take();
        MemorySegment r = MemorySegment.ofArray(HexFormat.of().parseHex(reply));
        assertEquals(0x0a0000000001L, Packets.mac(r, 0), "back to the sender's MAC");
        assertEquals(0x020000000001L, Packets.mac(r, 6));
        assertEquals(0xc6120002, Packets.u32(r, 26), "source is the pinged address");
        assertEquals(0xc6120001, Packets.u32(r, 30));
        assertEquals(0, Packets.u8(r, 34), "echo reply");
        assertEquals(0, Packets.fold(Packets.sum16(r, 14, 20)), "IPv4 header checksum verifies");
        assertEquals(0, Packets.fold(Packets.sum16(r, 34, 8)), "ICMP checksum verifies");
        assertEquals(0x1234, Packets.u16(r, 38));
    }

    @Test
    void icmpEchoAnswersArpAndDropsTheRest() {
        // ARP who-has 198.18.0.2 tell 198.18.0.1
        inject("ffffffffffff" + "0a0000000001" + "0806" + "0001" + "0800" + "06" + "04" + "0001" + "0a0000000001"
                + "c6120001" + "000000000000" + "c6120002");
        inject("ffffffffffff0a00000000010800"); // truncated IPv4: dropped
        inject("ffffffffffff0a000000000186dd" + "00".repeat(40)); // IPv6: dropped
        FwdStream s = stream(FwdConfig.defaults());
        IcmpEchoEngine e = new IcmpEchoEngine();
        e.begin(s);
        assertEquals(3, e.forward(s));
        assertEquals(2, s.fwdDropped());
        MemorySegment r = MemorySegment.ofArray(HexFormat.of().parseHex(take()));
        assertEquals(2, Packets.u16(r, 20), "ARP reply");
        assertEquals(port.mac(), Packets.mac(r, 22), "answers with the port's MAC");
        assertEquals(0xc6120002, Packets.u32(r, 28));
        assertEquals(0x0a0000000001L, Packets.mac(r, 32));
        assertEquals(0xc6120001, Packets.u32(r, 38));
        assertEquals(0x0a0000000001L, Packets.mac(r, 0));
        assertEquals(0, drain());
    }

    @Test
    void icmpEchoAnswersALargePing() {
        // Linux's ping -s 1400 from 198.18.0.2 (DF set): 1442 bytes on the wire
        String head = "020000000001" + "525400123456" + "0800" + "45000594ba9d40004001" + "0000" + "c6120002c6120001"
                + "0800" + "0000" + "005a0000";
        inject(withChecksums(head + "a5".repeat(1400)));
        FwdStream s = stream(FwdConfig.defaults());
        IcmpEchoEngine e = new IcmpEchoEngine();
        e.begin(s);
        assertEquals(1, e.forward(s));
        assertEquals(0, s.fwdDropped());
        MemorySegment r = MemorySegment.ofArray(HexFormat.of().parseHex(take()));
        assertEquals(1442, r.byteSize());
        assertEquals(0, Packets.u8(r, 34), "echo reply");
        assertEquals(0, Packets.fold(Packets.sum16(r, 34, 1408)), "ICMP checksum verifies");
    }

    @Test
    void icmpEchoKeepsAVlanTag() {
        String tagged = withChecksumsVlan(PING);
        inject(tagged);
        FwdStream s = stream(FwdConfig.defaults());
        IcmpEchoEngine e = new IcmpEchoEngine();
        e.begin(s);
        e.forward(s);
        MemorySegment r = MemorySegment.ofArray(HexFormat.of().parseHex(take()));
        assertEquals(0x8100, Packets.u16(r, 12));
        assertEquals(0, Packets.u8(r, 38), "echo reply behind the tag");
        assertEquals(0, Packets.fold(Packets.sum16(r, 38, 8)));
    }

    private static String withChecksumsVlan(String untagged) {
        String c = withChecksums(untagged);
        return c.substring(0, 24) + "8100" + "0064" + c.substring(24);
    }

    @Test
    void macSwapAndMacRewriteAddresses() {
        inject(withChecksums(PING));
        FwdStream s = stream(FwdConfig.defaults());
        new MacSwapEngine().forward(s);
        String swapped = take();
        assertTrue(swapped.startsWith("0a0000000001" + "020000000001"), swapped);
        inject(withChecksums(PING));
        FwdStream m = stream(FwdConfig.defaults().withPeerMac(0, 0x0e0000000042L));
        MacEngine mac = new MacEngine();
        mac.begin(m);
        mac.forward(m);
        MemorySegment r = MemorySegment.ofArray(HexFormat.of().parseHex(take()));
        assertEquals(0x0e0000000042L, Packets.mac(r, 0));
        assertEquals(port.mac(), Packets.mac(r, 6));
    }

    @Test
    void txOnlyBuildsValidUdpFramesThatRxOnlyVerifies() {
        FwdConfig cfg = FwdConfig.defaults().withTxPacketLen(100).withVerifyPayload(true);
        FwdStream s = stream(cfg);
        TxOnlyEngine tx = new TxOnlyEngine();
        tx.begin(s);
        assertEquals(32, tx.forward(s));
        assertEquals(32, s.txPackets());
        // check one frame by hand
        PacketBurst b = new PacketBurst(1);
        port.rxBurst(0, b);
        int h = b.handles[0];
        long f = pool.dataOffset(h);
        assertEquals(100, pool.length(h));
        assertEquals(Packets.ETHERTYPE_IPV4, Packets.u16(mem, f + 12));
        assertEquals(86, Packets.u16(mem, f + 16), "IPv4 total length");
        assertEquals(0, Packets.fold(Packets.sum16(mem, f + 14, 20)), "IPv4 checksum verifies");
        assertEquals(FwdConfig.DEFAULT_IP_SRC, Packets.u32(mem, f + 26));
        assertEquals(66, Packets.u16(mem, f + 38), "UDP length");
        assertEquals(0, PayloadStamp.seq(mem, f + Packets.PAYLOAD));
        assertTrue(PayloadStamp.verify(mem, f + Packets.PAYLOAD, 100 - Packets.PAYLOAD));
        // a flipped payload byte is caught
        mem.set(ValueLayout.JAVA_BYTE, f + 90, (byte) (mem.get(ValueLayout.JAVA_BYTE, f + 90) ^ 1));
        assertTrue(!PayloadStamp.verify(mem, f + Packets.PAYLOAD, 100 - Packets.PAYLOAD));
        assertEquals(1, port.txBurst(0, b, 1));
        RxOnlyEngine rx = new RxOnlyEngine();
        assertEquals(32, rx.forward(s));
        assertEquals(1, s.badPayload(), "rxonly counts exactly the damaged frame");
    }

    @Test
    void flowGenCyclesThroughFlows() {
        FwdStream s = stream(FwdConfig.defaults().withFlows(4));
        FlowGenEngine g = new FlowGenEngine();
        g.begin(s);
        g.forward(s);
        PacketBurst b = new PacketBurst(32);
        int n = port.rxBurst(0, b);
        assertEquals(32, n);
        Set<Integer> dsts = new HashSet<>();
        for (int i = 0; i < n; i++) {
            long f = pool.dataOffset(b.handles[i]);
            dsts.add(Packets.u32(mem, f + 30));
            assertEquals(0, Packets.fold(Packets.sum16(mem, f + 14, 20)), "checksum after rewrite");
        }
        pool.freeBulk(b.handles, 0, n);
        assertEquals(4, dsts.size());
    }

    @Test
    void checksumAdjustMatchesRecomputation() {
        byte[] b = HexFormat.of().parseHex(withChecksums(PING));
        MemorySegment s = MemorySegment.ofArray(b);
        int before = Packets.u16(s, 36);
        Packets.u8(s, 34, 0);
        int adjusted = Packets.checksumAdjust(before, 0x0800, 0x0000);
        Packets.u16(s, 36, 0);
        assertEquals(Packets.fold(Packets.sum16(s, 34, 8)), adjusted);
    }

    @Test
    void macStringsRoundTrip() {
        assertEquals("02:70:6E:00:00:01", Packets.macToString(0x02706e000001L));
        assertEquals(0x02706e000001L, Packets.parseMac("02:70:6e:00:00:01"));
        assertEquals("198.18.0.1", Packets.ipToString(FwdConfig.DEFAULT_IP_SRC));
    }
}
