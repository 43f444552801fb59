package dev.panda.vswitch.flow;

import java.nio.ByteBuffer;

/** Test frames: Ethernet (optionally 802.1Q) with IPv4/TCP, UDP, ICMP, ARP or IPv6 inside. */
final class Frames {

    private Frames() {}

    static ByteBuffer eth(long dst, long src, int vid, int pcp, int type, int rest) {
        ByteBuffer b = ByteBuffer.allocate(14 + (vid >= 0 ? 4 : 0) + rest);
        b.putShort((short) (dst >>> 32)).putInt((int) dst);
        b.putShort((short) (src >>> 32)).putInt((int) src);
        if (vid >= 0) {
            b.putShort((short) 0x8100).putShort((short) ((pcp << 13) | vid));
        }
        b.putShort((short) type);
        return b;
    }

    /** IPv4 with protocol {@code proto}, ports (or ICMP type/code) {@code sp}/{@code dp}; vid -1 untagged. */
    static byte[] ipv4(long dst, long src, int vid, int ipSrc, int ipDst, int proto, int sp, int dp) {
        ByteBuffer b = eth(dst, src, vid, 0, 0x0800, 20 + 20);
        b.put((byte) 0x45).put((byte) 0).putShort((short) 40).putInt(0);
        b.put((byte) 64).put((byte) proto).putShort((short) 0).putInt(ipSrc).putInt(ipDst);
        if (proto == 1) {
            b.put((byte) sp).put((byte) dp).putShort((short) 0).putInt(0);
        } else {
            b.putShort((short) sp).putShort((short) dp).putInt(0);
        }
        return b.array();
    }

    static byte[] tcp(int ipSrc, int ipDst, int sp, int dp) {
        return ipv4(0x02_00_00_00_00_02L, 0x02_00_00_00_00_01L, -1, ipSrc, ipDst, 6, sp, dp);
    }

    static byte[] arp(long src, int op, int spa, int tpa) {
        ByteBuffer b = eth(0xffff_ffff_ffffL, src, -1, 0, 0x0806, 28);
        b.putShort((short) 1)
                .putShort((short) 0x0800)
                .put((byte) 6)
                .put((byte) 4)
                .putShort((short) op);
        b.putShort((short) (src >>> 32)).putInt((int) src).putInt(spa);
        b.putShort((short) 0).putInt(0).putInt(tpa);
        return b.array();
    }

    static byte[] ipv6Udp(long srcHi, long srcLo, long dstHi, long dstLo, int sp, int dp) {
        ByteBuffer b = eth(0x33_33_00_00_00_01L, 0x02_00_00_00_00_01L, -1, 0, 0x86dd, 40 + 8);
        b.putInt(0x60000000).putShort((short) 8).put((byte) 17).put((byte) 64);
        b.putLong(srcHi).putLong(srcLo).putLong(dstHi).putLong(dstLo);
        b.putShort((short) sp).putShort((short) dp).putShort((short) 8).putShort((short) 0);
        return b.array();
    }

    static int ip(int a, int b, int c, int d) {
        return a << 24 | b << 16 | c << 8 | d;
    }
}
