package dev.panda.dataplane.lcore;

import dev.panda.jextract.NativeException;
import dev.panda.jextract.Posix;
import java.util.Arrays;
import java.util.function.IntSupplier;

/**
 * A poll-loop thread pinned to CPUs with sched_setaffinity: it runs {@code pass} until stopped and
 * lets its idle strategy decide what to do after a pass that moved nothing.
 *
 * <p>The control path never touches what the loop owns: it only flips {@link #stop()}, which the
 * loop sees between passes.
 */
public final class Lcore implements AutoCloseable {

    private final int id;
    private final int[] cpus;
    private final IdleStrategy idle;
    private final IntSupplier pass;
    private final Runnable onExit;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile String pinError;
    private volatile Throwable failure;

    /**
     * @param id     lcore id (for the thread name)
     * @param cpus   CPUs to pin to; empty for no pinning
     * @param idle   idle strategy owned by this thread
     * @param pass   one pass of the loop; returns how many packets it moved
     * @param onExit run on the loop thread after the last pass (may be null)
     */
    public Lcore(int id, int[] cpus, IdleStrategy idle, IntSupplier pass, Runnable onExit) {
        this.id = id;
        this.cpus = cpus.clone();
        this.idle = idle;
        this.pass = pass;
        this.onExit = onExit;
        this.thread = Thread.ofPlatform().name("lcore-" + id).daemon(true).unstarted(this::run);
    }

    public Lcore start() {
        thread.start();
        return this;
    }

    private void run() {
        if (cpus.length > 0) {
            try {
                Posix.setAffinity(cpus);
            } catch (NativeException e) {
                pinError = "lcore " + id + ": cannot pin to CPUs " + Arrays.toString(cpus) + ": " + e.getMessage();
            }
        }
        try {
            while (running) {
                idle.idle(pass.getAsInt());
            }
        } catch (Throwable t) {
            failure = t;
        } finally {
            if (onExit != null) {
                onExit.run();
            }
        }
    }

    /** Asks the loop to end after its current pass. */
    public void stop() {
        running = false;
    }

    /**
     * Stops and waits for the thread. Throws nothing: what killed the loop, if anything did, is in
     * {@link #failure()}.
     */
    public void join() {
        stop();
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    public int id() {
        return id;
    }

    public Thread thread() {
        return thread;
    }

    /** Why pinning failed, or null if it worked (or was not asked for). */
    public String pinError() {
        return pinError;
    }

    /** What ended the loop abnormally, or null. */
    public Throwable failure() {
        return failure;
    }

    @Override
    public void close() {
        join();
    }
}
