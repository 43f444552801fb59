package dev.panda.xdp.ebpf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The instruction checks refuse calls and exits whose reserved fields are set, as the kernel
 * verifier does ("BPF_CALL uses reserved fields", "BPF_EXIT uses reserved fields"). Before, a
 * call with the BPF_X source bit (0x8d, the kernel's callx) ran as a helper call in both engines.
 */
class InstructionChecksTest {

    /** One instruction: opcode, dst and src registers, offset, immediate. */
    private static byte[] insn(int op, int dst, int src, int off, int imm) {
        return ByteBuffer.allocate(8)
                .order(ByteOrder.LITTLE_ENDIAN)
                .put((byte) op)
                .put((byte) (src << 4 | dst))
                .putShort((short) off)
                .putInt(imm)
                .array();
    }

    private static EbpfProgram program(byte[]... insns) {
        ByteBuffer b = ByteBuffer.allocate(8 * insns.length);
        for (byte[] i : insns) {
            b.put(i);
        }
        return EbpfProgram.fromBytes("t", b.array(), List.of());
    }

    private static void refused(String why, byte[]... insns) {
        var e = assertThrows(BpfFormatException.class, () -> program(insns));
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }

    private static final byte[] EXIT = insn(0x95, 0, 0, 0, 0);

    @Test
    void aHelperCallWithReservedFieldsIsRefused() {
        refused("BPF_CALL uses reserved fields", insn(0x8d, 0, 0, 0, Isa.KTIME_GET_NS), EXIT); // callx
        refused("BPF_CALL uses reserved fields", insn(0x85, 0, 0, 2, Isa.KTIME_GET_NS), EXIT); // offset
        refused("BPF_CALL uses reserved fields", insn(0x85, 3, 0, 0, Isa.KTIME_GET_NS), EXIT); // dst
        refused("bpf-to-bpf calls", insn(0x85, 0, 1, 0, 1), EXIT, EXIT);
        // what the fuzzer found: a store, then 0x8d with offset 2 calling the clock
        refused(
                "BPF_CALL uses reserved fields",
                insn(0x62, 10, 0, -4, 0xf6000000),
                insn(0x8d, 0, 0, 2, Isa.KTIME_GET_NS),
                EXIT);
    }

    @Test
    void anExitWithReservedFieldsIsRefused() {
        refused("BPF_EXIT uses reserved fields", insn(0x9d, 0, 0, 0, 0));
        refused("BPF_EXIT uses reserved fields", insn(0x95, 0, 0, 0, 1));
        refused("BPF_EXIT uses reserved fields", insn(0x95, 1, 0, 0, 0));
        refused("BPF_EXIT uses reserved fields", insn(0x95, 0, 2, 0, 0));
    }

    @Test
    void wellFormedCallsAndExitsStillLoad() {
        EbpfProgram p = program(insn(0x85, 0, 0, 0, Isa.KTIME_GET_NS), EXIT);
        assertEquals(2, p.length());
    }
}
