package dev.panda.pmd.virtio.ring;

import java.lang.foreign.MemorySegment;

/**
 * The memory a virtio driver shares with its device, as the device sees it: regions of guest
 * addresses (guest-physical for a VM, the front end's virtual addresses for vhost-user), each
 * mapped here as one bounded {@link MemorySegment}.
 *
 * <p>Every address a descriptor carries is untrusted and goes through {@link #find} before any
 * byte is touched (virtio 1.2 §2.7.5: {@code addr} is a guest address). Implementations must not
 * allocate in {@code find} and must be safe to call from the poller while the control thread only
 * swaps whole instances (docs/ARCHITECTURE.md, "Control path and data path").
 */
public interface GuestMemory {

    /**
     * The region holding all of {@code [addr, addr + len)} (both unsigned), or -1 if no single
     * region holds it, or if {@code addr + len} overflows 64 bits. A zero {@code len} asks for the
     * region holding {@code addr}.
     */
    int find(long addr, long len);

    /** The mapping of {@code region}, exactly as long as the region. */
    MemorySegment segment(int region);

    /**
     * Offset of guest address {@code addr} within {@link #segment(int) segment(region)}: plain
     * arithmetic that never throws, also for an address outside the region (the result then lies
     * outside the segment), so a caller may try a region before asking {@link #find}.
     */
    long offset(int region, long addr);
}
