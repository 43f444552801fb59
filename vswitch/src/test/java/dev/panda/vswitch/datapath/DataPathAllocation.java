package dev.panda.vswitch.datapath;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panda.vswitch.config.PmdConfig;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

/**
 * What the steady-state allocation tests (plain switching, flow mode, capture) read: the
 * data-path threads of a vswitch and what each thread has allocated so far.
 */
final class DataPathAllocation {

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private DataPathAllocation() {}

    static List<Thread> dataPathThreads(PmdConfig.Mode mode) {
        List<Thread> l = new ArrayList<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("lcore-")) {
                l.add(0, t);
            } else if (mode == PmdConfig.Mode.PIPELINE && t.getName().startsWith("pmd-")) {
                l.add(t);
            }
        }
        assertEquals(mode == PmdConfig.Mode.RTC ? 1 : 3, l.size(), "data-path threads: " + l);
        return l;
    }

    static java.util.Map<Thread, Long> allThreads() {
        java.util.Map<Thread, Long> m = new java.util.HashMap<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            m.put(t, THREADS.getThreadAllocatedBytes(t.threadId()));
        }
        return m;
    }

    static long[] allocated(List<Thread> ts) {
        long[] r = new long[ts.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = THREADS.getThreadAllocatedBytes(ts.get(i).threadId());
        }
        return r;
    }
}
