package dev.panda.xdp.ebpf;

import static dev.panda.xdp.ebpf.Isa.*;

/**
 * Runs an eBPF program instruction by instruction (kernel docs, "eBPF Instruction Set
 * Specification"): 64- and 32-bit ALU (32-bit results zero-extended; division by zero gives 0,
 * modulo by zero leaves the dividend; shift counts masked to the width), jumps and 32-bit jumps,
 * loads, stores and atomics through the bounds-checked {@link XdpContext}, {@code LD_IMM64},
 * helper calls. Registers live in the context, so a run allocates nothing. A run stops with
 * XDP_ABORTED on a fault or after {@link XdpContext#LOOP_BUDGET} backward jumps (the
 * {@link Translator} counts the same way, so both stop at the same point).
 */
public final class Interpreter implements XdpProgram {

    private final EbpfProgram p;
    private final int[] op, dst, src, off, imm;
    private final long[] imm64;
    private final int[] target;

    public Interpreter(EbpfProgram p) {
        this.p = p;
        op = p.op;
        dst = p.dst;
        src = p.src;
        off = p.off;
        imm = p.imm;
        imm64 = p.imm64;
        target = new int[op.length];
        for (int i = 0; i < op.length; i++) {
            target[i] = Isa.target(p, i);
        }
    }

    @Override
    public EbpfProgram program() {
        return p;
    }

    @Override
    public int run(XdpContext c) {
        try {
            return exec(c);
        } catch (BpfFault f) {
            return c.fault(f);
        }
    }

    private int exec(XdpContext c) {
        long[] r = c.regs;
        java.util.Arrays.fill(r, 0L);
        r[1] = XdpContext.ctxPointer();
        r[10] = XdpContext.framePointer();
        int budget = XdpContext.LOOP_BUDGET;
        int pc = 0;
        while (true) {
            int o = op[pc];
            int d = dst[pc];
            switch (o & 0x07) {
                case CLS_ALU64 -> {
                    long b = (o & SRC_X) != 0 ? r[src[pc]] : imm[pc];
                    r[d] = alu64(o & 0xf0, r[d], b);
                    pc++;
                }
                case CLS_ALU -> {
                    int code = o & 0xf0;
                    if (code == END) {
                        r[d] = endian((o & SRC_X) != 0, imm[pc], r[d]);
                    } else {
                        int b = (o & SRC_X) != 0 ? (int) r[src[pc]] : imm[pc];
                        r[d] = alu32(code, (int) r[d], b) & 0xffffffffL;
                    }
                    pc++;
                }
                case CLS_JMP, CLS_JMP32 -> {
                    int code = o & 0xf0;
                    if (code == EXIT) {
                        return (int) r[0];
                    }
                    if (code == CALL) {
                        r[0] = c.call(imm[pc], r[1], r[2], r[3], r[4], r[5]);
                        pc++;
                    } else {
                        boolean taken;
                        if ((o & 0x07) == CLS_JMP) {
                            long b = (o & SRC_X) != 0 ? r[src[pc]] : imm[pc];
                            taken = cond64(code, r[d], b);
                        } else {
                            int b = (o & SRC_X) != 0 ? (int) r[src[pc]] : imm[pc];
                            taken = cond32(code, (int) r[d], b);
                        }
                        if (!taken) {
                            pc++;
                        } else if (target[pc] > pc) {
                            pc = target[pc];
                        } else if (--budget >= 0) {
                            pc = target[pc];
                        } else {
                            throw c.fault(XdpContext.LOOP_FAULT);
                        }
                    }
                }
                case CLS_LDX -> {
                    long a = r[src[pc]] + off[pc];
                    long v = switch (o & 0x18) {
                        case SZ_B -> c.ldB(a);
                        case SZ_H -> c.ldH(a);
                        case SZ_W -> c.ldW(a);
                        default -> c.ldDW(a);
                    };
                    if ((o & 0xe0) == MODE_MEMSX) {
                        v = switch (o & 0x18) {
                            case SZ_B -> (byte) v;
                            case SZ_H -> (short) v;
                            default -> (int) v;
                        };
                    }
                    r[d] = v;
                    pc++;
                }
                case CLS_ST, CLS_STX -> {
                    long a = r[d] + off[pc];
                    if ((o & 0xe0) == MODE_ATOMIC) {
                        int s = src[pc];
                        long old = c.atomic(Isa.size(o), imm[pc], a, r[s], r[0]);
                        if (imm[pc] == CMPXCHG) {
                            r[0] = old;
                        } else if ((imm[pc] & FETCH) != 0) {
                            r[s] = old;
                        }
                    } else {
                        long v = (o & 0x07) == CLS_STX ? r[src[pc]] : imm[pc];
                        switch (o & 0x18) {
                            case SZ_B -> c.stB(a, v);
                            case SZ_H -> c.stH(a, v);
                            case SZ_W -> c.stW(a, v);
                            default -> c.stDW(a, v);
                        }
                    }
                    pc++;
                }
                default -> { // CLS_LD: only LD_IMM64 passes the checks
                    r[d] = imm64[pc];
                    pc += 2;
                }
            }
        }
    }

