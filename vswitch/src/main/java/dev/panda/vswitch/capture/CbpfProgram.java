package dev.panda.vswitch.capture;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A validated classic BPF program (linux/filter.h, as libpcap's {@code pcap_compile} makes it) and
 * its interpreter, run on a frame in place.
 *
 * <p>{@link #validate} refuses, with one line naming the instruction, anything the interpreter
 * would not run safely: an empty or too long program (1..4096 instructions), an unknown opcode, a
 * jump that is not forward or lands past the end, a scratch memory index over 15, a division or
 * modulo by the constant 0, and a last instruction that is not a return. A valid program therefore
 * ends after at most its length in steps. Loads are bounds-checked against the frame: a load
 * outside it ends the program with 0 (no match), as in the kernel and in libpcap; division by X = 0
 * does the same.
 *
 * <p>Instructions are packed one per long: {@code code<<48 | jt<<40 | jf<<32 | k}.
 */
public final class CbpfProgram {

    public static final int MAX_INSNS = 4096;
    private static final int MEMWORDS = 16;

    // classes
    static final int LD = 0x00, LDX = 0x01, ST = 0x02, STX = 0x03, ALU = 0x04, JMP = 0x05, RET = 0x06, MISC = 0x07;
    // sizes
    static final int W = 0x00, H = 0x08, B = 0x10;
    // modes
    static final int IMM = 0x00, ABS = 0x20, IND = 0x40, MEM = 0x60, LEN = 0x80, MSH = 0xa0;
    // alu and jmp ops
    static final int ADD = 0x00, SUB = 0x10, MUL = 0x20, DIV = 0x30, OR = 0x40, AND = 0x50, LSH = 0x60, RSH = 0x70;
    static final int NEG = 0x80, MOD = 0x90, XOR = 0xa0;
    static final int JA = 0x00, JEQ = 0x10, JGT = 0x20, JGE = 0x30, JSET = 0x40;
    static final int K = 0x00, X = 0x08, A = 0x10;
    static final int TAX = 0x00, TXA = 0x80;

    private static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final short[] code;
    private final byte[] jt;
    private final byte[] jf;
    private final int[] k;
    /** Scratch memory; one program instance per thread that runs it (see {@link #copy}). */
    private final int[] mem = new int[MEMWORDS];

    private CbpfProgram(short[] code, byte[] jt, byte[] jf, int[] k) {
        this.code = code;
        this.jt = jt;
        this.jf = jf;
        this.k = k;
    }

    /** A refused program: one line naming the instruction. */
    public static final class InvalidProgramException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        InvalidProgramException(String message) {
            super(message);
        }
    }

    /** Checks {@code insns} (packed) and returns the program; refuses what it cannot run safely. */
    public static CbpfProgram validate(long[] insns) {
        int n = insns.length;
        if (n == 0 || n > MAX_INSNS) {
            throw new InvalidProgramException("a program has 1.." + MAX_INSNS + " instructions, this one " + n);
        }
        short[] code = new short[n];
        byte[] jt = new byte[n];
        byte[] jf = new byte[n];
        int[] k = new int[n];
        for (int pc = 0; pc < n; pc++) {
            long i = insns[pc];
            int c = (int) (i >>> 48) & 0xffff;
            int t = (int) (i >>> 40) & 0xff;
            int f = (int) (i >>> 32) & 0xff;
            int kk = (int) i;
            check(pc, n, c, t, f, kk);
            code[pc] = (short) c;
            jt[pc] = (byte) t;
            jf[pc] = (byte) f;
            k[pc] = kk;
        }
        int last = code[n - 1] & 0xffff;
        if ((last & 0x07) != RET) {
            throw new InvalidProgramException("instruction " + (n - 1) + ": a program must end with a return");
        }
        return new CbpfProgram(code, jt, jf, k);
    }

    private static void check(int pc, int n, int c, int t, int f, int kk) {
        String at = "instruction " + pc + " (code 0x" + Integer.toHexString(c) + ")";
        switch (c & 0x07) {
            case LD -> {
                int size = c & 0x18;
                int mode = c & 0xe0;
                boolean ok = switch (mode) {
                    case IMM, LEN -> size == W;
                    case ABS, IND -> size == W || size == H || size == B;
                    case MEM -> size == W && memIndex(at, kk);
                    default -> false;
                };
                if (!ok || (c & ~0xff) != 0) {
                    throw new InvalidProgramException(at + ": not a valid load");
                }
            }
            case LDX -> {
                boolean ok = switch (c) {
                    case LDX | W | IMM, LDX | W | LEN, LDX | B | MSH -> true;
                    case LDX | W | MEM -> memIndex(at, kk);
                    default -> false;
                };
                if (!ok) {
                    throw new InvalidProgramException(at + ": not a valid load into X");
                }
            }
            case ST, STX -> {
                if ((c & ~0x07) != 0) {
                    throw new InvalidProgramException(at + ": not a valid store");
                }
                memIndex(at, kk);
            }
            case ALU -> {
                int op = c & 0xf0;
                if ((c & ~0xff) != 0 || op > XOR || (op == NEG && (c & X) != 0)) {
                    throw new InvalidProgramException(at + ": not a valid arithmetic instruction");
                }
                if ((op == DIV || op == MOD) && (c & X) == 0 && kk == 0) {
                    throw new InvalidProgramException(at + ": division by the constant 0");
                }
            }
            case JMP -> {
                int op = c & 0xf0;
                if ((c & ~0xff) != 0 || op > JSET || (op == JA && (c & X) != 0)) {
                    throw new InvalidProgramException(at + ": not a valid jump");
                }
                if (op == JA) {
                    long target = pc + 1L + Integer.toUnsignedLong(kk);
                    if (target >= n) {
                        throw new InvalidProgramException(at + ": jumps to " + target + ", past the end (" + n + ")");
                    }
                } else if (pc + 1L + Math.max(t, f) >= n) {
                    throw new InvalidProgramException(
                            at + ": jumps to " + (pc + 1 + Math.max(t, f)) + ", past the end (" + n + ")");
                }
            }
            case RET -> {
                int rval = c & 0x18;
                if ((c & ~0x1f) != 0 || (rval != K && rval != A)) {
                    throw new InvalidProgramException(at + ": not a valid return");
                }
            }
            default -> { // MISC
                if (c != (MISC | TAX) && c != (MISC | TXA)) {
                    throw new InvalidProgramException(at + ": not a valid register move");
                }
            }
        }
    }

    private static boolean memIndex(String at, int kk) {
        if (Integer.compareUnsigned(kk, MEMWORDS) >= 0) {
            throw new InvalidProgramException(at + ": scratch memory index " + Integer.toUnsignedString(kk) + " > 15");
        }
        return true;
    }

    /** A program with the same instructions and its own scratch memory, for another thread. */
    public CbpfProgram copy() {
        return new CbpfProgram(code, jt, jf, k);
    }

    public int length() {
        return code.length;
    }

    /**
     * Runs the program over {@code len} bytes of {@code seg} at {@code base} (the frame, in place)
     * and returns its verdict: 0 no match, else how many bytes of the frame to keep (unsigned).
     */
    public int run(MemorySegment seg, long base, int len) {
        final short[] code = this.code;
        final int[] k = this.k;
        final int[] mem = this.mem;
        final long wirelen = Integer.toUnsignedLong(len);
        int a = 0;
        int x = 0;
        int pc = 0;
        while (true) {
            int c = code[pc];
            int kk = k[pc];
            switch (c) {
                case RET | K -> {
                    return kk;
                }
                case RET | A -> {
                    return a;
                }
                case LD | W | ABS, LD | H | ABS, LD | B | ABS, LD | W | IND, LD | H | IND, LD | B | IND -> {
                    long off = Integer.toUnsignedLong(kk);
                    if ((c & 0xe0) == IND) {
                        off = (Integer.toUnsignedLong(x) + off) & 0xffff_ffffL;
                    }
                    int size = (c & 0x18) == W ? 4 : (c & 0x18) == H ? 2 : 1;
                    if (off + size > wirelen) {
                        return 0;
                    }
                    a = size == 4
                            ? seg.get(BE32, base + off)
                            : size == 2
                                    ? Short.toUnsignedInt(seg.get(BE16, base + off))
                                    : Byte.toUnsignedInt(seg.get(ValueLayout.JAVA_BYTE, base + off));
                }
                case LD | W | LEN -> a = len;
                case LDX | W | LEN -> x = len;
                case LD | W | IMM -> a = kk;
                case LDX | W | IMM -> x = kk;
                case LD | W | MEM -> a = mem[kk];
                case LDX | W | MEM -> x = mem[kk];
                case LDX | B | MSH -> {
                    long off = Integer.toUnsignedLong(kk);
                    if (off >= wirelen) {
                        return 0;
                    }
                    x = (seg.get(ValueLayout.JAVA_BYTE, base + off) & 0xf) << 2;
                }
                case ST -> mem[kk] = a;
                case STX -> mem[kk] = x;
                case MISC | TAX -> x = a;
                case MISC | TXA -> a = x;
                case JMP | JA -> pc += kk;
                default -> {
                    int cls = c & 0x07;
                    int src = (c & X) != 0 ? x : kk;
                    if (cls == JMP) {
                        boolean cond = switch (c & 0xf0) {
                            case JEQ -> a == src;
                            case JGT -> Integer.compareUnsigned(a, src) > 0;
                            case JGE -> Integer.compareUnsigned(a, src) >= 0;
                            default -> (a & src) != 0; // JSET
                        };
                        pc += cond ? (jt[pc] & 0xff) : (jf[pc] & 0xff);
                    } else { // ALU (validated)
                        switch (c & 0xf0) {
                            case ADD -> a += src;
                            case SUB -> a -= src;
                            case MUL -> a *= src;
                            case DIV -> {
                                if (src == 0) {
                                    return 0;
                                }
                                a = Integer.divideUnsigned(a, src);
                            }
                            case MOD -> {
                                if (src == 0) {
                                    return 0;
                                }
                                a = Integer.remainderUnsigned(a, src);
                            }
                            case OR -> a |= src;
                            case AND -> a &= src;
                            case LSH -> a = (src & 0xffff_ffe0) != 0 ? 0 : a << src;
                            case RSH -> a = (src & 0xffff_ffe0) != 0 ? 0 : a >>> src;
                            case NEG -> a = -a;
                            default -> a ^= src; // XOR
                        }
                    }
                }
            }
            pc++;
        }
    }

    /** The program as text, one instruction a line ({@code (000) code jt jf k}), for errors and logs. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < code.length; i++) {
            sb.append(String.format(
                    "(%03d) 0x%02x %d %d 0x%08x%n", i, code[i] & 0xffff, jt[i] & 0xff, jf[i] & 0xff, k[i]));
        }
        return sb.toString();
    }
}
