package dev.panda.jextract;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.panda.jextract.libc.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The socket calls the kernel-interop ports share (AF_XDP, AF_PACKET, TAP): set-up calls that throw
 * {@link NativeException} with errno, ring mmaps at a page offset, and the two non-blocking
 * kicks the hot path makes (their errors only mean "try later", so errno is not captured).
 */
public final class SockCalls {

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle SOCKET = ErrnoCalls.link(Libc.socket$address(), Libc.socket$descriptor());
    private static final MethodHandle SETSOCKOPT =
            ErrnoCalls.link(Libc.setsockopt$address(), Libc.setsockopt$descriptor());
    private static final MethodHandle GETSOCKOPT =
            ErrnoCalls.link(Libc.getsockopt$address(), Libc.getsockopt$descriptor());
    private static final MethodHandle BIND = ErrnoCalls.link(Libc.bind$address(), Libc.bind$descriptor());
    private static final MethodHandle MMAP = ErrnoCalls.link(
            LINKER.defaultLookup().findOrThrow("mmap"),
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle SENDTO = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("sendto"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle RECVFROM = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("recvfrom"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS));
    private static final int MSG_DONTWAIT = Libc.MSG_DONTWAIT();
    private static final MethodHandle OPEN = ErrnoCalls.link(
            LINKER.defaultLookup().findOrThrow("open"), FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));

    private SockCalls() {}

    public static int socket(int domain, int type, int protocol, String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = ErrnoCalls.state(a);
            int fd = (int) SOCKET.invokeExact(st, domain, type, protocol);
            return check(fd, what, st);
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    /** open(2) of a device node; returns the fd or throws with errno. */
    public static int open(String path, int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = ErrnoCalls.state(a);
            int fd = (int) OPEN.invokeExact(st, a.allocateFrom(path), flags);
            return check(fd, "open(" + path + ")", st);
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    public static void setsockopt(int fd, int level, int opt, MemorySegment value, String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = ErrnoCalls.state(a);
            int rc = (int) SETSOCKOPT.invokeExact(st, fd, level, opt, value, (int) value.byteSize());
            check(rc, "setsockopt(" + what + ")", st);
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    public static void setsockopt(int fd, int level, int opt, int value, String what) {
        try (Arena a = Arena.ofConfined()) {
            setsockopt(fd, level, opt, a.allocateFrom(JAVA_INT, value), what);
        }
    }

    /** getsockopt into {@code value}; returns the length the kernel wrote. */
    public static int getsockopt(int fd, int level, int opt, MemorySegment value, String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = ErrnoCalls.state(a);
            MemorySegment len = a.allocateFrom(JAVA_INT, (int) value.byteSize());
            int rc = (int) GETSOCKOPT.invokeExact(st, fd, level, opt, value, len);
            check(rc, "getsockopt(" + what + ")", st);
            return len.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    public static void bind(int fd, MemorySegment sockaddr, String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = ErrnoCalls.state(a);
            int rc = (int) BIND.invokeExact(st, fd, sockaddr, (int) sockaddr.byteSize());
            check(rc, "bind(" + what + ")", st);
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    /**
     * Maps {@code bytes} of a socket's rings at page offset {@code pgoff} (MAP_SHARED |
     * MAP_POPULATE), owned by {@code arena}: unmapped when the arena closes.
     */
    public static MemorySegment mmap(int fd, long bytes, long pgoff, Arena arena, String what) {
        MemorySegment m;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = ErrnoCalls.state(a);
            m = (MemorySegment) MMAP.invokeExact(
                    st,
                    MemorySegment.NULL,
                    bytes,
                    Posix.PROT_READ | Posix.PROT_WRITE,
                    Posix.MAP_SHARED | Posix.MAP_POPULATE,
                    fd,
                    pgoff);
            if (m.address() == -1L) {
                throw new NativeException("mmap(" + what + ")", ErrnoCalls.errno(st));
            }
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
        return m.reinterpret(bytes, arena, Posix::munmap);
    }

    /** sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0): "transmit what the tx ring holds". */
    public static void kickSend(int fd) {
        try {
            long unused = (long) SENDTO.invokeExact(fd, MemorySegment.NULL, 0L, MSG_DONTWAIT, MemorySegment.NULL, 0);
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    /** recvfrom(fd, NULL, 0, MSG_DONTWAIT, NULL, NULL): wakes the kernel's receive processing. */
    public static void kickRecv(int fd) {
        try {
            long unused = (long) RECVFROM.invokeExact(
                    fd, MemorySegment.NULL, 0L, MSG_DONTWAIT, MemorySegment.NULL, MemorySegment.NULL);
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    /** The interface index of {@code iface} (if_nametoindex(3)), or a clear error when there is no such interface. */
    public static int ifindex(String iface) {
        try (Arena a = Arena.ofConfined()) {
            int idx = Libc.if_nametoindex(a.allocateFrom(iface));
            if (idx == 0) {
                throw new IllegalArgumentException("no network interface named '" + iface + "'");
            }
            return idx;
        }
    }

    private static int check(int rc, String what, MemorySegment st) {
        if (rc < 0) {
            throw new NativeException(what, ErrnoCalls.errno(st));
        }
        return rc;
    }
}
