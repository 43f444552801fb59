package dev.panda.pmd.virtio.vduse;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.panda.jextract.ErrnoCalls;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.libc.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * A network namespace made by {@code ip netns add NAME} (setns(2)): {@link #enter} moves the calling
 * thread only, so sockets it opens afterwards live in that namespace while the JVM's other threads
 * (panda's ports among them) stay where they were. Test code.
 */
final class Netns {

    private static final int CLONE_NEWNET = 0x40000000; // linux/sched.h
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle SETNS = ErrnoCalls.link(
            LINKER.defaultLookup().findOrThrow("setns"), FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle OPEN = ErrnoCalls.link(
            LINKER.defaultLookup().findOrThrow("open"), FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));

    private Netns() {}

    /** Moves the calling thread into namespace {@code name} ({@code /run/netns/NAME}). */
    static void enter(String name) throws Throwable {
        String path = "/run/netns/" + name;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = ErrnoCalls.state(a);
            int fd = (int) OPEN.invokeExact(st, a.allocateFrom(path), 0);
            if (fd < 0) {
                throw new NativeException("open(" + path + ")", ErrnoCalls.errno(st));
            }
            int rc = (int) SETNS.invokeExact(st, fd, CLONE_NEWNET);
            int errno = ErrnoCalls.errno(st);
            Libc.close(fd);
            if (rc != 0) {
                throw new NativeException("setns(" + path + ")", errno);
            }
        }
    }
}
