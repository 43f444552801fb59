package dev.panda.pmd.virtio.vhost;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_INDIRECT_DESC;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_PROTOCOL_FEATURES;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_RING_PACKED;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_VERSION_1;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.bit;
import static dev.panda.pmd.virtio.vhostuser.VhostUserMessage.requestFlags;

import dev.panda.jextract.Fd;
import dev.panda.jextract.Posix;
import dev.panda.pmd.virtio.ring.DriverQueue;
import dev.panda.pmd.virtio.ring.PackedDriverQueue;
import dev.panda.pmd.virtio.ring.VirtioNetHeader;
import dev.panda.pmd.virtio.ring.VirtqDriver;
import dev.panda.pmd.virtio.vhostuser.DecodeResult;
import dev.panda.pmd.virtio.vhostuser.UnixSocket;
import dev.panda.pmd.virtio.vhostuser.VhostUserChannel;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.Bare;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MemTable;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MemoryRegion;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.U64;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringAddr;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringFd;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringState;
import dev.panda.pmd.virtio.vhostuser.VhostUserRequest;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;

/**
 * A minimal vhost-user front-end for tests, playing the part of DPDK's virtio-user: a memfd is the
 * "guest memory", seen by panda at guest-physical {@link #GPA} for descriptors and at its real
 * mapping address for the ring addresses of SET_VRING_ADDR (the two views differ on purpose).
 * One queue pair: vring 0 is the guest's receive queue, vring 1 its transmit queue, each a
 * {@link DriverQueue} with {@code size} buffers of {@link #BUF} bytes; with VIRTIO_F_RING_PACKED
 * in {@code want}, a {@link PackedDriverQueue} each instead ({@link #prxq}, {@link #ptxq}).
 */
final class TestFrontend implements AutoCloseable {

    static final long GPA = 0x4000_0000L;
    static final int BUF = 2048;
    static final long HDR = VirtioNetHeader.BYTES;

    final int size;
    final Fd memfd;
    final MemorySegment mem;
    final VhostUserChannel channel;
    final DriverQueue rxq; // vring 0 (split)
    final DriverQueue txq; // vring 1 (split)
    final PackedDriverQueue prxq; // vring 0 (packed)
    final PackedDriverQueue ptxq; // vring 1 (packed)
    /** Vrings 0 and 1 in whichever format was negotiated: what the guest's steps below go through. */
    private final VirtqDriver rx;

    private final VirtqDriver tx;
    final Fd[] calls = new Fd[2];
    final Fd[] kicks = new Fd[2];
    final long[] ringOffset = new long[2];
    final long rxBuffers;
    final long txBuffers;
    private final int[] tokens;
    private final int[] lens;
    long negotiated;
    long protocol;
    final int pair;
    /** Feature bits beyond VERSION_1 and PROTOCOL_FEATURES this front-end accepts (EVENT_IDX, MRG_RXBUF...). */
    final long want;
    /** Protocol feature bits beyond REPLY_ACK and MQ it accepts (LOG_SHMFD, STATUS). */
    long wantProtocol;

    static final int INDIRECT_MAX = 4;

    TestFrontend(Path path, int size) {
        this(path, size, 0);
    }

    /** A front-end that sets up queue pair {@code pair} only (vrings 2 * pair and 2 * pair + 1). */
    TestFrontend(Path path, int size, int pair) {
        this(path, size, pair, 0);
    }

