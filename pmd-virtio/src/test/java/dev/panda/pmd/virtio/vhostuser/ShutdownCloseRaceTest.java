package dev.panda.pmd.virtio.vhostuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * One thread owns a socket and closes it; another only wakes it with {@link UnixSocket#shutdown()}
 * (how net_vhost's and net_virtio_user's close() stop their control threads). The waker must
 * never shut down a descriptor number the owner's close(2) released and a new socket reused;
 * and waking and sleeping through {@link Wakeup} and pacing with {@link Backoff} behave.
 */
class ShutdownCloseRaceTest {

    private static final int ROUNDS = 3000;

    @Test
    void aWakerNeverShutsDownTheSocketThatReusedTheNumber() throws Exception {
        AtomicReference<UnixSocket> target = new AtomicReference<>();
        AtomicBoolean stop = new AtomicBoolean();
        Thread waker = Thread.ofPlatform().name("waker").start(() -> {
            while (!stop.get()) {
                UnixSocket s = target.get();
                if (s != null) {
                    s.shutdown(); // races the owner's close below, again and again
                }
            }
        });
        int reused = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment one = arena.allocate(1);
            for (int i = 0; i < ROUNDS; i++) {
                UnixSocket[] old = UnixSocket.pair();
                target.set(old[0]);
                Thread.onSpinWait();
                int number = old[0].fd().value();
                old[0].close(); // the owner closes ...
                UnixSocket[] fresh = UnixSocket.pair(); // ... and the number is handed out again at once
                if (fresh[0].fd().value() == number || fresh[1].fd().value() == number) {
                    reused++;
                }
                try {
                    // a stray shutdown of the reused number would make this end of stream or EPIPE
                    fresh[0].send(one, List.of());
                    assertEquals(1, fresh[1].recv(one, 0).bytes(), "round " + i + ": the new socket was shut down");
                    fresh[1].send(one, List.of());
                    assertEquals(1, fresh[0].recv(one, 0).bytes(), "round " + i + ": the new socket was shut down");
                } finally {
                    target.set(null);
                    old[1].close();
                    fresh[0].close();
                    fresh[1].close();
                }
            }
        } finally {
            stop.set(true);
            waker.join();
        }
        assertTrue(
                reused > ROUNDS / 2,
                "the kernel reused the closed number in " + reused + " of " + ROUNDS
                        + " rounds: the race was not exercised");
    }

    @Test
    void wakeupEndsAWaitFromAnotherThreadAndStaysWoken() throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        try (Wakeup w = new Wakeup()) {
            assertEquals(Wakeup.TIMEOUT, w.await(pair[0], 50));
            assertTrue(w.sleep(20), "an unwoken sleep runs to its end");
            try (Arena arena = Arena.ofConfined()) {
                pair[1].send(arena.allocate(1), List.of());
            }
            assertEquals(Wakeup.READABLE, w.await(pair[0], 5_000));
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(100);
                } catch (InterruptedException ignored) {
                    // wakes early either way
                }
                w.wake();
            });
            assertFalse(w.sleep(60_000), "woken, not slept out");
            t.join();
            assertEquals(Wakeup.WOKEN, w.await(pair[0], -1), "stays woken");
        } finally {
            pair[0].close();
            pair[1].close();
        }
    }

    @Test
    void backoffDoublesToItsCapAndStartsOverOnlyOnceStable() {
        Backoff b = new Backoff("test");
        assertEquals(100, b.failed("nobody there"));
        assertEquals(200, b.failed("nobody there"));
        assertEquals(400, b.failed("nobody there"));
        assertEquals(800, b.failed("nobody there"));
        assertEquals(1600, b.failed("nobody there"));
        assertEquals(Backoff.CAP_MILLIS, b.failed("nobody there"));
        assertEquals(6, b.attempts());
        b.succeeded();
        assertEquals(0, b.attempts());
        assertEquals(Backoff.CAP_MILLIS, b.pace(), "a connection that ended at once keeps the pace");
        b.stable();
        assertEquals(Backoff.FIRST_MILLIS, b.failed("gone again"));
    }
}
