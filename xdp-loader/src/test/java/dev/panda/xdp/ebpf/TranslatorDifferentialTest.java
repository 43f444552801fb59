package dev.panda.xdp.ebpf;

import static dev.panda.xdp.ebpf.Isa.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Interpreter against translator on random programs: every ALU operation in both widths with
 * immediate and register operands (edge values such as 0, -1 and INT_MIN to hit division by
 * zero and overflow), byte swaps, 64- and 32-bit conditional jumps forward, stack stores and
 * loads of every size, then all registers written into the packet so that every bit of the final
 * state is compared, not only r0.
 */
class TranslatorDifferentialTest {

    private static final long[] EDGES = {
        0,
        1,
        -1,
        2,
        63,
        64,
        0x7fffffffL,
        0x80000000L,
        0xffffffffL,
        Long.MIN_VALUE,
        Long.MAX_VALUE,
        0x100000000L,
        -0x80000000L
    };
    private static final int[] ALU = {ADD, SUB, MUL, DIV, OR, AND, LSH, RSH, NEG, MOD, XOR, MOV, ARSH};
    private static final int[] JMPS = {JEQ, JGT, JGE, JSET, JNE, JSGT, JSGE, JLT, JLE, JSLT, JSLE};
    private static final int[] SIZES = {SZ_B, SZ_H, SZ_W, SZ_DW};

    private static long value(Random r) {
        return r.nextInt(3) == 0 ? EDGES[r.nextInt(EDGES.length)] : r.nextInt(4) == 0 ? r.nextInt(16) : r.nextLong();
    }

    /** One random instruction (or two for LD_IMM64) into {@code body}, as {op, dst, src, off, imm} rows. */
    private static void randomInsn(Random r, List<int[]> body) {
        int d = r.nextInt(10);
        int s = r.nextInt(10);
        switch (r.nextInt(10)) {
            case 0, 1, 2 -> {
                int code = ALU[r.nextInt(ALU.length)];
                boolean x = code != NEG && r.nextBoolean();
                body.add(new int[] {CLS_ALU64 | code | (x ? SRC_X : 0), d, x ? s : 0, 0, (int) value(r)});
            }
            case 3, 4 -> {
                int code = ALU[r.nextInt(ALU.length)];
                boolean x = code != NEG && r.nextBoolean();
                body.add(new int[] {CLS_ALU | code | (x ? SRC_X : 0), d, x ? s : 0, 0, (int) value(r)});
            }
            case 5 ->
                body.add(new int[] {
                    CLS_ALU | END | (r.nextBoolean() ? SRC_X : 0), d, 0, 0, new int[] {16, 32, 64}[r.nextInt(3)]
                });
            case 6 -> { // conditional jump, offset patched below
                boolean w32 = r.nextBoolean();
                boolean x = r.nextBoolean();
                body.add(new int[] {
                    (w32 ? CLS_JMP32 : CLS_JMP) | JMPS[r.nextInt(JMPS.length)] | (x ? SRC_X : 0),
                    d,
                    x ? s : 0,
                    -1,
                    (int) value(r)
                });
            }
            case 7 -> { // stack store of a register or an immediate, then a load of another size
                int sz = SIZES[r.nextInt(4)];
                int slot = -24 - 8 * r.nextInt(60);
                if (r.nextBoolean()) {
                    body.add(new int[] {CLS_STX | MODE_MEM | sz, 10, s, slot, 0});
                } else {
                    body.add(new int[] {CLS_ST | MODE_MEM | sz, 10, 0, slot, (int) value(r)});
                }
                body.add(new int[] {CLS_LDX | MODE_MEM | SIZES[r.nextInt(4)], d, 10, slot, 0});
            }
            case 8 -> { // atomic add / fetch-add on the stack
                int slot = -24 - 8 * r.nextInt(60);
                int sz = r.nextBoolean() ? SZ_W : SZ_DW;
                body.add(new int[] {CLS_STX | MODE_ATOMIC | sz, 10, s, slot, r.nextBoolean() ? ADD : ADD | FETCH});
            }
            default -> {
                long v = value(r);
                body.add(new int[] {LD_IMM64, d, 0, 0, (int) v});
                body.add(new int[] {0, 0, 0, 0, (int) (v >>> 32)});
            }
        }
    }

