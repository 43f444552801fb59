package dev.panda.pmd.virtio.ring;

import static dev.panda.pmd.virtio.ring.SplitRing.AVAIL_FLAGS;
import static dev.panda.pmd.virtio.ring.SplitRing.AVAIL_F_NO_INTERRUPT;
import static dev.panda.pmd.virtio.ring.SplitRing.AVAIL_IDX;
import static dev.panda.pmd.virtio.ring.SplitRing.AVAIL_RING;
import static dev.panda.pmd.virtio.ring.SplitRing.DESC_BYTES;
import static dev.panda.pmd.virtio.ring.SplitRing.DESC_F_INDIRECT;
import static dev.panda.pmd.virtio.ring.SplitRing.DESC_F_NEXT;
import static dev.panda.pmd.virtio.ring.SplitRing.DESC_F_WRITE;
import static dev.panda.pmd.virtio.ring.SplitRing.U16_AT;
import static dev.panda.pmd.virtio.ring.SplitRing.USED_ELEM_BYTES;
import static dev.panda.pmd.virtio.ring.SplitRing.USED_ELEM_ID;
import static dev.panda.pmd.virtio.ring.SplitRing.USED_ELEM_LEN;
import static dev.panda.pmd.virtio.ring.SplitRing.USED_FLAGS;
import static dev.panda.pmd.virtio.ring.SplitRing.USED_F_NO_NOTIFY;
import static dev.panda.pmd.virtio.ring.SplitRing.USED_IDX;
import static dev.panda.pmd.virtio.ring.SplitRing.USED_RING;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.Objects;

/**
 * The driver side of a split virtqueue (virtio 1.2 §2.7.13, §2.7.14): what virtio-user or a
 * virtio-pci PMD does. It owns the three ring parts, packed in one block of memory the device can
 * reach ({@code ringAddr} is that block's address as the device sees it), and optionally one
 * indirect table per descriptor after them. One poller thread owns it; nothing allocates per buffer.
 *
 * <p>Buffers are guest addresses; each chain carries an int token (a packet handle) that
 * {@link #harvest} hands back with the length the device wrote. The device is not trusted either:
 * used ids and lengths are checked against what is in flight (counted in {@link #errors()}).
 * Free descriptors and chain links live in private arrays, never read back from shared memory.
 */
public abstract sealed class DriverQueue implements VirtqDriver permits DriverQueue.EventIdx, DriverQueue.Flags {

    final int size;
    final int mask;
    final MemorySegment avail;
    final MemorySegment used;
    final long usedEventOffset;
    final long availEventOffset;
    private final MemorySegment desc;
    private final MemorySegment indirect;
    private final long ringAddr;
    private final long indirectAddr;
    private final int indirectMax;
    private final RingErrors errors;
    private final int[] link;
    private final int[] chainLen;
    private final int[] tokens;
    private final long[] writable;
    private int freeHead;
    private int freeCount;
    private int inFlight;
    private int availShadow;
    private int availPublished;
    int lastUsed;
    private int badUsed = -1;

    DriverQueue(String name, MemorySegment mem, long ringAddr, int size, long features, int indirectMax) {
        SplitRing.checkSize(size);
        Objects.requireNonNull(mem, "mem");
        if (indirectMax < 0
                || indirectMax > size
                || indirectMax > 0 && !VirtioFeatures.has(features, VirtioFeatures.F_INDIRECT_DESC)) {
            throw new IllegalArgumentException("indirect tables of " + indirectMax + " entries need "
                    + "VIRTIO_F_INDIRECT_DESC and at most queue size (" + size + ") entries");
        }
        long bytes = bytes(size, indirectMax);
        if (!mem.isNative()
                || mem.byteSize() < bytes
                || mem.address() % SplitRing.DESC_ALIGN != 0
                || ringAddr % SplitRing.DESC_ALIGN != 0) {
            throw new IllegalArgumentException(
                    "ring memory must be native, " + bytes + " bytes, 16-byte aligned (virtio 1.2 §2.7.1); got " + mem
                            + " at 0x" + Long.toHexString(ringAddr));
        }
        this.size = size;
        this.mask = size - 1;
        this.ringAddr = ringAddr;
        this.indirectMax = indirectMax;
        MemorySegment block = mem.asSlice(0, bytes);
        block.fill((byte) 0); // §2.7.10.1: used flags start at 0; every index starts at 0
        this.desc = block.asSlice(0, SplitRing.descTableBytes(size));
        this.avail = block.asSlice(SplitRing.packedAvailOffset(size), SplitRing.availRingBytes(size));
        this.used = block.asSlice(SplitRing.packedUsedOffset(size), SplitRing.usedRingBytes(size));
        long indirectOffset = indirectOffset(size);
        this.indirect = block.asSlice(indirectOffset, bytes - indirectOffset);
        this.indirectAddr = ringAddr + indirectOffset;
        this.usedEventOffset = SplitRing.usedEventOffset(size);
        this.availEventOffset = SplitRing.availEventOffset(size);
        this.errors = new RingErrors(name);
        this.link = new int[size];
        this.chainLen = new int[size];
        this.tokens = new int[size];
        this.writable = new long[size];
        for (int i = 0; i < size; i++) {
            link[i] = i + 1;
        }
        this.freeCount = size;
    }

