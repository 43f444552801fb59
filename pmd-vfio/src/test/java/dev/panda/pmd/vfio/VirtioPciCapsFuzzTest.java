package dev.panda.pmd.vfio;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzzes the capability parser and the transport's window checks with arbitrary config spaces: a
 * device's config space is untrusted. Either the parse fails with {@link VirtioPciCaps.Malformed}
 * or it yields windows that obey §4.1.4 (BAR 0-5, minimum lengths, even multiplier); then the
 * transport over six 16 KiB BARs either refuses a window outside its BAR with a
 * {@link VfioException} or sets a queue up whose notify register lies inside the notify window.
 *
 * <p>Input: the first 256 bytes are the config space (missing bytes are zero); the next two bytes
 * are the queue_notify_off the "device" reports. Seeds: {@code VirtioPciCapsFuzzTestInputs/parse/};
 * {@code JAZZER_FUZZ=1} fuzzes.
 */
class VirtioPciCapsFuzzTest {

    private static final long BAR = 16384;
    private static Arena arena;
    private static MemorySegment[] bars;

    @BeforeAll
    static void map() {
        arena = Arena.ofShared();
        bars = new MemorySegment[6];
        for (int i = 0; i < 6; i++) {
            bars[i] = arena.allocate(BAR, 4096);
        }
    }

    @AfterAll
    static void unmap() {
        arena.close();
    }

    @FuzzTest(maxDuration = "10s")
    void parse(byte[] input) {
        byte[] cfg = Arrays.copyOf(input, 256);
        int notifyOff = input.length > 257 ? (input[256] & 0xff) | (input[257] & 0xff) << 8 : 0;
        VirtioPciCaps caps;
        try {
            caps = VirtioPciCaps.parse(cfg);
        } catch (VirtioPciCaps.Malformed e) {
            assertTrue(e.getMessage() != null && e.getMessage().lines().count() == 1, e.getMessage());
            return;
        }
        for (VirtioPciCaps.Window w : new VirtioPciCaps.Window[] {caps.commonCfg(), caps.notifyCfg(), caps.isrCfg()}) {
            assertTrue(w.bar() >= 0 && w.bar() <= 5 && w.offset() >= 0 && w.length() >= 0, w.toString());
        }
        assertTrue(caps.commonCfg().length() >= VirtioPciCaps.COMMON_MIN);
        assertTrue(caps.notifyMultiplier() >= 0 && caps.notifyMultiplier() % 2 == 0);
        assertTrue(caps.msixTableSize() >= 0 && caps.msixTableSize() <= 2048);
        VirtioPciTransport t;
        try {
            t = new VirtioPciTransport(caps, bars);
        } catch (VfioException e) {
            assertTrue(e.getMessage().contains("lies outside the BAR"), e.getMessage());
            return;
        }
        for (MemorySegment b : bars) {
            b.fill((byte) 0);
        }
        MemorySegment common =
                bars[caps.commonCfg().bar()].asSlice(caps.commonCfg().offset());
        common.set(VirtioPciTransport.U16, VirtioPciTransport.Q_NOFF, (short) notifyOff);
        long off;
        try {
            off = t.setUpQueue(0, 256, 0x1000, 0x2000, 0x3000, VirtioPciTransport.NO_VECTOR);
        } catch (VfioException e) {
            assertTrue(e.getMessage().contains("outside the notify window"), e.getMessage());
            return;
        }
        assertTrue(off >= 0 && off + 2 <= caps.notifyCfg().length());
        t.notifier(off);
    }
}
