package dev.panda.xdp.ebpf;

import static dev.panda.xdp.ebpf.Isa.*;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_long;
import static java.lang.constant.ConstantDescs.CD_void;

import java.lang.classfile.ClassFile;
import java.lang.classfile.CodeBuilder;
import java.lang.classfile.Label;
import java.lang.constant.ClassDesc;
import java.lang.constant.ConstantDescs;
import java.lang.constant.MethodTypeDesc;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.List;

/**
 * Translates an eBPF program into JVM bytecode with {@code java.lang.classfile} (JDK 25) and
 * defines it as a hidden class implementing {@link XdpProgram}; the JIT then compiles it like any
 * Java method. Each eBPF register is a {@code long} local, each instruction a few JVM
 * instructions, each eBPF jump a JVM branch to the label of its target; memory accesses and
 * helper calls go through the same {@link XdpContext} methods the {@link Interpreter} uses, so
 * both share one definition of bounds checks, maps and helpers. Semantics match the interpreter
 * (same ALU rules, same loop budget counted on taken backward jumps): the differential tests hold
 * them to it.
 */
public final class Translator {

    private static final ClassDesc CD_CTX = ClassDesc.of(XdpContext.class.getName());
    private static final ClassDesc CD_PROGRAM = ClassDesc.of(EbpfProgram.class.getName());
    private static final ClassDesc CD_XDP_PROGRAM = ClassDesc.of(XdpProgram.class.getName());
    private static final ClassDesc CD_FAULT = ClassDesc.of(BpfFault.class.getName());
    private static final ClassDesc CD_INTERP = ClassDesc.of(Interpreter.class.getName());
    private static final MethodTypeDesc LOAD = MethodTypeDesc.of(CD_long, CD_long);
    private static final MethodTypeDesc STORE = MethodTypeDesc.of(CD_void, CD_long, CD_long);
    private static final MethodTypeDesc LLL = MethodTypeDesc.of(CD_long, CD_long, CD_long);
    private static final MethodTypeDesc III = MethodTypeDesc.of(CD_int, CD_int, CD_int);
    private static final MethodTypeDesc LLI = MethodTypeDesc.of(CD_int, CD_long, CD_long);
    /** JVM bytes per eBPF instruction at most, with margin, against the 64 KiB method limit. */
    private static final int MAX_BYTES_PER_INSN = 40;

    private static final int CTX = 0, BUDGET = 23;
    /** HotSpot's HugeMethodLimit: larger methods are never JIT-compiled by default. */
    static final int HUGE_METHOD = 8000;

    private Translator() {}

    /** The translated program; throws {@link BpfFormatException} if it is too large for one JVM method. */
    public static XdpProgram translate(EbpfProgram p) {
        if ((long) p.length() * MAX_BYTES_PER_INSN > 65_000) {
            throw new BpfFormatException("program " + p.name() + ": " + p.length()
                    + " instructions may not fit one JVM method; run it with the interpreter");
        }
        byte[] bytes = classBytes(p);
        int size = execSize(bytes);
        if (size > HUGE_METHOD) {
            throw new BpfFormatException("program " + p.name() + ": translates to " + size
                    + " bytes of bytecode, more than " + "HotSpot compiles (" + HUGE_METHOD
                    + ", -XX:+DontCompileHugeMethods); run it with the interpreter");
        }
        try {
            MethodHandles.Lookup hidden =
                    MethodHandles.lookup().defineHiddenClass(bytes, true, MethodHandles.Lookup.ClassOption.NESTMATE);
            return (XdpProgram)
                    hidden.findConstructor(hidden.lookupClass(), MethodType.methodType(void.class, EbpfProgram.class))
                            .invoke(p);
        } catch (Throwable t) {
            throw new IllegalStateException("program " + p.name() + ": the translated class did not load: " + t, t);
        }
    }

    /** Bytecode bytes of the translated {@code exec} method. */
    static int execSize(byte[] classBytes) {
        for (var m : ClassFile.of().parse(classBytes).methods()) {
            if (m.methodName().equalsString("exec")) {
                return m.code()
                        .map(c -> ((java.lang.classfile.attribute.CodeAttribute) c).codeLength())
                        .orElse(0);
            }
        }
        return 0;
    }

