package dev.panda.xdp.bpf;

import dev.panda.jextract.ErrnoCalls;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.libbpf.Libbpf;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An eBPF ELF object opened and loaded through libbpf ({@code bpf_object__open_mem},
 * {@code bpf_object__load}): its programs and maps by name. Closing it closes every program and
 * map fd the object owns (programs stay attached only while something else holds them, e.g. an
 * XDP attachment, which {@link XdpAttachment} detaches first).
 */
public final class BpfObject implements AutoCloseable {

    private final String name;
    private final Arena arena;
    private final MemorySegment obj;
    private final Map<String, BpfProgram> programs = new LinkedHashMap<>();
    private final Map<String, BpfMap> maps = new LinkedHashMap<>();
    private boolean loaded;
    private boolean closed;

    private BpfObject(String name, Arena arena, MemorySegment obj) {
        this.name = name;
        this.arena = arena;
        this.obj = obj;
    }

    /** Opens an ELF object file (not loaded yet). */
    public static BpfObject open(Path file) {
        try {
            return open(Files.readAllBytes(file), file.getFileName().toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read eBPF object " + file, e);
        }
    }

    /** Opens an object shipped as a class-path resource, e.g. {@code /bpf/prefilter.o}. */
    public static BpfObject openResource(String resource) {
        try (InputStream in = BpfObject.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(
                        "eBPF object " + resource + " is not on the class path (was xdp-loader built with clang?)");
            }
            String n = resource.substring(resource.lastIndexOf('/') + 1);
            return open(in.readAllBytes(), n);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read eBPF object " + resource, e);
        }
    }

    /** Opens an object from its ELF bytes; {@code name} names it in messages. */
    public static BpfObject open(byte[] elf, String name) {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment buf = arena.allocate(elf.length, 8);
            buf.copyFrom(MemorySegment.ofArray(elf));
            MemorySegment state = ErrnoCalls.state(arena);
            // libbpf 1.x: NULL and errno on failure; the buffer must outlive the object.
            MemorySegment obj =
                    (MemorySegment) BpfNative.OPEN_MEM.invokeExact(state, buf, (long) elf.length, MemorySegment.NULL);
            if (obj.equals(MemorySegment.NULL)) {
                throw new NativeException("bpf_object__open_mem(" + name + ")", ErrnoCalls.errno(state));
            }
            BpfObject o = new BpfObject(name, arena, obj);
            for (MemorySegment p = Libbpf.bpf_object__next_program(obj, MemorySegment.NULL);
                    !p.equals(MemorySegment.NULL);
                    p = Libbpf.bpf_object__next_program(obj, p)) {
                BpfProgram prog = new BpfProgram(o, p);
                o.programs.put(prog.name(), prog);
            }
            for (MemorySegment m = Libbpf.bpf_object__next_map(obj, MemorySegment.NULL);
                    !m.equals(MemorySegment.NULL);
                    m = Libbpf.bpf_object__next_map(obj, m)) {
                BpfMap map = BpfMap.ofLibbpf(m);
                o.maps.put(map.name(), map);
            }
            return o;
        } catch (Throwable t) {
            arena.close();
            throw ErrnoCalls.rethrow(t);
        }
    }

    /**
     * Asks libbpf to load programs and create maps on the NIC behind {@code ifindex} (XDP
     * offload); call before {@link #load()}. Drivers without offload fail the load.
     */
    public BpfObject offloadTo(int ifindex) {
        requireNotLoaded();
        try {
            for (BpfProgram p : programs.values()) {
                BpfNative.PROG_SET_IFINDEX.invokeExact(p.handle(), ifindex);
            }
            for (BpfMap m : maps.values()) {
                int rc = (int) BpfNative.MAP_SET_IFINDEX.invokeExact(m.handle(), ifindex);
                BpfNative.check(rc, "bpf_map__set_ifindex(" + m.name() + ")");
            }
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
        return this;
    }

    /** Creates the maps and loads the programs into the kernel (the verifier runs here). */
    public BpfObject load() {
        requireNotLoaded();
        BpfNative.check(Libbpf.bpf_object__load(obj), "bpf_object__load(" + name + ")");
        loaded = true;
        for (BpfMap m : maps.values()) {
            m.loaded();
        }
        return this;
    }

    public String name() {
        return name;
    }

    public boolean isLoaded() {
        return loaded;
    }

    public BpfProgram program(String program) {
        BpfProgram p = programs.get(program);
        if (p == null) {
            throw new IllegalArgumentException(
                    name + " has no program '" + program + "' (it has " + programs.keySet() + ")");
        }
        return p;
    }

    public BpfMap map(String map) {
        BpfMap m = maps.get(map);
        if (m == null) {
            throw new IllegalArgumentException(name + " has no map '" + map + "' (it has " + maps.keySet() + ")");
        }
        return m;
    }

    public List<BpfProgram> programs() {
        return new ArrayList<>(programs.values());
    }

    public List<BpfMap> maps() {
        return new ArrayList<>(maps.values());
    }

    /**
     * Pins every map of the loaded object as {@code dir/<map name>} and the programs as
     * {@code dir/prog_<program name>}, mounting bpffs first when needed ({@link BpfFs}).
     */
    public void pinAll(Path dir) {
        requireLoaded();
        BpfFs.ensureDirectory(dir);
        for (BpfMap m : maps.values()) {
            BpfNative.pin(m.fd(), dir.resolve(m.name()).toString());
        }
        for (BpfProgram p : programs.values()) {
            BpfNative.pin(p.fd(), dir.resolve("prog_" + p.name()).toString());
        }
    }

    MemorySegment handle() {
        return obj;
    }

    void requireLoaded() {
        if (!loaded) {
            throw new IllegalStateException(name + " is not loaded");
        }
    }

    private void requireNotLoaded() {
        if (loaded) {
            throw new IllegalStateException(name + " is already loaded");
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        Libbpf.bpf_object__close(obj);
        arena.close();
    }

    @Override
    public String toString() {
        return "BpfObject[" + name + ", programs=" + programs.keySet() + ", maps=" + maps.keySet() + "]";
    }
}
