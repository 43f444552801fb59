package dev.panda.jextract;

import dev.panda.jextract.libc.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Arrays;

/**
 * The libc calls panda needs at set-up time, with errno turned into {@link NativeException}.
 *
 * <p>Every call captures errno through {@link Linker.Option#captureCallState(String...)}, into
 * a per-thread scratch segment, so the calls a poller makes ({@link #currentCpu()},
 * {@link #eventfdRead(Fd)}, {@link #eventfdWrite(Fd, long)}, {@link #setAffinity(int...)})
 * allocate nothing once the thread has made its first call.
 */
public final class Posix {

    // values from the generated bindings (dev.panda.jextract.libc, produced by scripts/jextract)
    public static final int MFD_CLOEXEC = Libc.MFD_CLOEXEC();
    public static final int MFD_ALLOW_SEALING = Libc.MFD_ALLOW_SEALING();
    public static final int MFD_HUGETLB = Libc.MFD_HUGETLB();
    public static final int PROT_READ = Libc.PROT_READ();
    public static final int PROT_WRITE = Libc.PROT_WRITE();
    public static final int MAP_SHARED = Libc.MAP_SHARED();
    public static final int MAP_PRIVATE = Libc.MAP_PRIVATE();
    public static final int MAP_ANONYMOUS = Libc.MAP_ANONYMOUS();
    public static final int MAP_POPULATE = Libc.MAP_POPULATE();
    public static final int MAP_HUGETLB = Libc.MAP_HUGETLB();
    public static final int EFD_NONBLOCK = Libc.EFD_NONBLOCK();
    public static final int EFD_CLOEXEC = Libc.EFD_CLOEXEC();

    private static final int EINTR = Libc.EINTR();
    private static final int EBADF = Libc.EBADF();
    private static final int EAGAIN = Libc.EAGAIN();
    private static final long MAP_FAILED = Libc.MAP_FAILED().address();

    // The generated Libc.x$handle()s do not capture errno: relink each symbol with captureCallState.
    private static final MethodHandle MEMFD_CREATE =
            errnoHandle(Libc.memfd_create$address(), Libc.memfd_create$descriptor());
    private static final MethodHandle FTRUNCATE = errnoHandle(Libc.ftruncate$address(), Libc.ftruncate$descriptor());
    private static final MethodHandle MMAP = errnoHandle(Libc.mmap$address(), Libc.mmap$descriptor());
    private static final MethodHandle MUNMAP = errnoHandle(Libc.munmap$address(), Libc.munmap$descriptor());
    private static final MethodHandle CLOSE = errnoHandle(Libc.close$address(), Libc.close$descriptor());
    private static final MethodHandle READ = errnoHandle(Libc.read$address(), Libc.read$descriptor());
    private static final MethodHandle WRITE = errnoHandle(Libc.write$address(), Libc.write$descriptor());
    private static final MethodHandle SCHED_SETAFFINITY =
            errnoHandle(Libc.sched_setaffinity$address(), Libc.sched_setaffinity$descriptor());
    private static final MethodHandle SCHED_GETAFFINITY =
            errnoHandle(Libc.sched_getaffinity$address(), Libc.sched_getaffinity$descriptor());
    private static final MethodHandle SCHED_GETCPU =
            errnoHandle(Libc.sched_getcpu$address(), Libc.sched_getcpu$descriptor());
    private static final MethodHandle SYSCONF = errnoHandle(Libc.sysconf$address(), Libc.sysconf$descriptor());
    private static final MethodHandle EVENTFD = errnoHandle(Libc.eventfd$address(), Libc.eventfd$descriptor());
    // ioctl(int, unsigned long, ...): the third argument is variadic
    private static final MethodHandle IOCTL_POINTER = ErrnoCalls.link(
            Libc.ioctl.address(),
            FunctionDescriptor.of(Libc.C_INT, Libc.C_INT, Libc.C_LONG, Libc.C_POINTER),
            Linker.Option.firstVariadicArg(2));
    private static final MethodHandle IOCTL_LONG = ErrnoCalls.link(
            Libc.ioctl.address(),
            FunctionDescriptor.of(Libc.C_INT, Libc.C_INT, Libc.C_LONG, Libc.C_LONG),
            Linker.Option.firstVariadicArg(2));
    private static final MethodHandle GETTID = Libc.gettid$handle();
    private static final MethodHandle STRERROR = Libc.strerror$handle();

    /** cpu_set_t large enough for 8192 CPUs; glibc's own CPU_SETSIZE is 1024. */
    private static final int CPU_SET_BYTES = 1024;

