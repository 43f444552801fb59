package dev.panda.jextract;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * Native calls that report errno. The generated {@code Libc.f$handle()}s do not capture it, so
 * a caller relinks the generated symbol with {@link #link}, passes a state segment from
 * {@link #state} as the first argument, and reads {@link #errno} after a failing call.
 */
public final class ErrnoCalls {

    private static final Linker LINKER = Linker.nativeLinker();
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    private ErrnoCalls() {}

    /** A downcall to {@code symbol} that captures errno; {@code options} may add e.g. firstVariadicArg. */
    public static MethodHandle link(MemorySegment symbol, FunctionDescriptor descriptor, Linker.Option... options) {
        Linker.Option[] all = java.util.Arrays.copyOf(options, options.length + 1);
        all[options.length] = CAPTURE_ERRNO;
        return LINKER.downcallHandle(symbol, descriptor, all);
    }

    /** Bytes of a capture-state segment. */
    public static long stateBytes() {
        return CAPTURE_LAYOUT.byteSize();
    }

    /** A capture-state segment for one call, from {@code arena}. */
    public static MemorySegment state(Arena arena) {
        return arena.allocate(CAPTURE_LAYOUT);
    }

    /** The errno a call left in {@code state}. */
    public static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    /** Rethrows what {@code MethodHandle.invokeExact} threw: unchecked as is, anything else wrapped. */
    public static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new AssertionError("native call threw " + t, t);
    }
}
