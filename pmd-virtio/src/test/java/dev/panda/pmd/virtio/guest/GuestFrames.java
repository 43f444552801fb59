package dev.panda.pmd.virtio.guest;

/**
 * The test frames the guest proofs exchange with a guest kernel's interface: frame {@code seq} is
 * 60..1514 bytes long (its length follows from seq), carries an EtherType of the test's, seq in
 * bytes 14-15 and a payload derived from seq, so the receiver checks length and every byte.
 */
public final class GuestFrames {

    private GuestFrames() {}

    public static byte[] frame(byte[] dst, byte[] src, int type, int seq) {
        int len = 60 + (seq * 37) % (1514 - 60 + 1);
        byte[] f = new byte[len];
        System.arraycopy(dst, 0, f, 0, 6);
        System.arraycopy(src, 0, f, 6, 6);
        f[12] = (byte) (type >> 8);
        f[13] = (byte) type;
        f[14] = (byte) (seq >> 8);
        f[15] = (byte) seq;
        for (int i = 16; i < len; i++) {
            f[i] = (byte) (seq * 31 + i);
        }
        return f;
    }

    public static byte[] frame(long dstMac, byte[] src, int type, int seq) {
        return frame(macBytes(dstMac), src, type, seq);
    }

    /** The frame's sequence number if it is one of ours and intact, -1 if it is someone else's. */
    public static int verify(byte[] f, int type) {
        if (f.length < 16 || ((f[12] & 0xff) << 8 | f[13] & 0xff) != type) {
            return -1;
        }
        int seq = (f[14] & 0xff) << 8 | f[15] & 0xff;
        int len = 60 + (seq * 37) % (1514 - 60 + 1);
        // the kernel pads nothing here; panda's frames are sent at their length
        check(f.length == len, "frame " + seq + " has " + f.length + " bytes, sent " + len);
        for (int i = 16; i < len; i++) {
            check(f[i] == (byte) (seq * 31 + i), "frame " + seq + " byte " + i + " changed");
        }
        return seq;
    }

    public static byte[] macBytes(long mac) {
        byte[] b = new byte[6];
        for (int i = 0; i < 6; i++) {
            b[i] = (byte) (mac >>> (8 * (5 - i)));
        }
        return b;
    }

    public static byte[] parseMac(String s) {
        String[] p = s.split(":");
        byte[] b = new byte[6];
        for (int i = 0; i < 6; i++) {
            b[i] = (byte) Integer.parseInt(p[i], 16);
        }
        return b;
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }
}
