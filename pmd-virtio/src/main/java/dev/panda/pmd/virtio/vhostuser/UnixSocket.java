package dev.panda.pmd.virtio.vhostuser;

import dev.panda.jextract.ErrnoCalls;
import dev.panda.jextract.Fd;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.libc.iovec;
import dev.panda.jextract.libc.msghdr;
import dev.panda.jextract.libc.sockaddr_un;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * An {@code AF_UNIX} stream socket over FFM, with {@code SCM_RIGHTS}: the vhost-user control
 * socket ("Introduction" of QEMU's docs/interop/vhost-user.rst: "It uses communication over a
 * Unix domain socket to share file descriptors in the ancillary data of the message").
 *
 * <p>{@link #send} and {@link #recv} carry message bytes together with up to {@link #MAX_FDS}
 * descriptors in one {@code SCM_RIGHTS} control message. Received descriptors become
 * {@link Fd} owners (opened close-on-exec); when the control data was truncated
 * ({@code MSG_CTRUNC}) the descriptors that did arrive are closed and {@link Received#fdsTruncated()}
 * says so. {@code EINTR} is retried; other failures are {@link NativeException}s.
 *
 * <p>Blocking, control path only: every call uses a confined arena of its own.
 */
public final class UnixSocket implements AutoCloseable {

    /** VHOST_MEMORY_BASELINE_NREGIONS: the most descriptors one vhost-user message carries. */
    public static final int MAX_FDS = 8;

    private static final int AF_UNIX = Libc.AF_UNIX();
    private static final int SOCK_STREAM_CLOEXEC = Libc.SOCK_STREAM() | Libc.SOCK_CLOEXEC();
    private static final int MSG_CTRUNC = Libc.MSG_CTRUNC();
    private static final int MSG_NOSIGNAL = Libc.MSG_NOSIGNAL();
    private static final int MSG_CMSG_CLOEXEC = Libc.MSG_CMSG_CLOEXEC();
    private static final int SHUT_RDWR = Libc.SHUT_RDWR();
    private static final int EINTR = Libc.EINTR();
    private static final int EBADF = Libc.EBADF();
    private static final int ENOTCONN = Libc.ENOTCONN();
    private static final int ECONNABORTED = Libc.ECONNABORTED();
    private static final int EISCONN = Libc.EISCONN();
    private static final long SUN_PATH_BYTES = sockaddr_un.sun_path$layout().byteSize();

    // The generated Libc handles do not capture errno: relink each (see jextract/README.md).
    private static final MethodHandle SOCKET = relink(Libc.socket$address(), Libc.socket$descriptor());
    private static final MethodHandle SOCKETPAIR = relink(Libc.socketpair$address(), Libc.socketpair$descriptor());
    private static final MethodHandle BIND = relink(Libc.bind$address(), Libc.bind$descriptor());
    private static final MethodHandle LISTEN = relink(Libc.listen$address(), Libc.listen$descriptor());
    private static final MethodHandle ACCEPT = relink(Libc.accept$address(), Libc.accept$descriptor());
    private static final MethodHandle CONNECT = relink(Libc.connect$address(), Libc.connect$descriptor());
    private static final MethodHandle SENDMSG = relink(Libc.sendmsg$address(), Libc.sendmsg$descriptor());
    private static final MethodHandle RECVMSG = relink(Libc.recvmsg$address(), Libc.recvmsg$descriptor());
    private static final MethodHandle SHUTDOWN = relink(Libc.shutdown$address(), Libc.shutdown$descriptor());

    /**
     * What one {@link #recv} returned.
     *
     * @param bytes        bytes read into the buffer; 0 means the peer closed its end
     * @param fds          descriptors that came with them, now owned by the caller
     * @param fdsTruncated the peer sent more descriptors than fit ({@code MSG_CTRUNC}); those
     *                     that arrived were closed and {@code fds} is empty
     */
    public record Received(int bytes, List<Fd> fds, boolean fdsTruncated) {
        public Received {
            fds = List.copyOf(fds);
        }
    }

    private final Fd fd;
    private final Path boundPath;
    /** Held around shutdown(2) and close(2) so that they never interleave (see {@link #shutdown()}). */
    private final Object closeLock = new Object();

    private UnixSocket(Fd fd, Path boundPath) {
        this.fd = fd;
        this.boundPath = boundPath;
    }

    /**
     * A listening socket bound to {@code path}; {@link #close()} removes the path again. An
     * existing file at {@code path} is an error ({@code EADDRINUSE}): remove stale sockets first.
     */
    public static UnixSocket listen(Path path, int backlog) {
        Fd fd = socket();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment addr = sockaddr(arena, path);
            MemorySegment state = ErrnoCalls.state(arena);
            int rc = (int) BIND.invokeExact(state, fd.value(), addr, (int) addr.byteSize());
            check(rc, state, "bind(" + path + ")");
            rc = (int) LISTEN.invokeExact(state, fd.value(), backlog);
            if (rc < 0) {
                int errno = errno(state);
                deleteQuietly(path);
                throw new NativeException("listen(" + path + ")", errno);
            }
            return new UnixSocket(fd, path);
        } catch (Throwable t) {
            fd.close();
            throw rethrow(t);
        }
    }

    /** A socket connected to the listener at {@code path}. */
    public static UnixSocket connect(Path path) {
        Fd fd = socket();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment addr = sockaddr(arena, path);
            MemorySegment state = ErrnoCalls.state(arena);
            boolean retried = false;
            while (true) {
                int rc = (int) CONNECT.invokeExact(state, fd.value(), addr, (int) addr.byteSize());
                if (rc == 0) {
                    return new UnixSocket(fd, null);
                }
                int errno = errno(state);
                if (errno == EISCONN && retried) {
                    return new UnixSocket(fd, null); // an interrupted connect completed meanwhile
                }
                if (errno != EINTR) {
                    throw new NativeException("connect(" + path + ")", errno);
                }
                retried = true;
            }
        } catch (Throwable t) {
            fd.close();
            throw rethrow(t);
        }
    }

    /** Two connected sockets ({@code socketpair(2)}), for tests and in-process peers. */
    public static UnixSocket[] pair() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(ValueLayout.JAVA_INT, 2);
            MemorySegment state = ErrnoCalls.state(arena);
            int rc = (int) SOCKETPAIR.invokeExact(state, AF_UNIX, SOCK_STREAM_CLOEXEC, 0, fds);
            check(rc, state, "socketpair");
            return new UnixSocket[] {
                new UnixSocket(new Fd(fds.getAtIndex(ValueLayout.JAVA_INT, 0)), null),
                new UnixSocket(new Fd(fds.getAtIndex(ValueLayout.JAVA_INT, 1)), null)
            };
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Waits for a connection on a {@link #listen} socket. {@code EINTR} and {@code ECONNABORTED}
     * are retried. The accepted socket lacks {@code SOCK_CLOEXEC} (the bindings have no
     * {@code accept4}); the JDK's process launcher closes inherited descriptors anyway.
     */
    public UnixSocket accept() {
        requireOpen("accept");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.state(arena);
            while (true) {
                int rc = (int) ACCEPT.invokeExact(state, fd.value(), MemorySegment.NULL, MemorySegment.NULL);
                if (rc >= 0) {
                    return new UnixSocket(new Fd(rc), null);
                }
                int errno = errno(state);
                if (errno != EINTR && errno != ECONNABORTED) {
                    throw new NativeException("accept(" + this + ")", errno);
                }
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Sends all of {@code data}, with {@code fds} attached to its first byte in one
     * {@code SCM_RIGHTS} message. {@code MSG_NOSIGNAL}: a closed peer is {@code EPIPE}, not a signal.
     *
     * @throws IllegalArgumentException if there are more than {@link #MAX_FDS} descriptors
     */
    public void send(MemorySegment data, List<Fd> fds) {
        requireOpen("sendmsg");
        if (fds.size() > MAX_FDS) {
            throw new IllegalArgumentException(fds.size() + " fds, at most " + MAX_FDS + " per message");
        }
        if (data.byteSize() == 0) {
            throw new IllegalArgumentException("nothing to send (descriptors need at least one byte)");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(data.byteSize(), 8);
            MemorySegment.copy(data, 0, buf, 0, data.byteSize());
            MemorySegment iov = iovec.allocate(arena);
            MemorySegment msg = msghdr.allocate(arena);
            msghdr.msg_iov(msg, iov);
            msghdr.msg_iovlen(msg, 1);
            if (!fds.isEmpty()) {
                for (Fd f : fds) {
                    if (!f.isOpen()) {
                        throw new NativeException("sendmsg(" + this + ", " + f + ")", EBADF);
                    }
                }
                MemorySegment control = Cmsg.rights(arena, fds);
                msghdr.msg_control(msg, control);
                msghdr.msg_controllen(msg, control.byteSize());
            }
            MemorySegment state = ErrnoCalls.state(arena);
            long sent = 0;
            while (sent < data.byteSize()) {
                iovec.iov_base(iov, buf.asSlice(sent));
                iovec.iov_len(iov, data.byteSize() - sent);
                long rc = (long) SENDMSG.invokeExact(state, fd.value(), msg, MSG_NOSIGNAL);
                if (rc < 0) {
                    int errno = errno(state);
                    if (errno != EINTR) {
                        throw new NativeException("sendmsg(" + this + ")", errno);
                    }
                    continue;
                }
                sent += rc;
                // the descriptors went with the first bytes; the rest is plain data
                msghdr.msg_control(msg, MemorySegment.NULL);
                msghdr.msg_controllen(msg, 0);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * One {@code recvmsg(2)} into {@code buf}, accepting up to {@code maxFds} descriptors. Reads
     * at most {@code buf.byteSize()} bytes, possibly fewer (a stream socket).
     */
    public Received recv(MemorySegment buf, int maxFds) {
        requireOpen("recvmsg");
        if (maxFds < 0 || maxFds > MAX_FDS) {
            throw new IllegalArgumentException("maxFds " + maxFds + " not in [0, " + MAX_FDS + "]");
        }
        if (buf.byteSize() == 0) {
            throw new IllegalArgumentException("empty buffer");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = buf.isNative() ? buf : arena.allocate(buf.byteSize(), 8);
            MemorySegment iov = iovec.allocate(arena);
            iovec.iov_base(iov, data);
            iovec.iov_len(iov, data.byteSize());
            MemorySegment msg = msghdr.allocate(arena);
            msghdr.msg_iov(msg, iov);
            msghdr.msg_iovlen(msg, 1);
            // room for one SCM_RIGHTS message of maxFds ints; any more and the kernel sets MSG_CTRUNC
            long controlBytes = Cmsg.space((long) Math.max(maxFds, 1) * Integer.BYTES);
            MemorySegment control = arena.allocate(controlBytes, Cmsg.ALIGNMENT);
            MemorySegment state = ErrnoCalls.state(arena);
            long rc;
            while (true) {
                msghdr.msg_control(msg, control);
                msghdr.msg_controllen(msg, maxFds == 0 ? 0 : controlBytes);
                msghdr.msg_flags(msg, 0);
                rc = (long) RECVMSG.invokeExact(state, fd.value(), msg, MSG_CMSG_CLOEXEC);
                if (rc >= 0) {
                    break;
                }
                int errno = errno(state);
                if (errno != EINTR) {
                    throw new NativeException("recvmsg(" + this + ")", errno);
                }
            }
            List<Fd> fds = Cmsg.takeRights(control, Math.min(msghdr.msg_controllen(msg), controlBytes));
            if (data != buf) {
                MemorySegment.copy(data, 0, buf, 0, rc);
            }
            if ((msghdr.msg_flags(msg) & MSG_CTRUNC) != 0) {
                fds.forEach(UnixSocket::closeQuietly);
                return new Received((int) rc, List.of(), true);
            }
            return new Received((int) rc, fds, false);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The socket's descriptor (for poll/epoll). */
    public Fd fd() {
        return fd;
    }

    /** Whether {@link #close()} has not been called. */
    public boolean isOpen() {
        return fd.isOpen();
    }

    /**
     * {@code shutdown(SHUT_RDWR)}: a thread blocked in {@link #recv} or {@link #accept} wakes up
     * (end of stream, or an error for accept). Idempotent; a socket never connected is fine.
     *
     * <p>Safe to call from any thread while the socket's owner may be closing it: shutdown and
     * close take the same lock, so the descriptor number is never used after close(2) released
     * it (another thread's open could have been given the same number meanwhile). The usual
     * split is that one thread owns the socket and closes it, and others only call this to wake it.
     */
    public void shutdown() {
        synchronized (closeLock) {
            if (!fd.isOpen()) {
                return;
            }
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment state = ErrnoCalls.state(arena);
                int rc = (int) SHUTDOWN.invokeExact(state, fd.value(), SHUT_RDWR);
                if (rc < 0 && errno(state) != ENOTCONN) { // ENOTCONN: nothing to shut down
                    throw new NativeException("shutdown(" + this + ")", errno(state));
                }
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }
    }

    /**
     * Shuts the socket down (waking blocked readers), closes it and removes a listener's path.
     * Meant for the thread that owns the socket; other threads wake it with {@link #shutdown()}.
     */
    @Override
    public void close() {
        synchronized (closeLock) {
            if (!fd.isOpen()) {
                return;
            }
            try {
                shutdown();
            } catch (NativeException ignored) {
                // closing anyway
            }
            fd.close();
        }
        if (boundPath != null) {
            deleteQuietly(boundPath);
        }
    }

    @Override
    public String toString() {
        return "UnixSocket[fd " + fd.value() + (boundPath != null ? ", " + boundPath : "")
                + (fd.isOpen() ? "]" : ", closed]");
    }

    private void requireOpen(String call) {
        if (!fd.isOpen()) {
            throw new NativeException(call + "(" + this + ")", EBADF);
        }
    }

    private static Fd socket() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.state(arena);
            int rc = (int) SOCKET.invokeExact(state, AF_UNIX, SOCK_STREAM_CLOEXEC, 0);
            check(rc, state, "socket(AF_UNIX, SOCK_STREAM)");
            return new Fd(rc);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** A {@code sockaddr_un} holding {@code path}, sized up to and including its NUL. */
    private static MemorySegment sockaddr(Arena arena, Path path) {
        byte[] bytes = path.toString().getBytes(StandardCharsets.UTF_8);
        if (bytes.length == 0 || bytes.length >= SUN_PATH_BYTES) {
            throw new IllegalArgumentException(
                    "unix socket path must be 1.." + (SUN_PATH_BYTES - 1) + " bytes: " + path);
        }
        MemorySegment addr = sockaddr_un.allocate(arena); // zeroed: the path is NUL-terminated
        sockaddr_un.sun_family(addr, (short) AF_UNIX);
        MemorySegment.copy(bytes, 0, addr, ValueLayout.JAVA_BYTE, sockaddr_un.sun_path$offset(), bytes.length);
        return addr.asSlice(0, sockaddr_un.sun_path$offset() + bytes.length + 1);
    }

    private static void check(int rc, MemorySegment state, String call) {
        if (rc < 0) {
            throw new NativeException(call, errno(state));
        }
    }

    private static int errno(MemorySegment state) {
        return ErrnoCalls.errno(state);
    }

    private static MethodHandle relink(MemorySegment symbol, FunctionDescriptor descriptor) {
        return ErrnoCalls.link(symbol, descriptor);
    }

    static void closeQuietly(Fd fd) {
        try {
            fd.close();
        } catch (NativeException ignored) {
            // the descriptor is released either way
        }
    }

    private static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // best effort: a stale path only makes the next bind fail with EADDRINUSE
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        return ErrnoCalls.rethrow(t);
    }
}
