package dev.panda.pmd.virtio.ring;

import static dev.panda.pmd.virtio.ring.RingPair.EVENT_IDX;
import static dev.panda.pmd.virtio.ring.RingPair.INDIRECT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Our driver against our device, one thread, shared memory (virtio 1.2 §2.7.13, §2.7.14). */
class QueuePairTest {

    private final int[] tokens = new int[64];
    private final int[] lens = new int[64];

    @Test
    void singleReadableBuffer() {
        try (RingPair p = new RingPair(8, 0, 0, 8, 256)) {
            p.buffer(3).fill((byte) 0x5A);
            assertTrue(p.driver.addOut(p.addr(3), 100, 33));
            assertEquals(7, p.driver.freeDescriptors());
            assertEquals(0, p.device.available(), "not published yet");
            assertTrue(p.driver.publish(), "used.flags is 0: kick");
            assertFalse(p.driver.publish(), "nothing new");

            Chain c = p.device.newChain();
            assertEquals(1, p.device.available());
            assertTrue(p.device.pop(c));
            assertEquals(1, c.count());
            assertEquals(1, c.readableCount());
            assertEquals(0, c.writableCount());
            assertEquals(p.offset(3), c.offset(0));
            assertEquals(100, c.length(0));
            assertEquals(100, c.readableBytes());
            try (Arena a = Arena.ofConfined()) {
                MemorySegment dst = a.allocate(256);
                assertEquals(100, c.copyFromReadable(0, dst, 0, 256));
                assertEquals(0x5A, dst.get(ValueLayout.JAVA_BYTE, 99));
                assertEquals(0, dst.get(ValueLayout.JAVA_BYTE, 100));
            }
            assertFalse(p.device.pop(c));
            p.device.pushUsed(c.head(), 0);
            assertEquals(0, p.driver.harvest(tokens, lens, 64), "not published yet");
            assertTrue(p.device.publishUsed(), "avail.flags is 0: interrupt");
            assertEquals(1, p.driver.harvest(tokens, lens, 64));
            assertEquals(33, tokens[0]);
            assertEquals(0, lens[0]);
            assertEquals(8, p.driver.freeDescriptors());
            assertEquals(0, p.device.errors().total() + p.driver.errors().total());
        }
    }

    @Test
    void singleWritableBuffer() {
        try (RingPair p = new RingPair(8, 0, 0, 8, 256);
                Arena a = Arena.ofConfined()) {
            assertTrue(p.driver.addIn(p.addr(1), 200, 11));
            p.driver.publish();
            Chain c = p.device.newChain();
            assertTrue(p.device.pop(c));
            assertEquals(1, c.writableCount());
            assertTrue(c.writable(0));
            MemorySegment frame = a.allocate(64).fill((byte) 7);
            assertEquals(64, c.copyToWritable(0, frame, 0, 64));
            p.device.pushUsed(c.head(), 64);
            p.device.publishUsed();
            assertEquals(1, p.driver.harvest(tokens, lens, 64));
            assertEquals(11, tokens[0]);
            assertEquals(64, lens[0]);
            assertEquals(7, p.buffer(1).get(ValueLayout.JAVA_BYTE, 63));
            assertEquals(0, p.buffer(1).get(ValueLayout.JAVA_BYTE, 64));
        }
    }

    /** §2.7.13.1 chains: readable elements first, then writable; copies cross segment boundaries. */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void chainedAndIndirect(boolean indirect) {
        try (RingPair p = new RingPair(8, INDIRECT, indirect ? 8 : 0, 8, 256);
                Arena a = Arena.ofConfined()) {
            long[] addrs = {p.addr(0), p.addr(1) + 5, p.addr(2), p.addr(3), p.addr(4)};
            int[] ls = {12, 30, 7, 9, 100};
            for (int i = 0; i < 2; i++) {
                for (int b = 0; b < ls[i]; b++) {
                    p.region.set(ValueLayout.JAVA_BYTE, addrs[i] - RingPair.BASE + b, (byte) (i * 50 + b));
                }
            }
            boolean added = indirect ? p.driver.addIndirect(addrs, ls, 2, 3, 99) : p.driver.add(addrs, ls, 2, 3, 99);
            assertTrue(added);
            assertEquals(indirect ? 7 : 3, p.driver.freeDescriptors());
            p.driver.publish();

            Chain c = p.device.newChain();
            assertTrue(p.device.pop(c));
            assertEquals(5, c.count());
            assertEquals(2, c.readableCount());
            assertEquals(42, c.readableBytes());
            assertEquals(116, c.writableBytes());
            for (int i = 0; i < 5; i++) {
                assertEquals(addrs[i] - RingPair.BASE, c.offset(i));
                assertEquals(ls[i], c.length(i));
                assertEquals(i >= 2, c.writable(i));
            }
            MemorySegment dst = a.allocate(64);
            assertEquals(30, c.copyFromReadable(VirtioNetHeader.BYTES, dst, 0, 64), "skips a 12-byte header");
            assertEquals(50, dst.get(ValueLayout.JAVA_BYTE, 0));
            assertEquals(50 + 29, dst.get(ValueLayout.JAVA_BYTE, 29));
            assertEquals(10, c.copyFromReadable(5, dst, 0, 10));
            assertEquals(5, dst.get(ValueLayout.JAVA_BYTE, 0));
            assertEquals(50 + 2, dst.get(ValueLayout.JAVA_BYTE, 9));

            MemorySegment src = a.allocate(116);
            for (int b = 0; b < 116; b++) {
                src.set(ValueLayout.JAVA_BYTE, b, (byte) (b + 1));
            }
            assertEquals(113, c.copyToWritable(3, src, 0, 200), "writable room after skipping 3");
            assertEquals(1, p.region.get(ValueLayout.JAVA_BYTE, addrs[2] - RingPair.BASE + 3));
            assertEquals(5, p.region.get(ValueLayout.JAVA_BYTE, addrs[3] - RingPair.BASE), "continues in the next");
            p.device.pushUsed(c.head(), 116);
            p.device.publishUsed();
            assertEquals(1, p.driver.harvest(tokens, lens, 64));
            assertEquals(99, tokens[0]);
            assertEquals(116, lens[0]);
            assertEquals(8, p.driver.freeDescriptors());
        }
    }