    static long alu64(int code, long a, long b) {
        return switch (code) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> div64(a, b);
            case OR -> a | b;
            case AND -> a & b;
            case LSH -> a << (b & 63);
            case RSH -> a >>> (b & 63);
            case NEG -> -a;
            case MOD -> mod64(a, b);
            case XOR -> a ^ b;
            case MOV -> b;
            default -> a >> (b & 63); // ARSH
        };
    }

    static int alu32(int code, int a, int b) {
        return switch (code) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> div32(a, b);
            case OR -> a | b;
            case AND -> a & b;
            case LSH -> a << (b & 31);
            case RSH -> a >>> (b & 31);
            case NEG -> -a;
            case MOD -> mod32(a, b);
            case XOR -> a ^ b;
            case MOV -> b;
            default -> a >> (b & 31); // ARSH
        };
    }

    /** Unsigned division and modulo as eBPF defines them for a zero divisor (0, and the dividend). */
    static long div64(long a, long b) {
        return b == 0 ? 0 : Long.divideUnsigned(a, b);
    }

    static long mod64(long a, long b) {
        return b == 0 ? a : Long.remainderUnsigned(a, b);
    }

    static int div32(int a, int b) {
        return b == 0 ? 0 : Integer.divideUnsigned(a, b);
    }

    static int mod32(int a, int b) {
        return b == 0 ? a : Integer.remainderUnsigned(a, b);
    }

    /** BPF_END: to little-endian (a truncation on this little-endian engine) or to big-endian (a swap). */
    static long endian(boolean toBe, int width, long v) {
        if (!toBe) {
            return width == 16 ? v & 0xffffL : width == 32 ? v & 0xffffffffL : v;
        }
        return width == 16
                ? Short.reverseBytes((short) v) & 0xffffL
                : width == 32 ? Integer.reverseBytes((int) v) & 0xffffffffL : Long.reverseBytes(v);
    }

    static boolean cond64(int code, long a, long b) {
        return switch (code) {
            case JA -> true;
            case JEQ -> a == b;
            case JGT -> Long.compareUnsigned(a, b) > 0;
            case JGE -> Long.compareUnsigned(a, b) >= 0;
            case JSET -> (a & b) != 0;
            case JNE -> a != b;
            case JSGT -> a > b;
            case JSGE -> a >= b;
            case JLT -> Long.compareUnsigned(a, b) < 0;
            case JLE -> Long.compareUnsigned(a, b) <= 0;
            case JSLT -> a < b;
            default -> a <= b; // JSLE
        };
    }

    static boolean cond32(int code, int a, int b) {
        return switch (code) {
            case JA -> true;
            case JEQ -> a == b;
            case JGT -> Integer.compareUnsigned(a, b) > 0;
            case JGE -> Integer.compareUnsigned(a, b) >= 0;
            case JSET -> (a & b) != 0;
            case JNE -> a != b;
            case JSGT -> a > b;
            case JSGE -> a >= b;
            case JLT -> Integer.compareUnsigned(a, b) < 0;
            case JLE -> Integer.compareUnsigned(a, b) <= 0;
            case JSLT -> a < b;
            default -> a <= b; // JSLE
        };
    }
}
