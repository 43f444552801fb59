package dev.panda.dataplane.fwd.engines;

import dev.panda.dataplane.fwd.ForwardEngine;
import dev.panda.dataplane.fwd.FwdStream;
import dev.panda.dataplane.fwd.Packets;
import dev.panda.dataplane.fwd.PayloadStamp;
import java.lang.foreign.MemorySegment;

/**
 * rxonly: receive and free. With payload verification on, every stamped UDP/IPv4 packet's stamp
 * is checked and failures are counted in the stream's bad-payload counter.
 */
public final class RxOnlyEngine implements ForwardEngine {

    @Override
    public int forward(FwdStream s) {
        int n = s.receive();
        if (n > 0 && s.config.verifyPayload()) {
            verify(s, n);
        }
        s.consume(n);
        return n;
    }

    private static void verify(FwdStream s, int n) {
        MemorySegment mem = s.pool.segment();
        int bad = 0;
        for (int i = 0; i < n; i++) {
            int h = s.burst.handles[i];
            long f = s.pool.dataOffset(h);
            int len = s.pool.length(h);
            if (len >= Packets.PAYLOAD + PayloadStamp.SIZE
                    && Packets.u16(mem, f + Packets.ETH_TYPE) == Packets.ETHERTYPE_IPV4
                    && Packets.u8(mem, f + Packets.IP + 9) == Packets.PROTO_UDP
                    && !PayloadStamp.verify(mem, f + Packets.PAYLOAD, len - Packets.PAYLOAD)) {
                bad++;
            }
        }
        if (bad > 0) {
            s.countBadPayload(bad);
        }
    }
}
