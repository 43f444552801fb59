package dev.panda.dataplane.testpmd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panda.dataplane.port.PacketBurst;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The burst line's arithmetic, as dpdk-testpmd 22.11's pkt_burst_stats_display does it: empty
 * calls first, then the two most frequent counts, the rest as "other", shares truncated and the
 * last one what the others leave of 100.
 */
class StatsFormatBurstTest {

    private static String line(long... countAndCalls) {
        long[] spread = new long[PacketBurst.MAX_BURST + 1];
        for (int i = 0; i < countAndCalls.length; i += 2) {
            spread[(int) countAndCalls[i]] = countAndCalls[i + 1];
        }
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        StatsFormat.burstStats(new PrintStream(b, true, StandardCharsets.UTF_8), "RX", spread);
        return b.toString(StandardCharsets.UTF_8);
    }

    @Test
    void fullBurstsOnly() {
        assertEquals("  RX-bursts : 7 [0% of 0 pkts + 100% of 32 pkts]\n", line(32, 7));
    }

    @Test
    void lastShareIsWhatIsLeftOf100() {
        // 1/3 truncates to 33; the rest is shown as 67, not 66
        assertEquals("  RX-bursts : 3 [33% of 0 pkts + 67% of 32 pkts]\n", line(0, 1, 32, 2));
    }

    @Test
    void beyondTheTwoMostFrequentCountsIsOther() {
        assertEquals(
                "  RX-bursts : 100 [10% of 0 pkts + 60% of 32 pkts + 20% of 5 pkts + 10% of other]\n",
                line(0, 10, 32, 60, 5, 20, 7, 6, 9, 4));
    }

    @Test
    void twoCountsWithoutEmptyCalls() {
        assertEquals("  RX-bursts : 4 [0% of 0 pkts + 75% of 512 pkts + 25% of 1 pkts]\n", line(512, 3, 1, 1));
    }

    @Test
    void onlyEmptyCalls() {
        assertEquals("  RX-bursts : 5 [100% of 0 pkts]\n", line(0, 5));
    }

    @Test
    void nothingRecordedPrintsNothing() {
        assertEquals("", line());
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        StatsFormat.burstStats(new PrintStream(b, true, StandardCharsets.UTF_8), "TX", null);
        assertEquals("", b.toString(StandardCharsets.UTF_8));
    }
}
