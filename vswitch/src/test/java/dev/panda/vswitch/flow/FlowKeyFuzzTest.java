package dev.panda.vswitch.flow;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Any bytes as a frame from a guest, parsed into a flow key ({@link FlowKey#parse}): the frame
 * sits at the very end of a segment exactly its length, so a read past the frame's length
 * throws; the same frame followed by other bytes in a larger segment gives the same key (nothing
 * past the length is looked at); the port and tunnel id are kept, and the Ethernet type is the
 * frame's (after one 802.1Q or 802.1ad tag), or 0 for a runt.
 *
 * <p>Without {@code JAZZER_FUZZ=1} only the seeds in {@code FlowKeyFuzzTestInputs/} run.
 */
class FlowKeyFuzzTest {

    @FuzzTest(maxDuration = "20s")
    void aFrameIsReadOnlyWithinItsLength(FuzzedDataProvider d) {
        int inPort = d.consumeInt(1, 255);
        long tunId = d.consumeLong() & 0xff_ffffL;
        byte tail = d.consumeByte();
        byte[] frame = d.consumeRemainingAsBytes();
        FlowKey exact = new FlowKey();
        FlowKey padded = new FlowKey();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment tight = a.allocate(Math.max(1, frame.length));
            MemorySegment.copy(frame, 0, tight, ValueLayout.JAVA_BYTE, 0, frame.length);
            exact.parse(tight, 0, frame.length, inPort, tunId);

            MemorySegment wide = a.allocate(frame.length + 128 + 7);
            wide.fill(tail);
            MemorySegment.copy(frame, 0, wide, ValueLayout.JAVA_BYTE, 7, frame.length);
            padded.parse(wide, 7, frame.length, inPort, tunId);
        }
        assertArrayEquals(exact.w, padded.w, "bytes past the frame changed its key");
        assertEquals(inPort, exact.get(Field.IN_PORT));
        assertEquals(tunId, exact.get(Field.TUNNEL_ID));
        int type = 0;
        if (frame.length >= 14) {
            type = u16(frame, 12);
            if ((type == 0x8100 || type == 0x88a8) && frame.length >= 18) {
                type = u16(frame, 16);
            }
        }
        assertEquals(type, exact.get(Field.ETH_TYPE));
    }

    private static int u16(byte[] b, int at) {
        return (b[at] & 0xff) << 8 | (b[at + 1] & 0xff);
    }
}
