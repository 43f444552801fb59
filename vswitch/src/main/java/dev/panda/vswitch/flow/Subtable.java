package dev.panda.vswitch.flow;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The flows of one table that share one mask: an open-addressing hash table from the masked key
 * to the highest-priority flow with that masked value (flows with the same mask and value differ
 * only in priority, and the highest always wins). Immutable once built; the control side builds a
 * new one on every change to its flows.
 */
final class Subtable {

    final long[] mask;
    /** Indices of the words the mask touches. */
    final int[] words;

    final int maxPriority;
    private final long[] keys;
    private final Rule[] rules;
    private final int slotMask;
    /** Every flow with this mask, highest priority first (control side). */
    final List<Rule> all;

    private Subtable(long[] mask, List<Rule> sorted) {
        this.mask = mask;
        int n = 0;
        for (long m : mask) {
            if (m != 0) {
                n++;
            }
        }
        this.words = new int[n];
        n = 0;
        for (int i = 0; i < mask.length; i++) {
            if (mask[i] != 0) {
                words[n++] = i;
            }
        }
        this.all = sorted;
        this.maxPriority = sorted.isEmpty() ? -1 : sorted.get(0).priority;
        int slots = Integer.highestOneBit(Math.max(4, sorted.size() * 2 - 1)) << 1;
        this.keys = new long[slots * FlowKey.WORDS];
        this.rules = new Rule[slots];
        this.slotMask = slots - 1;
        for (Rule r : sorted) {
            int i = (int) hash(r.value, mask, words) & slotMask;
            while (true) {
                if (rules[i] == null) {
                    rules[i] = r;
                    System.arraycopy(r.value, 0, keys, i * FlowKey.WORDS, FlowKey.WORDS);
                    break;
                }
                if (sameValue(rules[i].value, r.value)) {
                    break; // a higher-priority flow with the same match is already here
                }
                i = (i + 1) & slotMask;
            }
        }
    }

    static Subtable build(long[] mask, List<Rule> rules) {
        List<Rule> sorted = new ArrayList<>(rules);
        sorted.sort(Comparator.comparingInt((Rule r) -> r.priority).reversed());
        return new Subtable(mask, sorted);
    }

    private static boolean sameValue(long[] a, long[] b) {
        return java.util.Arrays.equals(a, b);
    }

    static long hash(long[] k, long[] mask, int[] words) {
        long h = 0x9E3779B97F4A7C15L;
        for (int i : words) {
            h = (h ^ (k[i] & mask[i])) * 0xbf58476d1ce4e5b9L;
            h ^= h >>> 31;
        }
        return h ^ (h >>> 29);
    }

    /** The highest-priority flow here matching key {@code k}, or null. */
    Rule lookup(long[] k) {
        long[] m = mask;
        int[] ws = words;
        int i = (int) hash(k, m, ws) & slotMask;
        while (true) {
            Rule r = rules[i];
            if (r == null) {
                return null;
            }
            int base = i * FlowKey.WORDS;
            boolean eq = true;
            for (int w : ws) {
                if ((k[w] & m[w]) != keys[base + w]) {
                    eq = false;
                    break;
                }
            }
            if (eq) {
                return r;
            }
            i = (i + 1) & slotMask;
        }
    }
}
