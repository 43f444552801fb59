package dev.panda.pmd.virtio.ring;

import static dev.panda.pmd.virtio.ring.PackedRing.DESC_ADDR;
import static dev.panda.pmd.virtio.ring.PackedRing.DESC_BYTES;
import static dev.panda.pmd.virtio.ring.PackedRing.DESC_FLAGS;
import static dev.panda.pmd.virtio.ring.PackedRing.DESC_F_INDIRECT;
import static dev.panda.pmd.virtio.ring.PackedRing.DESC_F_NEXT;
import static dev.panda.pmd.virtio.ring.PackedRing.DESC_F_WRITE;
import static dev.panda.pmd.virtio.ring.PackedRing.DESC_ID;
import static dev.panda.pmd.virtio.ring.PackedRing.DESC_LEN;
import static dev.panda.pmd.virtio.ring.PackedRing.EVENT_FLAGS_DESC;
import static dev.panda.pmd.virtio.ring.PackedRing.EVENT_FLAGS_DISABLE;
import static dev.panda.pmd.virtio.ring.PackedRing.EVENT_FLAGS_ENABLE;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.Objects;

/**
 * The driver side of a packed virtqueue (virtio 1.2 §2.8, {@link VirtioFeatures#F_RING_PACKED}):
 * what {@link DriverQueue} is for the split format, with the same calls, so that
 * {@link VirtioNetDriver} runs either. It owns the descriptor ring and both event suppression
 * areas, in one block the device can reach ({@code ringAddr} is its address as the device sees
 * it), and optionally one indirect table per buffer id after them. One poller thread owns it;
 * nothing allocates per buffer.
 *
 * <p>Making a buffer available (§2.8.21): the descriptors are written with the AVAIL/USED bits of
 * the driver's wrap counter at each one's ring position (it may flip inside a chain); the flags
 * of the first descriptor of a batch are held back and stored last, with release semantics, by
 * {@link #publish()}, so the device sees nothing of a batch before all of it (§2.8.21.1). Each
 * chain carries a buffer id (0 .. size-1) from a private free-id stack; per id the driver keeps
 * the token, how many ring descriptors the chain took and the bytes the device may write.
 *
 * <p>Harvest (§2.8.22): a used descriptor is one whose AVAIL and USED bits both equal the
 * driver's used wrap counter (§2.8.1); its id says which buffer, in any order (VIRTIO_F_IN_ORDER
 * without VIRTIO_F_IN_ORDER), and the driver's used index skips as many descriptors as that
 * buffer's chain took (§2.8.6). With VIRTIO_F_IN_ORDER a buffer's id is the ring position of its
 * first descriptor, and a used id further on closes a batch (DPDK's vhost writes one used
 * descriptor per batch of transmitted buffers): every buffer up to it is used, those before it
 * with length 0. The device is not trusted: an id out of range or not in
 * flight is counted ({@link RingErrors.Kind#BAD_USED_ID}) and skipped as one descriptor; a length
 * past the writable bytes is counted and clamped ({@link RingErrors.Kind#BAD_USED_LEN}); the used
 * index never passes the descriptors made available. A buffer whose id the device never returns
 * stays the driver's ({@link VirtioNetDriver#releaseBuffers()} takes it back once the device
 * stops).
 *
 * <p>Event suppression (§2.8.10): {@link #publish()} reads the device's area (DISABLE: no kick;
 * ENABLE: kick; DESC with VIRTIO_F_EVENT_IDX: kick if the batch passed its {@code off_wrap});
 * {@link #enableInterrupts()}/{@link #disableInterrupts()} write the driver's area.
 */
public final class PackedDriverQueue implements VirtqDriver {

    /** An aligned little-endian u16 at an offset: the flags and event words, read and written with ordering. */
    private static final VarHandle U16_AT = PackedRing.U16.varHandle();

    private static final long FLAGS = PackedRing.DESC_FLAGS_OFFSET;
    private static final long OFF_WRAP = PackedRing.EVENT_OFF_WRAP_OFFSET;
    private static final long EV_FLAGS = PackedRing.EVENT_FLAGS_OFFSET;

    private final int size;
    private final MemorySegment ring;
    private final MemorySegment driverEvent;
    private final MemorySegment deviceEvent;
    private final MemorySegment indirect;
    private final long ringAddr;
    private final long indirectAddr;
    private final int indirectMax;
    private final boolean eventIdx;
    /** VIRTIO_F_IN_ORDER: a buffer's id is its first descriptor's ring position; a used id may close a batch. */
    private final boolean inOrder;

