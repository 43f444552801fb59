package dev.panda.vswitch.capture;

import com.lmax.disruptor.InsufficientCapacityException;
import com.lmax.disruptor.RingBuffer;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.Port;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The data path's end of one capture: for each burst of a port it runs the filter on every frame
 * in place, and copies each match (up to the snap length) into a slot of the capture's
 * preallocated Disruptor ring with {@code tryNext}, which never waits: a full ring drops the frame
 * from the capture and counts it. Nothing here allocates or takes a lock.
 *
 * <p>Several data-path threads may offer to one tap at once (pollers of different rx queues, the
 * pipeline's tx stage): the ring is multi-producer, the counters are atomic adds once per burst,
 * and each thread runs its own copy of the filter (its scratch memory), chosen by its slot.
 *
 * <p>Stopping: {@link #close} sets {@code closed}, issues a full fence and waits until no thread
 * is inside {@link #offer}; an offering thread increments {@code inside}, then reads {@code closed}.
 * Both sides store then load, so one sees the other (the argument {@code VringSlot} makes). After
 * close returns no frame enters the ring and the counters no longer move in the data path.
 */
public final class CaptureTap {

    private static final VarHandle LONGS;
    private static final VarHandle INSIDE;

    static {
        try {
            var l = MethodHandles.lookup();
            LONGS = l.findVarHandle(CaptureTap.class, "matched", long.class);
            INSIDE = l.findVarHandle(CaptureTap.class, "inside", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static final VarHandle DROPPED;

    static {
        try {
            DROPPED = MethodHandles.lookup().findVarHandle(CaptureTap.class, "dropped", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** A ring slot: one frame's header fields and up to snaplen of its bytes. */
    public static final class Slot {
        long timestampNanos;
        int direction;
        int port;
        int originalLength;
        int capturedLength;
        final byte[] data;
        /** {@code data} as Chronicle bytes, made once, so the writer appends without allocating. */
        final net.openhft.chronicle.bytes.Bytes<byte[]> bytes;

        Slot(int snaplen) {
            data = new byte[CaptureRecord.HEADER + snaplen];
            bytes = net.openhft.chronicle.bytes.Bytes.wrapForRead(data);
            // made on the control thread, used only by the writer thread from then on
            bytes.singleThreadedCheckDisabled(true);
        }
    }

    final String name;
    final int portId;
    final Port port;
    final boolean rx;
    final boolean tx;
    final int snaplen;
    private final CbpfProgram[] filters;
    private final RingBuffer<Slot> ring;
    private final Clock clock;

    private volatile long matched;
    private volatile long dropped;
    private volatile int inside;
    private volatile boolean closed;

    /** Wall-clock nanoseconds without allocating: the epoch time at start plus nanoTime elapsed. */
    static final class Clock {
        private final long epochNanos;
        private final long baseNanos;

        Clock() {
            java.time.Instant now = java.time.Instant.now();
            this.baseNanos = System.nanoTime();
            this.epochNanos = now.getEpochSecond() * 1_000_000_000L + now.getNano();
        }

        long now() {
            return epochNanos + (System.nanoTime() - baseNanos);
        }
    }

    /**
     * @param filter the validated program, or null to take every frame
     * @param slots  data-path threads that may offer (each gets its own filter copy)
     */
    CaptureTap(
            String name,
            int portId,
            Port port,
            boolean rx,
            boolean tx,
            int snaplen,
            CbpfProgram filter,
            int slots,
            RingBuffer<Slot> ring) {
        this.name = name;
        this.portId = portId;
        this.port = port;
        this.rx = rx;
        this.tx = tx;
        this.snaplen = snaplen;
        this.ring = ring;
        this.clock = new Clock();
        if (filter == null) {
            this.filters = null;
        } else {
            this.filters = new CbpfProgram[slots];
            for (int i = 0; i < slots; i++) {
                filters[i] = filter.copy();
            }
        }
    }

    /**
     * Offers {@code handles[0..n)}, frames of this tap's port in direction {@code dir}, from the
     * data-path thread with capture slot {@code slot}. Never waits, never allocates.
     */
    public void offer(PacketPool pool, MemorySegment seg, int[] handles, int n, int dir, int slot) {
        INSIDE.getAndAdd(this, 1);
        try {
            if (closed) {
                return;
            }
            CbpfProgram f = filters == null ? null : filters[slot];
            long ts = clock.now();
            long m = 0;
            long d = 0;
            for (int i = 0; i < n; i++) {
                int h = handles[i];
                long off = pool.dataOffset(h);
                int len = pool.length(h);
                int keep = len;
                if (f != null) {
                    int v = f.run(seg, off, len);
                    if (v == 0) {
                        continue;
                    }
                    if (Integer.compareUnsigned(v, len) < 0) {
                        keep = v;
                    }
                }
                if (keep > snaplen) {
                    keep = snaplen;
                }
                m++;
                long seq;
                try {
                    seq = ring.tryNext();
                } catch (InsufficientCapacityException e) {
                    d++;
                    continue;
                }
                Slot s = ring.get(seq);
                s.timestampNanos = ts;
                s.direction = dir;
                s.port = portId;
                s.originalLength = len;
                s.capturedLength = keep;
                MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, off, s.data, CaptureRecord.HEADER, keep);
                ring.publish(seq);
            }
            if (m != 0) {
                LONGS.getAndAdd(this, m);
            }
            if (d != 0) {
                DROPPED.getAndAdd(this, d);
            }
        } finally {
            INSIDE.getAndAdd(this, -1);
        }
    }

    public long matched() {
        return matched;
    }

    public long dropped() {
        return dropped;
    }

    /** Stops the data path offering; returns once no thread is inside {@link #offer} (up to 5 s). */
    void close() {
        closed = true;
        VarHandle.fullFence();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (inside != 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
            Thread.yield();
        }
    }
}
