package dev.panda.dataplane.stats;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A count with one writer and any number of readers, the way Agrona's ordered adds work: the
 * owner thread adds with a plain read and an opaque write of the sum (no lock, no atomic
 * read-modify-write, no fence on x86, never torn), any thread reads it opaque and sees a value at
 * most a burst old.
 *
 * <p>Only the owner may call {@link #add}; two threads adding to one counter lose increments.
 * Ownership may pass from one thread to another only across a happens-before edge (a thread
 * start, a volatile flag, a lock), as when a control thread sets a queue up before its poller
 * starts. Give each poller its own counters and sum them when reading.
 */
public final class Counter {

    private static final VarHandle VALUE;

    static {
        try {
            VALUE = MethodHandles.lookup().findVarHandle(Counter.class, "value", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private long value;

    /** Adds {@code n} (owner thread only). */
    public void add(long n) {
        VALUE.setOpaque(this, value + n);
    }

    /** The count so far; any thread. */
    public long get() {
        return (long) VALUE.getOpaque(this);
    }

    /** Back to 0; only while the owner does not add (its poller stopped). */
    public void reset() {
        VALUE.setOpaque(this, 0L);
    }

    @Override
    public String toString() {
        return Long.toString(get());
    }
}
