package dev.panda.vswitch.capture;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One captured frame as a capture's queue holds it: a 16-byte header and the frame's first bytes.
 *
 * <pre>
 * offset  size  field
 *      0     1  version (1)
 *      1     1  direction: 0 rx (received on the port), 1 tx (handed to the port to send)
 *      2     2  port id (the vswitch's port id; the capture's capture.json names the port)
 *      4     4  original length of the frame (bytes on the wire)
 *      8     8  timestamp, nanoseconds since the Unix epoch
 *     16     n  the frame's first n bytes (n = min(original length, snaplen, the filter's verdict))
 * </pre>
 *
 * All little-endian. {@link #decode} is the reader export and tail use: it checks every field
 * before anything is used, since a queue on disk may be cut or damaged.
 */
public final class CaptureRecord {

    public static final int HEADER = 16;
    public static final int VERSION = 1;
    public static final int RX = 0;
    public static final int TX = 1;
    /** The longest frame a record may hold (pcap's usual largest snaplen). */
    public static final int MAX_FRAME = 262_144;

    public long timestampNanos;
    public int direction;
    public int port;
    public int originalLength;
    public int capturedLength;
    /** The record's bytes; the frame starts at {@link #HEADER}. */
    public byte[] buffer;

    /** Writes the header into {@code buf[0..16)}. */
    public static void header(byte[] buf, long ts, int direction, int port, int originalLength) {
        ByteBuffer b = ByteBuffer.wrap(buf, 0, HEADER).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) VERSION)
                .put((byte) direction)
                .putShort((short) port)
                .putInt(originalLength)
                .putLong(ts);
    }

    /**
     * Reads the record in {@code buf[0..len)} into {@code out} (its frame stays in {@code buf}).
     * Returns null, or why the record is refused (one line).
     */
    public static String decode(byte[] buf, int len, CaptureRecord out) {
        if (len < HEADER || len > buf.length) {
            return "record of " + len + " bytes is shorter than its " + HEADER + "-byte header";
        }
        int version = buf[0] & 0xff;
        if (version != VERSION) {
            return "record version " + version + " (expected " + VERSION + ")";
        }
        int dir = buf[1] & 0xff;
        if (dir != RX && dir != TX) {
            return "record direction " + dir + " is neither rx (0) nor tx (1)";
        }
        ByteBuffer b = ByteBuffer.wrap(buf, 0, len).order(ByteOrder.LITTLE_ENDIAN);
        int port = Short.toUnsignedInt(b.getShort(2));
        long orig = Integer.toUnsignedLong(b.getInt(4));
        long ts = b.getLong(8);
        int cap = len - HEADER;
        if (cap > MAX_FRAME) {
            return "record holds " + cap + " frame bytes, more than " + MAX_FRAME;
        }
        if (orig < cap) {
            return "record's original length " + orig + " is less than the " + cap + " bytes it holds";
        }
        if (ts < 0) {
            return "record timestamp " + ts + " is before 1970";
        }
        out.timestampNanos = ts;
        out.direction = dir;
        out.port = port;
        out.originalLength = (int) Math.min(orig, Integer.MAX_VALUE);
        out.capturedLength = cap;
        out.buffer = buf;
        return null;
    }

    public static String directionName(int d) {
        return d == RX ? "rx" : "tx";
    }
}
