package dev.panda.vswitch.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Any bytes as a classic BPF program (first byte: instruction count; then 8 bytes per instruction,
 * code jt jf k little-endian as struct bpf_insn) followed by a frame: the validator either refuses
 * the program with one line naming an instruction, or the interpreter runs it over the frame (at a
 * random offset inside a larger segment, so a load outside the frame would read neighbouring
 * bytes) without throwing, deterministically, and its verdict does not depend on the bytes around
 * the frame.
 *
 * <p>Without {@code JAZZER_FUZZ=1} only the seeds in {@code CbpfProgramFuzzTestInputs/} run.
 */
class CbpfProgramFuzzTest {

    @FuzzTest(maxDuration = "20s")
    void validatedProgramsRunSafely(byte[] input) {
        if (input.length == 0) {
            return;
        }
        int n = input[0] & 0xff;
        int progBytes = Math.min(n * 8, (input.length - 1) / 8 * 8);
        long[] insns = new long[progBytes / 8];
        ByteBuffer b = ByteBuffer.wrap(input, 1, input.length - 1).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < insns.length; i++) {
            long code = Short.toUnsignedLong(b.getShort());
            long jt = Byte.toUnsignedLong(b.get());
            long jf = Byte.toUnsignedLong(b.get());
            long k = Integer.toUnsignedLong(b.getInt());
            insns[i] = code << 48 | jt << 40 | jf << 32 | k;
        }
        CbpfProgram p;
        try {
            p = CbpfProgram.validate(insns);
        } catch (CbpfProgram.InvalidProgramException e) {
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            assertTrue(
                    insns.length == 0
                            || insns.length > CbpfProgram.MAX_INSNS
                            || e.getMessage().startsWith("instruction "),
                    e.getMessage());
            return;
        }
        int frameLen = input.length - 1 - progBytes;
        byte[] zeros = new byte[frameLen + 64];
        byte[] ones = new byte[frameLen + 64];
        java.util.Arrays.fill(ones, (byte) 0xff);
        System.arraycopy(input, 1 + progBytes, zeros, 32, frameLen);
        System.arraycopy(input, 1 + progBytes, ones, 32, frameLen);
        int v1 = p.run(MemorySegment.ofArray(zeros), 32, frameLen);
        int v2 = p.copy().run(MemorySegment.ofArray(ones), 32, frameLen);
        assertEquals(v1, v2, "the verdict depends on bytes outside the frame\n" + p);
    }
}
