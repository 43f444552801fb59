package dev.panda.vswitch.flow;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The exact-match cache of one data-path thread (the idea of OVS's EMC): two-way set associative
 * (a key may sit in either slot of its pair; a new one takes a free or stale slot, else replaces
 * the one its hash picks, once in {@link #INSERT_EVERY} misses), keyed by
 * the whole {@link FlowKey} and the table id, remembering the flow a classifier lookup found (or
 * that none matched). An entry is valid only for the {@link Classifier} it was filled from, so
 * publishing a new classifier (every flow change) invalidates the whole cache at once. Preallocated;
 * nothing allocated per lookup.
 */
final class FlowCache {

    static final int ENTRIES = 8192;
    /** A miss whose two slots are both live replaces one of them once in this many (a power of two). */
    static final int INSERT_EVERY = 16;

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
    /**
     * Each slot's hash (never 0 when filled): a lookup reads this small array first and touches a
     * slot's key, table and owner only when the hash agrees, so a miss costs one cache line, not
     * four arrays' worth, when the cache does not fit the CPU's caches.
     */
    private final int[] sigs = new int[ENTRIES];

    private final int[] tables = new int[ENTRIES];
    private final Object[] owners = new Object[ENTRIES];
    private final Rule[] rules = new Rule[ENTRIES];
    private long hits;
    private long misses;
    /** xorshift state for the insertion draw. */
    private int draw = 0x2545F491;

    /** The flow of {@code table} matching {@code k} under classifier {@code c}, through the cache. */
    Rule lookup(Classifier c, int table, long[] k) {
        long h = table * 0x9E3779B97F4A7C15L;
        for (int i = 0; i < FlowKey.WORDS; i++) {
            h = (h ^ k[i]) * 0xbf58476d1ce4e5b9L;
            h ^= h >>> 31;
        }
        int mixed = (int) (h ^ (h >>> 32));
        int sig = mixed | 1;
        int first = mixed & (ENTRIES - 2);
        for (int slot = first; slot <= first + 1; slot++) {
            if (sigs[slot] == sig && owners[slot] == c && tables[slot] == table && same(slot * FlowKey.WORDS, k)) {
                HITS.setOpaque(this, hits + 1);
                return rules[slot];
            }
        }
        MISSES.setOpaque(this, misses + 1);
        Rule r = c.lookup(table, k);
        int slot;
        if (owners[first] != c) { // empty (null) or filled from an older classifier
            slot = first;
        } else if (owners[first + 1] != c) {
            slot = first + 1;
        } else {
            // both slots hold live entries: replace one only now and then (1 in INSERT_EVERY), so
            // more distinct flows than entries do not make every packet pay for an insertion that
            // the next packets evict again (OVS's EMC inserts with a probability for the same reason)
            int x = draw;
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            draw = x;
            if ((x & (INSERT_EVERY - 1)) != 0) {
                return r;
            }
            slot = first + ((mixed >>> 16) & 1);
        }
        int base = slot * FlowKey.WORDS;
        System.arraycopy(k, 0, keys, base, FlowKey.WORDS);
        sigs[slot] = sig;
        tables[slot] = table;
        rules[slot] = r;
        owners[slot] = c;
        return r;
    }

    private boolean same(int base, long[] k) {
        for (int i = 0; i < FlowKey.WORDS; i++) {
            if (keys[base + i] != k[i]) {
                return false;
            }
        }
        return true;
    }

    long hits() {
        return (long) HITS.getOpaque(this);
    }

    long misses() {
        return (long) MISSES.getOpaque(this);
    }
}
