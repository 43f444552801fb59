package dev.panda.vswitch.openflow;

/**
 * A bounded big-endian reader over one message's bytes: every read is checked against the limit
 * of the structure being read, and a short structure is a typed {@link OfError}, never an index
 * exception. Nothing is allocated from a length the peer claims: only slices of bytes it sent.
 */
final class OfReader {

    private final byte[] b;
    private int pos;
    private int limit;
    private final int errType;
    private final int errCode;

    OfReader(byte[] b, int pos, int limit, int errType, int errCode) {
        this.b = b;
        this.pos = pos;
        this.limit = limit;
        this.errType = errType;
        this.errCode = errCode;
    }

    static OfReader of(byte[] b) {
        return new OfReader(b, 0, b.length, Of.ET_BAD_REQUEST, Of.BRC_BAD_LEN);
    }

    /** A reader of the next {@code n} bytes, whose shortfalls are {@code type/code}; skips them here. */
    OfReader sub(int n, int type, int code, String what) throws OfError {
        need(n, what);
        OfReader r = new OfReader(b, pos, pos + n, type, code);
        pos += n;
        return r;
    }

    int remaining() {
        return limit - pos;
    }

    int position() {
        return pos;
    }

    void need(int n, String what) throws OfError {
        if (n < 0 || n > limit - pos) {
            throw new OfError(errType, errCode, what + ": " + n + " bytes needed, " + (limit - pos) + " left");
        }
    }

    int u8() throws OfError {
        need(1, "u8");
        return b[pos++] & 0xff;
    }

    int u16() throws OfError {
        need(2, "u16");
        int v = ((b[pos] & 0xff) << 8) | (b[pos + 1] & 0xff);
        pos += 2;
        return v;
    }

    int u32() throws OfError {
        need(4, "u32");
        int v = ((b[pos] & 0xff) << 24)
                | ((b[pos + 1] & 0xff) << 16)
                | ((b[pos + 2] & 0xff) << 8)
                | (b[pos + 3] & 0xff);
        pos += 4;
        return v;
    }

    long u64() throws OfError {
        long hi = u32() & 0xffffffffL;
        return (hi << 32) | (u32() & 0xffffffffL);
    }

    void skip(int n) throws OfError {
        need(n, "padding");
        pos += n;
    }

    byte[] bytes(int n) throws OfError {
        need(n, "bytes");
        byte[] out = java.util.Arrays.copyOfRange(b, pos, pos + n);
        pos += n;
        return out;
    }

    byte[] rest() throws OfError {
        return bytes(remaining());
    }

    /** A C string field of {@code n} bytes. */
    String string(int n) throws OfError {
        byte[] s = bytes(n);
        int end = 0;
        while (end < s.length && s[end] != 0) {
            end++;
        }
        return new String(s, 0, end, java.nio.charset.StandardCharsets.US_ASCII);
    }
}
