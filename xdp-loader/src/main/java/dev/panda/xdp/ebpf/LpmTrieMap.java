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
 * {@code BPF_MAP_TYPE_LPM_TRIE}: keys are {@code struct bpf_lpm_trie_key} (a host-order u32
 * prefix length, then the address bytes in network order). A lookup returns the entry with the
 * longest prefix among those whose prefix length is at most the key's and whose first prefix
 * bits equal the key's, bits counted from the most significant bit of byte 0 (kernel docs,
 * "BPF_MAP_TYPE_LPM_TRIE"; kernel/bpf/lpm_trie.c). Entries are identified by (prefix length,
 * prefix bits); an update with a prefix length above the key's bits fails with EINVAL, a full
 * map with ENOSPC.
 *
 * <p>Here a flat list scanned in full per lookup: O(entries), fine for prefilter rule sets of
 * tens to a few hundred prefixes. Writers lock; readers see the list through an acquire load of
 * its length and may miss an entry moved by a concurrent delete.
 */
public final class LpmTrieMap extends EbpfMap {

    private static final VarHandle COUNT;

    static {
        try {
            COUNT = MethodHandles.lookup().findVarHandle(LpmTrieMap.class, "count", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.nativeOrder());

    private final int keySize;
    private final int maxBits;
    private final MemorySegment keys;
    /** Present slots, [0, count). */
    private final int[] order;

    private final int[] free;
    private int freeTop;

    @SuppressWarnings("unused") // through COUNT
    private volatile int count;

    LpmTrieMap(MapSpec spec) {
        super(spec, 1, spec.maxEntries());
        keySize = spec.keySize();
        if (keySize < 5 || keySize > 4 + 256) {
            throw new BpfFormatException("lpm_trie map " + spec.name() + ": key size " + keySize
                    + ", must be 4 (prefix length) + 1 to 256 data bytes");
        }
        maxBits = (keySize - 4) * 8;
        keys = Arena.ofAuto().allocate((long) keySize * spec.maxEntries(), 8);
        order = new int[spec.maxEntries()];
        free = new int[spec.maxEntries()];
        for (int i = 0; i < free.length; i++) {
            free[i] = free.length - 1 - i;
        }
        freeTop = free.length;
    }

    /** True if the first {@code bits} bits of the data of stored key {@code slot} and of {@code key} agree. */
    private boolean prefixEquals(int slot, MemorySegment key, long off, int bits) {
        long at = (long) slot * keySize + 4;
        int bytes = bits >>> 3;
        if (bytes > 0 && MemorySegment.mismatch(keys, at, at + bytes, key, off + 4, off + 4 + bytes) >= 0) {
            return false;
        }
        int rest = bits & 7;
        if (rest == 0) {
            return true;
        }
        int m = (0xff00 >>> rest) & 0xff;
        return ((keys.get(ValueLayout.JAVA_BYTE, at + bytes) ^ key.get(ValueLayout.JAVA_BYTE, off + 4 + bytes)) & m)
                == 0;
    }

    private int prefixLen(int slot) {
        return keys.get(U32, (long) slot * keySize);
    }

    @Override
    int slotOf(MemorySegment key, long off) {
        long keyBits = Integer.toUnsignedLong(key.get(U32, off));
        int n = (int) COUNT.getAcquire(this);
        int best = -1;
        int bestLen = -1;
        for (int i = 0; i < n; i++) {
            int slot = order[i];
            int len = prefixLen(slot);
            if (len > bestLen && len <= keyBits && prefixEquals(slot, key, off, len)) {
                best = slot;
                bestLen = len;
            }
        }
        return best;
    }

    /** Index in {@link #order} of the entry with exactly this prefix, or -1. */
    private int exact(MemorySegment key, long off, int len) {
        int n = (int) COUNT.getAcquire(this);
        for (int i = 0; i < n; i++) {
            if (prefixLen(order[i]) == len && prefixEquals(order[i], key, off, len)) {
                return i;
            }
        }
        return -1;
    }

    @Override
    synchronized int update(MemorySegment key, long keyOff, MemorySegment value, long valueOff, long flags, int cpu) {
        if (errFlags(flags) != 0) {
            return -EINVAL;
        }
        int len = key.get(U32, keyOff);
        if (Integer.compareUnsigned(len, maxBits) > 0) {
            return -EINVAL;
        }
        int i = exact(key, keyOff, len);
        if (i >= 0) {
            if (flags == BPF_NOEXIST) {
                return -EEXIST;
            }
            MemorySegment.copy(key, keyOff, keys, (long) order[i] * keySize, keySize);
            storeValue(order[i], value, valueOff, cpu, false);
            return 0;
        }
        if (flags == BPF_EXIST) {
            return -ENOENT;
        }
        if (freeTop == 0) {
            return -ENOSPC;
        }
        int slot = free[--freeTop];
        MemorySegment.copy(key, keyOff, keys, (long) slot * keySize, keySize);
        storeValue(slot, value, valueOff, cpu, true);
        int n = count;
        order[n] = slot;
        COUNT.setRelease(this, n + 1);
        return 0;
    }

    @Override
    synchronized int delete(MemorySegment key, long off) {
        int len = key.get(U32, off);
        if (Integer.compareUnsigned(len, maxBits) > 0) {
            return -EINVAL;
        }
        int i = exact(key, off, len);
        if (i < 0) {
            return -ENOENT;
        }
        free[freeTop++] = order[i];
        int last = count - 1;
        order[i] = order[last];
        COUNT.setRelease(this, last);
        return 0;
    }

    @Override
    public synchronized List<byte[]> keys() {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(keys.asSlice((long) order[i] * keySize, keySize).toArray(ValueLayout.JAVA_BYTE));
        }
        return out;
    }
}
