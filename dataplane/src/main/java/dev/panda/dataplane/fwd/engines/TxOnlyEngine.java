package dev.panda.dataplane.fwd.engines;

import dev.panda.dataplane.fwd.ForwardEngine;
import dev.panda.dataplane.fwd.FrameTemplate;
import dev.panda.dataplane.fwd.FwdStream;
import dev.panda.dataplane.fwd.TxPacer;

/**
 * txonly: generate bursts of Ethernet/IPv4/UDP frames of {@code --txpkts} bytes from the tx port's
 * MAC to its peer, 198.18.0.1:9 to 198.18.0.2:9, each with a payload stamp (stream, sequence,
 * digest) a sink can verify. With {@code --tx-rate} the stream is paced ({@link TxPacer}); with
 * {@code --latency} the stamp carries the time of the burst instead of stream and sequence.
 */
public final class TxOnlyEngine implements ForwardEngine {

    private final boolean paced;
    private FrameTemplate template;
    private TxPacer pacer;
    private boolean timed;
    private int seq;

    /** txonly as a forwarding mode: paced when the stream's config has a tx rate. */
    public TxOnlyEngine() {
        this(true);
    }

    /** {@code paced = false}: full bursts whatever the tx rate ({@code start tx_first}'s bursts). */
    public TxOnlyEngine(boolean paced) {
        this.paced = paced;
    }

    @Override
    public void begin(FwdStream s) {
        template = new FrameTemplate(s);
        pacer = paced && s.config.txRate() > 0 ? new TxPacer(s.config.txRate(), s::countRateSkipped) : null;
        timed = s.config.latency();
    }

    @Override
    public int forward(FwdStream s) {
        int want = s.config.burst();
        long now = 0;
        if (pacer != null) {
            now = System.nanoTime();
            want = pacer.due(now, want);
            if (want == 0) {
                return 0;
            }
        }
        int n = s.pool.allocBulk(s.burst.handles, 0, want);
        if (timed) {
            long t = pacer != null ? now : System.nanoTime();
            for (int i = 0; i < n; i++) {
                template.writeTimedTo(s, s.burst.handles[i], t);
            }
        } else {
            for (int i = 0; i < n; i++) {
                template.writeTo(s, s.burst.handles[i], s.id, seq++);
            }
        }
        if (pacer != null) {
            pacer.sent(n);
        }
        s.transmit(n);
        return n;
    }

    /** Packets the pacer gave up because the stream fell more than 1 ms behind its rate. */
    public long skipped() {
        return pacer == null ? 0 : pacer.skipped();
    }
}
