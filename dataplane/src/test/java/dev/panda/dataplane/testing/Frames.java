package dev.panda.dataplane.testing;

import java.nio.ByteBuffer;

/** Test frames: Ethernet (+ optional VLAN) / IPv4 or IPv6 / UDP, TCP or ICMP, checksums left 0 where the kernel ignores them. */
public final class Frames {

    private Frames() {}

    public static byte[] ipv4(byte[] src, byte[] dst, int proto, int sport, int dport, int payload, int vlan) {
        int l4 = proto == 6 ? 20 : 8;
        int ipLen = 20 + l4 + payload;
        ByteBuffer b = ByteBuffer.allocate(14 + (vlan >= 0 ? 4 : 0) + ipLen);
        b.put(new byte[] {2, 0, 0, 0, 0, 2}).put(new byte[] {2, 0, 0, 0, 0, 1});
        if (vlan >= 0) {
            b.putShort((short) 0x8100).putShort((short) vlan);
        }
        b.putShort((short) 0x0800);
        int ip = b.position();
        b.put((byte) 0x45)
                .put((byte) 0)
                .putShort((short) ipLen)
                .putShort((short) 1)
                .putShort((short) 0x4000)
                .put((byte) 64)
                .put((byte) proto)
                .putShort((short) 0)
                .put(src)
                .put(dst);
        b.putShort(ip + 10, checksum(b.array(), ip, 20));
        l4(b, proto, sport, dport, payload);
        return b.array();
    }

    public static byte[] ipv6(byte[] src, byte[] dst, int proto, int sport, int dport, int payload) {
        int l4 = proto == 6 ? 20 : 8;
        ByteBuffer b = ByteBuffer.allocate(14 + 40 + l4 + payload);
        b.put(new byte[] {2, 0, 0, 0, 0, 2}).put(new byte[] {2, 0, 0, 0, 0, 1}).putShort((short) 0x86dd);
        b.putInt(0x60000000)
                .putShort((short) (l4 + payload))
                .put((byte) proto)
                .put((byte) 64)
                .put(src)
                .put(dst);
        l4(b, proto, sport, dport, payload);
        return b.array();
    }

    private static void l4(ByteBuffer b, int proto, int sport, int dport, int payload) {
        if (proto == 6) {
            b.putShort((short) sport)
                    .putShort((short) dport)
                    .putInt(1)
                    .putInt(0)
                    .putShort((short) 0x5002)
                    .putShort((short) 1024)
                    .putInt(0);
        } else if (proto == 17) {
            b.putShort((short) sport)
                    .putShort((short) dport)
                    .putShort((short) (8 + payload))
                    .putShort((short) 0);
        } else {
            b.put((byte) sport).put((byte) dport).putShort((short) 0).putInt(0x00010001);
        }
        for (int i = 0; i < payload; i++) {
            b.put((byte) i);
        }
    }

    static short checksum(byte[] a, int off, int len) {
        int s = 0;
        for (int i = 0; i < len; i += 2) {
            s += ((a[off + i] & 0xff) << 8) | (a[off + i + 1] & 0xff);
        }
        while ((s >>> 16) != 0) {
            s = (s & 0xffff) + (s >>> 16);
        }
        return (short) ~s;
    }

    public static byte[] v4(int a, int b, int c, int d) {
        return new byte[] {(byte) a, (byte) b, (byte) c, (byte) d};
    }

    /** A dotted IPv4 address as 4 bytes. */
    public static byte[] v4(String dotted) {
        String[] p = dotted.split("\\.");
        return v4(Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2]), Integer.parseInt(p[3]));
    }

    /** Sleeps {@code ms}; an interrupt fails the test. */
    public static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
