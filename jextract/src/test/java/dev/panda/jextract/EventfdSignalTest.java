package dev.panda.jextract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

class EventfdSignalTest {

    @Test
    void signalAddsOneAndNeverAllocatesOnceWarm() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (Fd fd = Posix.eventfd(0, Posix.EFD_NONBLOCK | Posix.EFD_CLOEXEC)) {
            for (int i = 0; i < 3; i++) {
                assertTrue(Posix.eventfdSignal(fd));
            }
            assertEquals(3, Posix.eventfdRead(fd));
            for (int i = 0; i < 200_000; i++) {
                Posix.eventfdSignal(fd);
            }
            Posix.eventfdRead(fd);
            long best = Long.MAX_VALUE;
            for (int round = 0; round < 5 && best != 0; round++) {
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 100_000; i++) {
                    Posix.eventfdSignal(fd);
                }
                best = Math.min(best, threads.getCurrentThreadAllocatedBytes() - before);
            }
            assertEquals(0, best, "bytes allocated by 100k eventfd signals in the best round");
            assertTrue(Posix.eventfdRead(fd) >= 100_000, "every signal counted");
        }
    }

    @Test
    void aClosedFdIsReportedNotUsed() {
        Fd fd = Posix.eventfd(0, Posix.EFD_CLOEXEC);
        fd.close();
        assertFalse(Posix.eventfdSignal(fd));
    }
}