    /** Bytes a queue needs: the three parts (§2.7 table) and {@code indirectMax} entries per descriptor. */
    public static long bytes(int size, int indirectMax) {
        return indirectOffset(size) + (long) size * indirectMax * DESC_BYTES;
    }

    private static long indirectOffset(int size) {
        return SplitRing.align(SplitRing.packedBytes(size), SplitRing.DESC_ALIGN);
    }

    /**
     * A driver queue in {@code mem} (at least {@link #bytes} long, zeroed here), which the device
     * sees at {@code ringAddr}.
     *
     * @param features    negotiated bits: {@link VirtioFeatures#F_EVENT_IDX} picks the notification
     *                    scheme, {@link VirtioFeatures#F_INDIRECT_DESC} allows {@code indirectMax > 0}
     * @param indirectMax entries per indirect table, 0 for no indirect descriptors
     */
    public static DriverQueue create(
            String name, MemorySegment mem, long ringAddr, int size, long features, int indirectMax) {
        return VirtioFeatures.has(features, VirtioFeatures.F_EVENT_IDX)
                ? new EventIdx(name, mem, ringAddr, size, features, indirectMax)
                : new Flags(name, mem, ringAddr, size, features, indirectMax);
    }

    /** A driver queue in fresh memory from {@code arena}, seen by the device at its own virtual address. */
    public static DriverQueue allocate(String name, Arena arena, int size, long features, int indirectMax) {
        MemorySegment mem = arena.allocate(bytes(size, indirectMax), 4096);
        return create(name, mem, mem.address(), size, features, indirectMax);
    }

    /** Offers one device-readable buffer (a packet to transmit). False if no descriptor is free. */
    public final boolean addOut(long addr, int len, int token) {
        return addOne(addr, len, 0, token);
    }

    /** Offers one device-writable buffer (room for a packet to receive). */
    public final boolean addIn(long addr, int len, int token) {
        return addOne(addr, len, DESC_F_WRITE, token);
    }

    private boolean addOne(long addr, int len, int flags, int token) {
        if (freeCount == 0) {
            return false;
        }
        int head = freeHead;
        SplitRing.writeDesc(desc, head * DESC_BYTES, addr, len, flags, 0);
        freeHead = link[head];
        freeCount--;
        track(head, 1, token, flags != 0 ? Integer.toUnsignedLong(len) : 0);
        return true;
    }

    /**
     * Offers one chain (§2.7.13.1): {@code out} device-readable buffers then {@code in}
     * device-writable ones, {@code addrs[i]}/{@code lens[i]}. False if fewer than
     * {@code out + in} descriptors are free.
     */
    public final boolean add(long[] addrs, int[] lens, int out, int in, int token) {
        int n = count(out, in);
        if (n > freeCount) {
            return false;
        }
        int head = freeHead;
        int d = head;
        long w = 0;
        for (int k = 0; k < n; k++) {
            boolean more = k < n - 1;
            int flags = (k >= out ? DESC_F_WRITE : 0) | (more ? DESC_F_NEXT : 0);
            // The private links already chain the free descriptors in the order we take them.
            SplitRing.writeDesc(desc, d * DESC_BYTES, addrs[k], lens[k], flags, more ? link[d] : 0);
            if (k >= out) {
                w += Integer.toUnsignedLong(lens[k]);
            }
            d = link[d];
        }
        freeHead = d;
        freeCount -= n;
        track(head, n, token, w);
        return true;
    }