    /** The class file of {@link #translate}'s class. */
    static byte[] classBytes(EbpfProgram p) {
        ClassDesc self = ClassDesc.of(Translator.class.getPackageName() + ".Translated");
        return ClassFile.of().build(self, cb -> {
            cb.withFlags(ClassFile.ACC_FINAL | ClassFile.ACC_SYNTHETIC);
            cb.withInterfaceSymbols(CD_XDP_PROGRAM);
            cb.withField("program", CD_PROGRAM, ClassFile.ACC_PRIVATE | ClassFile.ACC_FINAL);
            cb.withMethodBody(
                    ConstantDescs.INIT_NAME,
                    MethodTypeDesc.of(CD_void, CD_PROGRAM),
                    ClassFile.ACC_PUBLIC,
                    c -> c.aload(0)
                            .invokespecial(ConstantDescs.CD_Object, ConstantDescs.INIT_NAME, ConstantDescs.MTD_void)
                            .aload(0)
                            .aload(1)
                            .putfield(self, "program", CD_PROGRAM)
                            .return_());
            cb.withMethodBody(
                    "program",
                    MethodTypeDesc.of(CD_PROGRAM),
                    ClassFile.ACC_PUBLIC,
                    c -> c.aload(0).getfield(self, "program", CD_PROGRAM).areturn());
            cb.withMethodBody("run", MethodTypeDesc.of(CD_int, CD_CTX), ClassFile.ACC_PUBLIC, c -> {
                Label start = c.newLabel(), end = c.newLabel(), handler = c.newLabel();
                c.labelBinding(start);
                c.aload(1)
                        .invokestatic(self, "exec", MethodTypeDesc.of(CD_int, CD_CTX))
                        .ireturn();
                c.labelBinding(end);
                c.labelBinding(handler);
                c.astore(2)
                        .aload(1)
                        .aload(2)
                        .invokevirtual(CD_CTX, "fault", MethodTypeDesc.of(CD_int, CD_FAULT))
                        .ireturn();
                c.exceptionCatch(start, end, handler, CD_FAULT);
            });
            cb.withMethodBody(
                    "exec",
                    MethodTypeDesc.of(CD_int, CD_CTX),
                    ClassFile.ACC_STATIC | ClassFile.ACC_PRIVATE,
                    c -> body(c, p));
        });
    }

    private static int reg(int r) {
        return 1 + 2 * r;
    }

