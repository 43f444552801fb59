package dev.panda.dataplane.lcore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.jextract.Posix;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class LcoreListTest {

    @Test
    void parsesCoreListsMasksAndMaps() {
        LcoreList l = LcoreList.parseCoreList("0-2,5");
        assertArrayEquals(new int[] {0, 1, 2, 5}, l.ids());
        assertArrayEquals(new int[] {5}, l.cpus(5));
        assertEquals(0, l.mainLcore());
        assertArrayEquals(new int[] {0, 1}, LcoreList.parseCoreMask("0x3").ids());
        LcoreList m = LcoreList.parseLcores("0@0,(1-2)@1,3@(0-1)");
        assertArrayEquals(new int[] {0, 1, 2, 3}, m.ids());
        assertArrayEquals(new int[] {1}, m.cpus(2));
        assertArrayEquals(new int[] {0, 1}, m.cpus(3));
        assertArrayEquals(new int[] {4}, LcoreList.parseLcores("4").cpus(4));
    }

    @Test
    void rejectsNonsenseWithAClearMessage() {
        assertThrows(IllegalArgumentException.class, () -> LcoreList.parseCoreList("2-1"));
        assertThrows(IllegalArgumentException.class, () -> LcoreList.parseCoreList(""));
        assertThrows(IllegalArgumentException.class, () -> LcoreList.parseCoreList("a"));
        assertThrows(IllegalArgumentException.class, () -> LcoreList.parseCoreMask("0x0"));
        assertThrows(IllegalArgumentException.class, () -> LcoreList.parseCoreMask("zz"));
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> LcoreList.parseLcores("0@0,0@1"));
        assertTrue(e.getMessage().contains("lcore 0 given twice"), e.getMessage());
    }

    @Test
    void lcoreThreadIsPinnedAndStops() throws Exception {
        int cpu = Posix.onlineCpus() - 1;
        AtomicInteger passes = new AtomicInteger();
        int[] seenCpu = {-1};
        Lcore l = new Lcore(
                        1,
                        new int[] {cpu},
                        new IdleStrategy.Park(100_000),
                        () -> {
                            seenCpu[0] = Posix.currentCpu();
                            passes.incrementAndGet();
                            return 0;
                        },
                        null)
                .start();
        while (passes.get() < 10) {
            Thread.sleep(1);
        }
        l.join();
        assertNull(l.pinError());
        assertNull(l.failure());
        assertEquals(cpu, seenCpu[0], "the loop ran on the CPU it was pinned to");
        assertTrue(!l.thread().isAlive());
    }

    @Test
    void aFailingPassEndsTheLoopAndIsReported() throws InterruptedException {
        Lcore l = new Lcore(
                        2,
                        new int[0],
                        new IdleStrategy.BusySpin(),
                        () -> {
                            throw new IllegalStateException("boom");
                        },
                        null)
                .start();
        l.thread().join(10_000); // the failure ends the loop by itself
        assertTrue(!l.thread().isAlive());
        assertTrue(l.failure() instanceof IllegalStateException);
    }

    @Test
    void idleStrategiesParse() {
        assertTrue(IdleStrategy.Kind.parse("park").create() instanceof IdleStrategy.Park);
        assertTrue(IdleStrategy.Kind.parse("YIELD").create() instanceof IdleStrategy.Yield);
        assertThrows(IllegalArgumentException.class, () -> IdleStrategy.Kind.parse("nap"));
    }
}