    private final RingErrors errors;
    /** Per buffer id: the token, the ring descriptors its chain took (0: not in flight), writable bytes. */
    private final int[] tokens;

    private final int[] descs;
    private final long[] writable;
    /** Free ids, a stack. */
    private final int[] freeIds;

    private int freeIdCount;
    /** Next ring position to make available, and the driver's wrap counter there (§2.8.1). */
    private int availIdx;

    private boolean availWrap = true;
    /** AVAIL/USED bits marking a descriptor available at {@link #availIdx}. */
    private int availBits = PackedRing.availFlags(true);
    /** Next ring position the device will mark used, and the used wrap counter. */
    private int usedIdx;

    private boolean usedWrap = true;
    /** Ring positions between the used and the avail index: descriptors the device may still use. */
    private int descsInFlight;

    private int inFlight;
    /** The held-back flags of a batch's first descriptor (offset -1: none), stored by publish. */
    private long pendingOff = -1;

    private int pendingFlags;
    /** Descriptors made available since the last publish (for EVENT_IDX's old index). */
    private int added;
    /** IN_ORDER: the id closing the used batch being taken (-1: none), and the length the device wrote for it. */
    private int batchLast = -1;

    private long batchLen;

    private PackedDriverQueue(String name, MemorySegment mem, long ringAddr, int size, long features, int indirectMax) {
        PackedRing.checkSize(size);
        Objects.requireNonNull(mem, "mem");
        if (!VirtioFeatures.has(features, VirtioFeatures.F_RING_PACKED)) {
            throw new IllegalArgumentException("a packed queue needs VIRTIO_F_RING_PACKED in the features");
        }
        if (indirectMax < 0
                || indirectMax > size
                || indirectMax > 0 && !VirtioFeatures.has(features, VirtioFeatures.F_INDIRECT_DESC)) {
            throw new IllegalArgumentException("indirect tables of " + indirectMax + " entries need "
                    + "VIRTIO_F_INDIRECT_DESC and at most queue size (" + size + ") entries");
        }
        long bytes = bytes(size, indirectMax);
        if (!mem.isNative()
                || mem.byteSize() < bytes
                || mem.address() % PackedRing.DESC_ALIGN != 0
                || ringAddr % PackedRing.DESC_ALIGN != 0) {
            throw new IllegalArgumentException("ring memory must be native, " + bytes
                    + " bytes, 16-byte aligned (virtio 1.2 §2.8); got " + mem + " at 0x" + Long.toHexString(ringAddr));
        }
        this.size = size;
        this.ringAddr = ringAddr;
        this.indirectMax = indirectMax;
        this.eventIdx = VirtioFeatures.has(features, VirtioFeatures.F_EVENT_IDX);
        this.inOrder = VirtioFeatures.has(features, VirtioFeatures.F_IN_ORDER);
        MemorySegment block = mem.asSlice(0, bytes);
        // §2.8.1: every flag 0 (no descriptor available in the first lap), both event areas ENABLE 0
        block.fill((byte) 0);
        this.ring = block.asSlice(0, PackedRing.descRingBytes(size));
        this.driverEvent = block.asSlice(PackedRing.blockDriverEventOffset(size), PackedRing.EVENT_BYTES);
        this.deviceEvent = block.asSlice(PackedRing.blockDeviceEventOffset(size), PackedRing.EVENT_BYTES);
        long indirectOffset = indirectOffset(size);
        this.indirect = block.asSlice(indirectOffset, bytes - indirectOffset);
        this.indirectAddr = ringAddr + indirectOffset;
        this.errors = new RingErrors(name);
        this.tokens = new int[size];
        this.descs = new int[size];
        this.writable = new long[size];
        this.freeIds = new int[size];
        for (int i = 0; i < size; i++) {
            freeIds[i] = size - 1 - i; // id 0 on top
        }
        this.freeIdCount = size;
    }

    /** Bytes a queue needs: the ring and both event areas (§2.8 table), and {@code indirectMax} entries per id. */
    public static long bytes(int size, int indirectMax) {
        return indirectOffset(size) + (long) size * indirectMax * DESC_BYTES;
    }

    private static long indirectOffset(int size) {
        return SplitRing.align(PackedRing.blockBytes(size), PackedRing.DESC_ALIGN);
    }

