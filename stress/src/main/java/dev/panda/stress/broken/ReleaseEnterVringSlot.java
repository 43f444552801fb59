package dev.panda.stress.broken;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;

/**
 * A deliberately broken copy of {@code dev.panda.pmd.virtio.vhost.VringSlot}, for showing that
 * {@code VringSlotQuiesceStress} can fail: identical except that {@link #enter()} publishes the odd
 * sequence with a release store instead of a volatile one. Release does not order the store
 * before the following load of {@code live} (no StoreLoad), so the poller can read the old state
 * while quiesce still reads an even sequence and frees it. Never use outside the stress tests.
 */
final class ReleaseEnterVringSlot {

    private static final VarHandle SEQ;

    static {
        try {
            SEQ = MethodHandles.lookup().findVarHandle(ReleaseEnterVringSlot.class, "seq", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private volatile Object live;

    @SuppressWarnings("unused")
    private volatile long seq;

    Object enter() {
        SEQ.setRelease(this, (long) SEQ.getOpaque(this) + 1); // the bug: VringSlot uses setVolatile
        return live;
    }

    void exit() {
        SEQ.setRelease(this, (long) SEQ.getOpaque(this) + 1);
    }

    void publish(Object l) {
        live = l;
    }

    boolean quiesce(long timeoutMillis) {
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
