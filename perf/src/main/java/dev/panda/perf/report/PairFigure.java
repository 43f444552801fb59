package dev.panda.perf.report;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/**
 * One interleaved pair of a comparison: panda's run and the peer's run, and any further runs of
 * the same round (ring-io's panda with byte counters, the vswitch loop's pipeline mode and its
 * A/A run), keyed by name.
 */
public record PairFigure(int pair, RunFigure panda, RunFigure peer, Map<String, RunFigure> extra) {

    public PairFigure {
        extra = Map.copyOf(extra);
    }

    public PairFigure(int pair, RunFigure panda, RunFigure peer) {
        this(pair, panda, peer, Map.of());
    }

    /** panda's Mpps over the peer's. */
    @JsonProperty("ratio")
    public double ratio() {
        return panda.mpps() / peer.mpps();
    }

    /** panda's busy cycles per packet over the peer's, NaN where either has none. */
    @JsonProperty("cyclesRatio")
    public double cyclesRatio() {
        return panda.cyclesPerPacket() / peer.cyclesPerPacket();
    }
}
