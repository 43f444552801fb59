package dev.panda.xdp.ebpf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The instruction checks refuse calls and exits whose reserved fields are set, as the kernel
 * verifier does ("BPF_CALL uses reserved fields", "BPF_EXIT uses reserved fields"). Before, a
 * call with the BPF_X source bit (0x8d, the kernel's callx) ran as a helper call in both engines.
 */
class InstructionChecksTest {

    private static void refused(String why, Asm a) {
        var e = assertThrows(BpfFormatException.class, () -> a.program(List.of()));
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }

    @Test
    void aHelperCallWithReservedFieldsIsRefused() {
        int k = Isa.KTIME_GET_NS;
        refused(
                "BPF_CALL uses reserved fields",
                new Asm().insn(0x8d, 0, 0, 0, k).exit()); // callx
        refused(
                "BPF_CALL uses reserved fields",
                new Asm().insn(0x85, 0, 0, 2, k).exit()); // offset
        refused(
                "BPF_CALL uses reserved fields",
                new Asm().insn(0x85, 3, 0, 0, k).exit()); // dst
        refused("bpf-to-bpf calls", new Asm().insn(0x85, 0, 1, 0, 1).exit().exit());
        // what the fuzzer found: a store, then 0x8d with offset 2 calling the clock
        refused(
                "BPF_CALL uses reserved fields",
                new Asm()
                        .insn(0x62, 10, 0, -4, 0xf6000000)
                        .insn(0x8d, 0, 0, 2, k)
                        .exit());
    }

    @Test
    void anExitWithReservedFieldsIsRefused() {
        refused("BPF_EXIT uses reserved fields", new Asm().insn(0x9d, 0, 0, 0, 0));
        refused("BPF_EXIT uses reserved fields", new Asm().insn(0x95, 0, 0, 0, 1));
        refused("BPF_EXIT uses reserved fields", new Asm().insn(0x95, 1, 0, 0, 0));
        refused("BPF_EXIT uses reserved fields", new Asm().insn(0x95, 0, 2, 0, 0));
    }

    @Test
    void wellFormedCallsAndExitsStillLoad() {
        assertEquals(
                2,
                new Asm()
                        .insn(0x85, 0, 0, 0, Isa.KTIME_GET_NS)
                        .exit()
                        .program(List.of())
                        .length());
    }
}
