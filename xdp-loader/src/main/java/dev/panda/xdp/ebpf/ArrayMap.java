package dev.panda.xdp.ebpf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code BPF_MAP_TYPE_ARRAY} and {@code BPF_MAP_TYPE_PERCPU_ARRAY}: a u32 index below
 * {@code max_entries}, every element present from the start and zeroed
 * (kernel docs, "BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY": update with
 * {@code BPF_NOEXIST} fails with EEXIST, delete fails with EINVAL).
 */
public final class ArrayMap extends EbpfMap {

    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    ArrayMap(MapSpec spec, int cpus) {
        super(spec, cpus, spec.maxEntries());
        if (spec.keySize() != 4) {
            throw new BpfFormatException("array map " + spec.name() + ": key size " + spec.keySize() + ", must be 4");
        }
        if (spec.initial() != null) {
            MemorySegment.copy(
                    MemorySegment.ofArray(spec.initial()),
                    0,
                    values,
                    0,
                    Math.min(spec.initial().length, spec.valueSize()));
        }
    }

    @Override
    int slotOf(MemorySegment key, long off) {
        int index = key.get(U32, off);
        return Integer.compareUnsigned(index, spec.maxEntries()) < 0 ? index : -1;
    }

    @Override
    synchronized int update(MemorySegment key, long keyOff, MemorySegment value, long valueOff, long flags, int cpu) {
        if (errFlags(flags) != 0) {
            return -EINVAL;
        }
        int slot = slotOf(key, keyOff);
        if (slot < 0) {
            return -E2BIG;
        }
        if (flags == BPF_NOEXIST) {
            return -EEXIST;
        }
        storeValue(slot, value, valueOff, cpu, false);
        return 0;
    }

    @Override
    int delete(MemorySegment key, long off) {
        return -EINVAL;
    }

    @Override
    public List<byte[]> keys() {
        List<byte[]> out = new ArrayList<>(spec.maxEntries());
        for (int i = 0; i < spec.maxEntries(); i++) {
            out.add(ByteBuffer.allocate(4)
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .putInt(i)
                    .array());
        }
        return out;
    }
}
