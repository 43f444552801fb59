package dev.panda.pmd.virtio.ring;

import static dev.panda.pmd.virtio.ring.RingPair.EVENT_IDX;
import static dev.panda.pmd.virtio.ring.RingPair.INDIRECT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A driver thread and a device thread on one queue, as in production: each chain is a 64-byte
 * request (device-readable) and a 64-byte response (device-writable), direct or through an
 * indirect table; the device checks order and content of every request, the driver every
 * response. The memory ordering under test is §2.7.13.3 (avail idx release / acquire) and §2.7.8.2
 * (used idx release / acquire); the sleeping variant also tests the notification hand-off of
 * §2.7.7 and §2.7.10 for lost wake-ups.
 */
class ConcurrentQueueTest {

    private static final int SIZE = 256;
    private static final int BURST = 32;
    private static final long WAKE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(20);

    @Test
    void busyPollingMovesMillionsOfBuffers() throws Exception {
        run(3_000_000, INDIRECT | EVENT_IDX, false);
    }

    @ParameterizedTest(name = "eventIdx={0}")
    @ValueSource(booleans = {true, false})
    void sleepingPollersAreAlwaysWoken(boolean eventIdx) throws Exception {
        run(300_000, INDIRECT | (eventIdx ? EVENT_IDX : 0), true);
    }

    private static void run(long total, long features, boolean sleep) throws Exception {
        try (RingPair p = new RingPair(SIZE, features, 2, 2 * SIZE, 64)) {
            Exchange x = new Exchange(p, total, sleep);
            Thread driver = new Thread(() -> x.guard(x::driverLoop), "driver");
            Thread device = new Thread(() -> x.guard(x::deviceLoop), "device");
            driver.start();
            device.start();
            driver.join(TimeUnit.MINUTES.toMillis(3));
            device.join(TimeUnit.SECONDS.toMillis(10));
            x.stop = true;
            if (x.failure.get() != null) {
                throw new AssertionError("failed: " + x.failure.get(), x.failure.get());
            }
            if (driver.isAlive() || device.isAlive()) {
                fail("did not finish: " + x.harvested + " of " + total + " harvested");
            }
            assertEquals(total, x.harvested);
            assertEquals(0, p.device.errors().total(), p.device.errors().toString());
            assertEquals(0, p.driver.errors().total(), p.driver.errors().toString());
            System.out.printf(
                    "%d buffers, features %x, sleep=%b: %d kicks, %d interrupts%n",
                    total, features, sleep, x.kicks, x.interrupts);
        }
    }

    private static long pattern(long seq, int k) {
        return seq * 0x9E3779B97F4A7C15L + k;
    }

    /** State shared by the two threads; each field is written by one of them only. */
    private static final class Exchange {
        final RingPair p;
        final long total;
        final boolean sleep;
        final Semaphore kickSignal = new Semaphore(0);
        final Semaphore interruptSignal = new Semaphore(0);
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        volatile boolean stop;
        volatile long harvested;
        volatile long kicks;
        volatile long interrupts;

        Exchange(RingPair p, long total, boolean sleep) {
            this.p = p;
            this.total = total;
            this.sleep = sleep;
        }

        void guard(Runnable loop) {
            try {
                loop.run();
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
                stop = true;
            }
        }

