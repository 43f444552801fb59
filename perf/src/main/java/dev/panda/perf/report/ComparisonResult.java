package dev.panda.perf.report;

import java.util.ArrayList;
import java.util.List;

/**
 * What one comparison measured: its interleaved pairs, the A/A ratios where the comparison runs
 * the same thing twice per round, notes it printed, and the summary derived from the pairs.
 *
 * @param id          the name {@code --only} takes, with the frame size where there are several
 *                    ("vhost-rx-1500")
 * @param aaRatios    per round, the first run's Mpps over the same switch's second run (the
 *                    spread of two runs of the same thing); empty where the comparison has none
 */
public record ComparisonResult(
        String id,
        String title,
        String description,
        String pandaLabel,
        String peerLabel,
        List<PairFigure> pairs,
        List<Double> aaRatios,
        List<String> notes,
        Summary summary) {

    /**
     * Medians over the pairs: panda's and the peer's Mpps, the per-pair ratios with their range,
     * busy cycles per packet (NaN where the comparison has none), the A/A ratios, and how many
     * runs other processes disturbed.
     */
    public record Summary(
            double pandaMpps,
            double peerMpps,
            double ratio,
            double ratioMin,
            double ratioMax,
            double pandaCycles,
            double peerCycles,
            double cyclesRatio,
            double aaRatio,
            double aaMin,
            double aaMax,
            int disturbedRuns) {}

    public ComparisonResult {
        pairs = List.copyOf(pairs);
        aaRatios = List.copyOf(aaRatios);
        notes = List.copyOf(notes);
    }

    public static ComparisonResult of(
            String id,
            String title,
            String description,
            String pandaLabel,
            String peerLabel,
            List<PairFigure> pairs,
            List<Double> aaRatios,
            List<String> notes) {
        List<Double> ratios = new ArrayList<>();
        List<Double> cyclesRatios = new ArrayList<>();
        List<Double> a = new ArrayList<>();
        List<Double> b = new ArrayList<>();
        List<Double> ac = new ArrayList<>();
        List<Double> bc = new ArrayList<>();
        int disturbed = 0;
        for (PairFigure p : pairs) {
            ratios.add(p.ratio());
            cyclesRatios.add(p.cyclesRatio());
            a.add(p.panda().mpps());
            b.add(p.peer().mpps());
            ac.add(p.panda().cyclesPerPacket());
            bc.add(p.peer().cyclesPerPacket());
            disturbed += (p.panda().disturbed() ? 1 : 0) + (p.peer().disturbed() ? 1 : 0);
            for (RunFigure r : p.extra().values()) {
                disturbed += r.disturbed() ? 1 : 0;
            }
        }
        Summary s = new Summary(
                Stats.median(a),
                Stats.median(b),
                Stats.median(ratios),
                Stats.min(ratios),
                Stats.max(ratios),
                Stats.median(ac),
                Stats.median(bc),
                Stats.median(cyclesRatios),
                Stats.median(aaRatios),
                Stats.min(aaRatios),
                Stats.max(aaRatios),
                disturbed);
        return new ComparisonResult(id, title, description, pandaLabel, peerLabel, pairs, aaRatios, notes, s);
    }

    /** Whether any pair has busy cycles per packet for both sides. */
    public boolean hasCycles() {
        return pairs.stream().anyMatch(p -> Double.isFinite(p.cyclesRatio()));
    }
}
