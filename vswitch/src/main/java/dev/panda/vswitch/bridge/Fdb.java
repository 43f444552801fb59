package dev.panda.vswitch.bridge;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bridge's forwarding database: (VLAN, MAC) to port, learned from source addresses, aged out.
 *
 * <p>An open-addressing table of two {@code long[]}s, no object per entry. A key is
 * {@code (vlan + 1) << 48 | mac}, so 0 means an empty slot and {@link #DELETED} a deleted one; a
 * value is {@code seconds << 16 | portId}. Pollers learn concurrently: a new key is claimed by a
 * compare-and-set on an <em>empty</em> slot only, so two pollers learning the same MAC meet at the
 * same slot and never make two entries; deleted slots are not reused (no duplicate can appear
 * behind them) until {@link #compact()} rebuilds the table, which the housekeeping thread does when
 * they pile up. Values are single 64-bit opaque writes, so a reader sees an old or a new entry,
 * never a torn one. The table is a cache: an entry lost to a race with aging or compaction is
 * learned again from the next frame.
 *
 * <p>Learning and lookup allocate nothing. The control side reads the table (fdb-show) while the
 * pollers run.
 */
public final class Fdb {

    public static final long DELETED = -1L;
    private static final int PORT_BITS = 16;
    private static final long PORT_MASK = (1L << PORT_BITS) - 1;

    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

    /** One generation of the table; replaced whole by {@link #compact()}. */
    private static final class Table {
        final long[] keys;
        final long[] vals;
        final int mask;

        Table(int slots) {
            keys = new long[slots];
            vals = new long[slots];
            mask = slots - 1;
        }
    }

    private final int maxEntries;
    /** Changed live by {@code apply} (read by the housekeeping thread only). */
    private volatile int agingSeconds;

    private volatile Table table;
    private final AtomicInteger size = new AtomicInteger();
    private final AtomicInteger deleted = new AtomicInteger();

    private final AtomicLong learned = new AtomicLong();
    private final AtomicLong moved = new AtomicLong();
    private final AtomicLong aged = new AtomicLong();
    private final AtomicLong tableFull = new AtomicLong();

    /**
     * @param maxEntries   most live entries (the bridge's mac-table-size)
     * @param agingSeconds seconds an entry lives without being refreshed
     */
    public Fdb(int maxEntries, int agingSeconds) {
        if (maxEntries < 1 || maxEntries > (1 << 24)) {
            throw new IllegalArgumentException("mac-table-size must be 1.." + (1 << 24) + ", got " + maxEntries);
        }
        if (agingSeconds < 1) {
            throw new IllegalArgumentException("mac-aging must be at least 1 s, got " + agingSeconds);
        }
        this.maxEntries = maxEntries;
        this.agingSeconds = agingSeconds;
        this.table = new Table(slotsFor(maxEntries));
    }

    private static int slotsFor(int maxEntries) {
        // at most a quarter full with live entries: short probe chains, room for deleted slots
        return Integer.highestOneBit(Math.max(16, maxEntries * 4 - 1)) << 1;
    }

    public static long key(int vlan, long mac) {
        return ((long) (vlan + 1) << 48) | (mac & 0xFFFF_FFFF_FFFFL);
    }

    private static int hash(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29));
    }

    /** The port that {@code mac} was learned on in {@code vlan}, or -1 (port ids start at 1). */
    public int lookup(int vlan, long mac) {
        long key = key(vlan, mac);
        Table t = table;
        int i = hash(key) & t.mask;
        for (int probes = 0; probes <= t.mask; probes++) {
            long k = (long) LONGS.getOpaque(t.keys, i);
            if (k == key) {
                int port = (int) ((long) LONGS.getOpaque(t.vals, i) & PORT_MASK);
                return port == 0 ? -1 : port;
            }
            if (k == 0) {
                return -1;
            }
            i = (i + 1) & t.mask;
        }
        return -1;
    }

    /**
     * Learns that {@code mac} in {@code vlan} was seen on {@code port} at {@code nowSeconds}.
     * Returns false only when the MAC is new and the table is full (counted).
     */
    public boolean learn(int vlan, long mac, int port, int nowSeconds) {
        long key = key(vlan, mac);
        long val = ((long) nowSeconds << PORT_BITS) | (port & PORT_MASK);
        Table t = table;
        int i = hash(key) & t.mask;
        for (int probes = 0; probes <= t.mask; probes++) {
            long k = (long) LONGS.getOpaque(t.keys, i);
            if (k == key) {
                refresh(t, i, val, port);
                return true;
            }
            if (k == 0) {
                if (size.get() >= maxEntries) {
                    tableFull.incrementAndGet();
                    return false;
                }
                // Claim the slot with the key itself. Until the value is written it reads as port 0,
                // which no port has: lookups treat it as unknown (flood), aging may remove it.
                if (LONGS.compareAndSet(t.keys, i, 0L, key)) {
                    LONGS.setOpaque(t.vals, i, val);
                    size.incrementAndGet();
                    learned.incrementAndGet();
                    return true;
                }
                // another poller claimed the slot first, perhaps for this very key
                k = (long) LONGS.getOpaque(t.keys, i);
                if (k == key) {
                    refresh(t, i, val, port);
                    return true;
                }
            }
            i = (i + 1) & t.mask;
        }
        tableFull.incrementAndGet();
        return false;
    }

    private void refresh(Table t, int i, long val, int port) {
        long old = (long) LONGS.getOpaque(t.vals, i);
        if (old != val) {
            int was = (int) (old & PORT_MASK);
            if (was != port && was != 0) {
                moved.incrementAndGet();
            }
            LONGS.setOpaque(t.vals, i, val);
        }
    }

    /** Removes entries older than the aging time (housekeeping thread). Returns how many. */
    public int age(int nowSeconds) {
        int n = remove(true, nowSeconds);
        aged.addAndGet(n);
        return n;
    }

    /** Removes every entry of {@code port} (it left the bridge). Returns how many. */
    public int flushPort(int port) {
        return remove(false, port);
    }

    /**
     * Deletes the live entries last seen {@code agingSeconds} before {@code arg} ({@code byAge}), or
     * those of port {@code arg}. A compare-and-set on the key, so an entry a poller refreshed or
     * replaced meanwhile is left alone.
     */
    private int remove(boolean byAge, int arg) {
        Table t = table;
        int aging = agingSeconds;
        int n = 0;
        for (int i = 0; i <= t.mask; i++) {
            long k = (long) LONGS.getOpaque(t.keys, i);
            if (k == 0 || k == DELETED) {
                continue;
            }
            long v = (long) LONGS.getOpaque(t.vals, i);
            boolean match = byAge ? arg - (int) (v >>> PORT_BITS) >= aging : (int) (v & PORT_MASK) == arg;
            if (match && LONGS.compareAndSet(t.keys, i, k, DELETED)) {
                size.decrementAndGet();
                deleted.incrementAndGet();
                n++;
            }
        }
        return n;
    }

    /** Removes every entry. */
    public void flush() {
        table = new Table(table.keys.length);
        size.set(0);
        deleted.set(0);
    }

    /**
     * Rebuilds the table without its deleted slots when they fill more than a quarter of it
     * (housekeeping thread). Learning that races with the swap is lost and relearned.
     */
    public boolean compactIfNeeded() {
        Table t = table;
        if (deleted.get() < (t.mask + 1) / 4) {
            return false;
        }
        compact();
        return true;
    }

    void compact() {
        Table old = table;
        Table t = new Table(old.keys.length);
        int live = 0;
        for (int i = 0; i <= old.mask; i++) {
            long k = (long) LONGS.getAcquire(old.keys, i);
            if (k == 0 || k == DELETED) {
                continue;
            }
            long v = (long) LONGS.getOpaque(old.vals, i);
            int j = hash(k) & t.mask;
            while (t.keys[j] != 0) {
                j = (j + 1) & t.mask;
            }
            t.keys[j] = k;
            t.vals[j] = v;
            live++;
        }
        table = t; // volatile write publishes the filled arrays
        size.set(live);
        deleted.set(0);
    }

    /** Calls {@code each} for every live entry, for fdb-show. */
    public void forEach(EntryConsumer each) {
        Table t = table;
        for (int i = 0; i <= t.mask; i++) {
            long k = (long) LONGS.getAcquire(t.keys, i);
            if (k == 0 || k == DELETED) {
                continue;
            }
            long v = (long) LONGS.getOpaque(t.vals, i);
            if ((v & PORT_MASK) == 0) {
                continue; // being written
            }
            each.accept((int) (k >>> 48) - 1, k & 0xFFFF_FFFF_FFFFL, (int) (v & PORT_MASK), (int) (v >>> PORT_BITS));
        }
    }

    /** One FDB entry as {@link #forEach} reports it. */
    @FunctionalInterface
    public interface EntryConsumer {
        void accept(int vlan, long mac, int port, int lastSeenSeconds);
    }

    public int size() {
        return size.get();
    }

    public int maxEntries() {
        return maxEntries;
    }

    public int agingSeconds() {
        return agingSeconds;
    }

    /** A new aging time, from the next aging pass on (entries stay). */
    public void setAgingSeconds(int seconds) {
        if (seconds < 1) {
            throw new IllegalArgumentException("mac-aging must be at least 1 s, got " + seconds);
        }
        agingSeconds = seconds;
    }

    public long learned() {
        return learned.get();
    }

    public long moved() {
        return moved.get();
    }

    public long aged() {
        return aged.get();
    }

    public long tableFull() {
        return tableFull.get();
    }
}
