package dev.panda.perf.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** /proc parsing, and a busy process that is not this JVM's child counted as another's use. */
class CpuWatchTest {

    @Test
    void parsesTheMachineLine() {
        long[] m = CpuWatch.machine("cpu  100 5 20 1000 7 3 2 11 0 0\ncpu0 50 2 10 500 3 1 1 5 0 0\n");
        assertArrayEquals(new long[] {100 + 5 + 20 + 1000 + 7 + 3 + 2 + 11, 125}, m);
        assertArrayEquals(new long[] {-1, -1}, CpuWatch.machine(""));
    }

    @Test
    void parsesAProcessLineWhoseNameHoldsSpacesAndParentheses() {
        String stat = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 17 4 6 2 20 0 1 0 12345 0 0";
        assertEquals(17 + 4 + 6 + 2, CpuWatch.processJiffies(stat));
        assertEquals(0, CpuWatch.processJiffies(""));
        assertEquals(0, CpuWatch.processJiffies("1 (x) S 1 2"));
    }

    @Test
    void aBusyProcessOutsideThisJvmsTreeIsCounted() throws Exception {
        CpuWatch w = CpuWatch.start();
        // the inner shell is orphaned at once (reparented away from this JVM) and spins for 2 s
        Process p = new ProcessBuilder("sh", "-c", "timeout 2 sh -c 'while :; do :; done' >/dev/null 2>&1 &").start();
        assertTrue(p.waitFor(5, TimeUnit.SECONDS));
        Thread.sleep(2200);
        double others = w.otherPercent();
        // one spinning CPU of N is 100/N percent; the test allows for it getting half a CPU on a busy machine
        int cpus = Runtime.getRuntime().availableProcessors();
        assertTrue(others >= 50.0 / cpus * 0.8, "others used " + others + "% (one spinner on " + cpus + " CPUs)");
        assertTrue(others <= 100.0, "others " + others);
    }
}
