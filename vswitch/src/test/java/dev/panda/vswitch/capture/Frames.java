package dev.panda.vswitch.capture;

import java.nio.ByteBuffer;

/** Ethernet frames for the capture tests: IPv4 ICMP echo, UDP, TCP, ARP; optionally 802.1Q tagged. */
final class Frames {

    static final byte[] SRC = {2, 0, 0, 0, 0, 1};
    static final byte[] DST = {2, 0, 0, 0, 0, 2};

    private Frames() {}

    private static ByteBuffer eth(int vlan, int type, int payload) {
        ByteBuffer b = ByteBuffer.allocate(14 + (vlan > 0 ? 4 : 0) + payload);
        b.put(DST).put(SRC);
        if (vlan > 0) {
            b.putShort((short) 0x8100).putShort((short) vlan);
        }
        b.putShort((short) type);
        return b;
    }

    private static void ip(ByteBuffer b, int proto, int len) {
        b.put((byte) 0x45)
                .put((byte) 0)
                .putShort((short) len)
                .putShort((short) 1)
                .putShort((short) 0x4000);
        b.put((byte) 64).put((byte) proto).putShort((short) 0);
        b.put(new byte[] {(byte) 198, 18, 0, 1}).put(new byte[] {(byte) 198, 18, 0, 2});
    }

    static byte[] icmpEcho(int vlan, int data) {
        ByteBuffer b = eth(vlan, 0x0800, 20 + 8 + data);
        ip(b, 1, 20 + 8 + data);
        b.put((byte) 8).put((byte) 0).putShort((short) 0).putShort((short) 1).putShort((short) 1);
        for (int i = 0; i < data; i++) {
            b.put((byte) i);
        }
        return b.array();
    }

    static byte[] udp(int vlan, int dport, int data) {
        ByteBuffer b = eth(vlan, 0x0800, 20 + 8 + data);
        ip(b, 17, 20 + 8 + data);
        b.putShort((short) 40000)
                .putShort((short) dport)
                .putShort((short) (8 + data))
                .putShort((short) 0);
        for (int i = 0; i < data; i++) {
            b.put((byte) ('A' + i % 26));
        }
        return b.array();
    }

    static byte[] tcp(int vlan, int dport) {
        ByteBuffer b = eth(vlan, 0x0800, 40);
        ip(b, 6, 40);
        b.putShort((short) 40001).putShort((short) dport).putInt(1).putInt(0);
        b.put((byte) 0x50).put((byte) 2).putShort((short) 1024).putInt(0);
        return b.array();
    }

    static byte[] arp() {
        ByteBuffer b = eth(0, 0x0806, 28);
        b.putShort((short) 1)
                .putShort((short) 0x0800)
                .put((byte) 6)
                .put((byte) 4)
                .putShort((short) 1);
        b.put(SRC).put(new byte[] {(byte) 198, 18, 0, 1}).put(new byte[6]).put(new byte[] {(byte) 198, 18, 0, 2});
        return b.array();
    }
}
