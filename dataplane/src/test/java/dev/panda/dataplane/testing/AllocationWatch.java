package dev.panda.dataplane.testing;

import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.function.LongSupplier;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;

/**
 * Watches one polling thread over a measured window, three ways: the JVM's count of bytes that
 * thread allocated, JFR allocation events (TLAB and outside) on it, and GC cycles (MXBeans, and
 * JFR GarbageCollection events that start inside the window). The zero-allocation tests of every
 * module share it.
 */
public final class AllocationWatch implements AutoCloseable {

    /** What the window saw; {@code cpuNanos} is the thread's CPU time, for a ns/packet figure. */
    public record Result(
            long allocatedBytes,
            long jfrAllocationEvents,
            long gcCycles,
            long jfrGcEvents,
            long cpuNanos,
            double seconds) {}

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private final Thread thread;
    private final Recording recording = new Recording();
    private final Path file;
    private long bytes0;
    private long cpu0;
    private long gc0;
    private long t0;
    private Instant from;

    private AllocationWatch(Thread thread) throws IOException {
        this.thread = thread;
        this.file = Files.createTempFile("panda-allocation", ".jfr");
    }

    /** Starts the recording, then the window. */
    public static AllocationWatch start(Thread thread) throws IOException {
        AllocationWatch w = new AllocationWatch(thread);
        w.recording.enable("jdk.ObjectAllocationInNewTLAB");
        w.recording.enable("jdk.ObjectAllocationOutsideTLAB");
        w.recording.enable("jdk.GarbageCollection");
        w.recording.start();
        // Starting a recording allocates a lot on JFR's threads; collect that now, so a GC it
        // would trigger falls before the window instead of being counted in it (seen: 2 GC cycles
        // counted, none in JFR's window, forwarding thread 0 bytes).
        System.gc();
        w.bytes0 = THREADS.getThreadAllocatedBytes(thread.threadId());
        w.cpu0 = THREADS.getThreadCpuTime(thread.threadId());
        w.gc0 = gcCount();
        w.t0 = System.nanoTime();
        w.from = Instant.now();
        return w;
    }

    /** Ends the window, then the recording, and reads it. Call while the thread still runs. */
    public Result stop() throws IOException {
        Instant to = Instant.now();
        long bytes1 = THREADS.getThreadAllocatedBytes(thread.threadId());
        long cpu1 = THREADS.getThreadCpuTime(thread.threadId());
        long gc1 = gcCount();
        double secs = (System.nanoTime() - t0) / 1e9;
        recording.stop();
        recording.dump(file);
        long allocEvents = 0;
        long gcEvents = 0;
        for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
            if (e.getEventType().getName().equals("jdk.GarbageCollection")) {
                // only cycles inside the window: the recording also spans its own start and the
                // dump, where other threads (JFR's among them) allocate
                if (!e.getStartTime().isBefore(from) && !e.getStartTime().isAfter(to)) {
                    gcEvents++;
                }
            } else if (e.getThread() != null
                    && thread.getName().equals(e.getThread().getJavaName())) {
                allocEvents++;
            }
        }
        return new Result(bytes1 - bytes0, allocEvents, gc1 - gc0, gcEvents, cpu1 - cpu0, secs);
    }

    /**
     * Waits until {@code thread} allocates nothing over two consecutive 1-s windows (tiered
     * compilation may allocate a few bytes once; a per-packet allocation shows in every window).
     * Fails after {@code maxSeconds}.
     */
    public static void settle(Thread thread, int maxSeconds) throws InterruptedException {
        long deadline = System.nanoTime() + maxSeconds * 1_000_000_000L;
        int quiet = 0;
        long last = THREADS.getThreadAllocatedBytes(thread.threadId());
        while (quiet < 2) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(thread.getName() + " still allocates after " + maxSeconds + " s");
            }
            Thread.sleep(1000);
            long now = THREADS.getThreadAllocatedBytes(thread.threadId());
            quiet = now == last ? quiet + 1 : 0;
            last = now;
        }
    }

    /**
     * Runs {@code round} on this thread up to {@code maxRounds} times and returns the fewest bytes
     * one round allocated, stopping at the first round that allocated nothing: a round may catch
     * the JIT finishing a compile (a few hundred bytes once), a per-packet allocation shows in
     * every round. {@code round} returns how many packets it moved; {@code log} gets
     * "bytes B/packets packets; " per round, for the assertion message.
     */
    public static long fewestBytesPerRound(int maxRounds, LongSupplier round, StringBuilder log) {
        long best = Long.MAX_VALUE;
        for (int r = 0; r < maxRounds && best != 0; r++) {
            long before = THREADS.getCurrentThreadAllocatedBytes();
            long moved = round.getAsLong();
            long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
            log.append(allocated).append(" B/").append(moved).append(" packets; ");
            best = Math.min(best, allocated);
        }
        return best;
    }

    private static long gcCount() {
        long n = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            n += Math.max(0, gc.getCollectionCount());
        }
        return n;
    }

    @Override
    public void close() throws IOException {
        recording.close();
        Files.deleteIfExists(file);
    }
}