    private static void body(CodeBuilder c, EbpfProgram p) {
        int n = p.length();
        Label[] at = new Label[n];
        for (int i = 0; i < n; i++) {
            at[i] = c.newLabel();
        }
        for (int r = 0; r <= 10; r++) {
            c.loadConstant(r == 1 ? XdpContext.ctxPointer() : r == 10 ? XdpContext.framePointer() : 0L)
                    .lstore(reg(r));
        }
        c.loadConstant(XdpContext.LOOP_BUDGET).istore(BUDGET);
        record Back(Label from, int target) {}
        List<Back> backs = new ArrayList<>();
        Label budgetFault = c.newLabel();
        for (int i = 0; i < n; i++) {
            c.labelBinding(at[i]);
            int o = p.op[i], d = p.dst[i], s = p.src[i], imm = p.imm[i];
            boolean x = (o & SRC_X) != 0;
            switch (o & 0x07) {
                case CLS_ALU64 -> alu64(c, o & 0xf0, d, s, x, imm);
                case CLS_ALU -> alu32(c, o & 0xf0, d, s, x, imm);
                case CLS_JMP, CLS_JMP32 -> {
                    int code = o & 0xf0;
                    if (code == EXIT) {
                        c.lload(reg(0)).l2i().ireturn();
                    } else if (code == CALL) {
                        c.aload(CTX).loadConstant(imm);
                        for (int r = 1; r <= 5; r++) {
                            c.lload(reg(r));
                        }
                        c.invokevirtual(
                                        CD_CTX,
                                        "call",
                                        MethodTypeDesc.of(CD_long, CD_int, CD_long, CD_long, CD_long, CD_long, CD_long))
                                .lstore(reg(0));
                    } else {
                        int t = Isa.target(p, i);
                        Label dest = at[t];
                        if (t <= i) {
                            dest = c.newLabel();
                            backs.add(new Back(dest, t));
                        }
                        jump(c, (o & 0x07) == CLS_JMP32, code, d, s, x, imm, dest);
                    }
                }
                case CLS_LDX -> {
                    c.aload(CTX).lload(reg(s)).loadConstant((long) p.off[i]).ladd();
                    String m = switch (o & 0x18) {
                        case SZ_B -> "ldB";
                        case SZ_H -> "ldH";
                        case SZ_W -> "ldW";
                        default -> "ldDW";
                    };
                    c.invokevirtual(CD_CTX, m, LOAD);
                    if ((o & 0xe0) == MODE_MEMSX) {
                        c.l2i();
                        switch (o & 0x18) {
                            case SZ_B -> c.i2b();
                            case SZ_H -> c.i2s();
                            default -> {}
                        }
                        c.i2l();
                    }
                    c.lstore(reg(d));
                }
                case CLS_ST, CLS_STX -> {
                    if ((o & 0xe0) == MODE_ATOMIC) {
                        c.aload(CTX)
                                .loadConstant(Isa.size(o))
                                .loadConstant(imm)
                                .lload(reg(d))
                                .loadConstant((long) p.off[i])
                                .ladd()
                                .lload(reg(s))
                                .lload(reg(0))
                                .invokevirtual(
                                        CD_CTX,
                                        "atomic",
                                        MethodTypeDesc.of(CD_long, CD_int, CD_int, CD_long, CD_long, CD_long));
                        if (imm == CMPXCHG) {
                            c.lstore(reg(0));
                        } else if ((imm & FETCH) != 0) {
                            c.lstore(reg(s));
                        } else {
                            c.pop2();
                        }
                    } else {
                        c.aload(CTX).lload(reg(d)).loadConstant((long) p.off[i]).ladd();
                        if ((o & 0x07) == CLS_STX) {
                            c.lload(reg(s));
                        } else {
                            c.loadConstant((long) imm);
                        }
                        String m = switch (o & 0x18) {
                            case SZ_B -> "stB";
                            case SZ_H -> "stH";
                            case SZ_W -> "stW";
                            default -> "stDW";
                        };
                        c.invokevirtual(CD_CTX, m, STORE);
                    }
                }
                default -> { // LD_IMM64
                    c.loadConstant(p.imm64[i]).lstore(reg(d));
                    i++;
                    c.labelBinding(at[i]);
                }
            }
        }
        // the last instruction is an exit or a jump (checked), so control never falls off the end
        for (Back b : backs) {
            c.labelBinding(b.from());
            c.iinc(BUDGET, -1).iload(BUDGET).iflt(budgetFault).goto_(at[b.target()]);
        }
        c.labelBinding(budgetFault);
        c.aload(CTX)
                .loadConstant(XdpContext.LOOP_FAULT)
                .invokevirtual(CD_CTX, "fault", MethodTypeDesc.of(CD_FAULT, ConstantDescs.CD_String))
                .athrow();
    }

    private static void alu64(CodeBuilder c, int code, int d, int s, boolean x, int imm) {
        if (code == MOV) {
            if (x) {
                c.lload(reg(s));
            } else {
                c.loadConstant((long) imm);
            }
            c.lstore(reg(d));
            return;
        }
        c.lload(reg(d));
        if (code == NEG) {
            c.lneg().lstore(reg(d));
            return;
        }
        boolean shift = code == LSH || code == RSH || code == ARSH;
        if (shift) { // JVM long shifts use the low 6 bits of the count, as eBPF masks with 63
            if (x) {
                c.lload(reg(s)).l2i();
            } else {
                c.loadConstant(imm);
            }
        } else if (x) {
            c.lload(reg(s));
        } else {
            c.loadConstant((long) imm);
        }
        switch (code) {
            case ADD -> c.ladd();
            case SUB -> c.lsub();
            case MUL -> c.lmul();
            case DIV -> c.invokestatic(CD_INTERP, "div64", LLL);
            case OR -> c.lor();
            case AND -> c.land();
            case LSH -> c.lshl();
            case RSH -> c.lushr();
            case MOD -> c.invokestatic(CD_INTERP, "mod64", LLL);
            case XOR -> c.lxor();
            case ARSH -> c.lshr();
            default -> throw new IllegalStateException("ALU64 opcode " + code);
        }
        c.lstore(reg(d));
    }

