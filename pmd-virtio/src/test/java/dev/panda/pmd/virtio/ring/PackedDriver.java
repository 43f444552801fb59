package dev.panda.pmd.virtio.ring;

import java.lang.foreign.MemorySegment;

/**
 * A packed-ring driver for tests (virtio 1.2 §2.8) that writes whatever it is told: descriptors
 * go into consecutive slots from its avail position with the AVAIL/USED bits of its wrap counter,
 * the head's flags last. Layout in {@code region} (seen at guest address {@code base}): the ring
 * at {@code ringOff}, the driver event area right after it, the device event area after that.
 */
final class PackedDriver {

    final MemorySegment region;
    final long base;
    final long ringOff;
    final long driverEventOff;
    final long deviceEventOff;
    final int size;
    int availIdx;
    boolean availWrap = true;
    int usedIdx;
    boolean usedWrap = true;

    PackedDriver(MemorySegment region, long base, long ringOff, int size) {
        this.region = region;
        this.base = base;
        this.ringOff = ringOff;
        this.size = size;
        this.driverEventOff = ringOff + PackedRing.blockDriverEventOffset(size);
        this.deviceEventOff = ringOff + PackedRing.blockDeviceEventOffset(size);
    }

    long ringAddr() {
        return base + ringOff;
    }

    long driverEventAddr() {
        return base + driverEventOff;
    }

    long deviceEventAddr() {
        return base + deviceEventOff;
    }

    /** One descriptor to offer: {@code flags} are NEXT/WRITE/INDIRECT only. */
    record D(long addr, int len, int id, int flags) {}

    static D d(long addr, int len, int id, int flags) {
        return new D(addr, len, id, flags);
    }

    /** Makes {@code descs} available as one chain (the caller sets NEXT where it wants it). */
    void offer(D... descs) {
        int idx = availIdx;
        boolean wrap = availWrap;
        int headAt = idx;
        int headFlags = 0;
        for (int i = 0; i < descs.length; i++) {
            D x = descs[i];
            long at = ringOff + idx * PackedRing.DESC_BYTES;
            PackedRing.DESC_ADDR.set(region, at, x.addr());
            PackedRing.DESC_LEN.set(region, at, x.len());
            PackedRing.DESC_ID.set(region, at, (short) x.id());
            int flags = x.flags() | PackedRing.availFlags(wrap);
            if (i == 0) {
                headFlags = flags;
            } else {
                PackedRing.DESC_FLAGS.set(region, at, (short) flags);
            }
            if (++idx == size) {
                idx = 0;
                wrap = !wrap;
            }
        }
        PackedRing.DESC_FLAGS.set(region, ringOff + headAt * PackedRing.DESC_BYTES, (short) headFlags);
        availIdx = idx;
        availWrap = wrap;
    }

    /** Writes a descriptor of an indirect table at {@code off} in the region (entry {@code i}). */
    void tableEntry(long off, int i, long addr, int len, int flags) {
        long at = off + i * PackedRing.DESC_BYTES;
        PackedRing.DESC_ADDR.set(region, at, addr);
        PackedRing.DESC_LEN.set(region, at, len);
        PackedRing.DESC_ID.set(region, at, (short) 0);
        PackedRing.DESC_FLAGS.set(region, at, (short) flags);
    }

    /** The used descriptor at the driver's used position, or null; advances by {@code slots} when there. */
    int[] takeUsed(int slots) {
        long at = ringOff + usedIdx * PackedRing.DESC_BYTES;
        int flags = (short) PackedRing.DESC_FLAGS.get(region, at) & 0xFFFF;
        if (!PackedRing.isUsed(flags, usedWrap)) {
            return null;
        }
        int id = (short) PackedRing.DESC_ID.get(region, at) & 0xFFFF;
        int len = (int) PackedRing.DESC_LEN.get(region, at);
        usedIdx += slots;
        if (usedIdx >= size) {
            usedIdx -= size;
            usedWrap = !usedWrap;
        }
        return new int[] {id, len, flags};
    }

    /** The driver's event suppression area (what it asks of the device about used notifications). */
    void driverEvent(int flags, int offWrap) {
        PackedRing.EVENT_OFF_WRAP.set(region, driverEventOff, (short) offWrap);
        PackedRing.EVENT_FLAGS.set(region, driverEventOff, (short) flags);
    }

    int deviceEventFlags() {
        return (short) PackedRing.EVENT_FLAGS.get(region, deviceEventOff) & 0xFFFF;
    }

    int deviceEventOffWrap() {
        return (short) PackedRing.EVENT_OFF_WRAP.get(region, deviceEventOff) & 0xFFFF;
    }
}
