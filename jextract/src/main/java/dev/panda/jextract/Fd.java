package dev.panda.jextract;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An owned file descriptor. {@link #close()} calls close(2) once, however often it is called
 * and from however many threads.
 *
 * <p>{@link Posix} refuses to pass a closed {@code Fd} to the kernel (it fails with
 * {@code EBADF} without making the call), so a number that was closed and then reused by
 * another open cannot be hit by mistake.
 */
public final class Fd implements AutoCloseable {

    private final int value;
    private final AtomicBoolean closed = new AtomicBoolean();

    /**
     * Takes ownership of {@code value}.
     *
     * @throws IllegalArgumentException if {@code value} is negative
     */
    public Fd(int value) {
        if (value < 0) {
            throw new IllegalArgumentException("negative fd: " + value);
        }
        this.value = value;
    }

    /** The descriptor number (still returned after close, for logging). */
    public int value() {
        return value;
    }

    /** Whether {@link #close()} has not been called yet. */
    public boolean isOpen() {
        return !closed.get();
    }

    /**
     * Closes the descriptor; later calls do nothing. The descriptor is released even if
     * close(2) reports an error (Linux never retries a close), so an error is reported once.
     *
     * @throws NativeException if close(2) fails with anything but {@code EINTR}
     */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Posix.close(value);
        }
    }

    @Override
    public String toString() {
        return "Fd[" + value + (isOpen() ? "]" : ", closed]");
    }
}
