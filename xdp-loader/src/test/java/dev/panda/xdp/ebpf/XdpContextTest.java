package dev.panda.xdp.ebpf;

import static dev.panda.xdp.ebpf.Isa.*;
import static dev.panda.xdp.ebpf.KernelDifferentialTest.le32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.testing.AllocationWatch;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What the engine does where the kernel's verifier would have refused the program: every
 * access outside the packet, stack or a map value, and helper misuse, ends the run with
 * XDP_ABORTED and a counted fault, in both engines. Also redirect through an XSKMAP,
 * bpf_xdp_adjust_head, and no allocation per packet.
 */
class XdpContextTest {

    private static List<XdpProgram> both(EbpfProgram p) {
        return List.of(new Interpreter(p), Translator.translate(p));
    }

    private static void assertFaults(Asm a, List<EbpfMap> maps, String reason) {
        for (XdpProgram x : both(a.program(maps))) {
            XdpContext ctx = new XdpContext(maps, 0);
            assertEquals(
                    XdpContext.XDP_ABORTED,
                    new EngineRun(x, ctx).run(new byte[64]).verdict());
            assertEquals(1, ctx.faults(), x.getClass().getSimpleName());
            assertTrue(ctx.lastFault().contains(reason), ctx.lastFault());
        }
    }

    @Test
    void packetReadPastDataEndFaults() {
        // r2 = data; r0 = *(u8 *)(r2 + 64) with a 64-byte packet
        assertFaults(
                new Asm()
                        .insn(CLS_LDX | MODE_MEM | SZ_W, 2, 1, 0, 0)
                        .insn(CLS_LDX | MODE_MEM | SZ_B, 0, 2, 64, 0)
                        .exit(),
                List.of(),
                "packet");
        // before data (no metadata): one byte below
        assertFaults(
                new Asm()
                        .insn(CLS_LDX | MODE_MEM | SZ_W, 2, 1, 0, 0)
                        .insn(CLS_LDX | MODE_MEM | SZ_B, 0, 2, -1, 0)
                        .exit(),
                List.of(),
                "packet");
    }

    @Test
    void stackOutsideTheFrameFaults() {
        assertFaults(
                new Asm()
                        .insn(CLS_STX | MODE_MEM | SZ_DW, 10, 1, 0, 0)
                        .mov64(0, 2)
                        .exit(),
                List.of(),
                "stack");
        assertFaults(new Asm().insn(CLS_LDX | MODE_MEM | SZ_DW, 0, 10, -520, 0).exit(), List.of(), "");
    }

    @Test
    void scalarsAndContextWritesFault() {
        assertFaults(
                new Asm()
                        .mov64(2, 1000)
                        .insn(CLS_LDX | MODE_MEM | SZ_B, 0, 2, 0, 0)
                        .exit(),
                List.of(),
                "non-pointer");
        assertFaults(
                new Asm().insn(CLS_ST | MODE_MEM | SZ_W, 1, 0, 0, 5).mov64(0, 2).exit(), List.of(), "context");
        assertFaults(new Asm().insn(CLS_LDX | MODE_MEM | SZ_W, 0, 1, 24, 0).exit(), List.of(), "context");
    }

    @Test
    void mapValuePointerPastTheMapFaultsAndHelpersCheckTheirMap() {
        List<EbpfMap> maps = List.of(EbpfMap.create(new MapSpec("a", MapSpec.ARRAY, 4, 8, 2, 0), 1));
        // key 1 on the stack, lookup, then read 8 bytes at value + 8 (past the last element)
        Asm a = new Asm()
                .insn(CLS_ST | MODE_MEM | SZ_W, 10, 0, -4, 1)
                .insn(CLS_ALU64 | MOV | SRC_X, 2, 10, 0, 0)
                .insn(CLS_ALU64 | ADD, 2, 0, 0, -4)
                .insn(LD_IMM64, 1, 1, 0, 0)
                .insn(0, 0, 0, 0, 0)
                .insn(CLS_JMP | CALL, 0, 0, 0, MAP_LOOKUP_ELEM)
                .insn(CLS_LDX | MODE_MEM | SZ_DW, 0, 0, 8, 0)
                .exit();
        assertFaults(a, maps, "map value");
        // a scalar passed as the map
        assertFaults(
                new Asm()
                        .mov64(1, 0)
                        .insn(CLS_JMP | CALL, 0, 0, 0, MAP_LOOKUP_ELEM)
                        .exit(),
                maps,
                "not a map");
    }

