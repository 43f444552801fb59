package dev.panda.vswitch.vxlan;

import static dev.panda.vswitch.vxlan.VxlanFrame.BE16;
import static dev.panda.vswitch.vxlan.VxlanFrame.BE32;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Reads one frame received on an underlay: a VXLAN packet for this VTEP (RFC 7348 section 5), an
 * ARP request for this VTEP's address or an ARP reply to it (RFC 826), or a reason to drop it.
 * Every length is checked against the frame before it is read, so any bytes give an answer and
 * never an exception. The results of the last {@link #decode} stay in the fields (one decoder per
 * polling thread; nothing allocated).
 *
 * <p>The outer IPv4 header checksum is checked; the outer UDP checksum is not: a local kernel with
 * checksum offload sends it unfinished, and it may be zero (RFC 7348 section 5, IPv4); the inner
 * frame carries its own checks. Reserved VXLAN bits are ignored, as the RFC says.
 */
public final class UnderlayDecoder {

    /** A VXLAN packet for this VTEP: {@link #vni}, {@link #sourceIp}, the inner frame. */
    public static final int VXLAN = -1;
    /** An ARP request for this VTEP's address: answer it. */
    public static final int ARP_REQUEST = -2;
    /** An ARP reply to this VTEP's address: {@link #senderIp} is at {@link #senderMac}. */
    public static final int ARP_REPLY = -3;

    // drop reasons, >= 0: indices into UnderlayCounters.NAMES
    public static final int MALFORMED = 0;
    public static final int BAD_IP_CHECKSUM = 1;
    public static final int FRAGMENT = 2;
    public static final int NOT_VXLAN = 3;
    public static final int BAD_VXLAN = 4;

    public int vni;
    public int sourceIp;
    public int innerOffset;
    public int innerLength;
    public long senderMac;
    public int senderIp;

    /** Decodes the frame of {@code len} bytes at {@code off} for the VTEP at {@code localIp}. */
    public int decode(MemorySegment seg, long off, int len, int localIp) {
        if (len < 14) {
            return MALFORMED;
        }
        int type = Short.toUnsignedInt(seg.get(BE16, off + 12));
        if (type == VxlanFrame.ETHERTYPE_ARP) {
            return arp(seg, off, len, localIp);
        }
        if (type != VxlanFrame.ETHERTYPE_IPV4) {
            return NOT_VXLAN;
        }
        if (len < 14 + 20) {
            return MALFORMED;
        }
        long ip = off + 14;
        int vihl = seg.get(ValueLayout.JAVA_BYTE, ip) & 0xff;
        int ihl = (vihl & 0x0f) * 4;
        if ((vihl >>> 4) != 4 || ihl < 20 || 14 + ihl > len) {
            return MALFORMED;
        }
        int total = Short.toUnsignedInt(seg.get(BE16, ip + 2));
        if (total < ihl || 14 + total > len) {
            return MALFORMED;
        }
        if (VxlanFrame.ipChecksum(seg, ip, ihl) != 0) {
            return BAD_IP_CHECKSUM;
        }
        if (seg.get(BE32, ip + 16) != localIp
                || (seg.get(ValueLayout.JAVA_BYTE, ip + 9) & 0xff) != VxlanFrame.IPPROTO_UDP) {
            return NOT_VXLAN;
        }
        if ((seg.get(BE16, ip + 6) & 0x3fff) != 0) {
            return FRAGMENT; // MF set or an offset: panda does not reassemble
        }
        if (ihl + 8 > total) {
            return MALFORMED;
        }
        long udp = ip + ihl;
        if (Short.toUnsignedInt(seg.get(BE16, udp + 2)) != VxlanFrame.UDP_PORT) {
            return NOT_VXLAN;
        }
        int ulen = Short.toUnsignedInt(seg.get(BE16, udp + 4));
        if (ulen < 8 + 8 + 14 || ulen > total - ihl) {
            return MALFORMED; // no room for the VXLAN header and an inner Ethernet header
        }
        if ((seg.get(ValueLayout.JAVA_BYTE, udp + 8) & VxlanFrame.FLAG_I) == 0) {
            return BAD_VXLAN;
        }
        vni = seg.get(BE32, udp + 12) >>> 8;
        sourceIp = seg.get(BE32, ip + 12);
        innerOffset = 14 + ihl + 16;
        innerLength = ulen - 16;
        return VXLAN;
    }

    private int arp(MemorySegment seg, long off, int len, int localIp) {
        if (len < 42) {
            return MALFORMED;
        }
        long a = off + 14;
        if (seg.get(BE16, a) != 1
                || seg.get(BE16, a + 2) != VxlanFrame.ETHERTYPE_IPV4
                || seg.get(ValueLayout.JAVA_BYTE, a + 4) != 6
                || seg.get(ValueLayout.JAVA_BYTE, a + 5) != 4) {
            return NOT_VXLAN;
        }
        if (seg.get(BE32, a + 24) != localIp) {
            return NOT_VXLAN; // not for this VTEP
        }
        senderMac = VxlanFrame.mac(seg, a + 8);
        senderIp = seg.get(BE32, a + 14);
        return switch (seg.get(BE16, a + 6)) {
            case 1 -> ARP_REQUEST;
            case 2 -> ARP_REPLY;
            default -> NOT_VXLAN;
        };
    }

    /**
     * Turns the ARP request of {@code len} bytes at {@code off} into the reply: {@code localIp} is at
     * {@code mac} (RFC 826: swap sender and target, opcode 2). Returns the reply's length (42).
     */
    public static int answer(MemorySegment seg, long off, long mac, int localIp) {
        long a = off + 14;
        long asker = VxlanFrame.mac(seg, a + 8);
        int askerIp = seg.get(BE32, a + 14);
        VxlanFrame.putMac(seg, off, asker);
        VxlanFrame.putMac(seg, off + 6, mac);
        seg.set(BE16, a + 6, (short) 2);
        VxlanFrame.putMac(seg, a + 8, mac);
        seg.set(BE32, a + 14, localIp);
        VxlanFrame.putMac(seg, a + 18, asker);
        seg.set(BE32, a + 24, askerIp);
        return 42;
    }

    /** Writes an ARP request (broadcast) from {@code mac}/{@code localIp} for {@code targetIp}; 42 bytes. */
    public static int request(MemorySegment seg, long off, long mac, int localIp, int targetIp) {
        VxlanFrame.putMac(seg, off, 0xffff_ffff_ffffL);
        VxlanFrame.putMac(seg, off + 6, mac);
        seg.set(BE16, off + 12, (short) VxlanFrame.ETHERTYPE_ARP);
        long a = off + 14;
        seg.set(BE32, a, 0x0001_0800); // Ethernet, IPv4
        seg.set(BE32, a + 4, 0x0604_0001); // hlen 6, plen 4, request
        VxlanFrame.putMac(seg, a + 8, mac);
        seg.set(BE32, a + 14, localIp);
        VxlanFrame.putMac(seg, a + 18, 0);
        seg.set(BE32, a + 24, targetIp);
        return 42;
    }
}
