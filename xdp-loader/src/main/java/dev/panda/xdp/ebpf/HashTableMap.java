package dev.panda.xdp.ebpf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code BPF_MAP_TYPE_HASH} and {@code BPF_MAP_TYPE_PERCPU_HASH}: up to {@code max_entries}
 * keys compared byte for byte, preallocated slots (update on a full map fails with E2BIG,
 * update with {@code BPF_NOEXIST} of a present key with EEXIST, {@code BPF_EXIST} of an absent
 * one with ENOENT, delete of an absent key with ENOENT, as the kernel's hashtab does).
 *
 * <p>Open addressing with linear probing over a power-of-two table of slot numbers, deletion by
 * backward shift (no tombstones). Writers hold the map's lock; program lookups read the table
 * with acquire loads and a key is complete before its slot number is published (release), so a
 * reader sees either the old or the new table entry; during a concurrent delete a reader may miss
 * an entry that is being moved, as an RCU reader of the kernel's table may miss one being freed.
 */
public final class HashTableMap extends EbpfMap {

    private static final VarHandle TABLE = MethodHandles.arrayElementVarHandle(int[].class);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int keySize;
    private final MemorySegment keys;
    /** slot + 1, or 0 for an empty bucket. */
    private final int[] table;

    private final int mask;
    private final int[] free;
    private int freeTop;

    HashTableMap(MapSpec spec, int cpus) {
        super(spec, cpus, spec.maxEntries());
        keySize = spec.keySize();
        keys = Arena.ofAuto().allocate((long) keySize * spec.maxEntries(), 8);
        int cap = Integer.highestOneBit(Math.max(2, spec.maxEntries()) * 2 - 1) << 1;
        table = new int[cap];
        mask = cap - 1;
        free = new int[spec.maxEntries()];
        for (int i = 0; i < free.length; i++) {
            free[i] = free.length - 1 - i;
        }
        freeTop = free.length;
    }

    private int hash(MemorySegment key, long off) {
        long h = 0x9E3779B97F4A7C15L;
        int i = 0;
        for (; i + 8 <= keySize; i += 8) {
            h = (h ^ key.get(U64, off + i)) * 0xBF58476D1CE4E5B9L;
            h ^= h >>> 31;
        }
        for (; i < keySize; i++) {
            h = (h ^ key.get(ValueLayout.JAVA_BYTE, off + i)) * 0x94D049BB133111EBL;
        }
        h ^= h >>> 29;
        return (int) h;
    }

    private boolean keyEquals(int slot, MemorySegment key, long off) {
        long at = (long) slot * keySize;
        return MemorySegment.mismatch(keys, at, at + keySize, key, off, off + keySize) < 0;
    }

    private int bucketOf(MemorySegment key, long off) {
        for (int b = hash(key, off) & mask, n = 0; n <= mask; b = (b + 1) & mask, n++) {
            int e = (int) TABLE.getAcquire(table, b);
            if (e == 0) {
                return -1 - b;
            }
            if (keyEquals(e - 1, key, off)) {
                return b;
            }
        }
        return -1 - table.length;
    }

    @Override
    int slotOf(MemorySegment key, long off) {
        int b = bucketOf(key, off);
        return b < 0 ? -1 : (int) TABLE.getAcquire(table, b) - 1;
    }

    @Override
    synchronized int update(MemorySegment key, long keyOff, MemorySegment value, long valueOff, long flags, int cpu) {
        if (errFlags(flags) != 0) {
            return -EINVAL;
        }
        int b = bucketOf(key, keyOff);
        if (b >= 0) {
            if (flags == BPF_NOEXIST) {
                return -EEXIST;
            }
            storeValue(table[b] - 1, value, valueOff, cpu, false);
            return 0;
        }
        if (flags == BPF_EXIST) {
            return -ENOENT;
        }
        if (freeTop == 0 || -1 - b == table.length) {
            return -E2BIG;
        }
        int slot = free[--freeTop];
        MemorySegment.copy(key, keyOff, keys, (long) slot * keySize, keySize);
        storeValue(slot, value, valueOff, cpu, true);
        TABLE.setRelease(table, -1 - b, slot + 1);
        return 0;
    }

    @Override
    synchronized int delete(MemorySegment key, long off) {
        int b = bucketOf(key, off);
        if (b < 0) {
            return -ENOENT;
        }
        free[freeTop++] = table[b] - 1;
        // backward-shift deletion: move later members of the probe run into the hole
        int hole = b;
        for (int j = (hole + 1) & mask; table[j] != 0; j = (j + 1) & mask) {
            int home = hash(keys, (long) (table[j] - 1) * keySize) & mask;
            if (((j - home) & mask) >= ((j - hole) & mask)) {
                TABLE.setRelease(table, hole, table[j]);
                hole = j;
            }
        }
        TABLE.setRelease(table, hole, 0);
        return 0;
    }

    @Override
    public synchronized List<byte[]> keys() {
        List<byte[]> out = new ArrayList<>();
        for (int e : table) {
            if (e != 0) {
                out.add(keys.asSlice((long) (e - 1) * keySize, keySize).toArray(ValueLayout.JAVA_BYTE));
            }
        }
        return out;
    }

    /** Number of keys present. */
    public synchronized int size() {
        return free.length - freeTop;
    }
}
