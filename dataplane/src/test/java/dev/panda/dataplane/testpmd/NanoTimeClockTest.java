package dev.panda.dataplane.testpmd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What {@code --latency} relies on when sender and receiver are two processes: on Linux
 * {@code System.nanoTime()} is {@code clock_gettime(CLOCK_MONOTONIC)}, a clock every process of
 * the host shares (no per-process origin). Checked twice: against the libc call in this JVM, and
 * against another JVM's {@code System.nanoTime()} read between two reads of ours.
 */
class NanoTimeClockTest {

    private static final int CLOCK_MONOTONIC = 1;

    @Test
    void nanoTimeIsClockMonotonic() throws Throwable {
        MethodHandle clockGettime = Linker.nativeLinker()
                .downcallHandle(
                        Linker.nativeLinker()
                                .defaultLookup()
                                .find("clock_gettime")
                                .orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ts = arena.allocate(16, 8); // struct timespec { time_t tv_sec; long tv_nsec; }
            for (int i = 0; i < 1000; i++) {
                long before = System.nanoTime();
                assertEquals(0, (int) clockGettime.invokeExact(CLOCK_MONOTONIC, ts));
                long after = System.nanoTime();
                long mono = ts.get(ValueLayout.JAVA_LONG, 0) * 1_000_000_000L + ts.get(ValueLayout.JAVA_LONG, 8);
                assertTrue(
                        before <= mono && mono <= after,
                        "CLOCK_MONOTONIC " + mono + " outside System.nanoTime() " + before + ".." + after);
            }
        }
    }

    @Test
    void anotherJvmReadsTheSameClock() throws Exception {
        Path src = Files.createTempFile("panda-nanotime", ".java");
        try {
            Files.writeString(
                    src,
                    "class NanoTime { public static void main(String[] a) { System.out.println(System.nanoTime()); } }");
            Path java = Path.of(System.getProperty("java.home"), "bin", "java");
            long before = System.nanoTime();
            Process p = new ProcessBuilder(java.toString(), src.toString())
                    .redirectErrorStream(true)
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child JVM did not end");
            long after = System.nanoTime();
            long child = Long.parseLong(out);
            System.out.printf(
                    "child JVM's System.nanoTime() %d is %.3f s after ours before it started and %.3f s before ours"
                            + " after it ended%n",
                    child, (child - before) / 1e9, (after - child) / 1e9);
            assertTrue(
                    before < child && child < after, "child's nanoTime " + child + " outside " + before + ".." + after);
        } finally {
            Files.deleteIfExists(src);
        }
    }
}
