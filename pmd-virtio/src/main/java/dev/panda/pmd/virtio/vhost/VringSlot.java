package dev.panda.pmd.virtio.vhost;

import dev.panda.jextract.Fd;
import dev.panda.jextract.Posix;
import dev.panda.pmd.virtio.ring.Chain;
import dev.panda.pmd.virtio.ring.DeviceQueue;
import dev.panda.pmd.virtio.ring.PackedDeviceQueue;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;

/**
 * Where one vring passes from the control thread to its poller (docs/ARCHITECTURE.md, "Control path
 * and data path"). The control thread publishes an immutable {@link Live} (a volatile store) and
 * takes it back with {@link #quiesce}: it clears the reference, then waits until the poller is no
 * longer inside a burst that may still hold the old one. The poller brackets every burst with
 * {@link #enter()} / {@link #exit()}, which bump a sequence number: odd while inside.
 *
 * <p>Why that suffices: {@code enter} is a volatile store of the odd sequence followed by a
 * volatile load of {@code live}; {@code quiesce} is a volatile store of {@code null} followed by
 * a volatile load of the sequence. Volatile accesses are totally ordered (JLS 17.4.4), so either
 * the poller's load sees {@code null}, or the control thread's load sees the odd sequence and
 * waits for it to change.
 */
public final class VringSlot {

    private static final VarHandle SEQ;

    static {
        try {
            SEQ = MethodHandles.lookup().findVarHandle(VringSlot.class, "seq", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * What the poller uses: the queue, its preallocated chain, the call eventfd (null: the
     * front-end polls), how packets go into the guest's buffers (receive queues only; chosen from
     * the negotiated features) and the dirty log ({@link DirtyLog#OFF} unless migrating).
     * {@code errorsSeen} is the poller's own (ring errors already counted).
     */
    public static final class Live {
        /** The split queue, or null on a packed ring. */
        final DeviceQueue queue;
        /** The packed queue (VIRTIO_F_RING_PACKED), or null on a split ring. */
        final PackedDeviceQueue packed;

        final Chain chain;
        final Interrupt call;
        final GuestRxWriter writer;
        final PackedRxWriter packedWriter;
        final DirtyLog log;
        long errorsSeen;
        /** The receive's copies after its walks; null on a receive queue of the guest (device transmit). */
        final RxCopies copies;

        Live(DeviceQueue queue, Interrupt call, GuestRxWriter writer, DirtyLog log) {
            this.queue = queue;
            this.packed = null;
            this.chain = queue.newChain();
            this.call = call;
            this.writer = writer;
            this.packedWriter = null;
            this.log = log;
            this.copies = writer == null ? new RxCopies(queue.size()) : null;
        }

        Live(PackedDeviceQueue packed, Interrupt call, PackedRxWriter writer, DirtyLog log) {
            this.queue = null;
            this.packed = packed;
            this.chain = packed.newChain();
            this.call = call;
            this.writer = null;
            this.packedWriter = writer;
            this.log = log;
            this.copies = writer == null ? new RxCopies(packed.size()) : null;
        }

        /**
         * A running vring for a back-end outside this package: {@code call} interrupts the driver
         * (null: it polls), receive queues (even {@code vring}) write through the writer
         * {@code features} choose, nothing is dirty-logged.
         */
        public static Live of(DeviceQueue queue, int vring, Interrupt call, long features) {
            return new Live(
                    queue, call, vring % 2 == 0 ? GuestRxWriter.of(queue, features, DirtyLog.OFF) : null, DirtyLog.OFF);
        }

        /** The same for a packed ring (VIRTIO_F_RING_PACKED). */
        public static Live of(PackedDeviceQueue queue, int vring, Interrupt call, long features) {
            return new Live(
                    queue,
                    call,
                    vring % 2 == 0 ? PackedRxWriter.of(queue, features, DirtyLog.OFF) : null,
                    DirtyLog.OFF);
        }
    }

    /** How a vring interrupts its driver when the used ring asks for it (virtio 1.2 §2.7.7). */
    @FunctionalInterface
    public interface Interrupt {
        /** On the poller: must not block nor allocate. */
        void raise();

        /** vhost: a write to the call eventfd (a broken fd only costs the driver its interrupt). */
        static Interrupt eventfd(Fd call) {
            return () -> Posix.eventfdSignal(call);
        }
    }

    private volatile Live live;
    /** Written by the poller only: odd while it is inside a burst. */
    @SuppressWarnings("unused")
    private volatile long seq;

    /** Poller: starts a burst; returns the queue to use, or null (not ready). */
    Live enter() {
        SEQ.setVolatile(this, (long) SEQ.getOpaque(this) + 1);
        return live;
    }

    /** Poller: ends the burst begun by {@link #enter()}. */
    void exit() {
        SEQ.setRelease(this, (long) SEQ.getOpaque(this) + 1);
    }

    /** Control: what is published now. */
    public Live current() {
        return live;
    }

    /** Control: hands a new state to the poller. */
    public void publish(Live l) {
        live = l;
    }

    /**
     * Control: takes the state back and waits until the poller has left any burst that may have
     * seen it. Returns false if the poller stayed inside one for {@code timeoutMillis} (a stuck
     * poller): the caller must then not unmap what the old state points into.
     */
    public boolean quiesce(long timeoutMillis) {
        live = null;
        long s = (long) SEQ.getVolatile(this);
        if ((s & 1) == 0) {
            return true;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while ((long) SEQ.getVolatile(this) == s) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            Thread.onSpinWait();
            Thread.yield();
        }
        return true;
    }
}
