package dev.panda.xdp.ebpf;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.ArrayList;
import java.util.List;

/**
 * Fuzzes the reading of untrusted eBPF object files: {@link ElfObject#parse}, then every program
 * through {@link EbpfProgram#decode} (relocations, checks) with one array map standing for any
 * map a relocation names, then each program that passes the checks runs on a small packet in the
 * interpreter and in the translator. Only {@link BpfFormatException} may come out, and both
 * engines must agree. Seeds ({@code ElfObjectFuzzTestInputs/object/}): the clang-built test
 * program and prefilter, and truncations; {@code JAZZER_FUZZ=1} fuzzes.
 */
class ElfObjectFuzzTest {

    @FuzzTest(maxDuration = "30s")
    void object(byte[] input) {
        ElfObject elf;
        try {
            elf = ElfObject.parse(input);
        } catch (BpfFormatException e) {
            return;
        }
        List<EbpfMap> maps = List.of(EbpfMap.create(new MapSpec("any", MapSpec.ARRAY, 4, 64, 4, 0), 1));
        List<EbpfProgram> programs = new ArrayList<>();
        for (ElfObject.Symbol sym : elf.symbols()) {
            if (sym.type() != ElfObject.STT_FUNC) {
                continue;
            }
            try {
                programs.add(EbpfProgram.decode(elf, sym, maps, name -> 0));
            } catch (BpfFormatException e) {
                // refused with a message: fine
            }
        }
        for (EbpfProgram p : programs) {
            ProgramFuzzTest.runBoth(p, maps);
        }
    }
}
