package dev.panda.dataplane.fwd;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A 16-byte stamp generators put at the start of the UDP payload so a sink can prove a packet
 * arrived intact: {@code magic, stream, seq, check}, where {@code check} is a digest of the rest
 * of the payload mixed with the stream and sequence number.
 *
 * <p>The bytes after the stamp come from a template, so the sender computes their digest once and
 * stamping costs O(1) per packet; the sink recomputes the digest over what it received.
 */
public final class PayloadStamp {

    public static final int SIZE = 16;
    public static final int MAGIC = 0x50_4e_44_41; // "PNDA"

    private PayloadStamp() {}

    /** Writes the stamp at {@code off}; {@code restDigest} is {@link #digest} of the bytes after it. */
    public static void write(MemorySegment s, long off, int stream, int seq, int restDigest) {
        Packets.u32(s, off, MAGIC);
        Packets.u32(s, off + 4, stream);
        Packets.u32(s, off + 8, seq);
        Packets.u32(s, off + 12, restDigest ^ mix(stream, seq));
    }

    public static boolean present(MemorySegment s, long off, int available) {
        return available >= SIZE && Packets.u32(s, off) == MAGIC;
    }

    public static int stream(MemorySegment s, long off) {
        return Packets.u32(s, off + 4);
    }

    public static int seq(MemorySegment s, long off) {
        return Packets.u32(s, off + 8);
    }

    /** True if the stamp at {@code off} matches the {@code len - SIZE} payload bytes after it. */
    public static boolean verify(MemorySegment s, long off, int len) {
        if (!present(s, off, len)) {
            return false;
        }
        int expect = digest(s, off + SIZE, len - SIZE) ^ mix(stream(s, off), seq(s, off));
        return Packets.u32(s, off + 12) == expect;
    }

    /** A 32-bit digest of {@code len} bytes (FNV-1a over 8-byte words, then over the tail bytes). */
    public static int digest(MemorySegment s, long off, int len) {
        long h = 0xcbf29ce484222325L;
        int i = 0;
        for (; i + 8 <= len; i += 8) {
            h = (h ^ s.get(ValueLayout.JAVA_LONG_UNALIGNED, off + i)) * 0x100000001b3L;
        }
        for (; i < len; i++) {
            h = (h ^ s.get(ValueLayout.JAVA_BYTE, off + i)) * 0x100000001b3L;
        }
        return (int) (h ^ (h >>> 32));
    }

    private static int mix(int stream, int seq) {
        int x = seq * 0x9e3779b1 + stream * 0x85ebca77;
        return x ^ (x >>> 15);
    }
}
