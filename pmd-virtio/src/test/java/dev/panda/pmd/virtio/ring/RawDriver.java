package dev.panda.pmd.virtio.ring;

import static dev.panda.pmd.virtio.ring.SplitRing.AVAIL_IDX;
import static dev.panda.pmd.virtio.ring.SplitRing.AVAIL_RING;
import static dev.panda.pmd.virtio.ring.SplitRing.DESC_BYTES;
import static dev.panda.pmd.virtio.ring.SplitRing.U16_AT;
import static dev.panda.pmd.virtio.ring.SplitRing.USED_ELEM_BYTES;
import static dev.panda.pmd.virtio.ring.SplitRing.USED_ELEM_ID;
import static dev.panda.pmd.virtio.ring.SplitRing.USED_ELEM_LEN;
import static dev.panda.pmd.virtio.ring.SplitRing.USED_IDX;
import static dev.panda.pmd.virtio.ring.SplitRing.USED_RING;

import java.lang.foreign.MemorySegment;

/**
 * A driver that writes whatever a test tells it to, straight into the ring memory, the way a
 * hostile guest would: descriptors, indirect tables, avail entries and avail idx, no checks.
 * The rings are packed from offset {@code ringOffset} of {@code region}, which the device sees at
 * {@code regionBase}.
 */
final class RawDriver {

    final MemorySegment region;
    final long regionBase;
    final int size;
    final long descOff;
    final long availOff;
    final long usedOff;
    private int availIdx;

    RawDriver(MemorySegment region, long regionBase, long ringOffset, int size) {
        this.region = region;
        this.regionBase = regionBase;
        this.size = size;
        this.descOff = ringOffset;
        this.availOff = ringOffset + SplitRing.packedAvailOffset(size);
        this.usedOff = ringOffset + SplitRing.packedUsedOffset(size);
    }

    long descAddr() {
        return regionBase + descOff;
    }

    long availAddr() {
        return regionBase + availOff;
    }

    long usedAddr() {
        return regionBase + usedOff;
    }

    /** Writes descriptor {@code i} of the descriptor table. */
    void desc(int i, long addr, long len, int flags, int next) {
        table(descOff, i, addr, len, flags, next);
    }

    /** Writes entry {@code i} of a table starting at {@code tableOffset} in the region. */
    void table(long tableOffset, int i, long addr, long len, int flags, int next) {
        SplitRing.writeDesc(region, tableOffset + i * DESC_BYTES, addr, len, flags, next);
    }

    /** Puts {@code head} in the next avail entry and publishes it. */
    void offer(int head) {
        U16_AT.set(region, availOff + AVAIL_RING + 2L * (availIdx % size), (short) head);
        setAvailIdx(availIdx + 1);
    }

    void setAvailIdx(int idx) {
        availIdx = idx & 0xFFFF;
        AVAIL_IDX.setRelease(region, availOff, (short) availIdx);
    }

    int availIdx() {
        return availIdx;
    }

    int usedIdx() {
        return (short) USED_IDX.getAcquire(region, usedOff) & 0xFFFF;
    }

    int usedId(int k) {
        return (int) USED_ELEM_ID.get(region, usedOff + USED_RING + USED_ELEM_BYTES * (k % size));
    }

    int usedLen(int k) {
        return (int) USED_ELEM_LEN.get(region, usedOff + USED_RING + USED_ELEM_BYTES * (k % size));
    }
}
