package dev.panda.dataplane.port;

import dev.panda.dataplane.stats.Counter;

/**
 * Counters of one queue, written by the queue's single poller only and read by any thread
 * ({@link Counter}: opaque writes, never torn, readers see values at most one burst old). Every
 * figure a poller counts lives here, per queue, so queues polled from different lcores never
 * write the same field; {@link #snapshot} sums them into a port's {@link PortStats}.
 */
public final class QueueCounters {

    private final Counter packets = new Counter();
    private final Counter bytes = new Counter();
    private final Counter errors = new Counter();
    private final Counter missed = new Counter();
    private final Counter nombuf = new Counter();

    /** Adds {@code n} packets totalling {@code b} bytes (poller thread only). */
    public void add(int n, long b) {
        packets.add(n);
        bytes.add(b);
    }

    /** Counts packets the queue refused or could not deliver (poller thread only). */
    public void addErrors(long n) {
        errors.add(n);
    }

    /**
     * Counts received packets the poller saw lost for lack of room (poller thread only; {@code
     * imissed}). Drops the kernel or the device counts on its own reach imissed through {@link
     * AbstractPort#missedElsewhere()} instead.
     */
    public void addMissed(long n) {
        missed.add(n);
    }

    /**
     * Counts rx buffers the pool could not give this queue (poller thread only; {@code
     * rx_nombuf}). The packets waiting for them stay where they were for a later burst.
     */
    public void addNombuf(long n) {
        nombuf.add(n);
    }

    public long packets() {
        return packets.get();
    }

    public long bytes() {
        return bytes.get();
    }

    public long errors() {
        return errors.get();
    }

    public long missed() {
        return missed.get();
    }

    public long nombuf() {
        return nombuf.get();
    }

    /** Sums rx and tx queue counters into a port snapshot (missed and nombuf are rx figures). */
    public static PortStats snapshot(QueueCounters[] rx, QueueCounters[] tx) {
        long ip = 0, ib = 0, ie = 0, im = 0, nb = 0, op = 0, ob = 0, oe = 0;
        for (QueueCounters q : rx) {
            ip += q.packets();
            ib += q.bytes();
            ie += q.errors();
            im += q.missed();
            nb += q.nombuf();
        }
        for (QueueCounters q : tx) {
            op += q.packets();
            ob += q.bytes();
            oe += q.errors();
        }
        return new PortStats(ip, op, ib, ob, im, ie, oe, nb);
    }

    public static QueueCounters[] array(int n) {
        QueueCounters[] a = new QueueCounters[n];
        for (int i = 0; i < n; i++) {
            a[i] = new QueueCounters();
        }
        return a;
    }
}
