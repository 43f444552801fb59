package dev.panda.pmd.virtio.vhost;

import dev.panda.jextract.Fd;
import dev.panda.jextract.libc.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Writes 1 to a front-end's call eventfd (a used buffer notification, virtio 1.2 §2.7.7) from
 * the poller. Not {@code Posix.eventfdWrite}: that one captures errno, and the JDK slices the
 * capture segment on every call, which allocates unless the JIT happens to inline the whole call
 * into its caller (seen on this path: about 40 bytes per call). This call captures nothing and
 * writes a constant from a global segment, so it never allocates; a failed write (the front-end
 * gave something that is not an eventfd, or closed it) only costs the front-end its interrupt.
 */
final class CallSignal {

    private static final MethodHandle WRITE =
            Linker.nativeLinker().downcallHandle(Libc.write$address(), Libc.write$descriptor());
    private static final MemorySegment ONE = one();

    private CallSignal() {
    }

    private static MemorySegment one() {
        MemorySegment s = Arena.global().allocate(ValueLayout.JAVA_LONG);
        s.set(ValueLayout.JAVA_LONG, 0, 1L);
        return s;
    }

    /** Adds 1 to the eventfd's counter; false if write(2) did not take the 8 bytes. */
    static boolean signal(Fd call) {
        try {
            return (long) WRITE.invokeExact(call.value(), ONE, 8L) == 8L;
        } catch (Throwable t) {
            throw new AssertionError("write(2) downcall failed", t);
        }
    }
}
