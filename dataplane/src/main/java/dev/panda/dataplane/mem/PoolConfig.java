package dev.panda.dataplane.mem;

/**
 * Size and placement of a {@link PacketPool}.
 *
 * @param count     number of buffers
 * @param headroom  bytes reserved in front of the packet data (for headers a port prepends)
 * @param dataRoom  bytes of packet data a buffer holds
 * @param hugepages whether the region is backed by hugetlb pages
 */
public record PoolConfig(int count, int headroom, int dataRoom, Hugepages hugepages) {

    public static final int DEFAULT_COUNT = 16384;
    public static final int DEFAULT_HEADROOM = 128;
    public static final int DEFAULT_DATA_ROOM = 2048;
    static final int CACHE_LINE = 64;

    /** Hugetlb policy: ON fails without hugepages, AUTO falls back to 4 KiB pages, OFF never tries. */
    public enum Hugepages {
        ON,
        AUTO,
        OFF
    }

    public PoolConfig {
        if (count < 1 || count > (1 << 24)) {
            throw new IllegalArgumentException("buffer count must be 1.." + (1 << 24) + ", got " + count);
        }
        if (headroom < 0 || headroom > 4096) {
            throw new IllegalArgumentException("headroom must be 0..4096, got " + headroom);
        }
        if (dataRoom < 64 || dataRoom > 65536) {
            throw new IllegalArgumentException("data room must be 64..65536, got " + dataRoom);
        }
    }

    public static PoolConfig defaults() {
        return new PoolConfig(DEFAULT_COUNT, DEFAULT_HEADROOM, DEFAULT_DATA_ROOM, Hugepages.AUTO);
    }

    public PoolConfig withCount(int n) {
        return new PoolConfig(n, headroom, dataRoom, hugepages);
    }

    public PoolConfig withHugepages(Hugepages h) {
        return new PoolConfig(count, headroom, dataRoom, h);
    }

    public PoolConfig withDataRoom(int d) {
        return new PoolConfig(count, headroom, d, hugepages);
    }

    /** Bytes between the starts of two buffers. */
    public long stride() {
        return ((long) headroom + dataRoom + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
    }

    /** Bytes of the whole region before rounding to the page size. */
    public long regionBytes() {
        return count * stride();
    }
}
