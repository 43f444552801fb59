package dev.panda.xdp.ebpf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An eBPF object file opened for the userspace engine: its programs decoded from the ELF
 * ({@link ElfObject}), its maps created in userspace from their definitions. A program is every
 * global function symbol of an executable section, named as in C (what
 * {@code bpf_object__find_program_by_name} takes).
 */
public final class EbpfObject {

    private final Map<String, EbpfProgram> programs;
    private final List<EbpfMap> maps;

    private EbpfObject(Map<String, EbpfProgram> programs, List<EbpfMap> maps) {
        this.programs = programs;
        this.maps = maps;
    }

    /** Opens {@code path}: maps as libbpf defines them ({@link LibbpfMaps}), per-CPU maps with {@code cpus} CPUs. */
    public static EbpfObject open(Path path, int cpus) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read eBPF object " + path, e);
        }
        return open(bytes, path.toString(), cpus);
    }

    /** Opens an object shipped as a class-path resource, e.g. {@code /bpf/prefilter.o}. */
    public static EbpfObject openResource(String resource, int cpus) {
        try (java.io.InputStream in = EbpfObject.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(
                        "eBPF object " + resource + " is not on the class path (was xdp-loader built with clang?)");
            }
            return open(in.readAllBytes(), resource, cpus);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read eBPF object " + resource, e);
        }
    }

    /** Opens an object from its ELF bytes ({@code name} for messages): maps as libbpf defines them. */
    public static EbpfObject open(byte[] elf, String name, int cpus) {
        ElfObject parsed = ElfObject.parse(elf);
        return fromElf(parsed, LibbpfMaps.read(elf, name), cpus);
    }

    /**
     * Builds the object from a parsed ELF file and map definitions. A definition whose name
     * ends with the name of a global-data section ({@code .data*}, {@code .rodata*}, {@code .bss*},
     * as libbpf names those maps) gets that section's bytes as its initial value.
     */
    public static EbpfObject fromElf(ElfObject elf, List<MapSpec> specs, int cpus) {
        if (cpus < 1 || cpus > 1024) {
            throw new IllegalArgumentException("cpus " + cpus + " not in [1, 1024]");
        }
        List<EbpfMap> maps = new ArrayList<>();
        Map<String, Integer> index = new LinkedHashMap<>();
        for (MapSpec spec : specs) {
            MapSpec s = spec;
            for (ElfObject.Section sec : elf.sections()) {
                String n = sec.name();
                boolean data = n.startsWith(".data") || n.startsWith(".rodata") || n.startsWith(".bss");
                if (data && spec.name().endsWith(n) && spec.type() == MapSpec.ARRAY) {
                    s = new MapSpec(
                            spec.name(),
                            spec.type(),
                            spec.keySize(),
                            spec.valueSize(),
                            spec.maxEntries(),
                            spec.flags(),
                            n,
                            elf.bytes(sec));
                    index.put(n, maps.size());
                }
            }
            index.putIfAbsent(spec.name(), maps.size());
            maps.add(EbpfMap.create(s, cpus));
        }
        List<EbpfMap> frozen = Collections.unmodifiableList(maps);
        Map<String, EbpfProgram> programs = new LinkedHashMap<>();
        for (ElfObject.Symbol sym : elf.symbols()) {
            if (sym.type() != ElfObject.STT_FUNC
                    || sym.bind() != ElfObject.STB_GLOBAL
                    || sym.shndx() == 0
                    || sym.shndx() >= elf.sections().size()
                    || !elf.sections().get(sym.shndx()).executable()) {
                continue;
            }
            programs.put(sym.name(), EbpfProgram.decode(elf, sym, frozen, n -> index.getOrDefault(n, -1)));
        }
        return new EbpfObject(programs, frozen);
    }

    public List<EbpfMap> maps() {
        return maps;
    }

    /** The map called {@code name}; throws if there is none. */
    public EbpfMap map(String name) {
        for (EbpfMap m : maps) {
            if (m.name().equals(name)) {
                return m;
            }
        }
        throw new IllegalArgumentException("no map '" + name + "' (maps: "
                + maps.stream().map(EbpfMap::name).toList() + ")");
    }

    public List<String> programNames() {
        return List.copyOf(programs.keySet());
    }

    /** The program called {@code name}; throws if there is none. */
    public EbpfProgram program(String name) {
        EbpfProgram p = programs.get(name);
        if (p == null) {
            throw new IllegalArgumentException("no program '" + name + "' (programs: " + programs.keySet() + ")");
        }
        return p;
    }

    /** A context for engine "CPU" {@code cpu} over this object's maps. */
    public XdpContext newContext(int cpu) {
        return new XdpContext(maps, cpu);
    }
}
