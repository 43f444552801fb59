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
 *
 * <p>A timed stamp ({@code --latency}) has magic {@link #MAGIC_TIMED} and carries the sender's
 * {@code System.nanoTime()} in place of stream and sequence (high word first, big-endian), so a
 * receiver in the same process, or another process on the same host, can compute the one-way
 * latency: on Linux {@code System.nanoTime()} is {@code clock_gettime(CLOCK_MONOTONIC)}, one clock
 * for every process of the machine. Its check word is computed the same way, so
 * {@code --verify-payload} verifies both kinds.
 */
public final class PayloadStamp {

    public static final int SIZE = 16;
    public static final int MAGIC = 0x50_4e_44_41; // "PNDA"
    public static final int MAGIC_TIMED = 0x50_4e_44_54; // "PNDT"

    private PayloadStamp() {}

    /** Writes the stamp at {@code off}; {@code restDigest} is {@link #digest} of the bytes after it. */
    public static void write(MemorySegment s, long off, int stream, int seq, int restDigest) {
        Packets.u32(s, off, MAGIC);
        Packets.u32(s, off + 4, stream);
        Packets.u32(s, off + 8, seq);
        Packets.u32(s, off + 12, restDigest ^ mix(stream, seq));
    }

    /** Writes a timed stamp at {@code off}: {@code nanos} is the sender's {@code System.nanoTime()}. */
    public static void writeTimed(MemorySegment s, long off, long nanos, int restDigest) {
        int hi = (int) (nanos >>> 32);
        int lo = (int) nanos;
        Packets.u32(s, off, MAGIC_TIMED);
        Packets.u32(s, off + 4, hi);
        Packets.u32(s, off + 8, lo);
        Packets.u32(s, off + 12, restDigest ^ mix(hi, lo));
    }

    /** True if a stamp of either kind starts at {@code off}. */
    public static boolean present(MemorySegment s, long off, int available) {
        if (available < SIZE) {
            return false;
        }
        int magic = Packets.u32(s, off);
        return magic == MAGIC || magic == MAGIC_TIMED;
    }

    /** True if a timed stamp starts at {@code off}. */
    public static boolean timed(MemorySegment s, long off, int available) {
        return available >= SIZE && Packets.u32(s, off) == MAGIC_TIMED;
    }

    /** The sender's {@code System.nanoTime()} of a timed stamp. */
    public static long nanos(MemorySegment s, long off) {
        return ((long) Packets.u32(s, off + 4) << 32) | Integer.toUnsignedLong(Packets.u32(s, off + 8));
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
