package dev.panda.pmd.virtio.ring;

import static dev.panda.pmd.virtio.ring.PackedRing.DESC_ADDR;
import static dev.panda.pmd.virtio.ring.PackedRing.DESC_BYTES;
import static dev.panda.pmd.virtio.ring.PackedRing.DESC_FLAGS;
import static dev.panda.pmd.virtio.ring.PackedRing.DESC_F_INDIRECT;
import static dev.panda.pmd.virtio.ring.PackedRing.DESC_F_NEXT;
import static dev.panda.pmd.virtio.ring.PackedRing.DESC_F_WRITE;
import static dev.panda.pmd.virtio.ring.PackedRing.DESC_ID;
import static dev.panda.pmd.virtio.ring.PackedRing.DESC_LEN;
import static dev.panda.pmd.virtio.ring.PackedRing.EVENT_FLAGS;
import static dev.panda.pmd.virtio.ring.PackedRing.EVENT_FLAGS_DESC;
import static dev.panda.pmd.virtio.ring.PackedRing.EVENT_FLAGS_DISABLE;
import static dev.panda.pmd.virtio.ring.PackedRing.EVENT_FLAGS_ENABLE;
import static dev.panda.pmd.virtio.ring.PackedRing.EVENT_OFF_WRAP;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * The device side of a packed virtqueue (virtio 1.2 §2.8, {@link VirtioFeatures#F_RING_PACKED}):
 * the same job as {@link DeviceQueue} for the split format, with the same burst shape
 * ({@code pop}, {@code pushUsed}, {@code publishUsed}) and the same defence against the driver, in
 * a final class of its own so that the split queue's call sites stay monomorphic: a port decides
 * once, when a vring is set up, which of the two its poller drives.
 *
 * <p>The driver makes a chain available by writing its descriptors into consecutive slots of the
 * descriptor ring, the head's flags last; the device reads them at its avail index and wrap
 * counter, and answers with one used descriptor per chain (the buffer id the driver put in the
 * chain's last descriptor, the bytes written) at its used index, which then skips as many slots as
 * the chain took (§2.8.7, §2.8.21). Used descriptors are kept in a shadow until
 * {@link #publishUsed()}, which writes their ids and lengths, then their flags, the first one last
 * with a release store, so the driver sees a burst at once and never a half-written descriptor.
 *
 * <p>Untrusted, as in the split walker: a chain whose descriptors point outside the shared
 * regions, longer than the ring, with an indirect table inside an indirect table, an empty or
 * oversized table, a readable buffer after a writable one, or a buffer id not below Queue Size is
 * counted in {@link #errors()} by kind and handed back as used with length 0 (its slots are
 * consumed, so the rings stay in step); the queue goes on with the next chain. The device never
 * reads a slot the driver could not legitimately have made available again (at most Queue Size
 * slots beyond the last published used descriptor).
 *
 * <p>Notifications (§2.8.10): the driver's event suppression area (the Driver Area) says whether
 * it wants a used buffer notification (ENABLE, DISABLE, or DESC with an {@code off_wrap} when
 * VIRTIO_F_EVENT_IDX was negotiated); the device writes its own area (the Device Area) to turn
 * kicks off while it polls and back on ({@link #enableKicks()}) before it sleeps.
 */
public final class PackedDeviceQueue {

    /**
     * A descriptor's flags with acquire/release access (the {@link PackedRing#DESC} handles are
     * unaligned, for indirect tables, and so offer plain access only): the ring is 16-byte aligned.
     */
    private static final VarHandle FLAGS_AT =
            ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private static final long FLAGS = PackedRing.DESC_FLAGS_OFFSET;

    private final int size;
    private final MemorySegment ring;
    /** Written by the driver: its used-buffer notification wishes. */
    private final MemorySegment driverEvent;
    /** Written by the device: its available-buffer notification wishes. */
    private final MemorySegment deviceEvent;

    private final GuestMemory memory;
    private final RingErrors errors;
    private final boolean eventIdx;
    /** Set up as a queue the device only reads: WRITE flags ignored (see {@link #deviceReadsOnly()}). */
    private boolean readOnly;
    /** VIRTIO_F_IN_ORDER negotiated. */
    private final boolean inOrder;
    /** In order and read-only: one used descriptor per published burst (§2.8.9; see {@link #deviceReadsOnly()}). */
    private boolean batchUsed;
    /** The region of the previous translation: tried before the region table. */
    private final RegionCache regions;

    /** Next slot to read and the device's avail-side wrap counter. */
    private int availIdx;

    private boolean availWrap;
    /** Next slot a used descriptor goes to (pushed, maybe not yet published) and its wrap counter. */
    private int usedIdx;

    private boolean usedWrap;
    /** Where the first unpublished used descriptor goes: the driver has seen everything before. */
    private int pubIdx;

    private boolean pubWrap;
    /** Used descriptors pushed and not yet published: slot, id, len, flags. */
    private final int[] shadowAt;

    private final int[] shadowId;
    private final int[] shadowLen;
    private final int[] shadowFlags;
    private int pending;
    /** Malformed chains {@link #pop} returned itself (running count). */
    private int returned;
    /** False until the first notification decision: after (re)start the first publish notifies. */
    private boolean signalled;

    PackedDeviceQueue(
            String name,
            GuestMemory memory,
            int size,
            MemorySegment ring,
            MemorySegment driverEvent,
            MemorySegment deviceEvent,
            long features,
            int base) {
        PackedRing.checkSize(size);
        this.memory = Objects.requireNonNull(memory, "memory");
        this.regions = new RegionCache(memory);
        this.size = size;
        this.ring = part("descriptor ring", ring, PackedRing.descRingBytes(size), PackedRing.DESC_ALIGN);
        this.driverEvent =
                part("driver event suppression area", driverEvent, PackedRing.EVENT_BYTES, PackedRing.EVENT_ALIGN);
        this.deviceEvent =
                part("device event suppression area", deviceEvent, PackedRing.EVENT_BYTES, PackedRing.EVENT_ALIGN);
        this.eventIdx = VirtioFeatures.has(features, VirtioFeatures.F_EVENT_IDX);
        this.inOrder = VirtioFeatures.has(features, VirtioFeatures.F_IN_ORDER);
        this.errors = new RingErrors(name);
        int avail = base & 0xFFFF;
        int used = base >>> 16;
        if (used == 0) {
            used = avail; // a 16-bit base (DPDK's virtio-user): the ring stopped with everything used
        }
        if (PackedRing.offset(avail) >= size || PackedRing.offset(used) >= size) {
            throw new IllegalArgumentException("ring base 0x" + Integer.toHexString(base)
                    + " has an index outside a queue of " + size + " (virtio 1.2 §2.8)");
        }
        this.availIdx = PackedRing.offset(avail);
        this.availWrap = PackedRing.wrap(avail);
        this.usedIdx = PackedRing.offset(used);
        this.usedWrap = PackedRing.wrap(used);
        if (slotsBetween(usedIdx, usedWrap, availIdx, availWrap) > size) {
            throw new IllegalArgumentException("ring base 0x" + Integer.toHexString(base)
                    + ": the used index is not behind the avail index (virtio 1.2 §2.8)");
        }
        this.pubIdx = usedIdx;
        this.pubWrap = usedWrap;
        this.shadowAt = new int[size];
        this.shadowId = new int[size];
        this.shadowLen = new int[size];
        this.shadowFlags = new int[size];
    }

    /**
     * A packed device queue over a ring already mapped: {@code ring} the descriptor ring (the
     * Descriptor Area), {@code driverEvent} and {@code deviceEvent} the two 4-byte event suppression
     * areas (Driver Area, Device Area), native and aligned as §2.8 requires (checked: a bad set-up
     * throws {@link IllegalArgumentException}).
     *
     * @param features the negotiated features ({@link VirtioFeatures#F_EVENT_IDX} matters here)
     * @param base     where the ring stands (vhost-user SET_VRING_BASE): bits 0-14 the next avail
     *                 slot, bit 15 its wrap counter, bits 16-31 the same for the used side, or 0
     *                 there when the used side stands where the avail side does
     */
    public static PackedDeviceQueue create(
            String name,
            GuestMemory memory,
            int size,
            MemorySegment ring,
            MemorySegment driverEvent,
            MemorySegment deviceEvent,
            long features,
            int base) {
        return new PackedDeviceQueue(name, memory, size, ring, driverEvent, deviceEvent, features, base);
    }

    /** Same, with the three parts as addresses in {@code memory} (one address space for rings and buffers). */
    public static PackedDeviceQueue at(
            String name,
            GuestMemory memory,
            int size,
            long ringAddr,
            long driverEventAddr,
            long deviceEventAddr,
            long features,
            int base) {
        PackedRing.checkSize(size);
        return create(
                name,
                memory,
                size,
                map(memory, "descriptor ring", ringAddr, PackedRing.descRingBytes(size)),
                map(memory, "driver event suppression area", driverEventAddr, PackedRing.EVENT_BYTES),
                map(memory, "device event suppression area", deviceEventAddr, PackedRing.EVENT_BYTES),
                features,
                base);
    }

    private static MemorySegment map(GuestMemory memory, String what, long addr, long bytes) {
        int r = memory.find(addr, bytes);
        if (r < 0) {
            throw new IllegalArgumentException(what + " at 0x" + Long.toHexString(addr) + " (" + bytes
                    + " bytes) is not inside one memory region");
        }
        return memory.segment(r).asSlice(memory.offset(r, addr), bytes);
    }

    private static MemorySegment part(String what, MemorySegment s, long bytes, int alignment) {
        if (!s.isNative()) {
            throw new IllegalArgumentException(what + " is not native memory");
        }
        if (s.byteSize() < bytes) {
            throw new IllegalArgumentException(what + " has " + s.byteSize() + " bytes, needs " + bytes);
        }
        if (s.address() % alignment != 0) {
            throw new IllegalArgumentException(what + " at 0x" + Long.toHexString(s.address()) + " is not aligned to "
                    + alignment + " (virtio 1.2 §2.8)");
        }
        return s;
    }

    /**
     * Makes this a queue the device only reads (a virtio-net transmit queue): the WRITE flag of
     * its descriptors is ignored and every buffer is device-readable, as DPDK's vhost library
     * takes them. Needed for DPDK's virtio driver, whose packed indirect tables keep the WRITE
     * flag its set-up put in the entry of the virtio-net header. With VIRTIO_F_IN_ORDER such a
     * queue also returns a published burst as one used descriptor, the last buffer's id at the
     * first one's slot (§2.8.9: the driver frees every buffer up to that id and skips as many
     * slots), as DPDK's vhost does; its caller must then push used chains in the order it popped
     * them, with nothing written. Control side, before the first pop; returns this queue.
     */
    public PackedDeviceQueue deviceReadsOnly() {
        readOnly = true;
        batchUsed = inOrder;
        return this;
    }

    /** Slots from position (i1, w1) forward to (i2, w2), 0 .. size (equal positions with other wraps: a lap). */
    private int slotsBetween(int i1, boolean w1, int i2, boolean w2) {
        return w1 == w2 ? i2 - i1 : i2 + size - i1;
    }

    /** Slots the device may still read before it would pass the last published used descriptor by a lap. */
    private int room() {
        return size - slotsBetween(pubIdx, pubWrap, availIdx, availWrap);
    }

    /** A chain description sized for this queue, to reuse for every pop. */
    public Chain newChain() {
        return new Chain(memory, size);
    }

    /**
     * Available descriptors at the avail index, counted up to {@code max}: an upper bound on the
     * chains {@link #pop} will return now (a chain may take several slots).
     */
    public int available(int max) {
        int limit = Math.min(max, room());
        int idx = availIdx;
        boolean wrap = availWrap;
        int n = 0;
        while (n < limit) {
            int flags = (short) FLAGS_AT.getAcquire(ring, idx * DESC_BYTES + FLAGS) & 0xFFFF;
            if (!PackedRing.isAvail(flags, wrap)) {
                break;
            }
            n++;
            if (++idx == size) {
                idx = 0;
                wrap = !wrap;
            }
        }
        return n;
    }

    /**
     * Takes the next well-formed chain into {@code chain}; false when none is available. Malformed
     * chains met on the way are counted and returned (len 0); at most Queue Size chains are looked
     * at per call.
     */
    public boolean pop(Chain chain) {
        for (int tries = 0; tries < size; tries++) {
            int room = room();
            if (room == 0) {
                return false;
            }
            // §2.8.21: the driver writes the head's flags last (release); this acquire pairs with it
            int flags = (short) FLAGS_AT.getAcquire(ring, availIdx * DESC_BYTES + FLAGS) & 0xFFFF;
            if (!PackedRing.isAvail(flags, availWrap)) {
                return false;
            }
            if (walk(chain, flags, room)) {
                return true;
            }
            pushUsed(chain.head(), chain.ringSlots(), 0);
            returned++;
        }
        return false;
    }

    /**
     * Walks the chain at the avail index (its head's flags already read), at most {@code room}
     * ring slots, and moves the avail index past it, well-formed or not. False, with the problem
     * counted, if it is malformed; the chain then carries only its id and slot count.
     */
    private boolean walk(Chain chain, int headFlags, int room) {
        chain.reset(0);
        int idx = availIdx;
        boolean wrap = availWrap;
        int slots = 0;
        int id = 0;
        int flags = headFlags;
        boolean ok = true;
        boolean sawWritable = false;
        long bytes = 0;
        while (true) {
            if (slots == room) {
                // §2.8.7: no chain is longer than the ring; stop at what may be read and consume it
                if (ok) {
                    errors.count(RingErrors.Kind.TOO_LONG, slots);
                    ok = false;
                }
                break;
            }
            long at = idx * DESC_BYTES;
            // two loads per descriptor: addr, then len | id | flags (§2.8.13's layout); the head's
            // flags were read first, with acquire, and are the ones that count for it
            long addr = (long) DESC_ADDR.get(ring, at);
            long tail = (long) SplitRing.DESC_TAIL.get(ring, at + SplitRing.DESC_TAIL_OFFSET);
            if (slots > 0) {
                flags = (int) (tail >>> 48);
            }
            long len = tail & 0xFFFF_FFFFL;
            id = (int) (tail >>> 32) & 0xFFFF;
            slots++;
            if (++idx == size) {
                idx = 0;
                wrap = !wrap;
            }
            if (ok) {
                if ((flags & DESC_F_INDIRECT) != 0) {
                    if ((flags & DESC_F_NEXT) != 0) {
                        // §2.8.7: the driver MUST NOT set INDIRECT and NEXT together
                        errors.count(RingErrors.Kind.INDIRECT_WITH_NEXT, at);
                        ok = false;
                    } else if (slots > 1) {
                        // an indirect buffer is the whole chain: one ring slot, nothing before it
                        errors.count(RingErrors.Kind.INDIRECT_WITH_NEXT, at);
                        ok = false;
                    } else {
                        ok = indirect(chain, addr, len);
                    }
                } else if (len == 0) {
                    errors.count(RingErrors.Kind.ZERO_LENGTH, at);
                } else {
                    boolean writable = !readOnly && (flags & DESC_F_WRITE) != 0;
                    ok = buffer(chain, addr, len, writable, sawWritable, bytes);
                    sawWritable |= writable;
                    bytes += len;
                }
            }
            if ((flags & DESC_F_NEXT) == 0) {
                break;
            }
        }
        availIdx = idx;
        availWrap = wrap;
        if (ok && id >= size) {
            // §2.8.13: buffer ids name the driver's buffers, at most Queue Size of them
            errors.count(RingErrors.Kind.BAD_HEAD, id);
            ok = false;
        }
        chain.finishPacked(id, slots);
        return ok;
    }

    /** §2.8.7: a table of {@code len / 16} consecutive descriptors, none indirect, NEXT ignored. */
    private boolean indirect(Chain chain, long addr, long len) {
        if (len == 0 || len % DESC_BYTES != 0 || len > size * DESC_BYTES) {
            errors.count(RingErrors.Kind.BAD_INDIRECT_LENGTH, len);
            return false;
        }
        int r = regions.find(addr, len);
        if (r < 0) {
            errors.count(RingErrors.Kind.BAD_ADDRESS, addr);
            return false;
        }
        MemorySegment table = memory.segment(r);
        long base = regions.offset();
        int entries = (int) (len / DESC_BYTES);
        boolean sawWritable = false;
        long bytes = 0;
        for (int i = 0; i < entries; i++) {
            long at = base + i * DESC_BYTES;
            long a = (long) DESC_ADDR.get(table, at);
            long l = Integer.toUnsignedLong((int) DESC_LEN.get(table, at));
            int f = (short) DESC_FLAGS.get(table, at) & 0xFFFF;
            if ((f & DESC_F_INDIRECT) != 0) {
                errors.count(RingErrors.Kind.NESTED_INDIRECT, a);
                return false;
            }
            if (l == 0) {
                errors.count(RingErrors.Kind.ZERO_LENGTH, at);
                continue;
            }
            boolean writable = !readOnly && (f & DESC_F_WRITE) != 0;
            if (!buffer(chain, a, l, writable, sawWritable, bytes)) {
                return false;
            }
            sawWritable |= writable;
            bytes += l;
        }
        return true;
    }

    /** One buffer of a chain, translated and bounds-checked, appended; false (counted) if bad. */
    private boolean buffer(Chain chain, long addr, long len, boolean writable, boolean sawWritable, long bytes) {
        if (!writable && sawWritable) {
            errors.count(RingErrors.Kind.READ_AFTER_WRITE, addr);
            return false;
        }
        int r = regions.find(addr, len);
        if (r < 0) {
            errors.count(RingErrors.Kind.BAD_ADDRESS, addr);
            return false;
        }
        if (chain.full()) {
            errors.count(RingErrors.Kind.TOO_LONG, addr);
            return false;
        }
        if (bytes + len > 1L << 32) {
            errors.count(RingErrors.Kind.TOO_MANY_BYTES, addr);
            return false;
        }
        chain.add(r, regions.offset(), len, writable);
        return true;
    }

    /**
     * Marks {@code chain} used with {@code written} bytes in its device-writable buffers; the
     * driver sees it at the next {@link #publishUsed()}. Chains may be returned in any order
     * (each used descriptor skips the slots its own chain took).
     */
    public void pushUsed(Chain chain, long written) {
        pushUsed(chain.head(), chain.ringSlots(), written);
    }

    private void pushUsed(int id, int slots, long written) {
        int p = pending;
        shadowAt[p] = usedIdx;
        shadowId[p] = id;
        shadowLen[p] = (int) written;
        // §2.8.6: WRITE in a used descriptor says len counts bytes written
        shadowFlags[p] = PackedRing.usedFlags(usedWrap) | (written != 0 ? DESC_F_WRITE : 0);
        pending = p + 1;
        int next = usedIdx + slots;
        if (next >= size) {
            next -= size;
            usedWrap = !usedWrap;
        }
        usedIdx = next;
    }

    /**
     * Writes the pushed used descriptors into the ring and says whether the driver wants a used
     * buffer notification for them (§2.8.10). False if nothing was pushed since the last call.
     */
    public boolean publishUsed() {
        int n = pending;
        if (n == 0) {
            return false;
        }
        MemorySegment r = ring;
        if (batchUsed) {
            // §2.8.9, in order: one used descriptor for the burst, the last id where the first goes
            long at = shadowAt[0] * DESC_BYTES;
            DESC_ID.set(r, at, (short) shadowId[n - 1]);
            DESC_LEN.set(r, at, 0);
            FLAGS_AT.setRelease(r, at + FLAGS, (short) shadowFlags[0]);
            return published();
        }
        for (int i = 0; i < n; i++) {
            long at = shadowAt[i] * DESC_BYTES;
            DESC_ID.set(r, at, (short) shadowId[i]);
            DESC_LEN.set(r, at, shadowLen[i]);
        }
        // §2.8.21: id and len before flags; the first descriptor's flags last, so the driver,
        // which reads from there, sees the whole burst or none of it
        VarHandle.releaseFence();
        for (int i = 1; i < n; i++) {
            DESC_FLAGS.set(r, shadowAt[i] * DESC_BYTES, (short) shadowFlags[i]);
        }
        FLAGS_AT.setRelease(r, shadowAt[0] * DESC_BYTES + FLAGS, (short) shadowFlags[0]);
        return published();
    }

    /** After a publish: the used position moves on; whether the driver wants a notification. */
    private boolean published() {
        pending = 0;
        int oldIdx = pubIdx;
        pubIdx = usedIdx;
        pubWrap = usedWrap;
        // store flags, then load the driver's event area: only a full fence orders them
        VarHandle.fullFence();
        return needsInterrupt(oldIdx);
    }

    private boolean needsInterrupt(int oldIdx) {
        boolean first = !signalled;
        signalled = true;
        int flags = (short) EVENT_FLAGS.getAcquire(driverEvent, 0L) & 0xFFFF;
        if (first) {
            return true;
        }
        if (flags == EVENT_FLAGS_DISABLE) {
            return false;
        }
        if (flags != EVENT_FLAGS_DESC || !eventIdx) {
            return true; // ENABLE, or a value the driver may not use: notifying is always safe
        }
        int offWrap = (short) EVENT_OFF_WRAP.getAcquire(driverEvent, 0L) & 0xFFFF;
        int off = PackedRing.offset(offWrap);
        int newIdx = pubIdx;
        int old = oldIdx;
        if (newIdx <= old) {
            old -= size;
        }
        if (PackedRing.wrap(offWrap) != pubWrap) {
            off -= size;
        }
        return PackedRing.needEvent(off, newIdx, old);
    }

    /**
     * Asks the driver for available buffer notifications again (§2.8.10), before the poller goes
     * to sleep. Returns true if chains arrived meanwhile: then do not sleep, poll again.
     */
    public boolean enableKicks() {
        if (eventIdx) {
            EVENT_OFF_WRAP.set(deviceEvent, 0L, (short) PackedRing.offWrap(availIdx, availWrap));
            EVENT_FLAGS.setRelease(deviceEvent, 0L, (short) EVENT_FLAGS_DESC);
        } else {
            EVENT_FLAGS.setRelease(deviceEvent, 0L, (short) EVENT_FLAGS_ENABLE);
        }
        VarHandle.fullFence();
        return available(1) != 0;
    }

    /** Tells the driver that kicks are not needed while the poller is busy (§2.8.10). */
    public void disableKicks() {
        EVENT_FLAGS.setRelease(deviceEvent, 0L, (short) EVENT_FLAGS_DISABLE);
    }

    /** Position to come back to with {@link #rewind(long)}. */
    public long mark() {
        return (long) PackedRing.offWrap(availIdx, availWrap)
                | (long) PackedRing.offWrap(usedIdx, usedWrap) << 16
                | (long) pending << 32;
    }

    /**
     * Gives back every chain popped since {@code mark} and drops the used descriptors pushed since
     * then (they must not have been published).
     */
    public void rewind(long mark) {
        int p = (int) (mark >>> 32);
        if (p > pending) {
            throw new IllegalStateException("used descriptors were published since the mark");
        }
        int avail = (int) mark & 0xFFFF;
        int used = (int) (mark >>> 16) & 0xFFFF;
        availIdx = PackedRing.offset(avail);
        availWrap = PackedRing.wrap(avail);
        usedIdx = PackedRing.offset(used);
        usedWrap = PackedRing.wrap(used);
        pending = p;
    }

    /** Malformed chains {@link #pop} has returned itself (len 0), a running count. */
    public int returnedChains() {
        return returned;
    }

    /**
     * Where the ring stands, for vhost-user GET_VRING_BASE: the next avail slot and its wrap
     * counter in bits 0-15, the next used slot (as published) and its wrap counter in bits 16-31.
     */
    public int vringBase() {
        return PackedRing.offWrap(availIdx, availWrap) | PackedRing.offWrap(pubIdx, pubWrap) << 16;
    }

    /** The next avail slot and wrap counter ({@code off_wrap} form). */
    public int lastAvailIdx() {
        return PackedRing.offWrap(availIdx, availWrap);
    }

    /** The next used slot as published, and its wrap counter ({@code off_wrap} form). */
    public int usedIdx() {
        return PackedRing.offWrap(pubIdx, pubWrap);
    }

    public int size() {
        return size;
    }

    public boolean eventIdx() {
        return eventIdx;
    }

    public RingErrors errors() {
        return errors;
    }
}
