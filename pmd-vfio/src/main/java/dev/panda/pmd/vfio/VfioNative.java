package dev.panda.pmd.vfio;

import dev.panda.jextract.ErrnoCalls;
import dev.panda.jextract.Fd;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.libc.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The three libc calls VFIO needs that {@code Posix} does not have: open(2) for the
 * {@code /dev/vfio} nodes and pread(2)/pwrite(2) for the device's config region (the region
 * offset is the file offset, vfio.h VFIO_DEVICE_GET_REGION_INFO). Set-up path only.
 */
final class VfioNative {

    static final int O_RDWR = Libc.O_RDWR();
    static final int O_CLOEXEC = Libc.O_CLOEXEC();

    // open(const char *, int, ...): the mode is variadic, and never needed here
    private static final MethodHandle OPEN = ErrnoCalls.link(
            Linker.nativeLinker().defaultLookup().find("open").orElseThrow(),
            FunctionDescriptor.of(Libc.C_INT, Libc.C_POINTER, Libc.C_INT));
    private static final MethodHandle PREAD = ErrnoCalls.link(Libc.pread$address(), Libc.pread$descriptor());
    private static final MethodHandle PWRITE = ErrnoCalls.link(Libc.pwrite$address(), Libc.pwrite$descriptor());
    private static final int EINTR = Libc.EINTR();

    private VfioNative() {}

    /** open(2) read-write, close-on-exec. */
    static Fd open(String path) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.state(a);
            int rc = (int) OPEN.invokeExact(state, a.allocateFrom(path), O_RDWR | O_CLOEXEC);
            if (rc < 0) {
                throw new NativeException("open(" + path + ")", ErrnoCalls.errno(state));
            }
            return new Fd(rc);
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    /** Reads exactly {@code buf.byteSize()} bytes at {@code offset}; a short read is an error. */
    static void pread(Fd fd, MemorySegment buf, long offset) {
        io(PREAD, "pread", fd, buf, offset);
    }

    /** Writes exactly {@code buf.byteSize()} bytes at {@code offset}. */
    static void pwrite(Fd fd, MemorySegment buf, long offset) {
        io(PWRITE, "pwrite", fd, buf, offset);
    }

    private static void io(MethodHandle call, String name, Fd fd, MemorySegment buf, long offset) {
        if (!fd.isOpen()) {
            throw new NativeException(name + "(" + fd + ")", Libc.EBADF());
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.state(a);
            while (true) {
                long rc = (long) call.invokeExact(state, fd.value(), buf, buf.byteSize(), offset);
                if (rc == buf.byteSize()) {
                    return;
                }
                int errno = rc < 0 ? ErrnoCalls.errno(state) : 0;
                if (rc < 0 && errno == EINTR) {
                    continue;
                }
                throw new NativeException(
                        name + "(" + fd.value() + ", " + buf.byteSize() + " bytes at 0x" + Long.toHexString(offset)
                                + ")" + (rc >= 0 ? " moved " + rc + " bytes" : ""),
                        errno);
            }
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }
}
