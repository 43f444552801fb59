package dev.panda.dataplane.fwd.engines;

import dev.panda.dataplane.fwd.ForwardEngine;
import dev.panda.dataplane.fwd.FwdStream;
import dev.panda.dataplane.fwd.Packets;
import java.lang.foreign.MemorySegment;

/** macswap: swap the source and destination MAC of every packet, then forward it. */
public final class MacSwapEngine implements ForwardEngine {

    @Override
    public int forward(FwdStream s) {
        int n = s.receive();
        MemorySegment mem = s.pool.segment();
        int[] h = s.burst.handles;
        for (int i = 0; i < n; i++) {
            long f = s.pool.dataOffset(h[i]);
            long dst = Packets.mac(mem, f);
            Packets.mac(mem, f, Packets.mac(mem, f + 6));
            Packets.mac(mem, f + 6, dst);
        }
        s.transmit(n);
        return n;
    }
}
