package dev.panda.xdp.ebpf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.Arrays;
import java.util.List;

/**
 * Fuzzes the instruction checks and both engines with raw instructions (8 bytes each, any
 * opcode, registers, offsets, immediates; one 4-entry array map as map 0): a program is either
 * refused with {@link BpfFormatException} or runs in the interpreter and the translator with the
 * same verdict, packet and fault count. Seeds: {@code ProgramFuzzTestInputs/insns/};
 * {@code JAZZER_FUZZ=1} fuzzes.
 */
class ProgramFuzzTest {

    @FuzzTest(maxDuration = "30s")
    void insns(byte[] input) {
        List<EbpfMap> maps = List.of(EbpfMap.create(new MapSpec("any", MapSpec.ARRAY, 4, 64, 4, 0), 1));
        EbpfProgram p;
        try {
            p = EbpfProgram.fromBytes("fuzz", Arrays.copyOf(input, Math.min(input.length, 8 * 512)), maps);
        } catch (BpfFormatException e) {
            return;
        }
        runBoth(p, maps);
    }

    /** Runs {@code p} in both engines, each over fresh copies of {@code maps}, and requires the same outcome. */
    static void runBoth(EbpfProgram p, List<EbpfMap> maps) {
        XdpProgram jit;
        try {
            jit = Translator.translate(p);
        } catch (BpfFormatException e) {
            return; // too large for one JVM method
        }
        byte[] packet = new byte[80];
        for (int i = 0; i < packet.length; i++) {
            packet[i] = (byte) (i * 7);
        }
        XdpContext ci = new XdpContext(
                maps.stream().map(m -> EbpfMap.create(m.spec(), 1)).toList(), 0);
        XdpContext cj = new XdpContext(
                maps.stream().map(m -> EbpfMap.create(m.spec(), 1)).toList(), 0);
        EngineRun.Result a = new EngineRun(new Interpreter(p), ci).run(packet);
        EngineRun.Result b = new EngineRun(jit, cj).run(packet);
        for (int i = 0; i < p.length(); i++) {
            if (p.op[i] == (Isa.CLS_JMP | Isa.CALL)
                    && (p.imm[i] == Isa.KTIME_GET_NS || p.imm[i] == Isa.KTIME_GET_BOOT_NS)) {
                return; // the clock differs between the two runs
            }
        }
        assertEquals(ci.lastFault(), cj.lastFault(), "fault");
        assertEquals(ci.faults(), cj.faults());
        assertEquals(a, b, "interpreter vs translator");
    }
}
