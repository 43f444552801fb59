package dev.panda.dataplane.fwd.engines;

import dev.panda.dataplane.fwd.ForwardEngine;
import dev.panda.dataplane.fwd.FrameTemplate;
import dev.panda.dataplane.fwd.FwdStream;
import dev.panda.dataplane.fwd.Packets;
import dev.panda.dataplane.fwd.TxPacer;
import java.lang.foreign.MemorySegment;

/**
 * flowgen: like txonly, but cycles through {@code --flowgen-flows} flows by varying the IPv4
 * destination (198.18.0.2 upward inside 198.18.0.0/15) and the UDP source port, so receivers
 * that hash flows see many of them. Any received packets are freed. {@code --tx-rate} and
 * {@code --latency} work as in txonly.
 */
public final class FlowGenEngine implements ForwardEngine {

    private FrameTemplate template;
    private TxPacer pacer;
    private boolean timed;
    private int flows;
    private int flow;
    private int seq;

    @Override
    public void begin(FwdStream s) {
        template = new FrameTemplate(s);
        flows = s.config.flows();
        pacer = s.config.txRate() > 0 ? new TxPacer(s.config.txRate(), s::countRateSkipped) : null;
        timed = s.config.latency();
    }

    @Override
    public int forward(FwdStream s) {
        int rx = s.receive();
        s.consume(rx);
        int want = s.config.burst();
        long now = pacer != null || timed ? System.nanoTime() : 0;
        if (pacer != null) {
            want = pacer.due(now, want);
            if (want == 0) {
                return rx;
            }
        }
        int n = s.pool.allocBulk(s.burst.handles, 0, want);
        MemorySegment mem = s.pool.segment();
        int dst = s.config.ipDst();
        int sport = s.config.udpSrc();
        for (int i = 0; i < n; i++) {
            int h = s.burst.handles[i];
            if (timed) {
                template.writeTimedTo(s, h, now);
            } else {
                template.writeTo(s, h, s.id, seq++);
            }
            long f = s.pool.dataOffset(h);
            Packets.u32(mem, f + Packets.IP + 16, dst + flow);
            Packets.ipv4Checksum(mem, f + Packets.IP);
            Packets.u16(mem, f + Packets.UDP, (sport + flow) & 0xffff);
            s.pool.setHash(h, flow);
            if (++flow == flows) {
                flow = 0;
            }
        }
        if (pacer != null) {
            pacer.sent(n);
        }
        s.transmit(n);
        return rx + n;
    }
}
