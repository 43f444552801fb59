package dev.panda.xdp.ebpf;

import dev.panda.jextract.ErrnoCalls;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.libbpf.Libbpf;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * Map definitions of an eBPF object as libbpf reads them (BTF-defined {@code .maps}, legacy
 * {@code maps}, and the global-data maps it makes for {@code .data}, {@code .rodata} and
 * {@code .bss}): {@code bpf_object__open_mem} without a load, then {@code bpf_object__next_map}
 * and the {@code bpf_map__*} getters (libbpf.h). Using libbpf rather than a BTF reader of our own
 * means the userspace engine sees exactly the sizes the kernel loader would create.
 * {@code bpf_map__map_flags} is not in the generated bindings and is linked here by hand.
 */
final class LibbpfMaps {

    private static final MethodHandle OPEN =
            ErrnoCalls.link(Libbpf.bpf_object__open_mem$address(), Libbpf.bpf_object__open_mem$descriptor());
    private static final MethodHandle MAP_FLAGS = Linker.nativeLinker()
            .downcallHandle(
                    SymbolLookup.libraryLookup("libbpf.so.1", Arena.global()).findOrThrow("bpf_map__map_flags"),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));

    private LibbpfMaps() {}

    /** The maps of the object in {@code elf}; {@code object} names it in messages. */
    static List<MapSpec> read(byte[] elf, String object) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.state(arena);
            MemorySegment buf = arena.allocate(Math.max(elf.length, 1), 8);
            MemorySegment.copy(MemorySegment.ofArray(elf), 0, buf, 0, elf.length);
            MemorySegment obj;
            try {
                obj = (MemorySegment) OPEN.invokeExact(state, buf, (long) elf.length, MemorySegment.NULL);
            } catch (Throwable t) {
                throw ErrnoCalls.rethrow(t);
            }
            if (obj.equals(MemorySegment.NULL)) {
                throw new NativeException("bpf_object__open_mem(" + object + ")", ErrnoCalls.errno(state));
            }
            try {
                List<MapSpec> out = new ArrayList<>();
                for (MemorySegment m = Libbpf.bpf_object__next_map(obj, MemorySegment.NULL);
                        !m.equals(MemorySegment.NULL);
                        m = Libbpf.bpf_object__next_map(obj, m)) {
                    String name = Libbpf.bpf_map__name(m).reinterpret(256).getString(0);
                    int flags;
                    try {
                        flags = (int) MAP_FLAGS.invokeExact(m);
                    } catch (Throwable t) {
                        throw ErrnoCalls.rethrow(t);
                    }
                    out.add(new MapSpec(
                            name,
                            Libbpf.bpf_map__type(m),
                            Libbpf.bpf_map__key_size(m),
                            Libbpf.bpf_map__value_size(m),
                            Libbpf.bpf_map__max_entries(m),
                            flags));
                }
                return out;
            } finally {
                Libbpf.bpf_object__close(obj);
            }
        }
    }
}