    /**
     * A packed driver queue in {@code mem} (at least {@link #bytes} long, zeroed here), which the
     * device sees at {@code ringAddr}.
     *
     * @param features    negotiated bits: must hold {@link VirtioFeatures#F_RING_PACKED};
     *                    {@link VirtioFeatures#F_EVENT_IDX} picks how interrupts are asked for,
     *                    {@link VirtioFeatures#F_INDIRECT_DESC} allows {@code indirectMax > 0}
     * @param indirectMax entries per indirect table, 0 for no indirect descriptors
     */
    public static PackedDriverQueue create(
            String name, MemorySegment mem, long ringAddr, int size, long features, int indirectMax) {
        return new PackedDriverQueue(name, mem, ringAddr, size, features, indirectMax);
    }

    /** A packed driver queue in fresh memory from {@code arena}, seen by the device at its own virtual address. */
    public static PackedDriverQueue allocate(String name, Arena arena, int size, long features, int indirectMax) {
        MemorySegment mem = arena.allocate(bytes(size, indirectMax), 4096);
        return create(name, mem, mem.address(), size, features, indirectMax);
    }

    /** Offers one device-readable buffer (a packet to transmit). False if no descriptor or id is free. */
    public boolean addOut(long addr, int len, int token) {
        return addOne(addr, len, 0, token, 0);
    }

    /** Offers one device-writable buffer (room for a packet to receive). */
    public boolean addIn(long addr, int len, int token) {
        return addOne(addr, len, DESC_F_WRITE, token, Integer.toUnsignedLong(len));
    }

    private boolean addOne(long addr, int len, int flags, int token, long w) {
        if (descsInFlight == size || freeIdCount == 0) {
            return false;
        }
        int id = takeId();
        writeDesc(addr, len, id, flags);
        track(id, 1, token, w);
        return true;
    }

    /**
     * Offers one chain (§2.8.6): {@code out} device-readable buffers then {@code in}
     * device-writable ones, {@code addrs[i]}/{@code lens[i]}, in consecutive ring descriptors.
     * False if fewer than {@code out + in} descriptors (or no id) are free.
     */
    public boolean add(long[] addrs, int[] lens, int out, int in, int token) {
        int n = count(out, in);
        if (n > size - descsInFlight || freeIdCount == 0) {
            return false;
        }
        int id = takeId();
        long w = 0;
        for (int k = 0; k < n; k++) {
            int flags = (k >= out ? DESC_F_WRITE : 0) | (k < n - 1 ? DESC_F_NEXT : 0);
            writeDesc(addrs[k], lens[k], id, flags);
            if (k >= out) {
                w += Integer.toUnsignedLong(lens[k]);
            }
        }
        track(id, n, token, w);
        return true;
    }

    /**
     * Offers one chain through an indirect table (§2.8.7), taking a single ring descriptor. False
     * if none is free; {@code out + in} must be at most the {@code indirectMax} given at creation.
     */
    public boolean addIndirect(long[] addrs, int[] lens, int out, int in, int token) {
        int n = count(out, in);
        if (n > indirectMax) {
            throw new IllegalArgumentException(n + " buffers, indirect tables hold " + indirectMax);
        }
        if (descsInFlight == size || freeIdCount == 0) {
            return false;
        }
        int id = takeId();
        long table = (long) id * indirectMax * DESC_BYTES;
        long w = 0;
        for (int k = 0; k < n; k++) {
            long at = table + k * DESC_BYTES;
            // §2.8.7: the table's entries are read in order; NEXT and the ids are not used there
            DESC_ADDR.set(indirect, at, addrs[k]);
            DESC_LEN.set(indirect, at, lens[k]);
            DESC_ID.set(indirect, at, (short) 0);
            DESC_FLAGS.set(indirect, at, (short) (k >= out ? DESC_F_WRITE : 0));
            if (k >= out) {
                w += Integer.toUnsignedLong(lens[k]);
            }
        }
        writeDesc(indirectAddr + table, (int) (n * DESC_BYTES), id, DESC_F_INDIRECT);
        track(id, 1, token, w);
        return true;
    }

    /**
     * A free buffer id: from the free-id stack, or with IN_ORDER the ring position of the chain's
     * first descriptor. A chain a hostile device skipped (a bad used id) may still hold that
     * position's id: it is given up (its buffer is the driver's until the device stops).
     */
    private int takeId() {
        if (!inOrder) {
            return freeIds[--freeIdCount];
        }
        int id = availIdx;
        if (descs[id] != 0) {
            descs[id] = 0;
            inFlight--;
            freeIdCount++;
        }
        freeIdCount--;
        return id;
    }

