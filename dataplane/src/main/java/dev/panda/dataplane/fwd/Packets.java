package dev.panda.dataplane.fwd;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Header offsets and field access for the frames the engines build and answer: Ethernet, one
 * optional VLAN tag, ARP, IPv4, UDP, ICMP. Network byte order throughout; all methods take the
 * pool segment and an absolute offset, so nothing is allocated.
 */
public final class Packets {

    public static final int ETH_HLEN = 14;
    public static final int ETH_TYPE = 12;
    public static final int IP = ETH_HLEN;
    public static final int IP_HLEN = 20;
    public static final int UDP = IP + IP_HLEN;
    public static final int UDP_HLEN = 8;
    public static final int PAYLOAD = UDP + UDP_HLEN;

    public static final int ETHERTYPE_IPV4 = 0x0800;
    public static final int ETHERTYPE_ARP = 0x0806;
    public static final int ETHERTYPE_VLAN = 0x8100;
    public static final int ETHERTYPE_QINQ = 0x88a8;
    public static final int PROTO_ICMP = 1;
    public static final int PROTO_UDP = 17;

    static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private Packets() {}

    public static int u8(MemorySegment s, long off) {
        return Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, off));
    }

    public static void u8(MemorySegment s, long off, int v) {
        s.set(ValueLayout.JAVA_BYTE, off, (byte) v);
    }

    public static int u16(MemorySegment s, long off) {
        return Short.toUnsignedInt(s.get(BE16, off));
    }

    public static void u16(MemorySegment s, long off, int v) {
        s.set(BE16, off, (short) v);
    }

    public static int u32(MemorySegment s, long off) {
        return s.get(BE32, off);
    }

    public static void u32(MemorySegment s, long off, int v) {
        s.set(BE32, off, v);
    }

    /** A 48-bit MAC read as a long (first byte most significant). */
    public static long mac(MemorySegment s, long off) {
        return (Integer.toUnsignedLong(s.get(BE32, off)) << 16) | Short.toUnsignedInt(s.get(BE16, off + 4));
    }

    public static void mac(MemorySegment s, long off, long mac) {
        s.set(BE32, off, (int) (mac >>> 16));
        s.set(BE16, off + 4, (short) mac);
    }

    /** Offset of the L3 header after the Ethernet header and up to two VLAN tags. */
    public static int l3Offset(MemorySegment s, long frame, int len) {
        int off = ETH_TYPE;
        for (int tags = 0; tags < 2 && off + 2 <= len; tags++) {
            int type = u16(s, frame + off);
            if (type != ETHERTYPE_VLAN && type != ETHERTYPE_QINQ) {
                break;
            }
            off += 4;
        }
        return off + 2;
    }

    /** The ones'-complement sum of {@code len} bytes (RFC 1071), not yet folded or inverted. */
    public static long sum16(MemorySegment s, long off, int len) {
        long sum = 0;
        int i = 0;
        for (; i + 1 < len; i += 2) {
            sum += Short.toUnsignedInt(s.get(BE16, off + i));
        }
        if (i < len) {
            sum += u8(s, off + i) << 8;
        }
        return sum;
    }

    /** Folds a ones'-complement sum and inverts it into a checksum field value. */
    public static int fold(long sum) {
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) (~sum & 0xffff);
    }

    /** Recomputes the IPv4 header checksum in place. */
    public static void ipv4Checksum(MemorySegment s, long ip) {
        int hlen = (u8(s, ip) & 0x0f) * 4;
        u16(s, ip + 10, 0);
        u16(s, ip + 10, fold(sum16(s, ip, hlen)));
    }

    /**
     * Updates a checksum for one 16-bit word changing from {@code old} to {@code now}
     * (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')).
     */
    public static int checksumAdjust(int checksum, int old, int now) {
        long sum = (~checksum & 0xffff) + (~old & 0xffff) + (now & 0xffff);
        return fold(sum);
    }

    /** Writes an Ethernet + IPv4 + UDP header for a frame of {@code frameLen} bytes. */
    public static void writeUdpFrame(
            MemorySegment s,
            long f,
            long dstMac,
            long srcMac,
            int ipSrc,
            int ipDst,
            int udpSrc,
            int udpDst,
            int frameLen) {
        mac(s, f, dstMac);
        mac(s, f + 6, srcMac);
        u16(s, f + ETH_TYPE, ETHERTYPE_IPV4);
        long ip = f + IP;
        u8(s, ip, 0x45);
        u8(s, ip + 1, 0);
        u16(s, ip + 2, frameLen - ETH_HLEN);
        u16(s, ip + 4, 0);
        u16(s, ip + 6, 0x4000); // DF
        u8(s, ip + 8, 64);
        u8(s, ip + 9, PROTO_UDP);
        u32(s, ip + 12, ipSrc);
        u32(s, ip + 16, ipDst);
        ipv4Checksum(s, ip);
        long udp = f + UDP;
        u16(s, udp, udpSrc);
        u16(s, udp + 2, udpDst);
        u16(s, udp + 4, frameLen - UDP);
        u16(s, udp + 6, 0); // no UDP checksum, as in testpmd's generators
    }

    public static String macToString(long mac) {
        StringBuilder b = new StringBuilder(17);
        for (int i = 5; i >= 0; i--) {
            int v = (int) (mac >>> (8 * i)) & 0xff;
            b.append(Character.forDigit(v >> 4, 16)).append(Character.forDigit(v & 15, 16));
            if (i > 0) {
                b.append(':');
            }
        }
        return b.toString().toUpperCase(java.util.Locale.ROOT);
    }

    public static long parseMac(String s) {
        String[] p = s.split("[:-]", -1);
        if (p.length != 6) {
            throw new IllegalArgumentException("invalid MAC address '" + s + "': expected XX:XX:XX:XX:XX:XX");
        }
        long mac = 0;
        for (String b : p) {
            if (b.length() != 2) {
                throw new IllegalArgumentException("invalid MAC address '" + s + "': expected XX:XX:XX:XX:XX:XX");
            }
            try {
                mac = (mac << 8) | Integer.parseInt(b, 16);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("invalid MAC address '" + s + "': expected XX:XX:XX:XX:XX:XX");
            }
        }
        return mac;
    }

    public static String ipToString(int ip) {
        return (ip >>> 24) + "." + ((ip >>> 16) & 0xff) + "." + ((ip >>> 8) & 0xff) + "." + (ip & 0xff);
    }
}
