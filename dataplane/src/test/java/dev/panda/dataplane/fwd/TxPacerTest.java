package dev.panda.dataplane.fwd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The pacer on a clock the test moves: packets due, catching up, giving up a backlog. */
class TxPacerTest {

    @Test
    void onePacketIsDueEachIntervalAndNothingBefore() {
        TxPacer p = new TxPacer(1_000_000); // one packet per µs
        long t = 5_000_000_000L;
        assertEquals(1, p.due(t, 32), "the first packet is due at once");
        p.sent(1);
        assertEquals(0, p.due(t + 999, 32));
        assertEquals(1, p.due(t + 1_000, 32));
        p.sent(1);
        // 10.5 µs later: packets 2..12 are due
        assertEquals(9, p.due(t + 10_500, 32));
        assertEquals(4, p.due(t + 10_500, 4), "never more than a burst");
        p.sent(4);
        assertEquals(5, p.due(t + 10_500, 32), "what is still due comes in the next pass");
        assertEquals(0, p.skipped());
    }

    @Test
    void aBacklogBeyondOneMillisecondIsGivenUpAndCounted() {
        TxPacer p = new TxPacer(1_000_000);
        long t = 1_000_000L;
        p.due(t, 32);
        p.sent(1);
        // 5 ms stall: packets 1..5000 are due, more than the 1000 a millisecond holds
        long late = t + 5_000_000;
        assertEquals(32, p.due(late, 32), "a full burst");
        assertEquals(4000, p.skipped(), "all but the last millisecond is given up");
        assertEquals(1000, p.due(late, 5000), "the last millisecond is still due");
        p.sent(1000);
        assertEquals(0, p.due(late + 999, 32), "on schedule again");
        assertEquals(1, p.due(late + 1_000, 32));
        assertEquals(4000, p.skipped());
    }

    @Test
    void withinOneMillisecondItCatchesUpAtFullBursts() {
        TxPacer p = new TxPacer(10_000_000); // 100 ns per packet
        long t = 0;
        p.due(t, 32);
        p.sent(1);
        long now = t + 500_000; // 5000 packets behind = 0.5 ms
        int bursts = 0;
        int d;
        while ((d = p.due(now, 32)) > 0) {
            assertEquals(bursts < 156 ? 32 : d, d);
            p.sent(d);
            bursts++;
        }
        assertEquals(157, bursts, "5000 packets in full bursts of 32");
        assertEquals(0, p.skipped());
    }

    @Test
    void refusesANonPositiveRate() {
        assertThrows(IllegalArgumentException.class, () -> new TxPacer(0));
        assertThrows(IllegalArgumentException.class, () -> new TxPacer(Double.NaN));
    }
}