    private static int count(int out, int in) {
        if (out < 0 || in < 0 || out + in == 0) {
            throw new IllegalArgumentException("a chain of " + out + " readable and " + in + " writable buffers");
        }
        return out + in;
    }

    /** Writes the descriptor at the avail index and moves it on (flipping the wrap counter at the end). */
    private void writeDesc(long addr, int len, int id, int flags) {
        long at = (long) availIdx * DESC_BYTES;
        DESC_ADDR.set(ring, at, addr);
        DESC_LEN.set(ring, at, len);
        DESC_ID.set(ring, at, (short) id);
        int f = flags | availBits;
        if (pendingOff < 0) {
            pendingOff = at; // a batch's first flags go last (publish)
            pendingFlags = f;
        } else {
            DESC_FLAGS.set(ring, at, (short) f);
        }
        descsInFlight++;
        added++;
        if (++availIdx == size) {
            availIdx = 0;
            availWrap = !availWrap;
            availBits = PackedRing.availFlags(availWrap);
        }
    }

    private void track(int id, int n, int token, long w) {
        tokens[id] = token;
        descs[id] = n;
        writable[id] = w;
        inFlight++;
    }

    /**
     * Makes the chains added since the last call available (§2.8.21: the first descriptor's flags
     * last, a release store) and says whether the device wants an available buffer notification
     * for them (§2.8.10, §2.8.21.3).
     */
    public boolean publish() {
        if (pendingOff < 0) {
            return false;
        }
        U16_AT.setRelease(ring, pendingOff + FLAGS, (short) pendingFlags);
        pendingOff = -1;
        int n = added;
        added = 0;
        // §2.8.21.3.1: a barrier between making buffers available and reading the device's area
        VarHandle.fullFence();
        int flags = (short) U16_AT.getAcquire(deviceEvent, EV_FLAGS) & 0xFFFF;
        if (flags != EVENT_FLAGS_DESC) {
            return flags != EVENT_FLAGS_DISABLE;
        }
        // EVENT_IDX: the event index in this lap's count (one lap back when its wrap bit differs)
        int offWrap = (short) U16_AT.getAcquire(deviceEvent, OFF_WRAP) & 0xFFFF;
        int event = PackedRing.offset(offWrap);
        if (PackedRing.wrap(offWrap) != availWrap) {
            event -= size;
        }
        int now = availIdx;
        return PackedRing.needEvent(event & 0xFFFF, now & 0xFFFF, (now - n) & 0xFFFF);
    }

    /**
     * Takes up to {@code max} used buffers (§2.8.22): their tokens and written lengths go to
     * {@code tokensOut}/{@code lensOut} from index 0; their ids and descriptors become free.
     * Returns how many.
     */
    public int harvest(int[] tokensOut, int[] lensOut, int max) {
        int got = 0;
        while (got < max) {
            if (batchLast >= 0) {
                // IN_ORDER: every buffer up to batchLast is used; the device wrote one descriptor for them
                int id = usedIdx;
                boolean last = id == batchLast;
                long len = last ? batchLen : 0;
                if (last) {
                    batchLast = -1;
                }
                take(id, len, tokensOut, lensOut, got++);
                continue;
            }
            if (descsInFlight == 0) {
                break;
            }
            long at = (long) usedIdx * DESC_BYTES;
            int flags = (short) U16_AT.getAcquire(ring, at + FLAGS); // pairs with the device's release
            if (!PackedRing.isUsed(flags, usedWrap)) {
                break;
            }
            int id = (short) DESC_ID.get(ring, at) & 0xFFFF;
            long len = Integer.toUnsignedLong((int) DESC_LEN.get(ring, at));
            if (id >= size || descs[id] == 0 || inOrder && !reachable(id)) {
                errors.count(RingErrors.Kind.BAD_USED_ID, id);
                skip(1); // nothing to free; the descriptor is the device's to waste
                continue;
            }
            if (inOrder && id != usedIdx) {
                batchLast = id; // the buffers before it first, in the order they were made available
                batchLen = len;
                continue;
            }
            take(id, len, tokensOut, lensOut, got++);
        }
        return got;
    }

