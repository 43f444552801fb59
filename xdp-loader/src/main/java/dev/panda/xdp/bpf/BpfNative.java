package dev.panda.xdp.bpf;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.panda.jextract.ErrnoCalls;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.libbpf.Libbpf;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * libbpf calls the generated {@code Libbpf} class does not cover (pinning, offload ifindex,
 * object info, possible CPUs), linked by hand from {@code libbpf.so.1}, and the error handling
 * shared by the loader: libbpf 1.x returns {@code -errno} from int functions and NULL plus errno
 * from pointer functions. Entry points check {@link BpfSupport#isAvailable()} before anything
 * here is linked.
 */
final class BpfNative {

    private static final Linker LINKER = Linker.nativeLinker();
    /** Throws (with {@link BpfSupport#unavailabilityCause()}) where there is no libbpf: probe first. */
    private static final SymbolLookup LIBBPF = BpfSupport.lookup();

    static final MethodHandle OPEN_MEM =
            ErrnoCalls.link(Libbpf.bpf_object__open_mem$address(), Libbpf.bpf_object__open_mem$descriptor());
    static final MethodHandle NUM_POSSIBLE_CPUS = link("libbpf_num_possible_cpus", FunctionDescriptor.of(JAVA_INT));
    static final MethodHandle OBJ_PIN = link("bpf_obj_pin", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    static final MethodHandle OBJ_GET = link("bpf_obj_get", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle PROG_SET_IFINDEX =
            link("bpf_program__set_ifindex", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT));
    static final MethodHandle MAP_SET_IFINDEX =
            link("bpf_map__set_ifindex", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle OBJ_GET_INFO =
            link("bpf_obj_get_info_by_fd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle PROG_SET_TYPE =
            link("bpf_program__set_type", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle MAP_LOOKUP_FLAGS =
            link("bpf_map_lookup_elem_flags", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));

    private BpfNative() {}

    private static MethodHandle link(String name, FunctionDescriptor d) {
        return LINKER.downcallHandle(LIBBPF.findOrThrow(name), d);
    }

    /** Throws for a negative libbpf return ({@code -errno}); returns {@code rc} otherwise. */
    static int check(int rc, String call) {
        if (rc < 0) {
            throw new NativeException(call, -rc);
        }
        return rc;
    }

    static int possibleCpus() {
        try {
            return check((int) NUM_POSSIBLE_CPUS.invokeExact(), "libbpf_num_possible_cpus");
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    /** Pins {@code fd} (a map or program) at {@code path} on a bpffs. */
    static void pin(int fd, String path) {
        try (Arena a = Arena.ofConfined()) {
            int rc = (int) OBJ_PIN.invokeExact(fd, a.allocateFrom(path));
            check(rc, "bpf_obj_pin(" + path + ")");
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    /** Opens a pinned map or program: a new fd the caller owns. */
    static int objGet(String path) {
        try (Arena a = Arena.ofConfined()) {
            int rc = (int) OBJ_GET.invokeExact(a.allocateFrom(path));
            return check(rc, "bpf_obj_get(" + path + ")");
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }
}
