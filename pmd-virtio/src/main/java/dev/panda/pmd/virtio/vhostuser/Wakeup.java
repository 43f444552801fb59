package dev.panda.pmd.virtio.vhostuser;

import dev.panda.jextract.ErrnoCalls;
import dev.panda.jextract.Fd;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.Posix;
import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.libc.pollfd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * How another thread stops a control thread that waits for a socket or sleeps between
 * reconnection attempts, without touching the socket itself: an eventfd the control thread
 * {@code poll(2)}s together with its socket. {@link #wake()} may be called from any thread and
 * any number of times; once woken, every later wait returns {@link #WOKEN} at once. The control
 * thread owns the eventfd and {@link #close()}s it; wake and close share a lock, so a wake never
 * writes to a descriptor number close(2) already released.
 */
public final class Wakeup implements AutoCloseable {

    /** What {@link #await} saw. */
    public static final int TIMEOUT = 0;

    public static final int READABLE = 1;
    public static final int WOKEN = 2;

    private static final short POLLIN = (short) Libc.POLLIN();
    private static final int EINTR = Libc.EINTR();
    private static final MethodHandle POLL = ErrnoCalls.link(Libc.poll$address(), Libc.poll$descriptor());

    private final Fd event = Posix.eventfd(0, Posix.EFD_NONBLOCK | Posix.EFD_CLOEXEC);
    private volatile boolean woken;

    /** Wakes the control thread (now, or at its next wait). */
    public void wake() {
        woken = true;
        synchronized (this) {
            if (event.isOpen()) {
                Posix.eventfdWrite(event, 1);
            }
        }
    }

    public boolean woken() {
        return woken;
    }

    /**
     * Waits until {@code socket} has something to read (data, end of stream, a connection to
     * accept), {@link #wake()} was called, or {@code timeoutMillis} passed (negative: no limit).
     * {@code socket} may be null: then this is an interruptible sleep.
     */
    public int await(UnixSocket socket, long timeoutMillis) {
        if (woken) {
            return WOKEN;
        }
        long deadline = timeoutMillis < 0 ? Long.MAX_VALUE : System.nanoTime() + timeoutMillis * 1_000_000L;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(pollfd.layout(), 2);
            MemorySegment state = ErrnoCalls.state(arena);
            int n = socket == null ? 1 : 2;
            pollfd.fd(fds, event.value());
            pollfd.events(fds, POLLIN);
            if (socket != null) {
                MemorySegment s = fds.asSlice(pollfd.layout().byteSize());
                pollfd.fd(s, socket.fd().value());
                pollfd.events(s, POLLIN);
            }
            while (!woken) {
                long left = timeoutMillis < 0 ? -1 : Math.max(0, (deadline - System.nanoTime()) / 1_000_000L);
                int rc = (int) POLL.invokeExact(state, fds, (long) n, (int) Math.min(left, Integer.MAX_VALUE));
                if (rc < 0) {
                    int errno = ErrnoCalls.errno(state);
                    if (errno != EINTR) {
                        throw new NativeException("poll", errno);
                    }
                    continue;
                }
                if (woken) {
                    break;
                }
                if (rc > 0
                        && socket != null
                        && pollfd.revents(fds.asSlice(pollfd.layout().byteSize())) != 0) {
                    return READABLE; // POLLIN, POLLHUP or POLLERR: the next read says which
                }
                if (rc == 0 && left == 0) {
                    return TIMEOUT;
                }
                if (rc == 0 && timeoutMillis >= 0 && System.nanoTime() - deadline >= 0) {
                    return TIMEOUT;
                }
            }
            return WOKEN;
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    /** Sleeps up to {@code millis}; false if woken (the caller should stop). */
    public boolean sleep(long millis) {
        return await(null, millis) == TIMEOUT;
    }

    @Override
    public synchronized void close() {
        event.close();
    }
}
