package dev.panda.vswitch.flow;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The exact-match cache of one data-path thread (the idea of OVS's EMC): direct-mapped, keyed by
 * the whole {@link FlowKey} and the table id, remembering the flow a classifier lookup found (or
 * that none matched). An entry is valid only for the {@link Classifier} it was filled from, so
 * publishing a new classifier (every flow change) invalidates the whole cache at once. Preallocated;
 * nothing allocated per lookup.
 */
final class FlowCache {

    static final int ENTRIES = 8192;
    private static final VarHandle HITS, MISSES;

    static {
        try {
            HITS = MethodHandles.lookup().findVarHandle(FlowCache.class, "hits", long.class);
            MISSES = MethodHandles.lookup().findVarHandle(FlowCache.class, "misses", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final long[] keys = new long[ENTRIES * FlowKey.WORDS];
    private final int[] tables = new int[ENTRIES];
    private final Object[] owners = new Object[ENTRIES];
    private final Rule[] rules = new Rule[ENTRIES];
    private long hits;
    private long misses;

    /** The flow of {@code table} matching {@code k} under classifier {@code c}, through the cache. */
    Rule lookup(Classifier c, int table, long[] k) {
        long h = table * 0x9E3779B97F4A7C15L;
        for (int i = 0; i < FlowKey.WORDS; i++) {
            h = (h ^ k[i]) * 0xbf58476d1ce4e5b9L;
            h ^= h >>> 31;
        }
        int slot = (int) (h ^ (h >>> 32)) & (ENTRIES - 1);
        int base = slot * FlowKey.WORDS;
        if (owners[slot] == c && tables[slot] == table) {
            boolean eq = true;
            for (int i = 0; i < FlowKey.WORDS; i++) {
                if (keys[base + i] != k[i]) {
                    eq = false;
                    break;
                }
            }
            if (eq) {
                HITS.setOpaque(this, hits + 1);
                return rules[slot];
            }
        }
        MISSES.setOpaque(this, misses + 1);
        Rule r = c.lookup(table, k);
        System.arraycopy(k, 0, keys, base, FlowKey.WORDS);
        tables[slot] = table;
        rules[slot] = r;
        owners[slot] = c;
        return r;
    }

    long hits() {
        return (long) HITS.getOpaque(this);
    }

    long misses() {
        return (long) MISSES.getOpaque(this);
    }
}
