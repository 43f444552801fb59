package dev.panda.pmd.virtio.ring;

import static dev.panda.pmd.virtio.ring.SplitRing.AVAIL_FLAGS;
import static dev.panda.pmd.virtio.ring.SplitRing.AVAIL_F_NO_INTERRUPT;
import static dev.panda.pmd.virtio.ring.SplitRing.AVAIL_IDX;
import static dev.panda.pmd.virtio.ring.SplitRing.AVAIL_RING;
import static dev.panda.pmd.virtio.ring.SplitRing.U16_AT;
import static dev.panda.pmd.virtio.ring.SplitRing.USED_ELEM_BYTES;
import static dev.panda.pmd.virtio.ring.SplitRing.USED_ELEM_ID;
import static dev.panda.pmd.virtio.ring.SplitRing.USED_ELEM_LEN;
import static dev.panda.pmd.virtio.ring.SplitRing.USED_FLAGS;
import static dev.panda.pmd.virtio.ring.SplitRing.USED_F_NO_NOTIFY;
import static dev.panda.pmd.virtio.ring.SplitRing.USED_IDX;
import static dev.panda.pmd.virtio.ring.SplitRing.USED_RING;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.Objects;

/**
 * The device side of a split virtqueue (virtio 1.2 §2.7): what a vhost-user backend does with the
 * rings a driver shares. One poller thread owns it; nothing here allocates or throws once built.
 *
 * <p>A burst: {@code while (n < max && q.pop(chain)) { ...use chain...; q.pushUsed(chain.head(),
 * written); }} then {@code if (q.publishUsed()) notifyDriver();}. Call {@link #publishUsed()}
 * after every poll, even an empty one: malformed chains are returned (len 0) inside {@link #pop}.
 *
 * <p>Everything the driver wrote is untrusted: a bad chain is counted in {@link #errors()} by
 * kind, returned with len 0 when its head is a valid id (§2.7.8 lets len underestimate), or
 * skipped when it is not; the queue goes on with the next chain. Built once per ring set-up, it
 * comes as one of two final classes, with or without VIRTIO_F_EVENT_IDX, so the notification
 * logic has no per-burst feature test.
 */
public abstract sealed class DeviceQueue permits DeviceQueue.EventIdx, DeviceQueue.Flags {

    final int size;
    final int mask;
    final MemorySegment avail;
    final MemorySegment used;
    final long usedEventOffset;
    final long availEventOffset;
    private final GuestMemory memory;
    private final RingErrors errors;
    private final DescriptorWalker walker;

    /** Next avail entry to consume (free-running u16). */
    int lastAvail;
    /** Last sane avail idx read: the entries below it have been seen. */
    int availCache;
    /** Malformed chains {@link #pop} returned to the used ring itself (free-running). */
    private int returned;
    /** Last insane avail idx counted, so a stuck bad value is counted once. */
    private int badAvail = -1;
    /** Next used entry to write, and the used idx last published (both free-running u16). */
    private int usedShadow;

    int usedPublished;

    DeviceQueue(
            String name,
            GuestMemory memory,
            int size,
            MemorySegment desc,
            MemorySegment avail,
            MemorySegment used,
            int lastAvailIdx) {
        SplitRing.checkSize(size);
        this.memory = Objects.requireNonNull(memory, "memory");
        this.size = size;
        this.mask = size - 1;
        part("descriptor table", desc, SplitRing.descTableBytes(size), SplitRing.DESC_ALIGN);
        this.avail = part("available ring", avail, SplitRing.availRingBytes(size), SplitRing.AVAIL_ALIGN);
        this.used = part("used ring", used, SplitRing.usedRingBytes(size), SplitRing.USED_ALIGN);
        this.usedEventOffset = SplitRing.usedEventOffset(size);
        this.availEventOffset = SplitRing.availEventOffset(size);
        this.errors = new RingErrors(name);
        this.walker = new DescriptorWalker(memory, desc, size, errors);
        this.lastAvail = lastAvailIdx & 0xFFFF;
        this.availCache = lastAvail;
        // vhost-user starts the used side where the ring says it is (a reconnect resumes there).
        this.usedShadow = (short) USED_IDX.getAcquire(used, 0L) & 0xFFFF;
        this.usedPublished = usedShadow;
    }

