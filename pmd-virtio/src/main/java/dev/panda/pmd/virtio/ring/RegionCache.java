package dev.panda.pmd.virtio.ring;

/**
 * The region a queue's last buffer was in, for the walkers ({@link DescriptorWalker},
 * {@link PackedDeviceQueue}): a buffer inside it is translated with two compares on cached
 * fields (its guest start and size), no call into {@link GuestMemory}; any other goes through
 * {@link GuestMemory#find} and is checked against the region's segment before it is cached. Never
 * a hit outside the region: the cached size is the segment's own.
 */
final class RegionCache {

    private final GuestMemory memory;
    private int region = -1;
    /** Guest address of the cached region's first byte. */
    private long base;
    /** The cached region's size (its segment's); 0 while nothing is cached. */
    private long size;
    /** Offset within its region of the last address {@link #find} accepted. */
    private long offset;

    RegionCache(GuestMemory memory) {
        this.memory = memory;
    }

    /**
     * The region holding all of {@code [addr, addr + len)} ({@code len} at most 2^32), or -1;
     * when found, {@link #offset()} is {@code addr}'s offset in it.
     */
    int find(long addr, long len) {
        long off = addr - base;
        long s = size;
        if (Long.compareUnsigned(off, s) < 0 && len <= s - off) {
            offset = off;
            return region;
        }
        return miss(addr, len);
    }

    private int miss(long addr, long len) {
        int r = memory.find(addr, len);
        if (r < 0) {
            return -1;
        }
        long s = memory.segment(r).byteSize();
        long off = memory.offset(r, addr);
        if (off < 0 || off > s || len > s - off) {
            return -1; // whatever the table claimed, never past its segment
        }
        region = r;
        base = addr - off;
        size = s;
        offset = off;
        return r;
    }

    /** Offset of the address the last successful {@link #find} took, in its region. */
    long offset() {
        return offset;
    }
}
