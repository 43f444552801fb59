package dev.panda.vswitch.journal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panda.vswitch.config.VswitchConfig;

/**
 * Any bytes given to the entry decoder are an entry (which encodes back to exactly those bytes) or a
 * {@link JournalFormatException} with a reason and a one-line message; nothing else escapes. A
 * decoded change of a known kind replays on an empty state or is refused with
 * {@link IllegalArgumentException}, again nothing else.
 *
 * <p>Without {@code JAZZER_FUZZ=1} only the seeds in {@code JournalEntryFuzzTestInputs/} run.
 */
class JournalEntryFuzzTest {

    private static final ChangeKinds KINDS = ChangeKinds.standard();

    @FuzzTest(maxDuration = "20s")
    void anyBytesAreAnEntryOrATypedError(byte[] input) throws JournalFormatException {
        JournalEntry e;
        try {
            e = JournalEntry.decode(input);
        } catch (JournalFormatException x) {
            assertNotNull(x.reason());
            assertFalse(x.getMessage().isBlank());
            assertFalse(x.getMessage().contains("\n"), x.getMessage());
            return;
        }
        assertArrayEquals(input, e.encode());
        assertEquals(e, JournalEntry.decode(e.encode()));
        if (e.type() == JournalEntry.Type.CHANGE && KINDS.names().contains(e.kind())) {
            try {
                KINDS.replay(VswitchConfig.empty(), e.kind(), e.payload());
            } catch (IllegalArgumentException x) {
                assertNotNull(x.getMessage());
            }
        }
    }
}