    /** Per-thread native memory, sliced once: the errno capture area and a data area (8-byte word or cpu mask). */
    private record Scratch(MemorySegment state, MemorySegment word, MemorySegment mask) {
        static Scratch allocate() {
            MemorySegment all = Arena.ofAuto().allocate(64 + CPU_SET_BYTES, 64);
            return new Scratch(
                    all.asSlice(0, ErrnoCalls.stateBytes()), all.asSlice(64, 8), all.asSlice(64, CPU_SET_BYTES));
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::allocate);

    private Posix() {}

    /** memfd_create(2). */
    public static Fd memfdCreate(String name, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = state();
            int fd = (int) MEMFD_CREATE.invokeExact(state, arena.allocateFrom(name), flags);
            if (fd < 0) {
                throw new NativeException("memfd_create(" + name + ")", errno(state));
            }
            return new Fd(fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** ftruncate(2). */
    public static void ftruncate(Fd fd, long size) {
        int n = open(fd, "ftruncate");
        MemorySegment state = state();
        int rc;
        try {
            rc = (int) FTRUNCATE.invokeExact(state, n, size);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (rc < 0) {
            throw new NativeException("ftruncate(" + n + ", " + size + ")", errno(state));
        }
    }

    /**
     * mmap(2) with the kernel choosing the address.
     *
     * @param fd the file to map, or {@code null} for an anonymous mapping
     * @return a segment of exactly {@code length} bytes in the global scope; release it with
     *         {@link #munmap(MemorySegment)}
     */
    public static MemorySegment mmap(long length, int prot, int flags, Fd fd, long offset) {
        int n = fd == null ? -1 : open(fd, "mmap");
        MemorySegment state = state();
        MemorySegment address;
        try {
            address = (MemorySegment) MMAP.invokeExact(state, MemorySegment.NULL, length, prot, flags, n, offset);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (address.address() == MAP_FAILED) {
            throw new NativeException("mmap(" + length + " bytes, fd " + n + ")", errno(state));
        }
        return address.reinterpret(length);
    }

    /** munmap(2) of a segment returned by {@link #mmap}. */
    public static void munmap(MemorySegment segment) {
        MemorySegment state = state();
        int rc;
        try {
            rc = (int) MUNMAP.invokeExact(state, segment, segment.byteSize());
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (rc < 0) {
            throw new NativeException("munmap(" + segment.byteSize() + " bytes)", errno(state));
        }
    }

    /**
     * Pins the calling thread to {@code cpus} (sched_setaffinity(0, ...), which on Linux
     * affects only the calling thread).
     */
    public static void setAffinity(int... cpus) {
        setThreadAffinity(0, cpus);
    }

    /**
     * Pins thread {@code tid} of this process (0: the calling thread) to {@code cpus}, e.g. to keep
     * the JVM's own threads off the CPUs of pinned pollers.
     */
    public static void setThreadAffinity(int tid, int... cpus) {
        if (cpus.length == 0) {
            throw new IllegalArgumentException("no cpus given");
        }
        Scratch scratch = SCRATCH.get();
        MemorySegment mask = scratch.mask().fill((byte) 0);
        for (int cpu : cpus) {
            if (cpu < 0 || cpu >= CPU_SET_BYTES * 8) {
                throw new IllegalArgumentException("cpu out of range: " + cpu);
            }
            long word = (cpu >>> 6) * 8L;
            mask.set(ValueLayout.JAVA_LONG, word, mask.get(ValueLayout.JAVA_LONG, word) | (1L << (cpu & 63)));
        }
        int rc;
        try {
            rc = (int) SCHED_SETAFFINITY.invokeExact(scratch.state(), tid, (long) CPU_SET_BYTES, mask);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (rc < 0) {
            throw new NativeException(
                    "sched_setaffinity(" + tid + ", " + Arrays.toString(cpus) + ")", errno(scratch.state()));
        }
    }

    /** The cpus the calling thread may run on, ascending. */
    public static int[] getAffinity() {
        Scratch scratch = SCRATCH.get();
        MemorySegment mask = scratch.mask().fill((byte) 0);
        int rc;
        try {
            rc = (int) SCHED_GETAFFINITY.invokeExact(scratch.state(), 0, (long) CPU_SET_BYTES, mask);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (rc < 0) {
            throw new NativeException("sched_getaffinity", errno(scratch.state()));
        }
        int count = 0;
        for (long off = 0; off < CPU_SET_BYTES; off += 8) {
            count += Long.bitCount(mask.get(ValueLayout.JAVA_LONG, off));
        }
        int[] cpus = new int[count];
        int i = 0;
        for (long off = 0; off < CPU_SET_BYTES; off += 8) {
            long bits = mask.get(ValueLayout.JAVA_LONG, off);
            while (bits != 0) {
                cpus[i++] = (int) (off * 8) + Long.numberOfTrailingZeros(bits);
                bits &= bits - 1;
            }
        }
        return cpus;
    }

    /** sched_getcpu(3): the cpu the calling thread is running on right now. */
    public static int currentCpu() {
        MemorySegment state = state();
        int cpu;
        try {
            cpu = (int) SCHED_GETCPU.invokeExact(state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (cpu < 0) {
            throw new NativeException("sched_getcpu", errno(state));
        }
        return cpu;
    }

    /** gettid(2): the kernel thread id of the calling thread. */
    public static int gettid() {
        try {
            return (int) GETTID.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Gives signal {@code sig} its default action back if this process started with it ignored
     * (the {@code SigIgn} mask of /proc/self/status: under nohup, or from a parent that ignores it),
     * and says whether it did. HotSpot installs no handler for SIGHUP, SIGINT or SIGTERM while the
     * signal is ignored, so a {@code sun.misc.Signal} handler registered then is accepted and never
     * runs; call this right before registering one. Until the handler is in, the signal has its
     * default action.
     */
    public static boolean unignoreSignal(int sig) {
        if (sig < 1 || sig > 64) {
            throw new IllegalArgumentException("signal " + sig);
        }
        if ((ignoredSignals() & (1L << (sig - 1))) == 0) {
            return false;
        }
        MemorySegment state = state();
        MemorySegment old;
        try {
            old = (MemorySegment) SignalCall.SIGNAL.invokeExact(state, sig, MemorySegment.NULL); // SIG_DFL
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (old.address() == -1L) { // SIG_ERR
            throw new NativeException("signal(" + sig + ", SIG_DFL)", errno(state));
        }
        return true;
    }

    /** The mask of signals this process ignores, bit {@code n - 1} for signal {@code n} (/proc/self/status). */
    public static long ignoredSignals() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith("SigIgn:")) {
                    return Long.parseUnsignedLong(
                            line.substring("SigIgn:".length()).strip(), 16);
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        throw new IllegalStateException("no SigIgn line in /proc/self/status");
    }

    /** signal(2), looked up only by the process that calls {@link #unignoreSignal}. */
    private static final class SignalCall {
        static final MethodHandle SIGNAL = errnoHandle(
                Linker.nativeLinker().defaultLookup().find("signal").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
    }

    /** sysconf(_SC_NPROCESSORS_ONLN). */
    public static int onlineCpus() {
        MemorySegment state = state();
        long n;
        try {
            n = (long) SYSCONF.invokeExact(state, Libc._SC_NPROCESSORS_ONLN());
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (n < 0) {
            throw new NativeException("sysconf(_SC_NPROCESSORS_ONLN)", errno(state));
        }
        return (int) n;
    }

    /** eventfd(2). */
    public static Fd eventfd(int initval, int flags) {
        MemorySegment state = state();
        int fd;
        try {
            fd = (int) EVENTFD.invokeExact(state, initval, flags);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (fd < 0) {
            throw new NativeException("eventfd", errno(state));
        }
        return new Fd(fd);
    }

    /**
     * Reads (and resets) an eventfd counter. A counter is never read as 0, so 0 means "nothing
     * to read": the fd is {@link #EFD_NONBLOCK} and the counter was 0 ({@code EAGAIN}).
     * {@code EINTR} is retried.
     */
    public static long eventfdRead(Fd fd) {
        int n = open(fd, "read(eventfd)");
        Scratch scratch = SCRATCH.get();
        MemorySegment buf = scratch.word();
        while (true) {
            long rc;
            try {
                rc = (long) READ.invokeExact(scratch.state(), n, buf, 8L);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            if (rc == 8) {
                return buf.get(ValueLayout.JAVA_LONG, 0);
            }
            int errno = rc < 0 ? errno(scratch.state()) : 0;
            if (errno == EAGAIN) {
                return 0;
            }
            if (errno != EINTR) {
                throw new NativeException("read(eventfd " + n + ")", errno);
            }
        }
    }

    /** write(2) linked without errno capture, for {@link #eventfdSignal}. */
    private static final MethodHandle WRITE_NO_ERRNO =
            Linker.nativeLinker().downcallHandle(Libc.write$address(), Libc.write$descriptor());
    /** The 8-byte 1 an eventfd signal writes, in memory that is never freed. */
    private static final MemorySegment ONE_WORD = Arena.global().allocateFrom(ValueLayout.JAVA_LONG, 1L);

    /**
     * Adds 1 to an eventfd counter from a poller: a virtio kick or call notification. Unlike
     * {@link #eventfdWrite} it captures no errno (the JDK slices the capture segment on every call,
     * which allocates about 40 bytes unless the JIT inlines the whole call into its caller), and
     * reports failure as {@code false}: a peer that gave a bad fd only loses its wake-up.
     */
    public static boolean eventfdSignal(Fd fd) {
        if (!fd.isOpen()) {
            return false;
        }
        try {
            return (long) WRITE_NO_ERRNO.invokeExact(fd.value(), ONE_WORD, 8L) == 8L;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Adds {@code value} to an eventfd counter. {@code EINTR} is retried. */
    public static void eventfdWrite(Fd fd, long value) {
        int n = open(fd, "write(eventfd)");
        Scratch scratch = SCRATCH.get();
        MemorySegment buf = scratch.word();
        buf.set(ValueLayout.JAVA_LONG, 0, value);
        while (true) {
            long rc;
            try {
                rc = (long) WRITE.invokeExact(scratch.state(), n, buf, 8L);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            if (rc == 8) {
                return;
            }
            int errno = rc < 0 ? errno(scratch.state()) : 0;
            if (errno != EINTR) {
                throw new NativeException("write(eventfd " + n + ")", errno);
            }
        }
    }

    /**
     * ioctl(2) with a pointer argument, the form vhost, VFIO and TUN requests take. Request
     * numbers come from {@code dev.panda.jextract.uapi.Uapi} (e.g. {@code Uapi.VHOST_SET_VRING_ADDR()}).
     *
     * @return the call's non-negative result
     */
    public static int ioctl(Fd fd, long request, MemorySegment arg) {
        int n = open(fd, "ioctl");
        MemorySegment state = state();
        int rc;
        try {
            rc = (int) IOCTL_POINTER.invokeExact(state, n, request, arg);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (rc < 0) {
            throw new NativeException(ioctlCall(n, request), errno(state));
        }
        return rc;
    }

    /** ioctl(2) with an integer argument (e.g. {@code VFIO_SET_IOMMU}, {@code VFIO_CHECK_EXTENSION}). */
    public static int ioctl(Fd fd, long request, long arg) {
        int n = open(fd, "ioctl");
        MemorySegment state = state();
        int rc;
        try {
            rc = (int) IOCTL_LONG.invokeExact(state, n, request, arg);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (rc < 0) {
            throw new NativeException(ioctlCall(n, request), errno(state));
        }
        return rc;
    }

    private static String ioctlCall(int fd, long request) {
        return "ioctl(" + fd + ", 0x" + Long.toHexString(request & 0xffff_ffffL) + ")";
    }

    /** strerror(3): the C library's text for {@code errno}. */
    public static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            return s.equals(MemorySegment.NULL)
                    ? "errno " + errno
                    : s.reinterpret(Long.MAX_VALUE).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The symbolic name of {@code errno} ({@code "ENOMEM"}), or {@code "errno N"} for the rare ones. */
    public static String errnoName(int errno) {
        return Errno.name(errno);
    }

    /** close(2) for {@link Fd#close()}: EINTR is not an error (the fd is gone either way on Linux). */
    static void close(int fd) {
        MemorySegment state = state();
        int rc;
        try {
            rc = (int) CLOSE.invokeExact(state, fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (rc < 0) {
            int errno = errno(state);
            if (errno != EINTR) {
                throw new NativeException("close(" + fd + ")", errno);
            }
        }
    }

    private static int open(Fd fd, String call) {
        if (!fd.isOpen()) {
            throw new NativeException(call + "(" + fd + ")", EBADF);
        }
        return fd.value();
    }

    private static MemorySegment state() {
        return SCRATCH.get().state();
    }

    private static int errno(MemorySegment state) {
        return ErrnoCalls.errno(state);
    }

    private static MethodHandle errnoHandle(MemorySegment symbol, FunctionDescriptor descriptor) {
        return ErrnoCalls.link(symbol, descriptor);
    }

    private static RuntimeException rethrow(Throwable t) {
        return ErrnoCalls.rethrow(t);
    }
}