    private static void alu32(CodeBuilder c, int code, int d, int s, boolean x, int imm) {
        if (code == END) {
            c.loadConstant(x ? 1 : 0)
                    .loadConstant(imm)
                    .lload(reg(d))
                    .invokestatic(
                            CD_INTERP, "endian", MethodTypeDesc.of(CD_long, ConstantDescs.CD_boolean, CD_int, CD_long))
                    .lstore(reg(d));
            return;
        }
        if (code == MOV) {
            if (x) {
                c.lload(reg(s)).l2i();
            } else {
                c.loadConstant(imm);
            }
        } else {
            c.lload(reg(d)).l2i();
            if (code == NEG) {
                c.ineg();
            } else {
                if (x) {
                    c.lload(reg(s)).l2i();
                } else {
                    c.loadConstant(imm);
                }
                switch (code) { // JVM int shifts use the low 5 bits of the count, as eBPF masks with 31
                    case ADD -> c.iadd();
                    case SUB -> c.isub();
                    case MUL -> c.imul();
                    case DIV -> c.invokestatic(CD_INTERP, "div32", III);
                    case OR -> c.ior();
                    case AND -> c.iand();
                    case LSH -> c.ishl();
                    case RSH -> c.iushr();
                    case MOD -> c.invokestatic(CD_INTERP, "mod32", III);
                    case XOR -> c.ixor();
                    case ARSH -> c.ishr();
                    default -> throw new IllegalStateException("ALU opcode " + code);
                }
            }
        }
        c.i2l().loadConstant(0xffffffffL).land().lstore(reg(d));
    }

    private static void jump(CodeBuilder c, boolean w32, int code, int d, int s, boolean x, int imm, Label dest) {
        if (code == JA) {
            c.goto_(dest);
            return;
        }
        c.lload(reg(d));
        if (w32) {
            c.l2i();
            if (x) {
                c.lload(reg(s)).l2i();
            } else {
                c.loadConstant(imm);
            }
            switch (code) {
                case JEQ -> c.if_icmpeq(dest);
                case JNE -> c.if_icmpne(dest);
                case JSGT -> c.if_icmpgt(dest);
                case JSGE -> c.if_icmpge(dest);
                case JSLT -> c.if_icmplt(dest);
                case JSLE -> c.if_icmple(dest);
                case JSET -> c.iand().ifne(dest);
                default -> {
                    c.invokestatic(ConstantDescs.CD_Integer, "compareUnsigned", III);
                    unsigned(c, code, dest);
                }
            }
            return;
        }
        if (x) {
            c.lload(reg(s));
        } else {
            c.loadConstant((long) imm);
        }
        switch (code) {
            case JEQ -> c.lcmp().ifeq(dest);
            case JNE -> c.lcmp().ifne(dest);
            case JSGT -> c.lcmp().ifgt(dest);
            case JSGE -> c.lcmp().ifge(dest);
            case JSLT -> c.lcmp().iflt(dest);
            case JSLE -> c.lcmp().ifle(dest);
            case JSET -> c.land().lconst_0().lcmp().ifne(dest);
            default -> {
                c.invokestatic(ConstantDescs.CD_Long, "compareUnsigned", LLI);
                unsigned(c, code, dest);
            }
        }
    }

    private static void unsigned(CodeBuilder c, int code, Label dest) {
        switch (code) {
            case JGT -> c.ifgt(dest);
            case JGE -> c.ifge(dest);
            case JLT -> c.iflt(dest);
            default -> c.ifle(dest); // JLE
        }
    }
}