    @Test
    void fullRingRefusesMore() {
        try (RingPair p = new RingPair(4, INDIRECT, 4, 8, 64)) {
            long[] addrs = {p.addr(0), p.addr(1), p.addr(2)};
            int[] ls = {8, 8, 8};
            assertTrue(p.driver.add(addrs, ls, 1, 2, 1));
            assertFalse(p.driver.add(addrs, ls, 1, 2, 2), "1 descriptor free, 3 needed");
            assertTrue(p.driver.addIndirect(addrs, ls, 1, 2, 3), "an indirect chain needs one");
            assertFalse(p.driver.addOut(p.addr(4), 8, 4));
            assertThrows(IllegalArgumentException.class, () -> p.driver.addIndirect(new long[5], new int[5], 5, 0, 5));
            assertThrows(IllegalArgumentException.class, () -> p.driver.add(addrs, ls, 0, 0, 5));
            assertEquals(2, p.driver.inFlight());
            p.driver.publish();
            Chain c = p.device.newChain();
            while (p.device.pop(c)) {
                p.device.pushUsed(c.head(), 8);
            }
            p.device.publishUsed();
            assertEquals(2, p.driver.harvest(tokens, lens, 64));
            assertEquals(4, p.driver.freeDescriptors());
        }
    }

    /**
     * Over 65536 chains through an 8-entry queue so every 16-bit index wraps (§2.7.13.3: idx wraps
     * naturally), with random shapes and batch sizes, content checked end to end.
     */
    @ParameterizedTest
    @ValueSource(longs = {INDIRECT, INDIRECT | EVENT_IDX})
    void indicesWrapAround(long features) {
        final int size = 8;
        final int rounds = 70_000;
        SplittableRandom rnd = new SplittableRandom(features);
        try (RingPair p = new RingPair(size, features, 4, size * 4, 32);
                Arena a = Arena.ofConfined()) {
            MemorySegment scratch = a.allocate(32 * 4);
            ArrayDeque<Integer> sent = new ArrayDeque<>();
            Chain c = p.device.newChain();
            int nextToken = 0;
            int done = 0;
            long[] addrs = new long[4];
            int[] ls = new int[4];
            while (done < rounds) {
                int batch = rnd.nextInt(1, size + 1);
                for (int b = 0; b < batch && nextToken < rounds; b++) {
                    int token = nextToken;
                    int slot = token % size;
                    int n = rnd.nextInt(1, 5);
                    for (int i = 0; i < n; i++) {
                        addrs[i] = p.addr(slot * 4 + i);
                        ls[i] = 32;
                    }
                    boolean ok = rnd.nextBoolean()
                            ? p.driver.addIndirect(addrs, ls, 1, n - 1, token)
                            : p.driver.add(addrs, ls, 1, n - 1, token);
                    if (!ok) {
                        break; // the ring is full; the buffer of this slot is still in flight
                    }
                    p.buffer(slot * 4).set(ValueLayout.JAVA_INT, 0, token); // before publish()
                    sent.add(token);
                    nextToken++;
                }
                p.driver.publish();
                int popped = 0;
                int limit = rnd.nextInt(1, size + 1);
                while (popped < limit && p.device.pop(c)) {
                    c.copyFromReadable(0, scratch, 0, 4);
                    int token = scratch.get(ValueLayout.JAVA_INT, 0);
                    assertEquals((int) sent.peekFirst() + popped, token, "FIFO order");
                    scratch.set(ValueLayout.JAVA_INT, 0, ~token);
                    long written = c.copyToWritable(0, scratch, 0, Math.min(4, c.writableBytes()));
                    p.device.pushUsed(c.head(), written);
                    popped++;
                }
                p.device.publishUsed();
                int got = p.driver.harvest(tokens, lens, 64);
                for (int i = 0; i < got; i++) {
                    int token = sent.pollFirst();
                    assertEquals(token, tokens[i]);
                    if (lens[i] == 4) {
                        assertEquals(~token, p.buffer((token % size) * 4 + 1).get(ValueLayout.JAVA_INT, 0));
                    } else {
                        assertEquals(0, lens[i], "single readable buffer, nothing written");
                    }
                }
                done += got;
            }
            assertEquals(rounds & 0xFFFF, p.device.lastAvailIdx());
            assertEquals(rounds & 0xFFFF, p.device.usedIdx());
            assertEquals(size, p.driver.freeDescriptors());
            assertEquals(0, p.device.errors().total(), p.device.errors().toString());
            assertEquals(0, p.driver.errors().total(), p.driver.errors().toString());
        }
    }

