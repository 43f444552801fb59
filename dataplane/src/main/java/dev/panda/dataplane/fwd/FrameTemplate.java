package dev.panda.dataplane.fwd;

import dev.panda.dataplane.mem.PacketPool;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The frame a generator sends, built once per stream: Ethernet/IPv4/UDP from the stream's tx
 * port to its peer, then a payload whose bytes after the stamp are a fixed pattern, so the
 * pattern's digest is computed once and stamping a copy costs O(1).
 *
 * <p>A buffer that comes back from the pool often still holds this frame from its last trip (a
 * generator's buffers go out, are read by the peer and return unchanged). For frames of
 * {@link #COMPARE_FROM} bytes or more only the headers and the stamp are written every time:
 * when nobody else allocated the buffer since this template wrote it ({@link
 * PacketPool#allocations}), its payload is still the template's and is left as it is; otherwise
 * the payload is compared with the template and written from the first byte that differs.
 * Reading lines the peer also holds costs far less than writing them (each write takes the line
 * from the peer's cache and has it fetched back), and skipping both costs nothing.
 */
public final class FrameTemplate {

    /** Frames at least this long compare the payload before writing it; shorter ones copy it all. */
    static final int COMPARE_FROM = 256;

    private static final int REST = Packets.PAYLOAD + PayloadStamp.SIZE;

    private final MemorySegment frame;
    private final int length;
    private final int restDigest;
    private final PacketPool pool;
    /** Per buffer, the pool's allocation count when this template last wrote its payload. */
    private final int[] wrote;

    public FrameTemplate(FwdStream s) {
        FwdConfig c = s.config;
        length = c.txPacketLen();
        frame = Arena.ofAuto().allocate(length, 64);
        Packets.writeUdpFrame(
                frame, 0, c.peerMac(s.txPortId), s.txPort.mac(), c.ipSrc(), c.ipDst(), c.udpSrc(), c.udpDst(), length);
        for (int i = REST; i < length; i++) {
            Packets.u8(frame, i, i);
        }
        restDigest = PayloadStamp.digest(frame, REST, length - REST);
        pool = s.pool;
        wrote = new int[length < COMPARE_FROM ? 0 : pool.capacity()];
        Arrays.fill(wrote, -1);
    }

    /** Copies the frame into buffer {@code h} of the stream's pool, stamps it, and sets its length. */
    public void writeTo(FwdStream s, int h, int stream, int seq) {
        MemorySegment mem = s.pool.segment();
        long f = s.pool.dataOffset(h);
        copyFrame(s.pool, h, mem, f);
        PayloadStamp.write(mem, f + Packets.PAYLOAD, stream, seq, restDigest);
        s.pool.setLength(h, length);
    }

    /** As {@link #writeTo}, with a timed stamp carrying {@code nanos} (the sender's {@code System.nanoTime()}). */
    public void writeTimedTo(FwdStream s, int h, long nanos) {
        MemorySegment mem = s.pool.segment();
        long f = s.pool.dataOffset(h);
        copyFrame(s.pool, h, mem, f);
        PayloadStamp.writeTimed(mem, f + Packets.PAYLOAD, nanos, restDigest);
        s.pool.setLength(h, length);
    }

    /**
     * Leaves the template's frame in buffer {@code h} at {@code f}, just allocated from the
     * stream's pool; the stamp's 16 bytes are the caller's to write.
     */
    private void copyFrame(PacketPool p, int h, MemorySegment mem, long f) {
        if (length < COMPARE_FROM || p != pool) {
            MemorySegment.copy(frame, 0, mem, f, length);
            return;
        }
        MemorySegment.copy(frame, 0, mem, f, Packets.PAYLOAD);
        int now = p.allocations(h);
        if (wrote[h] != now - 1) {
            long at = MemorySegment.mismatch(frame, REST, length, mem, f + REST, f + length);
            if (at >= 0) {
                MemorySegment.copy(frame, REST + at, mem, f + REST + at, length - REST - at);
            }
        }
        wrote[h] = now;
    }

    public int length() {
        return length;
    }
}