        void driverLoop() {
            DriverQueue q = p.driver;
            int[] freeSlots = new int[SIZE];
            for (int i = 0; i < SIZE; i++) {
                freeSlots[i] = i;
            }
            int freeTop = SIZE;
            long[] slotSeq = new long[SIZE];
            long[] addrs = new long[2];
            int[] lengths = {64, 64};
            int[] tokens = new int[BURST];
            int[] lens = new int[BURST];
            long seq = 0;
            long done = 0;
            long kicked = 0;
            if (sleep) {
                q.disableInterrupts();
            }
            while (done < total && !stop) {
                int added = 0;
                while (seq < total && freeTop > 0 && added < BURST) {
                    int slot = freeSlots[freeTop - 1];
                    addrs[0] = p.addr(2 * slot);
                    addrs[1] = p.addr(2 * slot + 1);
                    boolean ok = seq % 3 == 0
                            ? q.addIndirect(addrs, lengths, 1, 1, slot)
                            : q.add(addrs, lengths, 1, 1, slot);
                    if (!ok) {
                        break;
                    }
                    MemorySegment req = p.buffer(2 * slot);
                    req.set(ValueLayout.JAVA_LONG, 0, seq);
                    for (int k = 1; k < 8; k++) {
                        req.set(ValueLayout.JAVA_LONG, 8L * k, pattern(seq, k));
                    }
                    freeTop--;
                    slotSeq[slot] = seq++;
                    added++;
                }
                if (q.publish()) {
                    kicked++;
                    kickSignal.release();
                }
                int n = q.harvest(tokens, lens, BURST);
                for (int i = 0; i < n; i++) {
                    int slot = tokens[i];
                    long s = slotSeq[slot];
                    MemorySegment resp = p.buffer(2 * slot + 1);
                    check(lens[i] == 64, "used len", lens[i]);
                    check(resp.get(ValueLayout.JAVA_LONG, 0) == ~s, "response to", s);
                    for (int k = 1; k < 8; k++) {
                        check(resp.get(ValueLayout.JAVA_LONG, 8L * k) == ~pattern(s, k), "response body of", s);
                    }
                    freeSlots[freeTop++] = slot;
                }
                done += n;
                harvested = done;
                if (n == 0 && added == 0) {
                    if (!sleep) {
                        Thread.onSpinWait();
                        Thread.yield();
                    } else if (q.enableInterrupts()) {
                        q.disableInterrupts();
                    } else {
                        await(interruptSignal, "used buffer notification");
                        q.disableInterrupts();
                    }
                }
            }
            kicks = kicked;
        }

        void deviceLoop() {
            DeviceQueue q = p.device;
            Chain c = q.newChain();
            long expect = 0;
            long interrupted = 0;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment scratch = arena.allocate(64, 8);
                if (sleep) {
                    q.disableKicks();
                }
                while (expect < total && !stop) {
                    int n = 0;
                    while (n < BURST && q.pop(c)) {
                        check(
                                c.count() == 2 && c.readableBytes() == 64 && c.writableBytes() == 64,
                                "chain shape at",
                                expect);
                        c.copyFromReadable(0, scratch, 0, 64);
                        long s = scratch.get(ValueLayout.JAVA_LONG, 0);
                        check(s == expect, "out of order request, expected", expect);
                        for (int k = 1; k < 8; k++) {
                            check(scratch.get(ValueLayout.JAVA_LONG, 8L * k) == pattern(s, k), "request body of", s);
                        }
                        for (int k = 0; k < 8; k++) {
                            scratch.set(ValueLayout.JAVA_LONG, 8L * k, ~scratch.get(ValueLayout.JAVA_LONG, 8L * k));
                        }
                        check(c.copyToWritable(0, scratch, 0, 64) == 64, "response room at", expect);
                        q.pushUsed(c.head(), 64);
                        expect++;
                        n++;
                    }
                    if (q.publishUsed()) {
                        interrupted++;
                        interruptSignal.release();
                    }
                    if (n == 0) {
                        if (!sleep) {
                            Thread.onSpinWait();
                            Thread.yield();
                        } else if (q.enableKicks()) {
                            q.disableKicks();
                        } else {
                            await(kickSignal, "available buffer notification");
                            q.disableKicks();
                        }
                    }
                }
            }
            interrupts = interrupted;
        }

        private void await(Semaphore signal, String what) {
            long deadline = System.nanoTime() + WAKE_TIMEOUT_NANOS;
            try {
                while (!signal.tryAcquire(20, TimeUnit.MILLISECONDS)) {
                    if (stop) {
                        return;
                    }
                    if (System.nanoTime() > deadline) {
                        throw new AssertionError("lost wake-up: no " + what + " for 20 s");
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }

        /** Builds the message only on failure: the loops check every buffer. */
        private static void check(boolean ok, String what, long value) {
            if (!ok) {
                throw new AssertionError(what + " " + value);
            }
        }
    }
}
