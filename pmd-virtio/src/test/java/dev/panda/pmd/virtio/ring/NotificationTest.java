package dev.panda.pmd.virtio.ring;

import static dev.panda.pmd.virtio.ring.RingPair.EVENT_IDX;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Scripted notification decisions on both sides, each compared with the words of the spec rather
 * than with {@code needEvent}: with VIRTIO_F_EVENT_IDX a side notifies iff the batch it just
 * published wrote the entry at the other side's event index (§2.7.7.2, §2.7.10.1); without it,
 * iff the other side's flag is clear. The scripts run past 65536 entries so the indices wrap.
 */
class NotificationTest {

    private static final int SIZE = 16;
    private static final int STEPS = 20_000;

    private final int[] tokens = new int[SIZE];
    private final int[] lens = new int[SIZE];

    @Test
    void eventIdxKicks() {
        SplittableRandom rnd = new SplittableRandom(1);
        try (RingPair p = new RingPair(SIZE, EVENT_IDX, 0, SIZE, 16)) {
            RawDriver view = new RawDriver(p.region, RingPair.BASE, 0, SIZE);
            long availEvent = view.usedOff + SplitRing.availEventOffset(SIZE);
            Chain c = p.device.newChain();
            int kicks = 0;
            long entries = 0;
            for (int step = 0; step < STEPS; step++) {
                int availIdx = p.device.lastAvailIdx();
                switch (rnd.nextInt(4)) {
                    case 0 -> assertEquals(false, p.device.enableKicks(), "all consumed");
                    case 1 -> SplitRing.U16_AT.set(p.region, availEvent, (short) (availIdx + rnd.nextInt(-3, 20)));
                    case 2 -> p.device.disableKicks();
                    default -> {} // leave avail_event where it is
                }
                int event = (short) SplitRing.U16_AT.get(p.region, availEvent) & 0xFFFF;
                int batch = rnd.nextInt(1, SIZE + 1);
                for (int b = 0; b < batch; b++) {
                    assertTrue(p.driver.addOut(p.addr(b), 16, b));
                }
                boolean kick = p.driver.publish();
                // §2.7.10.1: notify iff idx, where a descriptor index was placed, equalled avail_event.
                boolean wrote = false;
                for (int b = 0; b < batch; b++) {
                    wrote |= ((availIdx + b) & 0xFFFF) == event;
                }
                assertEquals(wrote, kick, "step " + step + ": avail " + availIdx + "+" + batch + ", event " + event);
                kicks += kick ? 1 : 0;
                entries += batch;
                drain(p, c, SIZE);
            }
            assertTrue(entries > 65536, "indices wrapped");
            assertTrue(kicks > 0 && kicks < STEPS, kicks + " kicks");
        }
    }

    @Test
    void eventIdxInterrupts() {
        SplittableRandom rnd = new SplittableRandom(2);
        try (RingPair p = new RingPair(SIZE, EVENT_IDX, 0, SIZE, 16)) {
            RawDriver view = new RawDriver(p.region, RingPair.BASE, 0, SIZE);
            long usedEvent = view.availOff + SplitRing.usedEventOffset(SIZE);
            Chain c = p.device.newChain();
            int interrupts = 0;
            long entries = 0;
            for (int step = 0; step < STEPS; step++) {
                for (int b = 0; b < SIZE; b++) {
                    p.driver.addIn(p.addr(b), 16, b);
                }
                p.driver.publish();
                int usedIdx = p.device.usedIdx();
                switch (rnd.nextInt(4)) {
                    case 0 -> assertEquals(false, p.driver.enableInterrupts(), "all harvested");
                    case 1 -> SplitRing.U16_AT.set(p.region, usedEvent, (short) (usedIdx + rnd.nextInt(-3, 20)));
                    case 2 -> p.driver.disableInterrupts();
                    default -> {}
                }
                int event = (short) SplitRing.U16_AT.get(p.region, usedEvent) & 0xFFFF;
                int batch = rnd.nextInt(1, SIZE + 1);
                for (int b = 0; b < batch; b++) {
                    assertTrue(p.device.pop(c));
                    p.device.pushUsed(c.head(), 16);
                }
                boolean interrupt = p.device.publishUsed();
                // §2.7.7.2: notify iff idx, where a descriptor index was placed, equalled used_event;
                // the first decision after set-up always notifies (a restart may have missed one).
                boolean wrote = step == 0;
                for (int b = 0; b < batch; b++) {
                    wrote |= ((usedIdx + b) & 0xFFFF) == event;
                }
                assertEquals(wrote, interrupt, "step " + step + ": used " + usedIdx + "+" + batch + ", event " + event);
                interrupts += interrupt ? 1 : 0;
                entries += batch;
                while (p.device.pop(c)) {
                    p.device.pushUsed(c.head(), 0);
                }
                p.device.publishUsed();
                while (p.driver.harvest(tokens, lens, SIZE) > 0) {
                    // all back
                }
            }
            assertTrue(entries > 65536, "indices wrapped");
            assertTrue(interrupts > 0 && interrupts < STEPS, interrupts + " interrupts");
        }
    }