    static byte[] randomProgram(Random r, int length) {
        Asm a = new Asm();
        // r6 = data; keep it at fp-8 and give every register a random start
        a.insn(CLS_LDX | MODE_MEM | SZ_W, 6, 1, 0, 0).insn(CLS_STX | MODE_MEM | SZ_DW, 10, 6, -8, 0);
        for (int reg = 0; reg < 10; reg++) {
            a.ldImm64(reg, value(r));
        }
        List<int[]> body = new ArrayList<>();
        while (body.size() < length) {
            randomInsn(r, body);
        }
        // epilogue: r1 to fp-16, data pointer to r1, r0 and r2..r9 and saved r1 into the packet
        List<int[]> tail = new ArrayList<>();
        tail.add(new int[] {CLS_STX | MODE_MEM | SZ_DW, 10, 1, -16, 0});
        tail.add(new int[] {CLS_LDX | MODE_MEM | SZ_DW, 1, 10, -8, 0});
        for (int reg = 0; reg < 10; reg++) {
            if (reg != 1) {
                tail.add(new int[] {CLS_STX | MODE_MEM | SZ_DW, 1, reg, 8 * reg, 0});
            }
        }
        tail.add(new int[] {CLS_LDX | MODE_MEM | SZ_DW, 2, 10, -16, 0});
        tail.add(new int[] {CLS_STX | MODE_MEM | SZ_DW, 1, 2, 8, 0});
        tail.add(new int[] {CLS_JMP | EXIT, 0, 0, 0, 0});
        int bodyStart = a.count();
        // patch forward jumps: to a later instruction start, never inside LD_IMM64, never past the tail start
        boolean[] second = new boolean[body.size()];
        for (int i = 0; i < body.size(); i++) {
            if (body.get(i)[0] == LD_IMM64) {
                second[i + 1] = true;
            }
        }
        for (int i = 0; i < body.size(); i++) {
            int[] in = body.get(i);
            if (!second[i] && ((in[0] & 7) == CLS_JMP || (in[0] & 7) == CLS_JMP32) && in[3] == -1) {
                int t;
                do {
                    t = i + 1 + r.nextInt(body.size() - i);
                } while (t < body.size() && second[t]);
                in[3] = t - i - 1;
            }
        }
        for (int[] in : body) {
            a.insn(in[0], in[1], in[2], in[3], in[4]);
        }
        for (int[] in : tail) {
            a.insn(in[0], in[1], in[2], in[3], in[4]);
        }
        assertTrue(a.count() > bodyStart);
        return a.bytes();
    }

    @Test
    void randomProgramsGiveTheSameRegistersAndVerdict() {
        Random r = new Random(42);
        byte[] packet = new byte[96];
        int programs = 400;
        for (int n = 0; n < programs; n++) {
            byte[] code = randomProgram(r, 10 + r.nextInt(60));
            EbpfProgram p = EbpfProgram.fromBytes("random" + n, code, List.of());
            EngineRun interp = new EngineRun(new Interpreter(p), new XdpContext(List.of(), 0));
            EngineRun jit = new EngineRun(Translator.translate(p), new XdpContext(List.of(), 0));
            for (int rep = 0; rep < 2; rep++) {
                EngineRun.Result a = interp.run(packet);
                EngineRun.Result b = jit.run(packet);
                assertEquals(0, interp.ctx.faults(), interp.ctx.lastFault());
                assertEquals(a, b, "program " + n + ": " + Hex.of(code));
                assertTrue(!Arrays.equals(a.data(), packet), "the epilogue wrote the registers");
            }
        }
    }

    @Test
    void knownResults() {
        // 32-bit ops zero-extend, division by zero gives 0, modulo by zero keeps the dividend, shifts mask
        long[][] cases = {
            // {opcode, a, b, expected}
            {CLS_ALU64 | DIV | SRC_X, 7, 0, 0},
            {CLS_ALU64 | MOD | SRC_X, 7, 0, 7},
            {CLS_ALU | MOD | SRC_X, 0x1_0000_0007L, 0, 7},
            {CLS_ALU | DIV | SRC_X, 0xffff_ffffL, 2, 0x7fff_ffffL},
            {CLS_ALU64 | DIV | SRC_X, -1, 2, Long.MAX_VALUE},
            {CLS_ALU64 | LSH | SRC_X, 1, 65, 2},
            {CLS_ALU | LSH | SRC_X, 1, 33, 2},
            {CLS_ALU | ADD | SRC_X, 0xffff_ffffL, 1, 0},
            {CLS_ALU64 | ARSH | SRC_X, Long.MIN_VALUE, 63, -1},
            {CLS_ALU | ARSH | SRC_X, 0x8000_0000L, 31, 0xffff_ffffL},
            {CLS_ALU | NEG, 1, 0, 0xffff_ffffL},
        };
        for (long[] c : cases) {
            Asm a = new Asm().ldImm64(2, c[1]).ldImm64(3, c[2]).insn((int) c[0], 2, 3, 0, 0);
            // r0 = r2 >> 32 ^ r2 (so both halves reach the 32-bit verdict), compared via both engines
            a.insn(CLS_ALU64 | MOV | SRC_X, 0, 2, 0, 0)
                    .insn(CLS_ALU64 | RSH, 0, 0, 0, 32)
                    .insn(CLS_ALU64 | XOR | SRC_X, 0, 2, 0, 0)
                    .exit();
            EbpfProgram p = a.program(List.of());
            long e = c[3];
            int expected = (int) ((e >>> 32) ^ e);
            for (XdpProgram x : List.of(new Interpreter(p), Translator.translate(p))) {
                EngineRun run = new EngineRun(x, new XdpContext(List.of(), 0));
                assertEquals(
                        expected,
                        run.run(new byte[20]).verdict(),
                        String.format("opcode 0x%02x on %x, %x", c[0], c[1], c[2]));
            }
        }
    }

    @Test
    void endlessLoopsStopAtTheSameBudget() {
        EbpfProgram p =
                new Asm().mov64(0, 2).insn(CLS_JMP | JA, 0, 0, -1, 0).exit().program(List.of());
        for (XdpProgram x : List.of(new Interpreter(p), Translator.translate(p))) {
            XdpContext ctx = new XdpContext(List.of(), 0);
            EngineRun run = new EngineRun(x, ctx);
            assertEquals(XdpContext.XDP_ABORTED, run.run(new byte[20]).verdict());
            assertEquals(1, ctx.faults());
            assertEquals(XdpContext.LOOP_FAULT, ctx.lastFault());
        }
    }
}