    /**
     * A front-end that also accepts feature bits {@code want} (which panda must offer); its
     * queues are built for them (EVENT_IDX, indirect tables of {@link #INDIRECT_MAX} entries).
     */
    TestFrontend(Path path, int size, int pair, long want) {
        this.size = size;
        this.pair = pair;
        this.want = want;
        int indirectMax = (want & bit(F_INDIRECT_DESC)) != 0 ? INDIRECT_MAX : 0;
        boolean packed = (want & bit(F_RING_PACKED)) != 0;
        long ringBytes =
                ((packed ? PackedDriverQueue.bytes(size, indirectMax) : DriverQueue.bytes(size, indirectMax)) + 4095)
                        & -4096L;
        ringOffset[0] = 0;
        ringOffset[1] = ringBytes;
        rxBuffers = 2 * ringBytes;
        txBuffers = rxBuffers + (long) size * BUF;
        long total = txBuffers + (long) size * BUF;
        memfd = Posix.memfdCreate("panda-test-guest", Posix.MFD_CLOEXEC);
        Posix.ftruncate(memfd, total);
        mem = Posix.mmap(total, Posix.PROT_READ | Posix.PROT_WRITE, Posix.MAP_SHARED, memfd, 0);
        long features = want | bit(F_VERSION_1);
        rxq = packed
                ? null
                : DriverQueue.create(
                        "guest-rx", mem.asSlice(ringOffset[0]), GPA + ringOffset[0], size, want, indirectMax);
        txq = packed
                ? null
                : DriverQueue.create(
                        "guest-tx", mem.asSlice(ringOffset[1]), GPA + ringOffset[1], size, want, indirectMax);
        prxq = packed
                ? PackedDriverQueue.create(
                        "guest-rx", mem.asSlice(ringOffset[0]), GPA + ringOffset[0], size, features, indirectMax)
                : null;
        ptxq = packed
                ? PackedDriverQueue.create(
                        "guest-tx", mem.asSlice(ringOffset[1]), GPA + ringOffset[1], size, features, indirectMax)
                : null;
        rx = packed ? prxq : rxq;
        tx = packed ? ptxq : txq;
        tokens = new int[size];
        lens = new int[size];
        channel = new VhostUserChannel(UnixSocket.connect(path));
    }

    /** The message flow DPDK's virtio-user sends on start, each change acknowledged (REPLY_ACK). */
    TestFrontend start() {
        long features = query(VhostUserRequest.GET_FEATURES);
        send(new Bare(VhostUserRequest.SET_OWNER, requestFlags(false)));
        protocol = query(VhostUserRequest.GET_PROTOCOL_FEATURES);
        if ((protocol & VhostBackend.P_REPLY_ACK) == 0) {
            throw new AssertionError("REPLY_ACK not offered: 0x" + Long.toHexString(protocol));
        }
        send(new U64(
                VhostUserRequest.SET_PROTOCOL_FEATURES,
                requestFlags(false),
                protocol & (VhostBackend.P_REPLY_ACK | VhostBackend.P_MQ | wantProtocol)));
        if ((features & want) != want) {
            throw new AssertionError(
                    "features 0x" + Long.toHexString(want) + " wanted, 0x" + Long.toHexString(features) + " offered");
        }
        negotiated = features & (bit(F_VERSION_1) | bit(F_PROTOCOL_FEATURES) | want);
        ack(new U64(VhostUserRequest.SET_FEATURES, requestFlags(true), negotiated));
        ack(new MemTable(
                requestFlags(true), List.of(new MemoryRegion(GPA, mem.byteSize(), mem.address(), 0)), List.of(memfd)));
        for (int v = 0; v < 2; v++) {
            int index = 2 * pair + v;
            calls[v] = Posix.eventfd(0, Posix.EFD_NONBLOCK | Posix.EFD_CLOEXEC);
            kicks[v] = Posix.eventfd(0, Posix.EFD_NONBLOCK | Posix.EFD_CLOEXEC);
            ack(new VringFd(VhostUserRequest.SET_VRING_CALL, requestFlags(true), index, calls[v]));
            ack(new VringState(VhostUserRequest.SET_VRING_NUM, requestFlags(true), index, size));
            ack(new VringState(
                    VhostUserRequest.SET_VRING_BASE, requestFlags(true), index, prxq != null ? prxq.base() : 0));
            ack(new VringAddr(requestFlags(true), index, 0, uva(descAddr(v)), uva(usedAddr(v)), uva(availAddr(v)), 0));
            ack(new VringFd(VhostUserRequest.SET_VRING_KICK, requestFlags(true), index, kicks[v]));
        }
        for (int v = 0; v < 2; v++) {
            ack(new VringState(VhostUserRequest.SET_VRING_ENABLE, requestFlags(true), 2 * pair + v, 1));
        }
        return this;
    }

