package dev.panda.dataplane.fwd.engines;

import dev.panda.dataplane.fwd.ForwardEngine;
import dev.panda.dataplane.fwd.FwdStream;
import dev.panda.dataplane.fwd.Packets;
import java.lang.foreign.MemorySegment;

/** mac: rewrite the source MAC to the tx port's and the destination to the tx port's peer. */
public final class MacEngine implements ForwardEngine {

    private long src;
    private long dst;

    @Override
    public void begin(FwdStream s) {
        src = s.txPort.mac();
        dst = s.config.peerMac(s.txPortId);
    }

    @Override
    public int forward(FwdStream s) {
        int n = s.receive();
        MemorySegment mem = s.pool.segment();
        int[] h = s.burst.handles;
        for (int i = 0; i < n; i++) {
            long f = s.pool.dataOffset(h[i]);
            Packets.mac(mem, f, dst);
            Packets.mac(mem, f + 6, src);
        }
        s.transmit(n);
        return n;
    }
}
