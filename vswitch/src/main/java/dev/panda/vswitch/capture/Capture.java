package dev.panda.vswitch.capture;

import com.lmax.disruptor.EventHandler;
import com.lmax.disruptor.SleepingWaitStrategy;
import com.lmax.disruptor.dsl.Disruptor;
import com.lmax.disruptor.dsl.ProducerType;
import dev.panda.dataplane.port.Port;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;

/**
 * One running capture: its tap (the data path's end), its ring of preallocated slots, and the
 * writer thread ({@code panda-capture-NAME}) that drains the ring into the capture's Chronicle
 * Queue, one {@link CaptureRecord} per frame. The writer waits with the Disruptor's
 * {@link SleepingWaitStrategy}, whose producer side does nothing (no lock, no signal), so the data
 * path's {@code tryNext}/{@code publish} never touch a lock.
 */
public final class Capture implements AutoCloseable {

    /** Bytes of ring slots a capture preallocates at most (a slot is 16 bytes and the frame bytes it keeps). */
    static final long RING_BYTES = 16L << 20;

    final CaptureSpec spec;
    final String portName;
    final Path directory;
    final CaptureTap tap;
    private final Disruptor<CaptureTap.Slot> disruptor;
    private final SingleChronicleQueue queue;
    private final Writer writer;
    private final long startedMillis = System.currentTimeMillis();

    private Capture(
            CaptureSpec spec,
            String portName,
            Path directory,
            int portId,
            Port port,
            CbpfProgram filter,
            int slots,
            int maxFrame) {
        this.spec = spec;
        this.portName = portName;
        this.directory = directory;
        this.queue = SingleChronicleQueueBuilder.binary(directory)
                .rollCycle(Rolls.cycle(spec.roll()))
                .build();
        // a slot holds what a frame can have: no more than snaplen, nor than a packet buffer holds
        int slotBytes = slotBytes(spec.snaplen(), maxFrame);
        int size = ringSize(slotBytes);
        this.writer = new Writer();
        this.disruptor = new Disruptor<>(
                () -> new CaptureTap.Slot(slotBytes),
                size,
                r -> Thread.ofPlatform()
                        .name("panda-capture-" + spec.name())
                        .daemon(true)
                        .unstarted(r),
                ProducerType.MULTI,
                new SleepingWaitStrategy());
        disruptor.handleEventsWith(writer);
        this.tap = new CaptureTap(
                spec.name(), portId, port, spec.rx(), spec.tx(), slotBytes, filter, slots, disruptor.getRingBuffer());
    }

    /**
     * Opens the queue in {@code directory} (appending to what is there) and starts the writer.
     *
     * @param maxFrame the most bytes a frame on the data path can have (a packet buffer's room)
     */
    static Capture start(
            CaptureSpec spec,
            String portName,
            Path directory,
            int portId,
            Port port,
            CbpfProgram filter,
            int slots,
            int maxFrame)
            throws IOException {
        java.nio.file.Files.createDirectories(directory);
        Capture c = new Capture(spec, portName, directory, portId, port, filter, slots, maxFrame);
        c.disruptor.start();
        return c;
    }

    /** Frame bytes a ring slot holds: the snaplen, or less when no frame can be that long. */
    static int slotBytes(int snaplen, int maxFrame) {
        return maxFrame > 0 ? Math.min(snaplen, maxFrame) : snaplen;
    }

    /** Slots in the ring: a power of two, 256..65536, about {@link #RING_BYTES} in all. */
    static int ringSize(int slotBytes) {
        long want = RING_BYTES / (slotBytes + CaptureRecord.HEADER);
        int size = Integer.highestOneBit((int) Math.max(256, Math.min(65_536, want)));
        return size;
    }

    int ringSlots() {
        return disruptor.getRingBuffer().getBufferSize();
    }

    /** Frames the writer appended to the queue. */
    long captured() {
        return writer.captured;
    }

    /** Frame bytes the writer appended (record headers not counted). */
    long capturedBytes() {
        return writer.bytes;
    }

    /** Frames the writer could not append (the queue refused them); also counted as dropped. */
    long writeErrors() {
        return writer.errors;
    }

    long startedMillis() {
        return startedMillis;
    }

    /** Drains the queue writer: every frame in the ring is appended. The tap must be closed first. */
    @Override
    public void close() {
        tap.close();
        try {
            disruptor.shutdown(10, TimeUnit.SECONDS);
        } catch (com.lmax.disruptor.TimeoutException e) {
            disruptor.halt();
        }
        queue.close();
    }

    /** The writer thread: one record per slot, appended to the queue. */
    private final class Writer implements EventHandler<CaptureTap.Slot> {
        private ExcerptAppender appender;
        volatile long captured;
        volatile long bytes;
        volatile long errors;
        private boolean logged;

        @Override
        public void onStart() {
            appender = queue.createAppender();
        }

        @Override
        public void onShutdown() {
            if (appender != null) {
                appender.close();
            }
        }

        @Override
        public void onEvent(CaptureTap.Slot s, long sequence, boolean endOfBatch) {
            CaptureRecord.header(s.data, s.timestampNanos, s.direction, s.port, s.originalLength);
            try {
                s.bytes.readPositionRemaining(0, CaptureRecord.HEADER + s.capturedLength);
                appender.writeBytes(s.bytes);
            } catch (RuntimeException e) {
                errors++;
                if (!logged) {
                    logged = true;
                    System.err.println("panda vswitch: capture " + spec.name() + ": cannot append to " + directory
                            + ": " + e.getMessage() + " (frames counted as dropped)");
                }
                return;
            }
            captured++;
            bytes += s.capturedLength;
        }
    }
}
