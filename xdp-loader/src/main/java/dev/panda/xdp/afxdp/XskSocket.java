package dev.panda.xdp.afxdp;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.panda.jextract.Fd;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.SockCalls;
import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.uapi.Uapi;
import dev.panda.jextract.uapi.sockaddr_xdp;
import dev.panda.jextract.uapi.xdp_desc;
import dev.panda.jextract.uapi.xdp_mmap_offsets;
import dev.panda.jextract.uapi.xdp_ring_offset;
import dev.panda.jextract.uapi.xdp_umem_reg;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One AF_XDP socket bound to one queue of an interface, with its four rings mapped
 * (af_xdp.rst: "UMEM", "Rings", "Usage"): socket(AF_XDP), XDP_UMEM_REG (first socket of a
 * port) or XDP_SHARED_UMEM (the others), ring sizes, XDP_MMAP_OFFSETS, mmap of each ring, bind.
 *
 * <p>The UMEM is the whole packet-pool region registered with XDP_UMEM_UNALIGNED_CHUNK_FLAG:
 * the pool's 2176-byte stride is not a power of two, and in unaligned mode a fill address may
 * be any offset (the kernel then reports rx addresses as base + (offset << 48),
 * XSK_UNALIGNED_BUF_OFFSET_SHIFT in if_xdp.h).
 */
final class XskSocket implements AutoCloseable {

    static final int UNALIGNED_OFFSET_SHIFT = 48;
    static final long UNALIGNED_ADDR_MASK = (1L << UNALIGNED_OFFSET_SHIFT) - 1;

    final Fd fd;
    final XskRing fill;
    final XskRing comp;
    final XskRing rx;
    final XskRing tx;
    private final Arena arena = Arena.ofShared();
    private final boolean zeroCopy;