    /** Hands buffer {@code id} back with {@code len} written (checked), frees its id and descriptors. */
    private void take(int id, long len, int[] tokensOut, int[] lensOut, int at) {
        if (writable[id] == 0) {
            len = 0; // nothing device-writable: DPDK's vhost writes back the length it read; ignored
        } else if (len > writable[id]) {
            // §2.8.22 as §2.7.8.3: never let a length pass the buffers
            errors.count(RingErrors.Kind.BAD_USED_LEN, len);
            len = writable[id];
        }
        skip(Math.min(descs[id], descsInFlight));
        tokensOut[at] = tokens[id];
        lensOut[at] = (int) len;
        descs[id] = 0;
        if (!inOrder) {
            freeIds[freeIdCount] = id;
        }
        freeIdCount++;
        inFlight--;
    }

    /** IN_ORDER: whether the chains from the used index on, in ring order, reach the one with {@code id}. */
    private boolean reachable(int id) {
        int p = usedIdx;
        int walked = 0;
        while (walked < descsInFlight) {
            int n = descs[p];
            if (n == 0) {
                return false;
            }
            if (p == id) {
                return walked + n <= descsInFlight;
            }
            walked += n;
            p += n;
            if (p >= size) {
                p -= size;
            }
        }
        return false;
    }

    private void skip(int n) {
        descsInFlight -= n;
        usedIdx += n;
        if (usedIdx >= size) {
            usedIdx -= size;
            usedWrap = !usedWrap;
        }
    }

    /** 1 if the device has marked the next descriptor used (harvest would take something), else 0. */
    public int pendingUsed() {
        if (batchLast >= 0) {
            return 1;
        }
        if (descsInFlight == 0) {
            return 0;
        }
        int flags = (short) U16_AT.getAcquire(ring, (long) usedIdx * DESC_BYTES + FLAGS);
        return PackedRing.isUsed(flags, usedWrap) ? 1 : 0;
    }

    /**
     * Asks for used buffer notifications again (§2.8.10: ENABLE, or with EVENT_IDX DESC at the
     * next used position), before the poller sleeps. True if used descriptors arrived meanwhile.
     */
    public boolean enableInterrupts() {
        if (eventIdx) {
            U16_AT.setRelease(driverEvent, OFF_WRAP, (short) PackedRing.offWrap(usedIdx, usedWrap));
            U16_AT.setRelease(driverEvent, EV_FLAGS, (short) EVENT_FLAGS_DESC);
        } else {
            U16_AT.setRelease(driverEvent, EV_FLAGS, (short) EVENT_FLAGS_ENABLE);
        }
        VarHandle.fullFence();
        return pendingUsed() != 0;
    }

    /** Tells the device no used buffer notification is needed (§2.8.10 RING_EVENT_FLAGS_DISABLE). */
    public void disableInterrupts() {
        U16_AT.setRelease(driverEvent, EV_FLAGS, (short) EVENT_FLAGS_DISABLE);
    }

    public int size() {
        return size;
    }

    /** Entries per indirect table, 0 without indirect descriptors. */
    public int indirectMax() {
        return indirectMax;
    }

    /** Descriptors that can be made available now (free ring positions, at most the free ids). */
    public int freeDescriptors() {
        return Math.min(size - descsInFlight, freeIdCount);
    }

    /** Buffers made available and not yet harvested. */
    public int inFlight() {
        return inFlight;
    }

    /** The descriptor ring's address as the device sees it (vhost's {@code desc_user_addr}). */
    public long descAddr() {
        return ringAddr;
    }

    /** The driver event suppression area's (the Driver Area; vhost's {@code avail_user_addr}). */
    public long driverEventAddr() {
        return ringAddr + PackedRing.blockDriverEventOffset(size);
    }

    /** The device event suppression area's (the Device Area; vhost's {@code used_user_addr}). */
    public long deviceEventAddr() {
        return ringAddr + PackedRing.blockDeviceEventOffset(size);
    }

    /**
     * Where the device starts reading, as vhost carries it (vhost-user SET_VRING_BASE for a packed
     * ring: the index in bits 0-14, the wrap counter in bit 15): a queue's first descriptor with
     * the wrap counter at 1 (0x8000), whatever the driver has made available since it was created.
     */
    public int base() {
        return PackedRing.offWrap(0, true);
    }

    public boolean eventIdx() {
        return eventIdx;
    }

    public RingErrors errors() {
        return errors;
    }
}