    /**
     * Offers one chain through an indirect table (§2.7.5.3), using a single ring descriptor. False
     * if none is free; {@code out + in} must be at most the {@code indirectMax} given at creation.
     */
    public final boolean addIndirect(long[] addrs, int[] lens, int out, int in, int token) {
        int n = count(out, in);
        if (n > indirectMax) {
            throw new IllegalArgumentException(n + " buffers, indirect tables hold " + indirectMax);
        }
        if (freeCount == 0) {
            return false;
        }
        int head = freeHead;
        long table = (long) head * indirectMax * DESC_BYTES;
        long w = 0;
        for (int k = 0; k < n; k++) {
            boolean more = k < n - 1;
            int flags = (k >= out ? DESC_F_WRITE : 0) | (more ? DESC_F_NEXT : 0);
            SplitRing.writeDesc(indirect, table + k * DESC_BYTES, addrs[k], lens[k], flags, more ? k + 1 : 0);
            if (k >= out) {
                w += Integer.toUnsignedLong(lens[k]);
            }
        }
        // §2.7.5.3.1: INDIRECT without NEXT; len covers the n entries used.
        SplitRing.writeDesc(desc, head * DESC_BYTES, indirectAddr + table, (int) (n * DESC_BYTES), DESC_F_INDIRECT, 0);
        freeHead = link[head];
        freeCount--;
        track(head, 1, token, w);
        return true;
    }

    private static int count(int out, int in) {
        if (out < 0 || in < 0 || out + in == 0) {
            throw new IllegalArgumentException("a chain of " + out + " readable and " + in + " writable buffers");
        }
        return out + in;
    }

    private void track(int head, int descs, int token, long writableBytes) {
        chainLen[head] = descs;
        tokens[head] = token;
        writable[head] = writableBytes;
        inFlight++;
        // §2.7.13.2: avail->ring[(avail->idx + added++) % qsz] = head; idx is published later.
        U16_AT.set(avail, AVAIL_RING + 2L * (availShadow & mask), (short) head);
        availShadow = (availShadow + 1) & 0xFFFF;
    }

    /**
     * Publishes the chains added since the last call (§2.7.13.3) and says whether the device wants
     * an available buffer notification (a kick) for them (§2.7.13.4, §2.7.10).
     */
    public final boolean publish() {
        int now = availShadow;
        if (now == availPublished) {
            return false;
        }
        // §2.7.13.3.1: descriptors and ring entries before idx; the release store orders them.
        AVAIL_IDX.setRelease(avail, 0L, (short) now);
        int old = availPublished;
        availPublished = now;
        // §2.7.13.4.1: a barrier before reading flags or avail_event (store idx, then load).
        VarHandle.fullFence();
        return needsKick(old, now);
    }

    abstract boolean needsKick(int oldAvail, int newAvail);

    /**
     * Takes up to {@code max} used chains (§2.7.14): their tokens and written lengths go to
     * {@code tokensOut}/{@code lensOut} from index 0; their descriptors become free. Returns how many.
     */
    public final int harvest(int[] tokensOut, int[] lensOut, int max) {
        int idx = (short) USED_IDX.getAcquire(used, 0L) & 0xFFFF; // pairs with the device's release
        int n = (idx - lastUsed) & 0xFFFF;
        if (n == 0) {
            return 0;
        }
        if (n > inFlight) {
            if (idx != badUsed) {
                badUsed = idx;
                errors.count(RingErrors.Kind.USED_IDX_JUMP, idx);
            }
            return 0;
        }
        n = Math.min(n, max);
        int got = 0;
        for (int k = 0; k < n; k++) {
            long at = USED_RING + USED_ELEM_BYTES * (lastUsed & mask);
            int id = (int) USED_ELEM_ID.get(used, at);
            long len = Integer.toUnsignedLong((int) USED_ELEM_LEN.get(used, at));
            lastUsed = (lastUsed + 1) & 0xFFFF;
            if (id < 0 || id >= size || chainLen[id] == 0) {
                errors.count(RingErrors.Kind.BAD_USED_ID, id);
                continue;
            }
            if (len > writable[id]) {
                // §2.7.8.3: only the first len bytes count; never let them pass the buffers.
                errors.count(RingErrors.Kind.BAD_USED_LEN, len);
                len = writable[id];
            }
            tokensOut[got] = tokens[id];
            lensOut[got] = (int) len;
            got++;
            free(id);
        }
        return got;
    }

