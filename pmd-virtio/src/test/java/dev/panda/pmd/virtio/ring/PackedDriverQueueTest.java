package dev.panda.pmd.virtio.ring;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link PackedDriverQueue} against a minimal device written here from virtio 1.2 §2.8 (it reads
 * available descriptors with its own wrap counter and writes used ones): many laps of a queue
 * whose size is not a power of 2, chains that straddle the wrap, use out of order, the first
 * descriptor of a batch held back until publish, and event suppression both ways.
 */
class PackedDriverQueueTest {

    private static final long PACKED = VirtioFeatures.bit(VirtioFeatures.F_RING_PACKED);
    private static final long INDIRECT = VirtioFeatures.bit(VirtioFeatures.F_INDIRECT_DESC);
    private static final long EVENT_IDX = VirtioFeatures.bit(VirtioFeatures.F_EVENT_IDX);

    /** The device side of §2.8.1/§2.8.6: its avail index and wrap counter, its used index and wrap counter. */
    private static final class Device {
        final MemorySegment ring;
        final int size;
        int avail;
        boolean availWrap = true;
        int used;
        boolean usedWrap = true;

        Device(MemorySegment mem, int size) {
            this.ring = mem.asSlice(0, PackedRing.descRingBytes(size));
            this.size = size;
        }

        int flags(int slot) {
            return ring.get(ValueLayout.JAVA_SHORT_UNALIGNED, slot * 16L + 14) & 0xFFFF;
        }

        /** The next available buffer: {id, descriptors, writable bytes}, or null if none is available. */
        int[] take() {
            if (!PackedRing.isAvail(flags(avail), availWrap)) {
                return null;
            }
            int n = 0;
            int w = 0;
            int id;
            while (true) {
                int f = flags(avail);
                assertTrue(PackedRing.isAvail(f, availWrap), "every descriptor of a chain is available");
                id = ring.get(ValueLayout.JAVA_SHORT_UNALIGNED, avail * 16L + 12) & 0xFFFF;
                if ((f & PackedRing.DESC_F_WRITE) != 0) {
                    w += ring.get(ValueLayout.JAVA_INT_UNALIGNED, avail * 16L + 8);
                }
                n++;
                if (++avail == size) {
                    avail = 0;
                    availWrap = !availWrap;
                }
                if ((f & PackedRing.DESC_F_NEXT) == 0) {
                    return new int[] {id, n, w};
                }
            }
        }

        /** Marks buffer {@code id} (a chain of {@code n}) used with {@code len} bytes written. */
        void use(int id, int n, int len) {
            long at = used * 16L;
            ring.set(ValueLayout.JAVA_SHORT_UNALIGNED, at + 12, (short) id);
            ring.set(ValueLayout.JAVA_INT_UNALIGNED, at + 8, len);
            ring.set(ValueLayout.JAVA_SHORT_UNALIGNED, at + 14, (short) PackedRing.usedFlags(usedWrap));
            used += n;
            if (used >= size) {
                used -= size;
                usedWrap = !usedWrap;
            }
        }
    }

