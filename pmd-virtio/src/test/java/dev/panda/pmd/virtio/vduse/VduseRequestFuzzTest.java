package dev.panda.pmd.virtio.vduse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Fuzzes the decoding of VDUSE's request channel: input byte 0 picks the length a read returned
 * (0..160, so short, exact and long reads all come), the rest is the message. Decoding never throws;
 * a GET_VQ_STATE names a vring the device has, an UPDATE_IOTLB an ordered range, anything else is
 * Invalid (with the request id whenever 8 bytes came); the answer written for it carries that id and
 * never more than {@link VduseRequest#BYTES} bytes.
 *
 * <p>Without {@code JAZZER_FUZZ=1} only the seeds in {@code VduseRequestFuzzTestInputs/} run.
 */
class VduseRequestFuzzTest {

    @FuzzTest(maxDuration = "10s")
    void decode(byte[] input) {
        if (input.length < 1) {
            return;
        }
        int length = (input[0] & 0xff) % 161;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(VduseRequest.BYTES + 16, 8);
            MemorySegment.copy(input, 1, m, ValueLayout.JAVA_BYTE, 0, Math.min(input.length - 1, (int) m.byteSize()));
            VduseRequest r = VduseRequest.decode(m, length, VduseDevice.VQS);
            switch (r) {
                case VduseRequest.GetVqState g -> {
                    assertEquals(VduseRequest.BYTES, length);
                    assertTrue(g.index() >= 0 && g.index() < VduseDevice.VQS, r.toString());
                }
                case VduseRequest.UpdateIotlb u -> {
                    assertEquals(VduseRequest.BYTES, length);
                    assertTrue(Long.compareUnsigned(u.start(), u.last()) <= 0, r.toString());
                }
                case VduseRequest.SetStatus s -> {
                    assertEquals(VduseRequest.BYTES, length);
                    assertTrue(s.status() >= 0 && s.status() <= 255, r.toString());
                }
                case VduseRequest.Invalid bad ->
                    assertTrue(length < 8 ? bad.id() == -1 : bad.id() == m.get(ValueLayout.JAVA_INT, 4), r.toString());
            }
            MemorySegment out = a.allocate(VduseRequest.BYTES + 8, 8);
            out.fill((byte) 0x5a);
            VduseRequest.respond(out, r.id(), VduseRequest.RESULT_FAILED, 1, 7);
            assertEquals(r.id(), out.get(ValueLayout.JAVA_INT, 0));
            assertEquals(
                    0x5a5a5a5a5a5a5a5aL, out.get(ValueLayout.JAVA_LONG, VduseRequest.BYTES), "wrote past the response");
        }
    }
}