    @Test
    void flagsWithoutEventIdx() {
        SplittableRandom rnd = new SplittableRandom(3);
        try (RingPair p = new RingPair(SIZE, 0, 0, SIZE, 16)) {
            Chain c = p.device.newChain();
            int kicks = 0;
            int interrupts = 0;
            for (int step = 0; step < STEPS / 4; step++) {
                boolean kicksOn = rnd.nextBoolean();
                boolean interruptsOn = rnd.nextBoolean();
                if (kicksOn) {
                    p.device.enableKicks();
                } else {
                    p.device.disableKicks();
                }
                if (interruptsOn) {
                    p.driver.enableInterrupts();
                } else {
                    p.driver.disableInterrupts();
                }
                int batch = rnd.nextInt(1, SIZE + 1);
                for (int b = 0; b < batch; b++) {
                    p.driver.addOut(p.addr(b), 16, b);
                }
                // §2.7.10.1 / §2.7.7.2: flags 0 MUST notify, flags 1 SHOULD NOT.
                boolean kick = p.driver.publish();
                assertEquals(kicksOn, kick);
                while (p.device.pop(c)) {
                    p.device.pushUsed(c.head(), 0);
                }
                boolean interrupt = p.device.publishUsed();
                assertEquals(interruptsOn, interrupt);
                kicks += kick ? 1 : 0;
                interrupts += interrupt ? 1 : 0;
                assertEquals(batch, p.driver.harvest(tokens, lens, SIZE));
            }
            assertTrue(kicks > 0 && interrupts > 0);
        }
    }

    /** A busy driver and device with event-idx suppression: after the first round, silence. */
    @Test
    void eventIdxSuppressionIsQuietWhileBusy() {
        try (RingPair p = new RingPair(SIZE, EVENT_IDX, 0, SIZE, 16)) {
            Chain c = p.device.newChain();
            p.driver.addOut(p.addr(0), 16, 0);
            p.driver.publish();
            drain(p, c, SIZE);
            p.device.disableKicks();
            p.driver.disableInterrupts();
            int kicks = 0;
            int interrupts = 0;
            for (int step = 0; step < 30_000 / SIZE; step++) {
                for (int b = 0; b < SIZE; b++) {
                    p.driver.addOut(p.addr(b), 16, b);
                }
                kicks += p.driver.publish() ? 1 : 0;
                while (p.device.pop(c)) {
                    p.device.pushUsed(c.head(), 0);
                }
                interrupts += p.device.publishUsed() ? 1 : 0;
                p.driver.harvest(tokens, lens, SIZE);
            }
            assertEquals(0, kicks, "avail_event was passed once and stays behind");
            assertEquals(0, interrupts, "used_event half the index space away");
            // The device going to sleep asks for the next entry: exactly one kick follows.
            assertEquals(false, p.device.enableKicks());
            p.driver.addOut(p.addr(0), 16, 0);
            assertTrue(p.driver.publish());
            p.driver.addOut(p.addr(1), 16, 1);
            assertEquals(false, p.driver.publish());
        }
    }

    private void drain(RingPair p, Chain c, int max) {
        while (p.device.pop(c)) {
            p.device.pushUsed(c.head(), 0);
        }
        p.device.publishUsed();
        while (p.driver.harvest(tokens, lens, max) > 0) {
            // all back
        }
    }
}
