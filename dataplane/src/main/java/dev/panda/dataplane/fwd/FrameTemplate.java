package dev.panda.dataplane.fwd;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The frame a generator sends, built once per stream: Ethernet/IPv4/UDP from the stream's tx
 * port to its peer, then a payload whose bytes after the stamp are a fixed pattern, so the
 * pattern's digest is computed once and stamping a copy costs O(1).
 */
public final class FrameTemplate {

    private final MemorySegment frame;
    private final int length;
    private final int restDigest;

    public FrameTemplate(FwdStream s) {
        FwdConfig c = s.config;
        length = c.txPacketLen();
        frame = Arena.ofAuto().allocate(length, 64);
        Packets.writeUdpFrame(
                frame, 0, c.peerMac(s.txPortId), s.txPort.mac(), c.ipSrc(), c.ipDst(), c.udpSrc(), c.udpDst(), length);
        int rest = Packets.PAYLOAD + PayloadStamp.SIZE;
        for (int i = rest; i < length; i++) {
            Packets.u8(frame, i, i);
        }
        restDigest = PayloadStamp.digest(frame, rest, length - rest);
    }

    /** Copies the frame into buffer {@code h} of the stream's pool, stamps it, and sets its length. */
    public void writeTo(FwdStream s, int h, int stream, int seq) {
        MemorySegment mem = s.pool.segment();
        long f = s.pool.dataOffset(h);
        MemorySegment.copy(frame, 0, mem, f, length);
        PayloadStamp.write(mem, f + Packets.PAYLOAD, stream, seq, restDigest);
        s.pool.setLength(h, length);
    }

    /** As {@link #writeTo}, with a timed stamp carrying {@code nanos} (the sender's {@code System.nanoTime()}). */
    public void writeTimedTo(FwdStream s, int h, long nanos) {
        MemorySegment mem = s.pool.segment();
        long f = s.pool.dataOffset(h);
        MemorySegment.copy(frame, 0, mem, f, length);
        PayloadStamp.writeTimed(mem, f + Packets.PAYLOAD, nanos, restDigest);
        s.pool.setLength(h, length);
    }

    public int length() {
        return length;
    }
}