    /**
     * @param sharedUmemFd -1 to register {@code umem} on this socket, else the fd of the socket
     *                     that registered it (XDP_SHARED_UMEM)
     */
    XskSocket(
            MemorySegment umem,
            int chunkSize,
            int ifindex,
            int queue,
            int ringSize,
            int fillSize,
            int bindFlags,
            int sharedUmemFd) {
        this.fd = new Fd(SockCalls.socket(Libc.AF_XDP(), Libc.SOCK_RAW() | Libc.SOCK_CLOEXEC(), 0, "socket(AF_XDP)"));
        try (Arena a = Arena.ofConfined()) {
            int sol = Libc.SOL_XDP();
            if (sharedUmemFd < 0) {
                MemorySegment reg = xdp_umem_reg.allocate(a);
                xdp_umem_reg.addr(reg, umem.address());
                xdp_umem_reg.len(reg, umem.byteSize());
                xdp_umem_reg.chunk_size(reg, chunkSize);
                xdp_umem_reg.headroom(reg, 0);
                xdp_umem_reg.flags(reg, Uapi.XDP_UMEM_UNALIGNED_CHUNK_FLAG());
                setsockopt(sol, Uapi.XDP_UMEM_REG(), reg, "XDP_UMEM_REG");
            }
            setsockopt(sol, Uapi.XDP_UMEM_FILL_RING(), a.allocateFrom(JAVA_INT, fillSize), "XDP_UMEM_FILL_RING");
            setsockopt(
                    sol,
                    Uapi.XDP_UMEM_COMPLETION_RING(),
                    a.allocateFrom(JAVA_INT, fillSize),
                    "XDP_UMEM_COMPLETION_RING");
            setsockopt(sol, Uapi.XDP_RX_RING(), a.allocateFrom(JAVA_INT, ringSize), "XDP_RX_RING");
            setsockopt(sol, Uapi.XDP_TX_RING(), a.allocateFrom(JAVA_INT, ringSize), "XDP_TX_RING");

            MemorySegment off = xdp_mmap_offsets.allocate(a);
            SockCalls.getsockopt(fd.value(), sol, Uapi.XDP_MMAP_OFFSETS(), off, "XDP_MMAP_OFFSETS");
            int descBytes = (int) xdp_desc.sizeof();
            this.rx = ring(xdp_mmap_offsets.rx(off), ringSize, descBytes, Uapi.XDP_PGOFF_RX_RING(), false);
            this.tx = ring(
                    xdp_mmap_offsets.tx(off),
                    ringSize,
                    descBytes,
                    Uapi.XDP_PGOFF_TX_RING() & 0xffff_ffffL,
                    true); // 0x80000000: an int constant, not sign-extended
            this.fill = ring(xdp_mmap_offsets.fr(off), fillSize, 8, Uapi.XDP_UMEM_PGOFF_FILL_RING(), true);
            this.comp = ring(xdp_mmap_offsets.cr(off), fillSize, 8, Uapi.XDP_UMEM_PGOFF_COMPLETION_RING(), false);

            MemorySegment sa = sockaddr_xdp.allocate(a);
            sockaddr_xdp.sxdp_family(sa, (short) Libc.AF_XDP());
            sockaddr_xdp.sxdp_ifindex(sa, ifindex);
            sockaddr_xdp.sxdp_queue_id(sa, queue);
            if (sharedUmemFd >= 0) {
                // a socket sharing a UMEM takes no other bind flag: it inherits copy/zero-copy and
                // need_wakeup from the socket that registered it (xsk_bind, net/xdp/xsk.c)
                sockaddr_xdp.sxdp_flags(sa, (short) Uapi.XDP_SHARED_UMEM());
                sockaddr_xdp.sxdp_shared_umem_fd(sa, sharedUmemFd);
            } else {
                sockaddr_xdp.sxdp_flags(sa, (short) bindFlags);
            }
            bindRetryingBusy(sa, "AF_XDP, ifindex " + ifindex + ", queue " + queue);
            MemorySegment opts = a.allocate(JAVA_INT);
            SockCalls.getsockopt(fd.value(), sol, Uapi.XDP_OPTIONS(), opts, "XDP_OPTIONS");
            this.zeroCopy = (opts.get(JAVA_INT, 0) & Uapi.XDP_OPTIONS_ZEROCOPY()) != 0;
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private XskRing ring(MemorySegment off, int entries, int entryBytes, long pgoff, boolean producerSide) {
        long bytes = xdp_ring_offset.desc(off) + (long) entries * entryBytes;
        MemorySegment seg =
                SockCalls.mmap(fd.value(), bytes, pgoff, arena, "AF_XDP ring at pgoff 0x" + Long.toHexString(pgoff));
        return new XskRing(
                seg,
                xdp_ring_offset.producer(off),
                xdp_ring_offset.consumer(off),
                xdp_ring_offset.flags(off),
                xdp_ring_offset.desc(off),
                entries,
                entryBytes,
                producerSide);
    }

    private void setsockopt(int level, int opt, MemorySegment v, String name) {
        SockCalls.setsockopt(fd.value(), level, opt, v, name);
    }

    /** SO_BUSY_POLL's microseconds when busy polling is on (DPDK's af_xdp sets the same 20). */
    static final int BUSY_POLL_USECS = 20;

    /**
     * Preferred busy polling (kernel Documentation/networking/napi.rst, "Preferred busy
     * polling"): SO_PREFER_BUSY_POLL=1, SO_BUSY_POLL={@value #BUSY_POLL_USECS} us and
     * SO_BUSY_POLL_BUDGET={@code budget}, so a recvfrom(MSG_DONTWAIT) on an empty ring runs the
     * queue's NAPI in the calling thread with that budget. Throws the kernel's refusal as one
     * line naming the option (EPERM: raising SO_BUSY_POLL or the budget needs CAP_NET_ADMIN;
     * ENOPROTOOPT: a kernel without it).
     */
    void preferBusyPoll(int budget) {
        int sol = Libc.SOL_SOCKET();
        setsockopt(sol, Libc.SO_PREFER_BUSY_POLL(), 1, "SO_PREFER_BUSY_POLL");
        setsockopt(sol, Libc.SO_BUSY_POLL(), BUSY_POLL_USECS, "SO_BUSY_POLL");
        setsockopt(sol, Libc.SO_BUSY_POLL_BUDGET(), budget, "SO_BUSY_POLL_BUDGET");
    }

    /** SO_INCOMING_NAPI_ID (asm-generic/socket.h): 56. */
    private static final int SO_INCOMING_NAPI_ID = 56;

    /**
     * The NAPI id the kernel marked on this socket (SO_INCOMING_NAPI_ID), 0 while it has none:
     * busy polling has nothing to run until it is set.
     */
    int napiId() {
        return socketOption(SO_INCOMING_NAPI_ID, "SO_INCOMING_NAPI_ID");
    }

    /** An int SOL_SOCKET option of this socket (getsockopt). */
    int socketOption(int opt, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            SockCalls.getsockopt(fd.value(), Libc.SOL_SOCKET(), opt, v, name);
            return v.get(JAVA_INT, 0);
        }
    }

    private void setsockopt(int level, int opt, int v, String name) {
        SockCalls.setsockopt(fd.value(), level, opt, v, name);
    }

    boolean zeroCopy() {
        return zeroCopy;
    }

    /** Tells the kernel to transmit what the tx ring holds (copy mode transmits only here). */
    void kickTx() {
        SockCalls.kickSend(fd.value());
    }

    /** Wakes the kernel's rx processing when it asked for it on the fill ring. */
    void kickRx() {
        SockCalls.kickRecv(fd.value());
    }

    /** struct xdp_statistics (if_xdp.h): rx_dropped, rx_invalid_descs, tx_invalid_descs, rx_ring_full, ... */
    long[] statistics() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(48, 8);
            SockCalls.getsockopt(fd.value(), Libc.SOL_XDP(), Uapi.XDP_STATISTICS(), s, "XDP_STATISTICS");
            return s.toArray(JAVA_LONG);
        }
    }

    /** Closes the socket (the kernel unbinds it and drops its XSKMAP entries), then unmaps the rings. */
    @Override
    public void close() {
        fd.close();
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }

    /** How long a bind waits for the previous socket of a queue to let go of it. */
    private static final long BUSY_WAIT_NANOS = 3_000_000_000L;

    /**
     * bind(2), retried on EBUSY for a bounded time: a closed socket's buffer pool releases its
     * queue (xp_clear_dev) from deferred work (xp_release_deferred, net/xdp/xsk_buff_pool.c),
     * so a queue just given up can still read as taken. A queue really held by another socket
     * still fails, with the kernel's EBUSY, after the wait.
     */
    private void bindRetryingBusy(MemorySegment sa, String what) {
        long deadline = System.nanoTime() + BUSY_WAIT_NANOS;
        while (true) {
            try {
                SockCalls.bind(fd.value(), sa, what);
                return;
            } catch (NativeException e) {
                if (e.errno() != Libc.EBUSY() || System.nanoTime() > deadline) {
                    throw e;
                }
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted binding " + what, e);
            }
        }
    }
}
