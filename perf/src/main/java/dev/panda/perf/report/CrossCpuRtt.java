package dev.panda.perf.report;

import dev.panda.jextract.Posix;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The cross-CPU round trip, sampled in the background while a report runs: about once a second
 * two threads pinned to two CPUs ping-pong one cache line for up to {@value #ROUNDS} round trips
 * (at most {@value #BUDGET_MS} ms), and the sample keeps the fastest and the median round trip in
 * ns (none when fewer than {@value #MIN_ROUNDS} completed). On a VM the figure shows where the hypervisor placed the two vCPUs (SMT siblings, the same
 * socket, another socket) and whether that changed during the run. A sample costs each CPU at
 * most a few ms per second; where a benchmark thread busy-spins on a CPU, the two threads meet
 * only when the scheduler runs both at once, so the median may rise while the minimum stays.
 */
public final class CrossCpuRtt implements AutoCloseable {

    static final int ROUNDS = 2000;
    static final int BUDGET_MS = 10;
    /** A sample with fewer round trips than this has no figure (NaN). */
    static final int MIN_ROUNDS = 20;

    /** One sample: seconds since the sampler started, the fastest and the median round trip, and how many completed. */
    public record Sample(double atSeconds, double minNs, double medianNs, int roundTrips) {}

    private static final VarHandle FLAG;

    static {
        try {
            FLAG = MethodHandles.lookup().findVarHandle(CrossCpuRtt.class, "flag", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    // padded so the flag has its cache line to itself
    @SuppressWarnings("unused")
    private long p1, p2, p3, p4, p5, p6, p7;

    private volatile long flag;

    @SuppressWarnings("unused")
    private long q1, q2, q3, q4, q5, q6, q7;

    private final int cpuA;
    private final int cpuB;
    private final long periodMillis;
    private final List<Sample> samples = new ArrayList<>();
    private final long t0 = System.nanoTime();
    private final Thread thread;
    private volatile boolean stop;

    private CrossCpuRtt(int cpuA, int cpuB, long periodMillis) {
        this.cpuA = cpuA;
        this.cpuB = cpuB;
        this.periodMillis = periodMillis;
        this.thread = Thread.ofPlatform().daemon(true).name("cross-cpu-rtt").unstarted(this::loop);
    }

    /** Starts sampling CPUs {@code cpuA} and {@code cpuB} every {@code periodMillis}. */
    public static CrossCpuRtt start(int cpuA, int cpuB, long periodMillis) {
        CrossCpuRtt s = new CrossCpuRtt(cpuA, cpuB, periodMillis);
        s.thread.start();
        return s;
    }

    /**
     * One sample now, on a thread of its own (pinning the calling thread would shrink what
     * {@code Runtime.availableProcessors()} reports to it).
     */
    public static Sample once(int cpuA, int cpuB) throws InterruptedException {
        CrossCpuRtt s = new CrossCpuRtt(cpuA, cpuB, 0);
        Sample[] out = new Sample[1];
        Thread t = Thread.ofPlatform().daemon(true).name("cross-cpu-rtt-once").start(() -> {
            try {
                out[0] = s.sample();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        t.join();
        return out[0];
    }

    public synchronized List<Sample> samples() {
        return List.copyOf(samples);
    }

    private void loop() {
        try {
            while (!stop) {
                Sample s = sample();
                synchronized (this) {
                    samples.add(s);
                }
                Thread.sleep(periodMillis);
            }
        } catch (InterruptedException e) {
            // closed
        }
    }

    private Sample sample() throws InterruptedException {
        Posix.setAffinity(cpuA);
        FLAG.setVolatile(this, 0L);
        Thread responder =
                Thread.ofPlatform().daemon(true).name("cross-cpu-rtt-b").start(this::respond);
        long[] rtt = new long[ROUNDS];
        int n = 0;
        double at = (System.nanoTime() - t0) / 1e9;
        long deadline = System.nanoTime() + BUDGET_MS * 1_000_000L;
        // wait until the responder runs on its CPU: it answers 0 with -2
        while ((long) FLAG.getAcquire(this) != -2L && System.nanoTime() < deadline + 50_000_000L) {
            Thread.onSpinWait();
        }
        deadline = System.nanoTime() + BUDGET_MS * 1_000_000L;
        outer:
        for (long i = 1; i <= ROUNDS; i++) {
            long start = System.nanoTime();
            FLAG.setRelease(this, 2 * i - 1);
            while ((long) FLAG.getAcquire(this) != 2 * i) {
                Thread.onSpinWait();
                if (System.nanoTime() > deadline) {
                    break outer;
                }
            }
            rtt[n++] = System.nanoTime() - start;
        }
        FLAG.setRelease(this, Long.MIN_VALUE); // tells the responder to end
        responder.join();
        long[] done = Arrays.copyOf(rtt, n);
        Arrays.sort(done);
        // fewer than MIN_ROUNDS round trips: the two threads rarely ran at once, the figure is scheduling
        return n < MIN_ROUNDS ? new Sample(at, Double.NaN, Double.NaN, n) : new Sample(at, done[0], done[n / 2], n);
    }

    /** Answers each odd value v with v + 1 until told to end. */
    private void respond() {
        Posix.setAffinity(cpuB);
        FLAG.compareAndSet(this, 0L, -2L);
        long deadline = System.nanoTime() + (BUDGET_MS + 100) * 1_000_000L;
        while (true) {
            long v = (long) FLAG.getAcquire(this);
            if (v == Long.MIN_VALUE || System.nanoTime() > deadline) {
                return;
            }
            if (v > 0 && (v & 1) == 1) {
                FLAG.compareAndSet(this, v, v + 1);
            } else {
                Thread.onSpinWait();
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop = true;
        thread.interrupt();
        thread.join(1000);
    }
}
