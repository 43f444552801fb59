package dev.panda.dataplane.port;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Counters of one queue, written by the queue's single poller and read by any thread.
 *
 * <p>Writes are opaque (no fence on x86, never torn); readers see values at most one burst old.
 */
public final class QueueCounters {

    private static final VarHandle PACKETS;
    private static final VarHandle BYTES;
    private static final VarHandle ERRORS;
    private static final VarHandle MISSED;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            PACKETS = l.findVarHandle(QueueCounters.class, "packets", long.class);
            BYTES = l.findVarHandle(QueueCounters.class, "bytes", long.class);
            ERRORS = l.findVarHandle(QueueCounters.class, "errors", long.class);
            MISSED = l.findVarHandle(QueueCounters.class, "missed", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private long packets;
    private long bytes;
    private long errors;
    private long missed;

    /** Adds {@code n} packets totalling {@code b} bytes (poller thread only). */
    public void add(int n, long b) {
        PACKETS.setOpaque(this, packets + n);
        BYTES.setOpaque(this, bytes + b);
    }

    /** Counts packets the queue refused or could not deliver (poller thread only). */
    public void addErrors(long n) {
        ERRORS.setOpaque(this, errors + n);
    }

    /** Counts packets lost because no buffer or no room was available (poller thread only). */
    public void addMissed(long n) {
        MISSED.setOpaque(this, missed + n);
    }

    public long packets() {
        return (long) PACKETS.getOpaque(this);
    }

    public long bytes() {
        return (long) BYTES.getOpaque(this);
    }

    public long errors() {
        return (long) ERRORS.getOpaque(this);
    }

    public long missed() {
        return (long) MISSED.getOpaque(this);
    }

    /** Sums rx and tx queue counters into a port snapshot; {@code nombuf} is rx buffer shortage. */
    public static PortStats snapshot(QueueCounters[] rx, QueueCounters[] tx, long nombuf) {
        long ip = 0, ib = 0, ie = 0, im = 0, op = 0, ob = 0, oe = 0;
        for (QueueCounters q : rx) {
            ip += q.packets();
            ib += q.bytes();
            ie += q.errors();
            im += q.missed();
        }
        for (QueueCounters q : tx) {
            op += q.packets();
            ob += q.bytes();
            oe += q.errors();
        }
        return new PortStats(ip, op, ib, ob, im, ie, oe, nombuf);
    }

    public static QueueCounters[] array(int n) {
        QueueCounters[] a = new QueueCounters[n];
        for (int i = 0; i < n; i++) {
            a[i] = new QueueCounters();
        }
        return a;
    }
}
