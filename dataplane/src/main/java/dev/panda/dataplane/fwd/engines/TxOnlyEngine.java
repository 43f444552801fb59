package dev.panda.dataplane.fwd.engines;

import dev.panda.dataplane.fwd.ForwardEngine;
import dev.panda.dataplane.fwd.FwdStream;
import dev.panda.dataplane.fwd.Packets;
import dev.panda.dataplane.fwd.PayloadStamp;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * txonly: generate bursts of Ethernet/IPv4/UDP frames of {@code --txpkts} bytes from the tx port's
 * MAC to its peer, 198.18.0.1:9 to 198.18.0.2:9, each with a payload stamp (stream, sequence,
 * digest) a sink can verify. The frame is built once as a template; per packet it is copied and
 * stamped.
 */
public final class TxOnlyEngine implements ForwardEngine {

    private MemorySegment template;
    private int len;
    private int restDigest;
    private int seq;

    @Override
    public void begin(FwdStream s) {
        len = s.config.txPacketLen();
        template = Arena.ofAuto().allocate(len, 64);
        Packets.writeUdpFrame(template, 0, s.config.peerMac(s.txPortId), s.txPort.mac(), s.config.ipSrc(),
                s.config.ipDst(), s.config.udpSrc(), s.config.udpDst(), len);
        int rest = Packets.PAYLOAD + PayloadStamp.SIZE;
        for (int i = rest; i < len; i++) {
            Packets.u8(template, i, i);
        }
        restDigest = PayloadStamp.digest(template, rest, len - rest);
    }

    @Override
    public int forward(FwdStream s) {
        int n = s.pool.allocBulk(s.burst.handles, 0, s.config.burst());
        MemorySegment mem = s.pool.segment();
        for (int i = 0; i < n; i++) {
            int h = s.burst.handles[i];
            long f = s.pool.dataOffset(h);
            MemorySegment.copy(template, 0, mem, f, len);
            PayloadStamp.write(mem, f + Packets.PAYLOAD, s.id, seq++, restDigest);
            s.pool.setLength(h, len);
        }
        s.transmit(n);
        return n;
    }

    /** The sequence number the next packet gets. */
    public int nextSeq() {
        return seq;
    }
}
