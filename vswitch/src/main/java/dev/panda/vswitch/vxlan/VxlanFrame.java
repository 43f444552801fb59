package dev.panda.vswitch.vxlan;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The outer headers of a VXLAN frame (RFC 7348 section 5, IPv4 underlay): Ethernet (14), IPv4 (20,
 * no options on the way out), UDP (8, destination port 4789), VXLAN (8: flags with the I bit, 24
 * reserved bits, the 24-bit VNI, 8 reserved bits): 50 bytes in front of the inner Ethernet frame.
 * Static helpers over the pool's segment; nothing here allocates.
 */
public final class VxlanFrame {

    /** IANA's VXLAN port (RFC 7348 section 5). */
    public static final int UDP_PORT = 4789;
    /** Outer Ethernet + IPv4 + UDP + VXLAN. */
    public static final int OVERHEAD = 14 + 20 + 8 + 8;
    /** The underlay's MTU panda assumes: outer IPv4 packets are at most this long. */
    public static final int UNDERLAY_MTU = 1500;
    /** The longest inner frame (Ethernet header included, no FCS) that fits {@link #UNDERLAY_MTU}. */
    public static final int MAX_INNER = UNDERLAY_MTU - 20 - 8 - 8;
    /** RFC 7348 section 5: the I flag, the only flag defined. */
    static final int FLAG_I = 0x08;

    static final int ETHERTYPE_IPV4 = 0x0800;
    static final int ETHERTYPE_ARP = 0x0806;
    static final int IPPROTO_UDP = 17;
    /** RFC 7348 section 5: source ports from the dynamic range, 49152-65535. */
    static final int SRC_PORT_BASE = 49152;

    static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private VxlanFrame() {}

    /**
     * Writes the 50 outer bytes at {@code off}, in front of an inner frame of {@code innerLen}
     * bytes at {@code off + 50}. The outer UDP checksum is 0 (allowed over IPv4, RFC 7348 section
     * 5); DF is set, TTL 64, identification 0 (an atomic datagram, RFC 6864).
     */
    public static void writeOuter(
            MemorySegment seg,
            long off,
            int innerLen,
            long dstMac,
            long srcMac,
            int srcIp,
            int dstIp,
            int vni,
            int srcPort) {
        putMac(seg, off, dstMac);
        putMac(seg, off + 6, srcMac);
        seg.set(BE16, off + 12, (short) ETHERTYPE_IPV4);
        long ip = off + 14;
        int total = innerLen + OVERHEAD - 14;
        seg.set(BE32, ip, 0x4500_0000 | total); // version 4, IHL 5, DSCP 0, total length
        seg.set(BE32, ip + 4, 0x0000_4000); // identification 0, DF
        seg.set(BE32, ip + 8, (64 << 24) | (IPPROTO_UDP << 16)); // TTL, protocol, checksum 0
        seg.set(BE32, ip + 12, srcIp);
        seg.set(BE32, ip + 16, dstIp);
        seg.set(BE16, ip + 10, (short) headerChecksum(headerSum(srcIp, dstIp), total));
        long udp = ip + 20;
        seg.set(BE32, udp, (srcPort << 16) | UDP_PORT);
        seg.set(BE32, udp + 4, (total - 20) << 16); // length, checksum 0
        seg.set(BE32, udp + 8, FLAG_I << 24);
        seg.set(BE32, udp + 12, vni << 8);
    }

    /**
     * The one's-complement sum (RFC 1071) of every 16-bit word of the outer IPv4 header that
     * {@link #writeOuter} writes, except the total length and the checksum: constant per tunnel.
     */
    public static int headerSum(int srcIp, int dstIp) {
        long sum = 0x4500L + 0x4000 + ((64 << 8) | IPPROTO_UDP);
        sum += (srcIp >>> 16) + (srcIp & 0xffff) + (dstIp >>> 16) + (dstIp & 0xffff);
        return (int) sum;
    }

    /** The header checksum from {@link #headerSum} and the total length (RFC 1624's incremental idea). */
    static int headerChecksum(int headerSum, int totalLength) {
        int sum = headerSum + totalLength;
        sum = (sum & 0xffff) + (sum >>> 16);
        sum = (sum & 0xffff) + (sum >>> 16);
        return ~sum & 0xffff;
    }

    /** The Internet checksum (RFC 1071) over {@code len} bytes, as it goes into the header. */
    public static int ipChecksum(MemorySegment seg, long off, int len) {
        long sum = 0;
        int i = 0;
        for (; i + 1 < len; i += 2) {
            sum += Short.toUnsignedInt(seg.get(BE16, off + i));
        }
        if (i < len) {
            sum += (seg.get(ValueLayout.JAVA_BYTE, off + i) & 0xff) << 8;
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) (~sum & 0xffff);
    }

    /**
     * A hash of the inner frame's flow: its MAC addresses and EtherType and, for IPv4, the
     * addresses, the protocol and (TCP, UDP, SCTP) the ports, so one flow keeps one outer source
     * port (RFC 7348 section 5: "a hash of fields from the inner packet").
     */
    public static int flowHash(MemorySegment seg, long off, int len) {
        int h = seg.get(BE32, off) * 31 + seg.get(BE32, off + 4);
        h = h * 31 + seg.get(BE32, off + 8);
        int type = Short.toUnsignedInt(seg.get(BE16, off + 12));
        h = h * 31 + type;
        if (type == ETHERTYPE_IPV4 && len >= 34) {
            long ip = off + 14;
            int ihl = (seg.get(ValueLayout.JAVA_BYTE, ip) & 0x0f) * 4;
            int proto = seg.get(ValueLayout.JAVA_BYTE, ip + 9) & 0xff;
            h = h * 31 + seg.get(BE32, ip + 12);
            h = h * 31 + seg.get(BE32, ip + 16);
            h = h * 31 + proto;
            boolean ports = proto == 6 || proto == 17 || proto == 132;
            boolean first = (seg.get(BE16, ip + 6) & 0x1fff) == 0;
            if (ports && first && ihl >= 20 && 14 + ihl + 4 <= len) {
                h = h * 31 + seg.get(BE32, ip + ihl);
            }
        }
        // murmur3's finaliser: every input bit reaches the low 14 bits
        h ^= h >>> 16;
        h *= 0x85ebca6b;
        h ^= h >>> 13;
        h *= 0xc2b2ae35;
        h ^= h >>> 16;
        return h;
    }

    /** The outer UDP source port for a flow hash: 49152..65535. */
    public static int sourcePort(int hash) {
        return SRC_PORT_BASE + (hash & 0x3fff);
    }

    static void putMac(MemorySegment seg, long off, long mac) {
        seg.set(BE32, off, (int) (mac >>> 16));
        seg.set(BE16, off + 4, (short) mac);
    }

    static long mac(MemorySegment seg, long off) {
        return (Integer.toUnsignedLong(seg.get(BE32, off)) << 16) | Short.toUnsignedInt(seg.get(BE16, off + 4));
    }
}