    @Test
    void redirectMapUsesTheXskmapOrTheFallbackAction() {
        XskMap xsk = (XskMap) EbpfMap.create(new MapSpec("xsks", MapSpec.XSKMAP, 4, 4, 4, 0), 1);
        List<EbpfMap> maps = List.of(xsk);
        // return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS)
        Asm a = new Asm()
                .insn(CLS_LDX | MODE_MEM | SZ_W, 2, 1, 16, 0)
                .insn(LD_IMM64, 1, 1, 0, 0)
                .insn(0, 0, 0, 0, 0)
                .mov64(3, XdpContext.XDP_PASS)
                .insn(CLS_JMP | CALL, 0, 0, 0, REDIRECT_MAP)
                .exit();
        for (XdpProgram x : both(a.program(maps))) {
            XdpContext ctx = new XdpContext(maps, 0);
            EngineRun run = new EngineRun(x, ctx);
            ctx.setQueue(1, 2);
            assertEquals(XdpContext.XDP_PASS, run.run(new byte[60]).verdict());
            assertEquals(-1, ctx.redirectTarget());
            assertEquals(0, xsk.update(le32(2), le32(77), EbpfMap.BPF_ANY));
            ctx.setQueue(1, 2);
            assertEquals(XdpContext.XDP_REDIRECT, run.run(new byte[60]).verdict());
            assertEquals(77, ctx.redirectTarget());
            assertEquals(0, xsk.delete(le32(2)));
        }
    }

    @Test
    void adjustHeadMovesDataWithinItsLimits() {
        // r6 = ctx; r0 = bpf_xdp_adjust_head(ctx, r7); r2 = ctx->data; r3 = ctx->data_end; r0 = r3 - r2 if r0 == 0
        for (int delta : new int[] {-4, 4, -216, -217, 64 - 14, 64 - 13}) {
            Asm a = new Asm()
                    .insn(CLS_ALU64 | MOV | SRC_X, 6, 1, 0, 0)
                    .mov64(2, delta)
                    .insn(CLS_JMP | CALL, 0, 0, 0, XDP_ADJUST_HEAD)
                    .insn(CLS_JMP | JNE, 0, 0, 4, 0)
                    .insn(CLS_LDX | MODE_MEM | SZ_W, 2, 6, 0, 0)
                    .insn(CLS_LDX | MODE_MEM | SZ_W, 3, 6, 4, 0)
                    .insn(CLS_ALU64 | SUB | SRC_X, 3, 2, 0, 0)
                    .insn(CLS_ALU64 | MOV | SRC_X, 0, 3, 0, 0)
                    .exit();
            boolean ok = delta >= -(EngineRun.HEADROOM - XdpContext.XDP_FRAME_SIZE) && delta <= 64 - 14;
            for (XdpProgram x : both(a.program(List.of()))) {
                XdpContext ctx = new XdpContext(List.of(), 0);
                int v = new EngineRun(x, ctx).run(new byte[64]).verdict();
                assertEquals(ok ? 64 - delta : -EbpfMap.EINVAL, v, "delta " + delta);
            }
        }
    }

    @Test
    void runsAllocateNothingPerPacket() throws Exception {
        EbpfObject obj = EbpfObject.open(KernelDifferentialTest.object("classes", "prefilter"), 1);
        obj.map("pf_src_v4")
                .update(KernelDifferentialTest.lpm(24, KernelDifferentialTest.ip("198.18.1.0")), le32(1), 0);
        byte[][] packets = KernelDifferentialTest.corpus(5).stream()
                .filter(p -> p.length >= 14)
                .limit(64)
                .toArray(byte[][]::new);
        for (XdpProgram x : List.of(
                new Interpreter(obj.program("pf_prefilter")), Translator.translate(obj.program("pf_prefilter")))) {
            XdpContext ctx = obj.newContext(0);
            java.lang.foreign.MemorySegment buf =
                    java.lang.foreign.Arena.ofAuto().allocate(4096);
            StringBuilder rounds = new StringBuilder();
            long best = AllocationWatch.fewestBytesPerRound(
                    30,
                    () -> {
                        for (int rep = 0; rep < 200; rep++) {
                            for (byte[] p : packets) {
                                java.lang.foreign.MemorySegment.copy(
                                        p, 0, buf, java.lang.foreign.ValueLayout.JAVA_BYTE, 256, p.length);
                                ctx.setPacket(buf, 0, 256, 256 + p.length);
                                x.run(ctx);
                            }
                        }
                        return 200L * packets.length;
                    },
                    rounds);
            assertEquals(
                    0,
                    best,
                    x.getClass().getSimpleName() + " allocated in every round of 200 x " + packets.length + " runs: "
                            + rounds);
        }
    }
}
