package dev.panda.xdp.ebpf;

/**
 * Opcode constants of the eBPF instruction set (kernel docs "eBPF Instruction Set
 * Specification": "Instruction classes", "Arithmetic and jump instructions", "Load and store
 * instructions") and the structural checks {@link EbpfProgram} applies.
 */
final class Isa {

    static final int CLS_LD = 0x00, CLS_LDX = 0x01, CLS_ST = 0x02, CLS_STX = 0x03;
    static final int CLS_ALU = 0x04, CLS_JMP = 0x05, CLS_JMP32 = 0x06, CLS_ALU64 = 0x07;
    static final int SZ_W = 0x00, SZ_H = 0x08, SZ_B = 0x10, SZ_DW = 0x18;
    static final int MODE_IMM = 0x00, MODE_MEM = 0x60, MODE_MEMSX = 0x80, MODE_ATOMIC = 0xc0;
    static final int SRC_X = 0x08;
    static final int ADD = 0x00,
            SUB = 0x10,
            MUL = 0x20,
            DIV = 0x30,
            OR = 0x40,
            AND = 0x50,
            LSH = 0x60,
            RSH = 0x70,
            NEG = 0x80,
            MOD = 0x90,
            XOR = 0xa0,
            MOV = 0xb0,
            ARSH = 0xc0,
            END = 0xd0;
    static final int JA = 0x00,
            JEQ = 0x10,
            JGT = 0x20,
            JGE = 0x30,
            JSET = 0x40,
            JNE = 0x50,
            JSGT = 0x60,
            JSGE = 0x70,
            CALL = 0x80,
            EXIT = 0x90,
            JLT = 0xa0,
            JLE = 0xb0,
            JSLT = 0xc0,
            JSLE = 0xd0;
    static final int LD_IMM64 = CLS_LD | SZ_DW | MODE_IMM;
    /** Atomic operations (imm of a {@code BPF_ATOMIC} store): the ALU op, optionally with FETCH. */
    static final int FETCH = 0x01, XCHG = 0xe0 | FETCH, CMPXCHG = 0xf0 | FETCH;

    /** Helper function ids ({@code enum bpf_func_id}, linux/bpf.h) the engine implements. */
    static final int MAP_LOOKUP_ELEM = 1,
            MAP_UPDATE_ELEM = 2,
            MAP_DELETE_ELEM = 3,
            KTIME_GET_NS = 5,
            GET_PRANDOM_U32 = 7,
            GET_SMP_PROCESSOR_ID = 8,
            XDP_ADJUST_HEAD = 44,
            REDIRECT_MAP = 51,
            KTIME_GET_BOOT_NS = 125;

    private Isa() {}

    static boolean helperKnown(int id) {
        return switch (id) {
            case MAP_LOOKUP_ELEM,
                    MAP_UPDATE_ELEM,
                    MAP_DELETE_ELEM,
                    KTIME_GET_NS,
                    GET_PRANDOM_U32,
                    GET_SMP_PROCESSOR_ID,
                    XDP_ADJUST_HEAD,
                    REDIRECT_MAP,
                    KTIME_GET_BOOT_NS -> true;
            default -> false;
        };
    }

    static int size(int op) {
        return switch (op & 0x18) {
            case SZ_W -> 4;
            case SZ_H -> 2;
            case SZ_B -> 1;
            default -> 8;
        };
    }

    /** The jump target of instruction {@code i} (JA of JMP32 class uses imm, v4 "gotol"). */
    static int target(EbpfProgram p, int i) {
        return (p.op[i] & 0x07) == CLS_JMP32 && (p.op[i] & 0xf0) == JA ? i + 1 + p.imm[i] : i + 1 + p.off[i];
    }

