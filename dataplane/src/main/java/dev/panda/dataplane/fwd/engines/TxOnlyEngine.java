package dev.panda.dataplane.fwd.engines;

import dev.panda.dataplane.fwd.ForwardEngine;
import dev.panda.dataplane.fwd.FrameTemplate;
import dev.panda.dataplane.fwd.FwdStream;

/**
 * txonly: generate bursts of Ethernet/IPv4/UDP frames of {@code --txpkts} bytes from the tx port's
 * MAC to its peer, 198.18.0.1:9 to 198.18.0.2:9, each with a payload stamp (stream, sequence,
 * digest) a sink can verify.
 */
public final class TxOnlyEngine implements ForwardEngine {

    private FrameTemplate template;
    private int seq;

    @Override
    public void begin(FwdStream s) {
        template = new FrameTemplate(s);
    }

    @Override
    public int forward(FwdStream s) {
        int n = s.pool.allocBulk(s.burst.handles, 0, s.config.burst());
        for (int i = 0; i < n; i++) {
            template.writeTo(s, s.burst.handles[i], s.id, seq++);
        }
        s.transmit(n);
        return n;
    }
}
