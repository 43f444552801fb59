package dev.panda.pmd.virtio.ring;

import java.lang.foreign.MemorySegment;

/** A test {@link GuestMemory} of several regions at chosen guest addresses, with gaps between. */
final class MultiRegionMemory implements GuestMemory {

    private final long[] base;
    private final MemorySegment[] segments;

    /** {@code base[i]} is where {@code segments[i]} starts in guest address space. */
    MultiRegionMemory(long[] base, MemorySegment[] segments) {
        this.base = base.clone();
        this.segments = segments.clone();
    }

    @Override
    public int find(long addr, long len) {
        for (int r = 0; r < base.length; r++) {
            long size = segments[r].byteSize();
            long off = addr - base[r];
            if (Long.compareUnsigned(addr, base[r]) >= 0
                    && Long.compareUnsigned(off, size) < 0
                    && Long.compareUnsigned(len, size - off) <= 0) {
                return r;
            }
        }
        return -1;
    }

    @Override
    public MemorySegment segment(int region) {
        return segments[region];
    }

    @Override
    public long offset(int region, long addr) {
        return addr - base[region];
    }

    long base(int region) {
        return base[region];
    }
}