    @Test
    void manyLapsWithChainsAcrossTheWrapAndUseOutOfOrder() {
        int size = 7;
        try (Arena arena = Arena.ofConfined()) {
            PackedDriverQueue q = PackedDriverQueue.allocate("t", arena, size, PACKED, 0);
            MemorySegment mem = MemorySegment.ofAddress(q.descAddr()).reinterpret(PackedDriverQueue.bytes(size, 0));
            Device dev = new Device(mem, size);
            long[] addrs = {0x1000, 0x2000, 0x3000};
            int[] lens = {100, 200, 300};
            int[] tokens = new int[16];
            int[] got = new int[16];
            int token = 0;
            int expectNext = 0;
            for (int round = 0; round < 200; round++) {
                // a 3-descriptor chain (1 readable, 2 writable), then a single writable buffer
                assertTrue(q.add(addrs, lens, 1, 2, token++));
                assertTrue(q.addIn(0x4000, 64, token++));
                assertEquals(2, q.inFlight());
                assertEquals(size - 4, q.freeDescriptors());
                assertEquals(null, dev.take(), "nothing available before publish (the first flags go last)");
                q.publish();
                int[] a = dev.take();
                int[] b = dev.take();
                assertEquals(null, dev.take());
                assertArrayEquals(new int[] {a[0], 3, 500}, a);
                assertArrayEquals(new int[] {b[0], 1, 64}, b);
                // out of order: the single buffer first, then the chain (whose positions follow)
                dev.use(b[0], 1, 60);
                dev.use(a[0], 3, 400);
                assertEquals(1, q.pendingUsed());
                assertEquals(2, q.harvest(tokens, got, 16));
                assertEquals(expectNext + 1, tokens[0]);
                assertEquals(60, got[0]);
                assertEquals(expectNext, tokens[1]);
                assertEquals(400, got[1]);
                expectNext += 2;
                assertEquals(0, q.inFlight());
                assertEquals(size, q.freeDescriptors());
                assertEquals(0, q.harvest(tokens, got, 16));
            }
            assertEquals(0, q.errors().severe());
        }
    }

    @Test
    void aFullRingRefusesAndIndirectTakesOneDescriptor() {
        int size = 4;
        try (Arena arena = Arena.ofConfined()) {
            PackedDriverQueue q = PackedDriverQueue.allocate("t", arena, size, PACKED | INDIRECT, 2);
            long[] addrs = {0x1000, 0x2000};
            int[] lens = {12, 64};
            for (int i = 0; i < size; i++) {
                assertTrue(q.addIndirect(addrs, lens, 2, 0, i));
            }
            assertFalse(q.addOut(0x5000, 64, 9));
            assertFalse(q.addIndirect(addrs, lens, 2, 0, 9));
            assertEquals(0, q.freeDescriptors());
            assertThrows(IllegalArgumentException.class, () -> q.addIndirect(new long[3], new int[3], 3, 0, 1));
            q.publish();
            MemorySegment ring = MemorySegment.ofAddress(q.descAddr()).reinterpret(PackedDriverQueue.bytes(size, 2));
            int f = ring.get(ValueLayout.JAVA_SHORT_UNALIGNED, 14) & 0xFFFF;
            assertEquals(PackedRing.DESC_F_INDIRECT | PackedRing.DESC_F_AVAIL, f);
            assertEquals(32, ring.get(ValueLayout.JAVA_INT_UNALIGNED, 8), "the table's two entries");
        }
    }

