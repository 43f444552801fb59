package dev.panda.dataplane.fwd.engines;

import dev.panda.dataplane.fwd.ForwardEngine;
import dev.panda.dataplane.fwd.FwdStream;
import dev.panda.dataplane.fwd.Packets;
import dev.panda.dataplane.fwd.PayloadStamp;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * flowgen: like txonly, but cycles through {@code --flowgen-flows} flows by varying the IPv4
 * destination (198.18.0.2 upward inside 198.18.0.0/15) and the UDP source port, so receivers
 * that hash flows see many of them. Any received packets are freed.
 */
public final class FlowGenEngine implements ForwardEngine {

    private MemorySegment template;
    private int len;
    private int restDigest;
    private int flows;
    private int flow;
    private int seq;

    @Override
    public void begin(FwdStream s) {
        len = s.config.txPacketLen();
        flows = s.config.flows();
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
        int rx = s.receive();
        s.consume(rx);
        int n = s.pool.allocBulk(s.burst.handles, 0, s.config.burst());
        MemorySegment mem = s.pool.segment();
        int dst = s.config.ipDst();
        int sport = s.config.udpSrc();
        for (int i = 0; i < n; i++) {
            int h = s.burst.handles[i];
            long f = s.pool.dataOffset(h);
            MemorySegment.copy(template, 0, mem, f, len);
            Packets.u32(mem, f + Packets.IP + 16, dst + flow);
            Packets.ipv4Checksum(mem, f + Packets.IP);
            Packets.u16(mem, f + Packets.UDP, (sport + flow) & 0xffff);
            PayloadStamp.write(mem, f + Packets.PAYLOAD, s.id, seq++, restDigest);
            s.pool.setLength(h, len);
            s.pool.setHash(h, flow);
            if (++flow == flows) {
                flow = 0;
            }
        }
        s.transmit(n);
        return rx + n;
    }
}