    static void check(EbpfProgram p) {
        int n = p.op.length;
        boolean[] second = new boolean[n];
        for (int i = 0; i < n; i++) {
            if (p.op[i] == LD_IMM64) {
                if (i + 1 >= n) {
                    throw new BpfFormatException(EbpfProgram.where(p, i) + "LD_IMM64 without its second half");
                }
                second[i + 1] = true;
                i++; // the second half is never an instruction of its own, whatever its opcode
            }
        }
        for (int i = 0; i < n; i++) {
            if (second[i]) {
                // the kernel's rule too: the second half carries only the upper 32 bits
                if (p.op[i] != 0 || p.dst[i] != 0 || p.src[i] != 0 || p.off[i] != 0) {
                    throw new BpfFormatException(EbpfProgram.where(p, i)
                            + "the second half of LD_IMM64 must have opcode, registers and offset 0");
                }
                continue;
            }
            int op = p.op[i];
            int cls = op & 0x07;
            int d = p.dst[i];
            int s = p.src[i];
            String bad = null;
            if (d > 10 || s > 10) {
                bad = "register out of range";
            }
            switch (cls) {
                case CLS_ALU, CLS_ALU64 -> {
                    int code = op & 0xf0;
                    if (code > END || (code == NEG && (op & SRC_X) != 0)) {
                        bad = "unknown ALU opcode";
                    } else if (code == END && p.imm[i] != 16 && p.imm[i] != 32 && p.imm[i] != 64) {
                        bad = "byte swap width " + p.imm[i];
                    } else if (code == END && cls == CLS_ALU64 && (op & SRC_X) != 0) {
                        bad = "unknown ALU opcode";
                    } else if (code == END && cls == CLS_ALU64) {
                        bad = "unconditional byte swap (cpu v4) is not supported";
                    } else if (d == 10) {
                        bad = "r10 is read-only";
                    } else if (p.off[i] != 0) {
                        bad = "signed division and sign-extending moves (cpu v4) are not supported";
                    }
                }
                case CLS_JMP, CLS_JMP32 -> {
                    int code = op & 0xf0;
                    if (code == CALL) {
                        if (cls == CLS_JMP && s == 1) {
                            bad = "bpf-to-bpf calls are not supported (inline the function)";
                        } else if (cls != CLS_JMP || (op & SRC_X) != 0 || s != 0 || d != 0 || p.off[i] != 0) {
                            // the kernel verifier's rule: a helper call has source K, r0 for
                            // both registers and offset 0 (BPF_X here would be callx)
                            bad = "BPF_CALL uses reserved fields";
                        } else if (!helperKnown(p.imm[i])) {
                            bad = "helper " + p.imm[i] + " is not implemented";
                        }
                    } else if (code == EXIT) {
                        if (cls != CLS_JMP) {
                            bad = "unknown jump opcode";
                        } else if ((op & SRC_X) != 0 || s != 0 || d != 0 || p.imm[i] != 0) {
                            bad = "BPF_EXIT uses reserved fields";
                        }
                    } else if (code > JSLE) {
                        bad = "unknown jump opcode";
                    } else {
                        int t = target(p, i);
                        if (t < 0 || t >= n || second[t]) {
                            bad = "jump target " + t + " outside the program or inside LD_IMM64";
                        }
                    }
                }
                case CLS_LD -> {
                    if (op != LD_IMM64 || (s != 0 && s != 1 && s != 2)) {
                        bad = "unsupported LD instruction (legacy packet access or LD_IMM64 kind " + s + ")";
                    } else if (d == 10) {
                        bad = "r10 is read-only";
                    }
                }
                case CLS_LDX -> {
                    int mode = op & 0xe0;
                    if (mode != MODE_MEM && !(mode == MODE_MEMSX && (op & 0x18) != SZ_DW)) {
                        bad = "unsupported load mode";
                    } else if (d == 10) {
                        bad = "r10 is read-only";
                    }
                }
                case CLS_ST -> {
                    if ((op & 0xe0) != MODE_MEM) {
                        bad = "unsupported store mode";
                    }
                }
                case CLS_STX -> {
                    int mode = op & 0xe0;
                    if (mode == MODE_ATOMIC) {
                        int a = p.imm[i];
                        int sz = op & 0x18;
                        boolean alu =
                                (a & ~FETCH) == ADD || (a & ~FETCH) == OR || (a & ~FETCH) == AND || (a & ~FETCH) == XOR;
                        if ((sz != SZ_W && sz != SZ_DW) || !(alu || a == XCHG || a == CMPXCHG)) {
                            bad = "unsupported atomic operation " + a;
                        }
                    } else if (mode != MODE_MEM) {
                        bad = "unsupported store mode";
                    }
                }
                default -> bad = "unknown instruction class";
            }
            if (bad != null) {
                throw new BpfFormatException(EbpfProgram.where(p, i) + bad + String.format(" (opcode 0x%02x)", op));
            }
        }
        int last = n - 1;
        int lastCls = p.op[last] & 0x07;
        boolean ends = !second[last]
                && ((p.op[last] == (CLS_JMP | EXIT))
                        || ((lastCls == CLS_JMP || lastCls == CLS_JMP32) && (p.op[last] & 0xf0) == JA));
        if (!ends) {
            throw new BpfFormatException(EbpfProgram.where(p, last) + "the program must end with exit or a jump");
        }
    }
}
