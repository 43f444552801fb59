package dev.panda.xdp.ebpf;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** A tiny eBPF assembler for tests: raw {@code struct bpf_insn}s, little-endian. */
final class Asm {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private int count;

    Asm insn(int op, int dst, int src, int off, int imm) {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) op).put((byte) ((src << 4) | dst)).putShort((short) off).putInt(imm);
        out.writeBytes(b.array());
        count++;
        return this;
    }

    Asm ldImm64(int dst, long v) {
        insn(Isa.LD_IMM64, dst, 0, 0, (int) v);
        return insn(0, 0, 0, 0, (int) (v >>> 32));
    }

    Asm mov64(int dst, int imm) {
        return insn(Isa.CLS_ALU64 | Isa.MOV, dst, 0, 0, imm);
    }

    Asm exit() {
        return insn(Isa.CLS_JMP | Isa.EXIT, 0, 0, 0, 0);
    }

    int count() {
        return count;
    }

    byte[] bytes() {
        return out.toByteArray();
    }

    EbpfProgram program(java.util.List<EbpfMap> maps) {
        return EbpfProgram.fromBytes("test", bytes(), maps);
    }
}