    @Test
    void kicksFollowTheDeviceEventArea() {
        int size = 8;
        try (Arena arena = Arena.ofConfined()) {
            PackedDriverQueue q = PackedDriverQueue.allocate("t", arena, size, PACKED | EVENT_IDX, 0);
            MemorySegment dev = MemorySegment.ofAddress(q.deviceEventAddr()).reinterpret(4);
            List<Boolean> kicks = new ArrayList<>();
            // ENABLE (0, the initial state): every publish kicks
            q.addOut(0x1000, 64, 1);
            kicks.add(q.publish());
            // DISABLE: none
            dev.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2, (short) PackedRing.EVENT_FLAGS_DISABLE);
            q.addOut(0x1000, 64, 2);
            kicks.add(q.publish());
            // DESC at index 4, wrap 1: a batch covering index 4 kicks, one before it does not
            dev.set(ValueLayout.JAVA_SHORT_UNALIGNED, 0, (short) PackedRing.offWrap(4, true));
            dev.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2, (short) PackedRing.EVENT_FLAGS_DESC);
            q.addOut(0x1000, 64, 3); // index 2
            kicks.add(q.publish());
            q.addOut(0x1000, 64, 4); // index 3
            q.addOut(0x1000, 64, 5); // index 4
            kicks.add(q.publish());
            assertEquals(List.of(true, false, false, true), kicks);
            assertFalse(q.publish(), "nothing added: no kick");
        }
    }

    @Test
    void interruptsAreAskedForInTheDriverEventArea() {
        int size = 8;
        try (Arena arena = Arena.ofConfined()) {
            PackedDriverQueue q = PackedDriverQueue.allocate("t", arena, size, PACKED | EVENT_IDX, 0);
            MemorySegment drv = MemorySegment.ofAddress(q.driverEventAddr()).reinterpret(4);
            q.disableInterrupts();
            assertEquals(PackedRing.EVENT_FLAGS_DISABLE, drv.get(ValueLayout.JAVA_SHORT_UNALIGNED, 2));
            assertFalse(q.enableInterrupts());
            assertEquals(PackedRing.EVENT_FLAGS_DESC, drv.get(ValueLayout.JAVA_SHORT_UNALIGNED, 2));
            assertEquals(0x8000, drv.get(ValueLayout.JAVA_SHORT_UNALIGNED, 0) & 0xFFFF, "next used: 0, wrap 1");
            PackedDriverQueue plain = PackedDriverQueue.allocate("t", arena, size, PACKED, 0);
            MemorySegment drv2 =
                    MemorySegment.ofAddress(plain.driverEventAddr()).reinterpret(4);
            plain.disableInterrupts();
            plain.enableInterrupts();
            assertEquals(PackedRing.EVENT_FLAGS_ENABLE, drv2.get(ValueLayout.JAVA_SHORT_UNALIGNED, 2));
            assertEquals(0x8000, plain.base());
        }
    }

    @Test
    void needsThePackedFeature() {
        try (Arena arena = Arena.ofConfined()) {
            assertThrows(IllegalArgumentException.class, () -> PackedDriverQueue.allocate("t", arena, 8, 0, 0));
        }
    }

    @Test
    void inOrderAUsedIdClosesTheBatchBeforeIt() {
        int size = 6;
        long features = PACKED | VirtioFeatures.bit(VirtioFeatures.F_IN_ORDER);
        try (Arena arena = Arena.ofConfined()) {
            PackedDriverQueue q = PackedDriverQueue.allocate("t", arena, size, features, 0);
            MemorySegment mem = MemorySegment.ofAddress(q.descAddr()).reinterpret(PackedDriverQueue.bytes(size, 0));
            Device dev = new Device(mem, size);
            long[] addrs = {0x1000, 0x2000};
            int[] lens = {12, 64};
            int[] tokens = new int[8];
            int[] got = new int[8];
            int token = 0;
            int expect = 0;
            for (int round = 0; round < 50; round++) {
                // a single buffer, a 2-descriptor chain, a single buffer: ids are their first positions
                assertTrue(q.addOut(0x1000, 64, token++));
                assertTrue(q.add(addrs, lens, 2, 0, token++));
                assertTrue(q.addOut(0x3000, 64, token++));
                q.publish();
                int[] a = dev.take();
                int[] b = dev.take();
                int[] c = dev.take();
                assertEquals((a[0] + 1) % size, b[0], "in order: the id is the first descriptor's position");
                assertEquals((b[0] + 2) % size, c[0]);
                // one used descriptor for the batch, carrying the last id; the used index moves by 4
                dev.use(c[0], 4, 0);
                // taken two at a time: the batch is remembered between harvests
                assertEquals(2, q.harvest(tokens, got, 2));
                assertArrayEquals(new int[] {expect, expect + 1}, new int[] {tokens[0], tokens[1]});
                assertEquals(1, q.pendingUsed());
                assertEquals(1, q.harvest(tokens, got, 2));
                assertEquals(expect + 2, tokens[0]);
                expect += 3;
                assertEquals(0, q.inFlight());
                assertEquals(size, q.freeDescriptors());
                assertEquals(0, q.pendingUsed());
            }
            // a used id at a position no buffer in flight starts at
            assertTrue(q.addOut(0x1000, 64, 100));
            assertTrue(q.addOut(0x1000, 64, 101));
            q.publish();
            int[] a = dev.take();
            dev.take();
            dev.use((a[0] + 3) % size, 1, 0); // a position nothing was made available at
            assertEquals(0, q.harvest(tokens, got, 8));
            assertEquals(1, q.errors().count(RingErrors.Kind.BAD_USED_ID));
        }
    }
}