    /** A mergeable rx that runs short gives the chains back (§5.1.6.4 num_buffers). */
    @Test
    void markAndRewind() {
        try (RingPair p = new RingPair(8, 0, 0, 8, 64)) {
            for (int i = 0; i < 3; i++) {
                p.driver.addIn(p.addr(i), 64, i);
            }
            p.driver.publish();
            Chain c = p.device.newChain();
            int mark = p.device.mark();
            assertTrue(p.device.pop(c));
            p.device.pushUsed(c.head(), 64);
            assertTrue(p.device.pop(c));
            p.device.pushUsed(c.head(), 64);
            p.device.rewind(mark);
            assertEquals(3, p.device.available());
            int[] heads = new int[3];
            for (int i = 0; i < 3; i++) {
                assertTrue(p.device.pop(c));
                heads[i] = c.head();
                p.device.pushUsed(c.head(), 10 + i);
            }
            int late = p.device.mark();
            p.device.publishUsed();
            assertThrows(IllegalStateException.class, () -> p.device.rewind(mark), "already published");
            p.device.rewind(late);
            assertEquals(3, p.driver.harvest(tokens, lens, 64));
            for (int i = 0; i < 3; i++) {
                assertEquals(i, tokens[i]);
                assertEquals(10 + i, lens[i]);
            }
        }
    }

    /** vhost-user reconnect: a new device queue resumes at GET_VRING_BASE and the ring's used idx. */
    @Test
    void deviceResumesWhereTheOldOneStopped() {
        try (RingPair p = new RingPair(8, 0, 0, 8, 64)) {
            Chain c = p.device.newChain();
            DeviceQueue dev = p.device;
            for (int round = 0; round < 5; round++) {
                p.driver.addOut(p.addr(round), 8, round);
                p.driver.addOut(p.addr(round + 1), 8, round + 100);
                p.driver.publish();
                assertTrue(dev.pop(c));
                dev.pushUsed(c.head(), 0);
                dev.publishUsed();
                DeviceQueue next = DeviceQueue.at(
                        "again",
                        p.memory,
                        8,
                        p.driver.descAddr(),
                        p.driver.availAddr(),
                        p.driver.usedAddr(),
                        0,
                        dev.lastAvailIdx());
                assertTrue(next.pop(c));
                next.pushUsed(c.head(), 0);
                next.publishUsed();
                assertEquals(2, p.driver.harvest(tokens, lens, 64));
                assertEquals(round, tokens[0]);
                assertEquals(round + 100, tokens[1]);
                dev = next;
            }
        }
    }

    /** The driver does not trust the device either (§2.7.8.3). */
    @Test
    void driverChecksUsedEntries() {
        try (RingPair p = new RingPair(8, 0, 0, 8, 64)) {
            p.driver.addIn(p.addr(0), 64, 5);
            p.driver.addIn(p.addr(1), 64, 6);
            p.driver.publish();
            Chain c = p.device.newChain();
            assertTrue(p.device.pop(c));
            int first = c.head();
            p.device.pushUsed(7, 64); // never offered
            p.device.pushUsed(first, 1000); // more than the 64 writable bytes
            p.device.pushUsed(first, 1); // twice
            p.device.publishUsed();
            assertEquals(0, p.driver.harvest(tokens, lens, 64), "3 used entries, 2 chains in flight");
            assertEquals(1, p.driver.errors().count(RingErrors.Kind.USED_IDX_JUMP));
            RawDriver raw = new RawDriver(p.region, RingPair.BASE, 0, 8);
            SplitRing.USED_IDX.setRelease(p.region, raw.usedOff, (short) 2);
            assertEquals(1, p.driver.harvest(tokens, lens, 64));
            assertEquals(5, tokens[0]);
            assertEquals(64, lens[0], "clamped to the buffer");
            assertEquals(1, p.driver.errors().count(RingErrors.Kind.BAD_USED_ID));
            assertEquals(1, p.driver.errors().count(RingErrors.Kind.BAD_USED_LEN));
            assertEquals(1, p.driver.inFlight());
        }
    }
}
