package dev.panda.pmd.virtio.vduse;

import dev.panda.pmd.virtio.ring.GuestMemory;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The driver's memory as a VDUSE device sees it: IOVA ranges {@code [start, last]} of the device's
 * IOTLB, each mapped here from the fd VDUSE_IOTLB_GET_FD gave (the kernel's bounce buffers and the
 * coherent allocations that hold the rings). Immutable: the control thread builds a new one when
 * the IOTLB changes and swaps it in only after the pollers have let go of the old one. A handful of
 * ranges, so {@link #find} scans them; it never allocates.
 */
public final class IotlbMemory implements GuestMemory {

    /** One mapped IOTLB entry. */
    public record Range(long start, long last, MemorySegment mapping, boolean writable) {
        public Range {
            if (Long.compareUnsigned(start, last) > 0 || mapping.byteSize() != last - start + 1) {
                throw new IllegalArgumentException("range [0x" + Long.toHexString(start) + ", 0x"
                        + Long.toHexString(last) + "] with a mapping of " + mapping.byteSize() + " bytes");
            }
        }
    }

    private final long[] starts;
    private final long[] lasts;
    private final MemorySegment[] segments;
    private final List<Range> ranges;

    public IotlbMemory(List<Range> ranges) {
        this.ranges = List.copyOf(ranges);
        int n = ranges.size();
        this.starts = new long[n];
        this.lasts = new long[n];
        this.segments = new MemorySegment[n];
        for (int i = 0; i < n; i++) {
            Range r = ranges.get(i);
            starts[i] = r.start();
            lasts[i] = r.last();
            segments[i] = r.mapping();
        }
    }

    public List<Range> ranges() {
        return ranges;
    }

    @Override
    public int find(long addr, long len) {
        long end;
        if (len == 0) {
            end = addr;
        } else {
            end = addr + len - 1;
            if (Long.compareUnsigned(end, addr) < 0) {
                return -1; // wraps past 2^64
            }
        }
        for (int i = 0; i < starts.length; i++) {
            if (Long.compareUnsigned(addr, starts[i]) >= 0 && Long.compareUnsigned(end, lasts[i]) <= 0) {
                return i;
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
        return addr - starts[region];
    }

    /** Bytes mapped in all. */
    public long bytes() {
        long b = 0;
        for (Range r : ranges) {
            b += r.mapping().byteSize();
        }
        return b;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("IOTLB[");
        for (Range r : ranges) {
            b.append(b.length() > 6 ? ", " : "")
                    .append("0x")
                    .append(Long.toHexString(r.start()))
                    .append("-0x")
                    .append(Long.toHexString(r.last()))
                    .append(r.writable() ? " rw" : " ro");
        }
        return b.append(']').toString();
    }
}