    /**
     * A device queue over rings already mapped: {@code desc}, {@code avail} and {@code used} must
     * be native segments of at least the §2.7 sizes, aligned as §2.7.1 requires (checked here,
     * on the control path: a bad set-up throws {@link IllegalArgumentException}).
     *
     * @param features     the negotiated feature bits ({@link VirtioFeatures#F_EVENT_IDX} matters here)
     * @param lastAvailIdx where to start consuming the available ring (vhost-user SET_VRING_BASE)
     */
    public static DeviceQueue create(
            String name,
            GuestMemory memory,
            int size,
            MemorySegment desc,
            MemorySegment avail,
            MemorySegment used,
            long features,
            int lastAvailIdx) {
        return VirtioFeatures.has(features, VirtioFeatures.F_EVENT_IDX)
                ? new EventIdx(name, memory, size, desc, avail, used, lastAvailIdx)
                : new Flags(name, memory, size, desc, avail, used, lastAvailIdx);
    }

    /**
     * Same, with the three parts given as addresses translated through {@code memory}, the view
     * descriptors are read in. Only for devices where ring and descriptor addresses live in one
     * address space: vhost-user gives ring addresses in the front-end's user addresses
     * (SET_VRING_ADDR) but descriptors in guest-physical ones, so it maps the rings through
     * {@code MemoryTable.userAddresses()} and calls {@link #create} (as {@code VhostBackend} does).
     */
    public static DeviceQueue at(
            String name,
            GuestMemory memory,
            int size,
            long descAddr,
            long availAddr,
            long usedAddr,
            long features,
            int lastAvailIdx) {
        SplitRing.checkSize(size);
        return create(
                name,
                memory,
                size,
                map(memory, "descriptor table", descAddr, SplitRing.descTableBytes(size)),
                map(memory, "available ring", availAddr, SplitRing.availRingBytes(size)),
                map(memory, "used ring", usedAddr, SplitRing.usedRingBytes(size)),
                features,
                lastAvailIdx);
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
                    + alignment + " (virtio 1.2 §2.7.1)");
        }
        return s;
    }

    /** A chain description sized for this queue (Queue Size segments), to reuse for every pop. */
    public final Chain newChain() {
        return new Chain(memory, size);
    }

    /**
     * Chains the driver has made available and the device not yet popped (at most Queue Size).
     * Reads avail {@code idx} again only when the cached value is used up.
     */
    public final int available() {
        int n = (availCache - lastAvail) & 0xFFFF;
        return n != 0 ? n : refresh();
    }

    private int refresh() {
        // §2.7.13.3: the driver's barrier before its idx update pairs with this acquire, so the
        // ring entries and descriptors below idx are visible once idx is.
        int idx = (short) AVAIL_IDX.getAcquire(avail, 0L) & 0xFFFF;
        int n = (idx - lastAvail) & 0xFFFF;
        if (n > size) {
            // §2.7.6: idx never decreases and cannot run more than Queue Size ahead; ignore it.
            if (idx != badAvail) {
                badAvail = idx;
                errors.count(RingErrors.Kind.AVAIL_IDX_JUMP, idx);
            }
            return 0;
        }
        availCache = idx;
        return n;
    }

    /**
     * Takes the next well-formed chain into {@code chain}; false when none is available. Malformed
     * chains met on the way are counted and returned (len 0) or skipped; at most Queue Size avail
     * entries are looked at per call, so a driver cannot keep the poller here.
     */
    public final boolean pop(Chain chain) {
        for (int tries = 0; tries < size; tries++) {
            if (lastAvail == availCache && refresh() == 0) {
                return false;
            }
            int head = (short) U16_AT.get(avail, AVAIL_RING + 2L * (lastAvail & mask)) & 0xFFFF;
            lastAvail = (lastAvail + 1) & 0xFFFF;
            if (head >= size) {
                errors.count(RingErrors.Kind.BAD_HEAD, head);
                continue;
            }
            if (walker.walk(head, chain)) {
                return true;
            }
            pushUsed(head, 0);
            returned++;
        }
        return false;
    }

    /**
     * Writes used entry {@code (head, written)} (§2.7.8: {@code len} is the bytes written to the
     * device-writable part); the driver sees it at the next {@link #publishUsed()}.
     */
    public final void pushUsed(int head, long written) {
        long at = USED_RING + USED_ELEM_BYTES * (usedShadow & mask);
        USED_ELEM_ID.set(used, at, head);
        USED_ELEM_LEN.set(used, at, (int) written);
        usedShadow = (usedShadow + 1) & 0xFFFF;
    }

    /**
     * Makes the pushed used entries visible and says whether the driver wants a used buffer
     * notification for them (§2.7.7). Returns false if nothing was pushed since the last call.
     */
    public final boolean publishUsed() {
        int now = usedShadow;
        if (now == usedPublished) {
            return false;
        }
        // §2.7.8.2: id and len are set before idx; the release store orders them.
        USED_IDX.setRelease(used, 0L, (short) now);
        int old = usedPublished;
        usedPublished = now;
        // Store idx, then load used_event/flags: only a full fence orders a store before a load.
        VarHandle.fullFence();
        return needsInterrupt(old, now);
    }

    abstract boolean needsInterrupt(int oldUsed, int newUsed);

    /**
     * Asks the driver for available buffer notifications again (§2.7.10), before the poller goes
     * to sleep. Returns true if chains arrived meanwhile: then do not sleep, poll again.
     */
    public abstract boolean enableKicks();

    /** Tells the driver that kicks are not needed while the poller is busy (§2.7.10). */
    public abstract void disableKicks();

    /** Position to come back to with {@link #rewind(int)} (e.g. a mergeable rx that ran short). */
    public final int mark() {
        return lastAvail | usedShadow << 16;
    }

    /**
     * Gives back every chain popped since {@code mark} and drops the used entries pushed since
     * then (they must not have been published). Malformed chains in between are counted again
     * when popped again.
     */
    public final void rewind(int mark) {
        int usedAt = mark >>> 16;
        if (((usedAt - usedPublished) & 0xFFFF) > ((usedShadow - usedPublished) & 0xFFFF)) {
            throw new IllegalStateException("used entries were published since the mark");
        }
        lastAvail = mark & 0xFFFF;
        usedShadow = usedAt;
    }

    /**
     * Gives back the chain the last successful {@link #pop} returned: the next pop returns it
     * again (§2.7.13.1: an available descriptor does not change until it is used). The malformed
     * chains that pop met before it stay returned and counted once, where {@link #rewind} would
     * undo and count them again.
     */
    public final void unpop() {
        lastAvail = (lastAvail - 1) & 0xFFFF;
    }

    /**
     * How many malformed chains {@link #pop} has put in the used ring itself (len 0), a running
     * count: a caller that pushes several entries for one packet (mergeable rx) compares it
     * around a pop to know whether one landed between its own.
     */
    public final int returnedChains() {
        return returned;
    }

    /** Next avail entry the device will read: vhost-user GET_VRING_BASE answers this. */
    public final int lastAvailIdx() {
        return lastAvail;
    }

    /** The used idx last published. */
    public final int usedIdx() {
        return usedPublished;
    }

    public final int size() {
        return size;
    }

    public abstract boolean eventIdx();

    public final RingErrors errors() {
        return errors;
    }

    /** With VIRTIO_F_EVENT_IDX: {@code used_event} and {@code avail_event} (§2.7.7, §2.7.10). */
    static final class EventIdx extends DeviceQueue {
        /** False until the first decision: after (re)start the first publish always notifies. */
        private boolean signalled;

        EventIdx(String name, GuestMemory m, int size, MemorySegment d, MemorySegment a, MemorySegment u, int last) {
            super(name, m, size, d, a, u, last);
        }

        @Override
        boolean needsInterrupt(int oldUsed, int newUsed) {
            // §2.7.7.2: notify iff the entry at index used_event was written in this batch.
            int event = (short) U16_AT.getAcquire(avail, usedEventOffset) & 0xFFFF;
            boolean first = !signalled;
            signalled = true;
            return first || SplitRing.needEvent(event, newUsed, oldUsed);
        }

        @Override
        public boolean enableKicks() {
            // §2.7.10.2: the driver notifies once it writes the avail entry at index avail_event;
            // ask for the first entry not yet seen.
            U16_AT.setRelease(used, availEventOffset, (short) availCache);
            VarHandle.fullFence();
            return available() != 0;
        }

        @Override
        public void disableKicks() {
            // Nothing to write: once passed, avail_event stays behind the driver, which then
            // notifies at most once per 65536 entries (§2.7.10: suppression is only advisory).
        }

        @Override
        public boolean eventIdx() {
            return true;
        }
    }

    /** Without VIRTIO_F_EVENT_IDX: VRING_AVAIL_F_NO_INTERRUPT and VRING_USED_F_NO_NOTIFY. */
    static final class Flags extends DeviceQueue {
        Flags(String name, GuestMemory m, int size, MemorySegment d, MemorySegment a, MemorySegment u, int last) {
            super(name, m, size, d, a, u, last);
        }

        @Override
        boolean needsInterrupt(int oldUsed, int newUsed) {
            // §2.7.7.2: flags 1 means SHOULD NOT notify, 0 means MUST notify.
            return ((short) AVAIL_FLAGS.getAcquire(avail, 0L) & AVAIL_F_NO_INTERRUPT) == 0;
        }

        @Override
        public boolean enableKicks() {
            USED_FLAGS.setRelease(used, 0L, (short) 0);
            VarHandle.fullFence();
            return available() != 0;
        }

        @Override
        public void disableKicks() {
            USED_FLAGS.setRelease(used, 0L, (short) USED_F_NO_NOTIFY);
        }

        @Override
        public boolean eventIdx() {
            return false;
        }
    }
}
