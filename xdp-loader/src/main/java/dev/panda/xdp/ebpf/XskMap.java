package dev.panda.xdp.ebpf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code BPF_MAP_TYPE_XSKMAP} in userspace: index (u32 below {@code max_entries}) to a redirect
 * target the port sets from Java (in the kernel, an AF_XDP socket fd). Only
 * {@code bpf_redirect_map} reads it: an empty or out-of-range index makes the helper return the
 * action in the low two bits of its flags, a present one {@code XDP_REDIRECT} with the target
 * recorded in the {@link XdpContext} (kernel docs, "BPF_MAP_TYPE_XSKMAP"; net/core/filter.c
 * {@code __bpf_xdp_redirect_map}). A program's {@code bpf_map_lookup_elem} on it returns NULL.
 */
public final class XskMap extends EbpfMap {

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private final int[] targets;
    private final boolean[] present;

    XskMap(MapSpec spec) {
        super(spec, 1, spec.maxEntries());
        if (spec.keySize() != 4 || spec.valueSize() != 4) {
            throw new BpfFormatException("xskmap " + spec.name() + ": key and value must be 4 bytes");
        }
        targets = new int[spec.maxEntries()];
        present = new boolean[spec.maxEntries()];
    }

    /** The target at {@code index}, or -1 if none. */
    public int target(long index) {
        int i = (int) index;
        return Integer.compareUnsigned(i, targets.length) < 0 && present[i] ? targets[i] : -1;
    }

    @Override
    int slotOf(MemorySegment key, long off) {
        return -1;
    }

    int index(MemorySegment key, long off) {
        int i = key.get(U32, off);
        return Integer.compareUnsigned(i, targets.length) < 0 ? i : -1;
    }

    @Override
    synchronized int update(MemorySegment key, long keyOff, MemorySegment value, long valueOff, long flags, int cpu) {
        if (errFlags(flags) != 0) {
            return -EINVAL;
        }
        int i = index(key, keyOff);
        if (i < 0) {
            return -E2BIG;
        }
        if (present[i] && flags == BPF_NOEXIST) {
            return -EEXIST;
        }
        if (!present[i] && flags == BPF_EXIST) {
            return -ENOENT;
        }
        targets[i] = value.get(U32, valueOff);
        present[i] = true;
        return 0;
    }

    @Override
    synchronized int delete(MemorySegment key, long off) {
        int i = index(key, off);
        if (i < 0) {
            return -EINVAL;
        }
        if (!present[i]) {
            return -ENOENT;
        }
        present[i] = false;
        return 0;
    }

    @Override
    public byte[] lookup(byte[] key) {
        int t = target(ByteBuffer.wrap(key).order(ByteOrder.LITTLE_ENDIAN).getInt());
        return t < 0
                ? null
                : ByteBuffer.allocate(4)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putInt(t)
                        .array();
    }

    @Override
    public synchronized List<byte[]> keys() {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < targets.length; i++) {
            if (present[i]) {
                out.add(ByteBuffer.allocate(4)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putInt(i)
                        .array());
            }
        }
        return out;
    }
}
