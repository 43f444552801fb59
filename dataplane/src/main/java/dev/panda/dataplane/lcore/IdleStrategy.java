package dev.panda.dataplane.lcore;

import java.util.Locale;
import java.util.concurrent.locks.LockSupport;

/**
 * What a poll loop does after a pass: {@code idle(work)} is told how much the pass moved, so a
 * strategy resets on work and backs off on emptiness. One instance per thread (may hold state).
 */
public interface IdleStrategy {

    void idle(int workCount);

    /** Spins with {@link Thread#onSpinWait()}: lowest latency, burns its core (testpmd's default). */
    final class BusySpin implements IdleStrategy {
        @Override
        public void idle(int workCount) {
            if (workCount == 0) {
                Thread.onSpinWait();
            }
        }
    }

    /** Yields the core when idle: polite on a shared machine, still sub-microsecond when busy. */
    final class Yield implements IdleStrategy {
        @Override
        public void idle(int workCount) {
            if (workCount == 0) {
                Thread.yield();
            }
        }
    }

    /** Spins briefly, then yields, then parks with a growing timeout up to {@code maxParkNanos}. */
    final class Park implements IdleStrategy {
        private static final int SPINS = 64;
        private static final int YIELDS = 64;
        private final long maxParkNanos;
        private int idleCount;
        private long parkNanos = 1_000;

        public Park(long maxParkNanos) {
            this.maxParkNanos = maxParkNanos;
        }

        @Override
        public void idle(int workCount) {
            if (workCount > 0) {
                idleCount = 0;
                parkNanos = 1_000;
                return;
            }
            int c = idleCount++;
            if (c < SPINS) {
                Thread.onSpinWait();
            } else if (c < SPINS + YIELDS) {
                Thread.yield();
            } else {
                LockSupport.parkNanos(parkNanos);
                parkNanos = Math.min(parkNanos * 2, maxParkNanos);
            }
        }
    }

    /** The names users give on the command line. */
    enum Kind {
        SPIN,
        YIELD,
        PARK;

        public IdleStrategy create() {
            return switch (this) {
                case SPIN -> new BusySpin();
                case YIELD -> new Yield();
                case PARK -> new Park(1_000_000);
            };
        }

        public static Kind parse(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("invalid idle strategy '" + s + "': accepted spin, yield, park");
            }
        }
    }
}