    /** Vring {@code v}'s descriptor table or ring (guest-physical). */
    long descAddr(int v) {
        if (prxq != null) {
            return (v == 0 ? prxq : ptxq).descAddr();
        }
        return (v == 0 ? rxq : txq).descAddr();
    }

    /** Vring {@code v}'s used ring, or a packed ring's device event area (guest-physical). */
    long usedAddr(int v) {
        if (prxq != null) {
            return (v == 0 ? prxq : ptxq).deviceEventAddr();
        }
        return (v == 0 ? rxq : txq).usedAddr();
    }

    /** Vring {@code v}'s available ring, or a packed ring's driver event area (guest-physical). */
    long availAddr(int v) {
        if (prxq != null) {
            return (v == 0 ? prxq : ptxq).driverEventAddr();
        }
        return (v == 0 ? rxq : txq).availAddr();
    }

    /** A guest-physical address of the memfd as the front-end's user address. */
    long uva(long gpa) {
        return gpa - GPA + mem.address();
    }

    long query(VhostUserRequest r) {
        send(new Bare(r, requestFlags(false)));
        return ((U64) reply(r)).value();
    }

    void send(VhostUserMessage m) {
        channel.send(m);
    }

    VhostUserMessage reply(VhostUserRequest r) {
        DecodeResult d = channel.readReply(r);
        if (!(d instanceof DecodeResult.Ok ok)) {
            throw new AssertionError("no reply to " + r + ": " + d);
        }
        return ok.message();
    }

    /** Sends a request with NEED_REPLY and returns the REPLY_ACK status (0 = success). */
    long ackStatus(VhostUserMessage m) {
        send(m);
        return ((U64) reply(m.request())).value();
    }

    void ack(VhostUserMessage m) {
        long status = ackStatus(m);
        if (status != 0) {
            throw new AssertionError(m.request() + " refused: " + status);
        }
    }

    /** GET_VRING_BASE: stops vring {@code v}, returns where the back-end stopped. */
    int getVringBase(int v) {
        send(new VringState(VhostUserRequest.GET_VRING_BASE, requestFlags(false), 2 * pair + v, 0));
        return ((VringState) reply(VhostUserRequest.GET_VRING_BASE)).num();
    }

    /** Guest transmits: frame {@code i} of {@code len} bytes, pattern from {@code seed}. False if no descriptor is free. */
    boolean send(int token, int len, int seed) {
        long off = txBuffers + (long) token * BUF;
        mem.asSlice(off, HDR).fill((byte) 0);
        for (int b = 0; b < len; b++) {
            mem.set(java.lang.foreign.ValueLayout.JAVA_BYTE, off + HDR + b, (byte) (seed + b));
        }
        return tx.addOut(GPA + off, (int) (HDR + len), token);
    }

    /** Returns the tx buffers panda has consumed; how many. */
    int reclaimTx() {
        int total = 0;
        int n;
        while ((n = tx.harvest(tokens, lens, size)) > 0) {
            total += n;
        }
        return total;
    }

    /** Offers receive buffers {@code first .. first + n - 1}. */
    void postRx(int first, int n) {
        postRx(first, n, BUF);
    }

    /** Offers receive buffers {@code first .. first + n - 1}, each {@code len} bytes (at most {@link #BUF}). */
    void postRx(int first, int n, int len) {
        for (int i = 0; i < n; i++) {
            long addr = GPA + rxBuffers + (long) (first + i) * BUF;
            if (!rx.addIn(addr, len, first + i)) {
                throw new AssertionError("no free rx descriptor");
            }
        }
        rx.publish();
    }

    /** Harvests received buffers: tokens and written lengths into the arrays; how many. */
    int harvestRx(int[] tokensOut, int[] lensOut) {
        return rx.harvest(tokensOut, lensOut, tokensOut.length);
    }

    MemorySegment rxBuffer(int token) {
        return mem.asSlice(rxBuffers + (long) token * BUF, BUF);
    }

    @Override
    public void close() {
        channel.close();
        for (Fd fd : calls) {
            if (fd != null) {
                fd.close();
            }
        }
        for (Fd fd : kicks) {
            if (fd != null) {
                fd.close();
            }
        }
        Posix.munmap(mem);
        memfd.close();
    }
}
