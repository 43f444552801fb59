package dev.panda.dataplane.ports.tap;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.AbstractPort;
import dev.panda.dataplane.port.LinkStatus;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.QueueCounters;
import dev.panda.jextract.ErrnoCalls;
import dev.panda.jextract.Fd;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * {@code net_tap}: a TAP device (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, non-blocking fd), one
 * queue. Every frame is preceded by a 10-byte {@code struct virtio_net_hdr} (virtio 1.2 §5.1.6);
 * offloads are off (TUNSETOFFLOAD 0), so the kernel hands over whole, checksummed frames and the
 * header we send is all zeros. Rx reads straight into a pool buffer (header in the headroom,
 * frame at the data offset), tx writes from the buffer with the header zeroed in its headroom:
 * no copies, one syscall per packet, addresses passed as longs so nothing is allocated.
 */
final class TapPort extends AbstractPort {

    static final int VNET_HDR = 10;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle READ = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("read"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle WRITE = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("write"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG));

    private final String iface;
    private final PacketPool pool;
    private final Fd fd;
    private final long base;
    private final QueueCounters rxq;
    private final QueueCounters txq;
    private final int[] scratch = new int[PacketBurst.MAX_BURST];
    private boolean closed;

    TapPort(String name, String iface, PacketPool pool, Fd fd, long mac) {
        super(name, TapPortDriver.NAME, 1, 1, mac);
        this.iface = iface;
        this.pool = pool;
        this.fd = fd;
        this.base = pool.segment().address();
        this.rxq = rxCounters[0];
        this.txq = txCounters[0];
    }

    @Override
    public int rxBurst(int queue, PacketBurst burst) {
        int got = pool.allocBulk(burst.handles, 0, burst.maxBurst());
        if (got == 0) {
            rxq.addNombuf(1); // one per burst the empty pool left without a buffer
        }
        int k = 0;
        long bytes = 0;
        int room = pool.maxPacketLength() + VNET_HDR;
        int f = fd.value();
        MemorySegment mem = pool.segment();
        while (k < got) {
            int h = burst.handles[k];
            long at = pool.dataOffset(h) - VNET_HDR;
            long n = read(f, base + at, room);
            if (n <= 0) {
                break; // EAGAIN: nothing more now
            }
            int len = (int) n - VNET_HDR;
            if (len < 14 || mem.get(ValueLayout.JAVA_BYTE, at + 1) != 0 /* gso_type: offloads are off */) {
                rxq.addErrors(1);
                continue;
            }
            pool.setLength(h, len);
            bytes += len;
            k++;
        }
        if (got > k) {
            pool.freeBulk(burst.handles, k, got - k);
        }
        burst.size = k;
        if (k > 0) {
            rxq.add(k, bytes);
        }
        return k;
    }

    @Override
    public int txBurst(int queue, PacketBurst burst, int n) {
        MemorySegment mem = pool.segment();
        int f = fd.value();
        int k = 0;
        long bytes = 0;
        long errors = 0;
        for (; k < n; k++) {
            int h = burst.handles[k];
            long data = pool.dataOffset(h);
            int len = pool.length(h);
            if (data - pool.bufferOffset(h) < VNET_HDR) {
                errors++; // no headroom for the header: dropped, counted
                scratch[k] = h;
                continue;
            }
            for (int i = 1; i <= VNET_HDR; i++) {
                mem.set(ValueLayout.JAVA_BYTE, data - i, (byte) 0);
            }
            long w = write(f, base + data - VNET_HDR, len + VNET_HDR);
            if (w < 0) {
                break; // EAGAIN: the tap queue is full; the caller keeps the rest
            }
            bytes += len;
            scratch[k] = h;
        }
        if (k > 0) {
            pool.freeBulk(scratch, 0, k);
            txq.add(k - (int) errors, bytes);
            if (errors > 0) {
                txq.addErrors(errors);
            }
        }
        return k;
    }

    private static long read(int fd, long addr, long len) {
        try {
            return (long) READ.invokeExact(fd, addr, len);
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    private static long write(int fd, long addr, long len) {
        try {
            return (long) WRITE.invokeExact(fd, addr, len);
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    @Override
    public LinkStatus link() {
        return closed ? LinkStatus.DOWN : LinkStatus.VIRTUAL_UP;
    }

    public String iface() {
        return iface;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            fd.close();
        }
    }

    @Override
    public String toString() {
        return name() + " (tap " + iface + ")";
    }
}
