package dev.panda.vswitch.flow;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One immutable view of a bridge's flow tables for the data path (tuple space search): each
 * table is a list of {@link Subtable}s, one per distinct mask, ordered by the highest priority in
 * each, so a lookup stops at the first subtable that cannot beat what it found. The control side
 * publishes a new one on every change; its identity is what the exact-match cache checks.
 */
final class Classifier {

    static final Subtable[] NONE = new Subtable[0];

    final long generation;
    final Subtable[][] tables;
    final int flows;

    Classifier(long generation, Subtable[][] tables, int flows) {
        this.generation = generation;
        this.tables = tables;
        this.flows = flows;
    }

    static Classifier empty(int tables) {
        Subtable[][] t = new Subtable[tables][];
        Arrays.fill(t, NONE);
        return new Classifier(0, t, 0);
    }

    /** Builds table {@code rules}' subtables: grouped by mask, ordered by their best priority. */
    static Subtable[] buildTable(List<Rule> rules) {
        Map<MaskKey, List<Rule>> byMask = new LinkedHashMap<>();
        for (Rule r : rules) {
            byMask.computeIfAbsent(new MaskKey(r.mask), k -> new ArrayList<>()).add(r);
        }
        List<Subtable> subs = new ArrayList<>();
        for (Map.Entry<MaskKey, List<Rule>> e : byMask.entrySet()) {
            subs.add(Subtable.build(e.getKey().mask, e.getValue()));
        }
        subs.sort((a, b) -> Integer.compare(b.maxPriority, a.maxPriority));
        return subs.toArray(new Subtable[0]);
    }

    /** The highest-priority flow of {@code table} that matches {@code k}, or null. */
    Rule lookup(int table, long[] k) {
        Subtable[] subs = tables[table];
        Rule best = null;
        for (Subtable s : subs) {
            if (best != null && s.maxPriority <= best.priority) {
                break;
            }
            Rule r = s.lookup(k);
            if (r != null && (best == null || r.priority > best.priority)) {
                best = r;
            }
        }
        return best;
    }

    private record MaskKey(long[] mask) {
        @Override
        public boolean equals(Object o) {
            return o instanceof MaskKey m && Arrays.equals(mask, m.mask);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(mask);
        }
    }
}
