package dev.panda.xdp.ebpf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * One eBPF program, decoded and checked: {@code struct bpf_insn} (opcode, dst/src registers,
 * 16-bit offset, 32-bit immediate; kernel docs "eBPF Instruction Set Specification", section
 * "Instruction encoding"), with {@code LD_IMM64} map references resolved to engine values
 * ({@link XdpContext#mapRef}, {@link XdpContext#pointer}).
 *
 * <p>The checks are the structural part of what the kernel's verifier does, enough to keep the
 * interpreter and the translator well defined on any input: known opcodes, registers r0..r10
 * with r10 read-only, jump targets inside the program and never into the second half of an
 * {@code LD_IMM64}, helpers the engine implements, the last instruction an exit or a jump.
 * Memory safety is not proven here but enforced at run time by {@link XdpContext}'s
 * bounds-checked accesses.
 */
public final class EbpfProgram {

    /** {@code R_BPF_64_64}: the relocation clang emits on an {@code LD_IMM64} of a map or global. */
    static final int R_BPF_64_64 = 1;

    static final int MAX_INSNS = 1 << 20;

    final String name;
    final int[] op;
    final int[] dst;
    final int[] src;
    final int[] off;
    final int[] imm;
    /** The 64-bit value of an {@code LD_IMM64} at its first slot. */
    final long[] imm64;

    final List<EbpfMap> maps;

    private EbpfProgram(String name, int n, List<EbpfMap> maps) {
        this.name = name;
        op = new int[n];
        dst = new int[n];
        src = new int[n];
        off = new int[n];
        imm = new int[n];
        imm64 = new long[n];
        this.maps = maps;
    }

    public String name() {
        return name;
    }

    public int length() {
        return op.length;
    }

    /**
     * Decodes function symbol {@code sym} of {@code elf}. {@code mapIndex} names the map a
     * relocation's symbol refers to: for a symbol in {@code .maps}, by the symbol's name; for
     * one in a data section, by that section's name. It returns -1 for no such map.
     */
    public static EbpfProgram decode(
            ElfObject elf, ElfObject.Symbol sym, List<EbpfMap> maps, ToIntFunction<String> mapIndex) {
        if (sym.shndx() == 0 || sym.shndx() >= elf.sections().size()) {
            throw new BpfFormatException("program " + sym.name() + ": section index " + sym.shndx() + " out of range");
        }
        ElfObject.Section sec = elf.sections().get(sym.shndx());
        if (sym.value() < 0
                || sym.size() <= 0
                || sym.value() % 8 != 0
                || sym.size() % 8 != 0
                || sym.value() > sec.size()
                || sym.size() > sec.size() - sym.value()) {
            throw new BpfFormatException("program " + sym.name() + ": [" + sym.value() + ", +" + sym.size()
                    + ") is not a whole number of instructions inside section " + sec.name());
        }
        if (sym.size() / 8 > MAX_INSNS) {
            throw new BpfFormatException(
                    "program " + sym.name() + ": " + sym.size() / 8 + " instructions, limit " + MAX_INSNS);
        }
        byte[] code = elf.bytes(sec);
        int n = (int) (sym.size() / 8);
        EbpfProgram p = new EbpfProgram(sym.name(), n, maps);
        ByteBuffer b = ByteBuffer.wrap(code).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            int at = (int) sym.value() + 8 * i;
            p.op[i] = code[at] & 0xff;
            p.dst[i] = code[at + 1] & 0xf;
            p.src[i] = (code[at + 1] >>> 4) & 0xf;
            p.off[i] = b.getShort(at + 2);
            p.imm[i] = b.getInt(at + 4);
        }
        for (int i = 0; i < n; i++) {
            if (p.op[i] == Isa.LD_IMM64) {
                if (i + 1 >= n || p.op[i + 1] != 0) {
                    throw new BpfFormatException(where(p, i) + "LD_IMM64 without its second half");
                }
                p.imm64[i] = Integer.toUnsignedLong(p.imm[i]) | ((long) p.imm[i + 1] << 32);
            }
        }
        for (ElfObject.Relocation r : elf.relocations(sec)) {
            long rel = r.offset() - sym.value();
            if (rel < 0 || rel >= sym.size()) {
                continue;
            }
            int i = (int) (rel / 8);
            if (rel % 8 != 0 || p.op[i] != Isa.LD_IMM64) {
                throw new BpfFormatException(
                        where(p, i) + "relocation to " + r.symbol().name()
                                + " on an instruction that is not LD_IMM64 (bpf-to-bpf calls are not supported: inline them)");
            }
            if (r.type() != R_BPF_64_64) {
                throw new BpfFormatException(where(p, i) + "relocation type " + r.type() + " not supported");
            }
            int symSec = r.symbol().shndx();
            String secName = symSec > 0 && symSec < elf.sections().size()
                    ? elf.sections().get(symSec).name()
                    : "";
            if (secName.equals(".maps") || secName.equals("maps")) {
                int m = mapIndex.applyAsInt(r.symbol().name());
                if (m < 0) {
                    throw new BpfFormatException(
                            where(p, i) + "no map called " + r.symbol().name());
                }
                p.imm64[i] = XdpContext.mapRef(m);
            } else {
                int m = mapIndex.applyAsInt(secName);
                if (m < 0) {
                    throw new BpfFormatException(
                            where(p, i) + "relocation to " + r.symbol().name() + " in section '" + secName
                                    + "', which is neither .maps nor a global-data map");
                }
                long offset = Integer.toUnsignedLong(p.imm[i]) + r.symbol().value();
                if (offset >= maps.get(m).spec().valueSize()) {
                    throw new BpfFormatException(where(p, i) + "offset " + offset + " beyond " + secName);
                }
                p.imm64[i] = XdpContext.pointer(XdpContext.mapRegion(m), offset);
            }
        }
        Isa.check(p);
        return p;
    }

    static String where(EbpfProgram p, int i) {
        return "program " + p.name + ", instruction " + i + ": ";
    }

    /** A program from raw instructions (8 bytes each, little-endian) with no map relocations: for tests. */
    public static EbpfProgram fromBytes(String name, byte[] insns, List<EbpfMap> maps) {
        if (insns.length == 0 || insns.length % 8 != 0) {
            throw new BpfFormatException(
                    "program " + name + ": " + insns.length + " bytes is not a whole number of instructions");
        }
        int n = insns.length / 8;
        EbpfProgram p = new EbpfProgram(name, n, maps);
        ByteBuffer b = ByteBuffer.wrap(insns).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            p.op[i] = insns[8 * i] & 0xff;
            p.dst[i] = insns[8 * i + 1] & 0xf;
            p.src[i] = (insns[8 * i + 1] >>> 4) & 0xf;
            p.off[i] = b.getShort(8 * i + 2);
            p.imm[i] = b.getInt(8 * i + 4);
        }
        for (int i = 0; i + 1 < n; i++) {
            if (p.op[i] == Isa.LD_IMM64) {
                p.imm64[i] = Integer.toUnsignedLong(p.imm[i]) | ((long) p.imm[i + 1] << 32);
                if (p.src[i] == 1) {
                    if (p.imm[i] < 0 || p.imm[i] >= maps.size()) {
                        throw new BpfFormatException(where(p, i) + "map index " + p.imm[i] + " of " + maps.size());
                    }
                    p.imm64[i] = XdpContext.mapRef(p.imm[i]);
                }
            }
        }
        Isa.check(p);
        return p;
    }
}