    private void free(int head) {
        int tail = head;
        for (int k = 1; k < chainLen[head]; k++) {
            tail = link[tail];
        }
        link[tail] = freeHead;
        freeHead = head;
        freeCount += chainLen[head];
        chainLen[head] = 0;
        inFlight--;
    }

    /** Used entries the device has published and {@link #harvest} has not taken. */
    public final int pendingUsed() {
        return ((short) USED_IDX.getAcquire(used, 0L) - lastUsed) & 0xFFFF;
    }

    /**
     * Asks for used buffer notifications again (§2.7.7), before the poller sleeps. Returns true if
     * used entries arrived meanwhile (§2.7.14 note: re-check after enabling): then do not sleep.
     */
    public abstract boolean enableInterrupts();

    /** Tells the device that no used buffer notification is needed (§2.7.7; advisory only). */
    public abstract void disableInterrupts();

    public final int size() {
        return size;
    }

    /** Entries per indirect table, 0 without indirect descriptors. */
    public final int indirectMax() {
        return indirectMax;
    }

    /** Descriptors not in any chain in flight. */
    public final int freeDescriptors() {
        return freeCount;
    }

    /** Chains added and not yet harvested. */
    public final int inFlight() {
        return inFlight;
    }

    /** The descriptor table's address as the device sees it (the start of the block). */
    public final long descAddr() {
        return ringAddr;
    }

    public final long availAddr() {
        return ringAddr + SplitRing.packedAvailOffset(size);
    }

    public final long usedAddr() {
        return ringAddr + SplitRing.packedUsedOffset(size);
    }

    public abstract boolean eventIdx();

    public final RingErrors errors() {
        return errors;
    }

    /** With VIRTIO_F_EVENT_IDX (§2.7.7.1, §2.7.10.1). */
    static final class EventIdx extends DriverQueue {
        EventIdx(String name, MemorySegment mem, long addr, int size, long features, int indirectMax) {
            super(name, mem, addr, size, features, indirectMax);
        }

        @Override
        boolean needsKick(int oldAvail, int newAvail) {
            // §2.7.10.1: notify iff the entry at index avail_event was written in this batch.
            int event = (short) U16_AT.getAcquire(used, availEventOffset) & 0xFFFF;
            return SplitRing.needEvent(event, newAvail, oldAvail);
        }

        @Override
        public boolean enableInterrupts() {
            // §2.7.7.1: notify me when you write the used entry at index used_event.
            U16_AT.setRelease(avail, usedEventOffset, (short) lastUsed);
            VarHandle.fullFence();
            return pendingUsed() != 0;
        }

        @Override
        public void disableInterrupts() {
            // Half the index space away: the device passes it at most once per 65536 entries.
            U16_AT.setRelease(avail, usedEventOffset, (short) (lastUsed + 0x8000));
        }

        @Override
        public boolean eventIdx() {
            return true;
        }
    }

    /** Without VIRTIO_F_EVENT_IDX: the flags (§2.7.7.1, §2.7.10.1). */
    static final class Flags extends DriverQueue {
        Flags(String name, MemorySegment mem, long addr, int size, long features, int indirectMax) {
            super(name, mem, addr, size, features, indirectMax);
        }

        @Override
        boolean needsKick(int oldAvail, int newAvail) {
            // §2.7.10.1: flags 1 means SHOULD NOT notify, 0 means MUST notify.
            return ((short) USED_FLAGS.getAcquire(used, 0L) & USED_F_NO_NOTIFY) == 0;
        }

        @Override
        public boolean enableInterrupts() {
            AVAIL_FLAGS.setRelease(avail, 0L, (short) 0);
            VarHandle.fullFence();
            return pendingUsed() != 0;
        }

        @Override
        public void disableInterrupts() {
            AVAIL_FLAGS.setRelease(avail, 0L, (short) AVAIL_F_NO_INTERRUPT);
        }

        @Override
        public boolean eventIdx() {
            return false;
        }
    }
}
