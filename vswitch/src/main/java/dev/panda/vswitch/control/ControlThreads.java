package dev.panda.vswitch.control;

import dev.panda.jextract.Posix;
import io.netty.util.concurrent.FastThreadLocalThread;
import java.util.Arrays;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Threads of the control side ({@code panda-ctl-1}, {@code panda-ctl-exec}): named, daemon, and
 * pinned to the CPUs the pmd threads do not use, so the control path never preempts a poller.
 */
public final class ControlThreads {

    private static final System.Logger LOG = System.getLogger(ControlThreads.class.getName());
    private static final AtomicBoolean WARNED = new AtomicBoolean();

    private ControlThreads() {}

    /**
     * @param prefix      thread names are {@code prefix-1}, {@code prefix-2}, ... (or exactly
     *                    {@code prefix} when {@code numbered} is false)
     * @param allowedCpus CPUs the threads may run on; null or empty: no pinning
     */
    public static ThreadFactory factory(String prefix, boolean numbered, int[] allowedCpus) {
        int[] cpus = allowedCpus == null ? new int[0] : allowedCpus.clone();
        AtomicInteger n = new AtomicInteger();
        return r -> {
            String name = numbered ? prefix + "-" + n.incrementAndGet() : prefix;
            Thread t = new FastThreadLocalThread(
                    () -> {
                        pin(cpus);
                        r.run();
                    },
                    name);
            t.setDaemon(true);
            return t;
        };
    }

    /** Pins the calling thread; a failure is logged once and the thread runs unpinned. */
    static void pin(int[] cpus) {
        if (cpus.length == 0) {
            return;
        }
        try {
            Posix.setAffinity(cpus);
        } catch (RuntimeException e) {
            if (WARNED.compareAndSet(false, true)) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "control threads not pinned to CPUs " + Arrays.toString(cpus) + ": " + e.getMessage());
            }
        }
    }
}
