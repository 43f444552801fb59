package dev.panda.jextract;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * membarrier(2) with {@code MEMBARRIER_CMD_PRIVATE_EXPEDITED}: a full memory barrier on every
 * thread of this process that is running at the time of the call, issued by the caller. It lets a
 * poller skip the store-load fence it would otherwise need on each burst, and the control thread
 * pay for it instead, rarely (the asymmetric fence of userspace RCU). Linux 4.14 and later on
 * x86_64; elsewhere, or when the kernel refuses the registration, {@link #available()} is false and
 * the poller must keep its own fence.
 *
 * <p>libc has no wrapper, so this calls {@code syscall(SYS_membarrier, cmd, flags, cpu_id)}.
 */
public final class Membarrier {

    /** x86_64's syscall number (arch/x86/entry/syscalls/syscall_64.tbl). */
    private static final long SYS_MEMBARRIER = 324;

    private static final int CMD_QUERY = 0;
    private static final int CMD_PRIVATE_EXPEDITED = 1 << 3;
    private static final int CMD_REGISTER_PRIVATE_EXPEDITED = 1 << 4;

    private static final MethodHandle SYSCALL;
    private static final boolean AVAILABLE;
    /** Why {@link #available()} is false, for a log line; null when it is true. */
    private static final String REASON;

    static {
        MethodHandle h = null;
        boolean ok = false;
        String why = null;
        if (!"amd64".equals(System.getProperty("os.arch")) && !"x86_64".equals(System.getProperty("os.arch"))) {
            why = "membarrier's syscall number is only known here for x86_64";
        } else {
            Optional<MemorySegment> sym = Linker.nativeLinker().defaultLookup().find("syscall");
            if (sym.isEmpty()) {
                why = "libc has no syscall()";
            } else {
                h = ErrnoCalls.link(
                        sym.get(),
                        FunctionDescriptor.of(
                                ValueLayout.JAVA_LONG,
                                ValueLayout.JAVA_LONG,
                                ValueLayout.JAVA_INT,
                                ValueLayout.JAVA_INT,
                                ValueLayout.JAVA_INT),
                        Linker.Option.firstVariadicArg(1));
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment st = ErrnoCalls.state(a);
                    long mask = (long) h.invokeExact(st, SYS_MEMBARRIER, CMD_QUERY, 0, 0);
                    if (mask < 0) {
                        why = "membarrier(MEMBARRIER_CMD_QUERY) failed, errno " + ErrnoCalls.errno(st);
                    } else if ((mask & CMD_PRIVATE_EXPEDITED) == 0) {
                        why = "the kernel offers no MEMBARRIER_CMD_PRIVATE_EXPEDITED";
                    } else if ((long) h.invokeExact(st, SYS_MEMBARRIER, CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0) {
                        why = "membarrier registration failed, errno " + ErrnoCalls.errno(st);
                    } else {
                        ok = true;
                    }
                } catch (Throwable t) {
                    why = "membarrier: " + t;
                }
            }
        }
        SYSCALL = h;
        AVAILABLE = ok;
        REASON = why;
    }

    private Membarrier() {}

    /** Whether {@link #fenceAllThreads()} works here (decided once, when the class loads). */
    public static boolean available() {
        return AVAILABLE;
    }

    /** Why it is not available, or null. */
    public static String unavailableReason() {
        return REASON;
    }

    /**
     * Returns once every other thread of the process that was running has executed a full memory
     * barrier (and threads not running get one when they are scheduled again). Control path only:
     * it interrupts the CPUs running this process's threads.
     *
     * @throws IllegalStateException when {@link #available()} is false
     * @throws NativeException       if the kernel refuses the call
     */
    public static void fenceAllThreads() {
        if (!AVAILABLE) {
            throw new IllegalStateException(REASON);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = ErrnoCalls.state(a);
            long r = (long) SYSCALL.invokeExact(st, SYS_MEMBARRIER, CMD_PRIVATE_EXPEDITED, 0, 0);
            if (r != 0) {
                throw new NativeException("membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)", ErrnoCalls.errno(st));
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }
}
