package dev.panda.dataplane.fwd.engines;

import dev.panda.dataplane.fwd.ForwardEngine;
import dev.panda.dataplane.fwd.FwdStream;

/** io: forward every packet unchanged. */
public final class IoEngine implements ForwardEngine {

    @Override
    public int forward(FwdStream s) {
        int n = s.receive();
        s.transmit(n);
        return n;
    }
}
