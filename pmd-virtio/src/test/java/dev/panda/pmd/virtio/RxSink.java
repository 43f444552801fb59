package dev.panda.pmd.virtio;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.jextract.Posix;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A poller thread the peer tests point a real peer at: it drains rx queue 0 of a port, frees what
 * it receives, counts packets, empty polls and frames of another length than expected.
 */
public final class RxSink implements AutoCloseable {

    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicLong received = new AtomicLong();
    private final AtomicLong emptyPolls = new AtomicLong();
    private final AtomicLong wrongLength = new AtomicLong();
    private final Thread thread;

    /** Starts polling; {@code cpu} >= 0 pins the thread there (a failure to pin is ignored). */
    public RxSink(String name, Port port, PacketPool pool, int frameLength, int cpu) {
        this.thread = Thread.ofPlatform().name(name).start(() -> {
            if (cpu >= 0) {
                try {
                    Posix.setAffinity(cpu);
                } catch (RuntimeException ignored) {
                    // not fatal: only politeness
                }
            }
            PacketBurst burst = new PacketBurst(32);
            long n = 0;
            long empty = 0;
            while (!stop.get()) {
                int k = port.rxBurst(0, burst);
                if (k == 0) {
                    emptyPolls.setOpaque(++empty);
                    Thread.yield();
                    continue;
                }
                for (int i = 0; i < k; i++) {
                    if (pool.length(burst.handles[i]) != frameLength) {
                        wrongLength.incrementAndGet();
                    }
                }
                pool.freeBulk(burst.handles, 0, k);
                n += k;
                received.setOpaque(n);
            }
        });
    }

    public long received() {
        return received.get();
    }

    public long wrongLength() {
        return wrongLength.get();
    }

    /**
     * Returns once what the peer put in the ring has drained: a 300 ms window passed in which the
     * poller ran (at least 1000 empty polls; a starved poller may not have) and received nothing.
     */
    public void awaitDrained() throws InterruptedException {
        long last = -1;
        long lastEmpty = 0;
        while (received.get() != last || emptyPolls.get() - lastEmpty < 1000) {
            last = received.get();
            lastEmpty = emptyPolls.get();
            Thread.sleep(300);
        }
    }

    /** Stops the poller and waits for it; idempotent. */
    @Override
    public void close() throws InterruptedException {
        stop.set(true);
        thread.join();
    }
}
