package dev.panda.jextract;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class MembarrierTest {

    /**
     * The vhost pollers skip their per-burst fence only where this holds; on this project's machines
     * (Linux 4.14+, x86_64) it must, or the pollers silently fall back to the slower path.
     */
    @Test
    void availableHere() {
        assertTrue(Membarrier.available(), () -> "membarrier unavailable: " + Membarrier.unavailableReason());
    }

    @Test
    void fencesWhileAnotherThreadSpins() throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        Thread spinner = Thread.ofPlatform().start(() -> {
            long x = 0;
            while (!stop.getPlain()) {
                x++;
                Thread.onSpinWait();
            }
        });
        try {
            for (int i = 0; i < 1000; i++) {
                assertDoesNotThrow(Membarrier::fenceAllThreads);
            }
        } finally {
            stop.set(true);
            spinner.join();
        }
    }
}
