package dev.panda.pmd.virtio.ring;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * One segment seen at guest address {@code base}: the driver side's view of its own memory
 * (virtio-user uses process virtual addresses as guest addresses, so {@code base} is then
 * {@code segment.address()}), and a simple memory for tests.
 */
public final class SingleRegionMemory implements GuestMemory {

    private final MemorySegment segment;
    private final long base;
    private final long size;

    /**
     * @param segment the mapping
     * @param base    the guest address of its first byte; {@code base + size} may reach but not pass 2<sup>64</sup>
     */
    public SingleRegionMemory(MemorySegment segment, long base) {
        this.segment = Objects.requireNonNull(segment, "segment");
        this.base = base;
        this.size = segment.byteSize();
        if (base != 0 && Long.compareUnsigned(size, -base) > 0) {
            throw new IllegalArgumentException(
                    "region at 0x" + Long.toHexString(base) + " of " + size + " bytes wraps the 64-bit address space");
        }
    }

    /** A native segment seen at its own virtual address. */
    public static SingleRegionMemory ofNative(MemorySegment segment) {
        if (!segment.isNative()) {
            throw new IllegalArgumentException("not a native segment: " + segment);
        }
        return new SingleRegionMemory(segment, segment.address());
    }

    public long base() {
        return base;
    }

    /** The guest address of byte {@code offset} of the segment. */
    public long address(long offset) {
        return base + offset;
    }

    @Override
    public int find(long addr, long len) {
        long off = addr - base;
        // Unsigned: addr >= base, off inside the region, and len fits in what is left (no overflow).
        if (Long.compareUnsigned(addr, base) < 0
                || Long.compareUnsigned(off, size) >= 0
                || Long.compareUnsigned(len, size - off) > 0) {
            return -1;
        }
        return 0;
    }

    @Override
    public MemorySegment segment(int region) {
        if (region != 0) {
            throw new IndexOutOfBoundsException("region " + region + " of 1");
        }
        return segment;
    }

    @Override
    public long offset(int region, long addr) {
        return addr - base;
    }

    @Override
    public String toString() {
        return "SingleRegionMemory[0x" + Long.toHexString(base) + ", " + size + " bytes]";
    }
}
