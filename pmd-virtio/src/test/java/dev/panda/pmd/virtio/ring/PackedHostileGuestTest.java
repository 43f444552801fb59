package dev.panda.pmd.virtio.ring;

import static dev.panda.pmd.virtio.ring.PackedDriver.d;
import static dev.panda.pmd.virtio.ring.PackedRing.DESC_F_INDIRECT;
import static dev.panda.pmd.virtio.ring.PackedRing.DESC_F_NEXT;
import static dev.panda.pmd.virtio.ring.PackedRing.DESC_F_WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link PackedDeviceQueue} against a packed-ring driver that writes whatever it likes: good
 * chains (direct, chained, indirect, across the wrap) come back with their buffer ids, lengths and
 * the used flags of the device's wrap counter; each malformed chain is counted by kind and handed
 * back with length 0 (its slots consumed), and the next good chain still works; notifications
 * follow the driver's event area, and kicks are turned off and on in the device's. Guest memory:
 * region 0 at {@link #A} (ring, tables, buffers), a gap, region 1 at {@link #B}.
 */
class PackedHostileGuestTest {

    private static final long A = 0x10000;
    private static final long B = 0x100000;
    /** Not a power of two: packed rings may have any size. */
    private static final int SIZE = 6;

    private static final long TABLE = 0x400;
    private static final long BUF = 0x1000;

    private Arena arena;
    private MemorySegment regionA;
    private MultiRegionMemory memory;
    private PackedDriver guest;
    private PackedDeviceQueue device;
    private Chain chain;

    @BeforeEach
    void setUp() {
        arena = Arena.ofShared();
        regionA = arena.allocate(0x4000, 4096);
        memory = new MultiRegionMemory(new long[] {A, B}, new MemorySegment[] {regionA, arena.allocate(0x1000, 4096)});
        guest = new PackedDriver(regionA, A, 0, SIZE);
        device = queue(1L << VirtioFeatures.F_INDIRECT_DESC, 0x8000);
        chain = device.newChain();
    }

    private PackedDeviceQueue queue(long features, int base) {
        return PackedDeviceQueue.at(
                "packed-hostile",
                memory,
                SIZE,
                guest.ringAddr(),
                guest.driverEventAddr(),
                guest.deviceEventAddr(),
                features,
                base);
    }

    @AfterEach
    void tearDown() {
        arena.close();
    }

    @Test
    void goodChainsComeBackWithTheirIdsAcrossManyLaps() {
        for (int round = 0; round < 5 * SIZE; round++) {
            int id = round % SIZE;
            // a readable header then a writable buffer: two slots, the id in the last one
            guest.offer(d(A + BUF, 12, 99, DESC_F_NEXT), d(A + BUF + 0x100, 100, id, DESC_F_WRITE));
            assertTrue(device.pop(chain), "round " + round);
            assertEquals(id, chain.head());
            assertEquals(2, chain.ringSlots());
            assertEquals(12, chain.readableBytes());
            assertEquals(100, chain.writableBytes());
            assertFalse(device.pop(chain), "nothing more available");
            device.pushUsed(chain, 40);
            assertNull(guest.takeUsed(2), "not visible before publishUsed");
            device.publishUsed();
            int[] used = guest.takeUsed(2);
            assertNotNull(used, "round " + round);
            assertEquals(id, used[0]);
            assertEquals(40, used[1]);
            assertTrue((used[2] & DESC_F_WRITE) != 0, "WRITE marks a used length");
        }
        assertEquals(0, device.errors().total(), device.errors()::toString);
    }

    @Test
    void indirectTableIsOneSlot() {
        guest.tableEntry(TABLE, 0, A + BUF, 12, 0);
        guest.tableEntry(TABLE, 1, A + BUF + 0x100, 64, 0);
        guest.tableEntry(TABLE, 2, B, 256, DESC_F_WRITE);
        guest.offer(d(A + TABLE, 48, 3, DESC_F_INDIRECT));
        assertTrue(device.pop(chain));
        assertEquals(3, chain.head());
        assertEquals(1, chain.ringSlots());
        assertEquals(3, chain.count());
        assertEquals(76, chain.readableBytes());
        assertEquals(256, chain.writableBytes());
        assertEquals(1, chain.region(2));
    }

    @Test
    void outOfOrderUseSkipsEachChainsOwnSlots() {
        guest.offer(d(A + BUF, 64, 0, DESC_F_NEXT), d(A + BUF + 64, 64, 0, DESC_F_NEXT), d(A + BUF + 128, 64, 0, 0));
        guest.offer(d(A + BUF + 256, 64, 1, 0));
        Chain first = device.newChain();
        Chain second = device.newChain();
        assertTrue(device.pop(first));
        assertTrue(device.pop(second));
        assertEquals(3, first.ringSlots());
        // the second buffer used first: its descriptor goes where the driver looks first
        device.pushUsed(second, 0);
        device.pushUsed(first, 0);
        device.publishUsed();
        int[] u1 = guest.takeUsed(1); // the driver skips by the count it knows for id 1
        int[] u2 = guest.takeUsed(3);
        assertEquals(1, u1[0]);
        assertEquals(0, u2[0]);
        assertEquals(0, u1[2] & DESC_F_WRITE, "no WRITE on a used descriptor with nothing written");
    }

    @Test
    void inOrderReadOnlyQueueReturnsABurstAsOneUsedDescriptor() {
        PackedDeviceQueue q = queue(1L << VirtioFeatures.F_IN_ORDER, 0x8000).deviceReadsOnly();
        Chain c = q.newChain();
        guest.offer(d(A + BUF, 64, 0, DESC_F_NEXT), d(A + BUF + 64, 64, 0, 0));
        guest.offer(d(A + BUF, 64, 1, 0));
        guest.offer(d(A + BUF, 64, 2, 0));
        for (int i = 0; i < 3; i++) {
            assertTrue(q.pop(c));
            q.pushUsed(c, 0);
        }
        q.publishUsed();
        int[] used = guest.takeUsed(4); // §2.8.9: the driver frees ids 0..2 and skips their 4 slots
        assertNotNull(used);
        assertEquals(2, used[0], "the last buffer's id, at the first one's slot");
        assertNull(guest.takeUsed(1), "nothing written at the other slots");
        guest.offer(d(A + BUF, 64, 3, 0));
        assertTrue(q.pop(c));
        q.pushUsed(c, 0);
        q.publishUsed();
        assertEquals(3, guest.takeUsed(1)[0], "the next burst's descriptor where the driver looks next");
    }

    @Test
    void bufferOutsideGuestMemory() {
        guest.offer(d(A + 0x4000 - 8, 64, 1, 0)); // runs past region 0's end
        assertRejected(1, 1, RingErrors.Kind.BAD_ADDRESS);
        guest.offer(d(0x50000, 64, 2, DESC_F_NEXT), d(A + BUF, 64, 2, 0)); // in the gap; the chain goes on
        assertRejected(2, 2, RingErrors.Kind.BAD_ADDRESS);
        assertGoodChainStillWorks();
    }

    @Test
    void chainLongerThanTheRing() {
        // every descriptor says NEXT: the walk stops after the ring's worth of slots
        PackedDriver.D[] all = new PackedDriver.D[SIZE];
        for (int i = 0; i < SIZE; i++) {
            all[i] = d(A + BUF, 64, 4, DESC_F_NEXT);
        }
        guest.offer(all);
        assertRejected(4, SIZE, RingErrors.Kind.TOO_LONG);
        assertGoodChainStillWorks();
    }

    @Test
    void indirectInsideIndirect() {
        guest.tableEntry(TABLE, 0, A + TABLE + 0x100, 16, DESC_F_INDIRECT);
        guest.offer(d(A + TABLE, 16, 0, DESC_F_INDIRECT));
        assertRejected(0, 1, RingErrors.Kind.NESTED_INDIRECT);
        assertGoodChainStillWorks();
    }

    @Test
    void badIndirectTables() {
        guest.offer(d(A + TABLE, 0, 1, DESC_F_INDIRECT));
        assertRejected(1, 1, RingErrors.Kind.BAD_INDIRECT_LENGTH);
        guest.offer(d(A + TABLE, 24, 2, DESC_F_INDIRECT));
        assertRejected(2, 1, RingErrors.Kind.BAD_INDIRECT_LENGTH);
        guest.offer(d(A + TABLE, 16 * (SIZE + 1), 3, DESC_F_INDIRECT));
        assertRejected(3, 1, RingErrors.Kind.BAD_INDIRECT_LENGTH);
        guest.offer(d(0x50000, 32, 4, DESC_F_INDIRECT));
        assertRejected(4, 1, RingErrors.Kind.BAD_ADDRESS);
        assertEquals(3, device.errors().count(RingErrors.Kind.BAD_INDIRECT_LENGTH));
        assertGoodChainStillWorks();
    }

    @Test
    void indirectWithNextAndIndirectAfterABuffer() {
        guest.tableEntry(TABLE, 0, A + BUF, 64, 0);
        guest.offer(d(A + TABLE, 16, 0, DESC_F_INDIRECT | DESC_F_NEXT), d(A + BUF, 64, 0, 0));
        assertRejected(0, 2, RingErrors.Kind.INDIRECT_WITH_NEXT);
        guest.offer(d(A + BUF, 64, 1, DESC_F_NEXT), d(A + TABLE, 16, 1, DESC_F_INDIRECT));
        assertRejected(1, 2, RingErrors.Kind.INDIRECT_WITH_NEXT);
        assertGoodChainStillWorks();
    }

    @Test
    void readableAfterWritable() {
        guest.offer(d(A + BUF, 64, 2, DESC_F_WRITE | DESC_F_NEXT), d(A + BUF + 64, 64, 2, 0));
        assertRejected(2, 2, RingErrors.Kind.READ_AFTER_WRITE);
        assertGoodChainStillWorks();
    }

    @Test
    void aQueueTheDeviceOnlyReadsIgnoresWriteFlags() {
        device.deviceReadsOnly();
        guest.tableEntry(TABLE, 0, A + BUF, 12, DESC_F_WRITE); // as DPDK's driver leaves its header entry
        guest.tableEntry(TABLE, 1, A + BUF + 0x100, 64, 0);
        guest.offer(d(A + TABLE, 32, 5, DESC_F_INDIRECT));
        assertTrue(device.pop(chain));
        assertEquals(76, chain.readableBytes());
        assertEquals(0, chain.writableBytes());
    }

    @Test
    void badBufferIdIsCountedAndHandedBack() {
        guest.offer(d(A + BUF, 64, SIZE, 0));
        assertRejected(SIZE, 1, RingErrors.Kind.BAD_HEAD);
        guest.offer(d(A + BUF, 64, 0xFFFF, 0));
        assertRejected(0xFFFF, 1, RingErrors.Kind.BAD_HEAD);
        assertGoodChainStillWorks();
    }

    @Test
    void zeroLengthBuffersAreSkippedNotFatal() {
        guest.offer(d(A + BUF, 0, 1, DESC_F_NEXT), d(A + BUF, 64, 1, 0));
        assertTrue(device.pop(chain));
        assertEquals(1, chain.count());
        assertEquals(1, device.errors().count(RingErrors.Kind.ZERO_LENGTH));
        assertEquals(0, device.errors().severe());
    }

    @Test
    void aDriverThatRunsAheadOfTheUsedDescriptorsIsNotFollowed() {
        // the driver makes the whole ring available, then (illegally) the first slot again
        for (int i = 0; i < SIZE; i++) {
            guest.offer(d(A + BUF, 64, i, 0));
        }
        for (int i = 0; i < SIZE; i++) {
            assertTrue(device.pop(chain));
            device.pushUsed(chain, 0);
        }
        guest.offer(d(A + BUF, 64, 0, 0));
        assertEquals(0, device.available(SIZE), "a slot whose used descriptor is not published yet");
        assertFalse(device.pop(chain), "nothing beyond a lap past the published used descriptors");
        device.publishUsed(); // our used descriptors overwrite the slots, as the driver should have waited for
    }

    @Test
    void notificationsFollowTheDriverEventArea() {
        PackedDeviceQueue q = queue(1L << VirtioFeatures.F_EVENT_IDX, 0x8000);
        Chain c = q.newChain();
        guest.driverEvent(PackedRing.EVENT_FLAGS_DISABLE, 0);
        assertTrue(roundTrip(q, c), "the first publish always notifies");
        assertFalse(roundTrip(q, c), "DISABLE");
        guest.driverEvent(PackedRing.EVENT_FLAGS_ENABLE, 0);
        assertTrue(roundTrip(q, c), "ENABLE");
        // DESC: notify when the used descriptor at slot 4 (wrap 1) is written; we are at slot 3
        guest.driverEvent(PackedRing.EVENT_FLAGS_DESC, PackedRing.offWrap(4, true));
        assertFalse(roundTrip(q, c), "slot 3 written, the driver waits for slot 4");
        assertTrue(roundTrip(q, c), "slot 4 written");
        assertFalse(roundTrip(q, c), "slot 5: passed already");
        // across the wrap: slot 0 of the next lap (wrap 0)
        guest.driverEvent(PackedRing.EVENT_FLAGS_DESC, PackedRing.offWrap(0, false));
        assertTrue(roundTrip(q, c), "slot 0 of lap 2");
    }

    /** One single-slot chain offered, popped, pushed and published; whether the driver is notified. */
    private boolean roundTrip(PackedDeviceQueue q, Chain c) {
        guest.offer(d(A + BUF, 64, 0, 0));
        assertTrue(q.pop(c));
        q.pushUsed(c, 0);
        boolean notify = q.publishUsed();
        assertNotNull(guest.takeUsed(1));
        return notify;
    }

    @Test
    void kicksOffWhilePollingOnBeforeSleeping() {
        device.disableKicks();
        assertEquals(PackedRing.EVENT_FLAGS_DISABLE, guest.deviceEventFlags());
        assertFalse(device.enableKicks(), "nothing available");
        assertEquals(PackedRing.EVENT_FLAGS_ENABLE, guest.deviceEventFlags());
        guest.offer(d(A + BUF, 64, 0, 0));
        assertTrue(device.enableKicks(), "a chain arrived: poll, do not sleep");

        PackedDeviceQueue q = queue(1L << VirtioFeatures.F_EVENT_IDX, PackedRing.offWrap(3, false));
        q.enableKicks();
        assertEquals(PackedRing.EVENT_FLAGS_DESC, guest.deviceEventFlags());
        assertEquals(PackedRing.offWrap(3, false), guest.deviceEventOffWrap(), "the next slot the device reads");
    }

    @Test
    void vringBaseCarriesBothSidesAndRestartsThere() {
        for (int i = 0; i < SIZE + 2; i++) {
            guest.offer(d(A + BUF, 64, i % SIZE, 0));
            assertTrue(device.pop(chain));
            device.pushUsed(chain, 0);
            device.publishUsed();
            guest.takeUsed(1);
        }
        int base = device.vringBase();
        assertEquals(PackedRing.offWrap(2, false), base & 0xFFFF);
        assertEquals(PackedRing.offWrap(2, false), base >>> 16);
        PackedDeviceQueue again = queue(0, base);
        guest.offer(d(A + BUF, 64, 5, 0));
        assertTrue(again.pop(chain), "the restarted queue reads where the old one stopped");
        again.pushUsed(chain, 0);
        again.publishUsed();
        assertArrayEquals(new int[] {5, 0}, java.util.Arrays.copyOf(guest.takeUsed(1), 2));
        // a 16-bit base (DPDK's virtio-user): used stands where avail does
        assertEquals(
                PackedRing.offWrap(2, false) * 0x10001,
                queue(0, PackedRing.offWrap(2, false)).vringBase());
        assertThrows(IllegalArgumentException.class, () -> queue(0, SIZE | 0x8000), "index beyond the ring");
    }

    @Test
    void rewindGivesChainsBack() {
        guest.offer(d(A + BUF, 64, 0, DESC_F_WRITE));
        guest.offer(d(A + BUF, 64, 1, DESC_F_WRITE));
        long mark = device.mark();
        assertTrue(device.pop(chain));
        device.pushUsed(chain, 10);
        assertTrue(device.pop(chain));
        device.rewind(mark);
        assertTrue(device.pop(chain));
        assertEquals(0, chain.head(), "the first chain again");
        device.pushUsed(chain, 10);
        device.publishUsed();
        assertThrows(IllegalStateException.class, () -> device.rewind(mark + (1L << 32)));
    }

    /** The chain at the device's position is refused with {@code kind}: counted, returned with len 0. */
    private void assertRejected(int id, int slots, RingErrors.Kind kind) {
        long before = device.errors().count(kind);
        int returned = device.returnedChains();
        assertFalse(device.pop(chain), "malformed chain accepted: " + chain);
        assertEquals(before + 1, device.errors().count(kind), device.errors()::toString);
        assertEquals(returned + 1, device.returnedChains());
        device.publishUsed();
        int[] used = guest.takeUsed(slots);
        assertNotNull(used, "the chain was handed back");
        assertEquals(id, used[0]);
        assertEquals(0, used[1]);
    }

    private void assertGoodChainStillWorks() {
        long at = BUF + 0x200;
        regionA.set(ValueLayout.JAVA_BYTE, at, (byte) 0x5A);
        guest.offer(d(A + at, 32, 3, 0));
        assertTrue(device.pop(chain), device.errors()::toString);
        assertEquals(3, chain.head());
        assertEquals(32, chain.readableBytes());
        assertEquals((byte) 0x5A, chain.segment(0).get(ValueLayout.JAVA_BYTE, chain.offset(0)));
        device.pushUsed(chain, 0);
        device.publishUsed();
        assertNotNull(guest.takeUsed(1));
    }
}
