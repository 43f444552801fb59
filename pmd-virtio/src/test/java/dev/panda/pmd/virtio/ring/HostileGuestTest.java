package dev.panda.pmd.virtio.ring;

import static dev.panda.pmd.virtio.ring.SplitRing.DESC_F_INDIRECT;
import static dev.panda.pmd.virtio.ring.SplitRing.DESC_F_NEXT;
import static dev.panda.pmd.virtio.ring.SplitRing.DESC_F_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A guest that writes whatever it likes into its rings. Each malformed chain is detected, counted
 * by kind, returned with len 0 when its head is a valid id, and the next good chain still works.
 * Guest memory: region 0 at {@link #A} (rings, tables, buffers), a gap, region 1 at {@link #B}.
 */
class HostileGuestTest {

    private static final long A = 0x10000;
    private static final long B = 0x100000;
    private static final int SIZE = 8;
    /** Offsets in region 0: rings at 0, indirect tables from 0x400, buffers from 0x1000. */
    private static final long TABLE = 0x400;

    private static final long BUF = 0x1000;

    private Arena arena;
    private MemorySegment regionA;
    private MultiRegionMemory memory;
    private RawDriver guest;
    private DeviceQueue device;
    private Chain chain;

    @BeforeEach
    void setUp() {
        arena = Arena.ofShared();
        regionA = arena.allocate(0x4000, 4096);
        memory = new MultiRegionMemory(new long[] {A, B}, new MemorySegment[] {regionA, arena.allocate(0x1000, 4096)});
        guest = new RawDriver(regionA, A, 0, SIZE);
        device = DeviceQueue.at(
                "hostile",
                memory,
                SIZE,
                guest.descAddr(),
                guest.availAddr(),
                guest.usedAddr(),
                1L << VirtioFeatures.F_INDIRECT_DESC,
                0);
        chain = device.newChain();
    }

    @AfterEach
    void tearDown() {
        arena.close();
    }

    @Test
    void descriptorLoop() {
        guest.desc(0, A + BUF, 64, DESC_F_NEXT, 1);
        guest.desc(1, A + BUF, 64, DESC_F_NEXT, 2);
        guest.desc(2, A + BUF, 64, DESC_F_NEXT, 0);
        assertRejected(0, RingErrors.Kind.LOOP);
        guest.desc(3, A + BUF, 64, DESC_F_NEXT, 3);
        assertRejected(3, RingErrors.Kind.LOOP);
        assertEquals(2, device.errors().count(RingErrors.Kind.LOOP));
    }

    @Test
    void chainLongerThanTheRing() {
        // The longest legal chain: all 8 descriptors.
        for (int i = 0; i < SIZE; i++) {
            guest.desc(i, A + BUF + 64 * i, 64, i < SIZE - 1 ? DESC_F_NEXT : 0, i + 1);
        }
        guest.offer(0);
        assertTrue(device.pop(chain));
        assertEquals(SIZE, chain.count());
        // Two direct descriptors, then an indirect table of 8: 10 buffers in one chain.
        guest.desc(0, A + BUF, 64, DESC_F_NEXT, 1);
        guest.desc(1, A + BUF, 64, DESC_F_NEXT, 2);
        guest.desc(2, A + TABLE, 16 * SIZE, DESC_F_INDIRECT, 0);
        for (int i = 0; i < SIZE; i++) {
            guest.table(TABLE, i, A + BUF, 64, i < SIZE - 1 ? DESC_F_NEXT : 0, i + 1);
        }
        assertRejected(0, RingErrors.Kind.TOO_LONG);
    }

    @Test
    void nextIndexOutOfRange() {
        guest.desc(0, A + BUF, 64, DESC_F_NEXT, SIZE);
        assertRejected(0, RingErrors.Kind.BAD_NEXT);
        guest.desc(1, A + TABLE, 32, DESC_F_INDIRECT, 0);
        guest.table(TABLE, 0, A + BUF, 64, DESC_F_NEXT, 2);
        assertRejected(1, RingErrors.Kind.BAD_NEXT);
        guest.desc(2, A + BUF, 64, DESC_F_NEXT, 0xFFFF);
        assertRejected(2, RingErrors.Kind.BAD_NEXT);
        assertEquals(3, device.errors().count(RingErrors.Kind.BAD_NEXT));
    }

    @Test
    void addressOutsideEveryRegion() {
        guest.desc(0, 0x50000, 64, 0, 0); // in the gap
        assertRejected(0, RingErrors.Kind.BAD_ADDRESS);
        guest.desc(0, A + 0x4000 - 10, 64, 0, 0); // straddles the end of region 0
        assertRejected(0, RingErrors.Kind.BAD_ADDRESS);
        guest.desc(0, B + 0x1000, 1, DESC_F_WRITE, 0); // just past region 1
        assertRejected(0, RingErrors.Kind.BAD_ADDRESS);
        guest.desc(0, A - 1, 2, 0, 0); // starts before region 0
        assertRejected(0, RingErrors.Kind.BAD_ADDRESS);
        guest.desc(0, 0x50000, 64, DESC_F_INDIRECT, 0); // the indirect table itself
        assertRejected(0, RingErrors.Kind.BAD_ADDRESS);
        assertEquals(5, device.errors().count(RingErrors.Kind.BAD_ADDRESS));
    }

    @Test
    void addrPlusLenOverflow() {
        guest.desc(0, 0xFFFF_FFFF_FFFF_FF00L, 0x1000, 0, 0);
        assertRejected(0, RingErrors.Kind.BAD_ADDRESS);
        guest.desc(0, A + 0x100, 0xFFFF_FFFFL, 0, 0); // len as u32: larger than the region
        assertRejected(0, RingErrors.Kind.BAD_ADDRESS);
        guest.desc(0, -16L, 16 * 4, DESC_F_INDIRECT, 0); // a table wrapping the address space
        assertRejected(0, RingErrors.Kind.BAD_ADDRESS);
    }

    @Test
    void zeroLengthBuffersAreSkippedAndCounted() {
        guest.desc(0, A + BUF, 0, DESC_F_NEXT, 1);
        guest.desc(1, A + BUF, 64, DESC_F_NEXT, 2);
        guest.desc(2, 0, 0, DESC_F_WRITE, 0); // no address needed for nothing
        guest.offer(0);
        assertTrue(device.pop(chain));
        assertEquals(1, chain.count());
        assertEquals(64, chain.length(0));
        assertEquals(2, device.errors().count(RingErrors.Kind.ZERO_LENGTH));
        assertGoodChainStillWorks();
    }

    @Test
    void indirectInsideIndirect() {
        guest.desc(0, A + TABLE, 32, DESC_F_INDIRECT, 0);
        guest.table(TABLE, 0, A + BUF, 64, DESC_F_NEXT, 1);
        guest.table(TABLE, 1, A + TABLE + 0x100, 16, DESC_F_INDIRECT, 0);
        guest.table(TABLE + 0x100, 0, A + BUF, 64, 0, 0);
        assertRejected(0, RingErrors.Kind.NESTED_INDIRECT);
    }

    @Test
    void indirectTableWithBadLength() {
        guest.table(TABLE, 0, A + BUF, 64, 0, 0);
        for (long len : new long[] {0, 24, 15, 16 * SIZE + 16, 0xFFFF_FFF0L}) {
            guest.desc(0, A + TABLE, len, DESC_F_INDIRECT, 0);
            assertRejected(0, RingErrors.Kind.BAD_INDIRECT_LENGTH);
        }
        assertEquals(5, device.errors().count(RingErrors.Kind.BAD_INDIRECT_LENGTH));
        guest.desc(0, A + TABLE, 16, DESC_F_INDIRECT | DESC_F_NEXT, 1);
        assertRejected(0, RingErrors.Kind.INDIRECT_WITH_NEXT);
    }

    @Test
    void readableAfterWritable() {
        guest.desc(0, A + BUF, 64, DESC_F_WRITE | DESC_F_NEXT, 1);
        guest.desc(1, A + BUF + 64, 64, 0, 0);
        assertRejected(0, RingErrors.Kind.READ_AFTER_WRITE);
    }

    @Test
    void headOutOfRangeIsSkippedNotReturned() {
        int used = guest.usedIdx();
        guest.offer(SIZE);
        guest.offer(0xFFFF);
        assertFalse(device.pop(chain));
        device.publishUsed();
        assertEquals(used, guest.usedIdx(), "no valid id to return");
        assertEquals(2, device.errors().count(RingErrors.Kind.BAD_HEAD));
        assertGoodChainStillWorks();
    }

    @Test
    void availIdxJumpingByMoreThanTheSize() {
        guest.setAvailIdx(SIZE + 1);
        assertEquals(0, device.available());
        assertFalse(device.pop(chain));
        assertFalse(device.pop(chain));
        assertEquals(1, device.errors().count(RingErrors.Kind.AVAIL_IDX_JUMP), "a stuck value counts once");
        guest.setAvailIdx(0xFFFF); // backwards
        assertEquals(0, device.available());
        assertEquals(2, device.errors().count(RingErrors.Kind.AVAIL_IDX_JUMP));
        guest.setAvailIdx(SIZE); // exactly the size is legal
        assertEquals(SIZE, device.available());
        for (int i = 0; i < SIZE; i++) {
            guest.desc(i, A + BUF, 64, 0, 0);
        }
        for (int i = 0; i < SIZE; i++) {
            assertTrue(device.pop(chain)); // stale ring entries are 0: head 0 each time
            device.pushUsed(chain.head(), 0);
        }
        device.publishUsed();
        assertGoodChainStillWorks();
    }

    /** §2.7.5.3.2: the device MUST handle direct descriptors followed by one indirect, and ignore its WRITE. */
    @Test
    void directDescriptorsThenAnIndirectTableIsLegal() {
        guest.desc(4, A + BUF, 12, DESC_F_NEXT, 6);
        guest.desc(6, A + TABLE, 48, DESC_F_INDIRECT | DESC_F_WRITE, 0);
        guest.table(TABLE, 0, A + BUF + 100, 100, DESC_F_NEXT, 2);
        guest.table(TABLE, 2, B + 8, 200, DESC_F_WRITE | DESC_F_NEXT, 1);
        guest.table(TABLE, 1, B + 300, 300, DESC_F_WRITE, 0);
        guest.offer(4);
        assertTrue(device.pop(chain));
        assertEquals(4, chain.head());
        assertEquals(4, chain.count());
        assertEquals(2, chain.readableCount());
        assertEquals(112, chain.readableBytes());
        assertEquals(500, chain.writableBytes());
        assertEquals(1, chain.region(2));
        assertEquals(8, chain.offset(2));
        assertEquals(0, device.errors().total());
    }

    /** §2.7.5.2: at most 2^32 bytes per chain; needs a region over 4 GiB (a sparse file, never touched). */
    @Test
    void chainOverFourGigabytes() throws IOException {
        Path file = Files.createTempFile("panda-guest", ".bin");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw");
                Arena big = Arena.ofConfined()) {
            raf.setLength(1L << 32);
            MemorySegment huge = raf.getChannel().map(FileChannel.MapMode.READ_ONLY, 0, 1L << 32, big);
            long c = 0x1_0000_0000L;
            MultiRegionMemory m = new MultiRegionMemory(new long[] {A, c}, new MemorySegment[] {regionA, huge});
            DeviceQueue q =
                    DeviceQueue.at("huge", m, SIZE, guest.descAddr(), guest.availAddr(), guest.usedAddr(), 0, 0);
            guest.desc(0, c, 0xFFFF_FFFFL, DESC_F_NEXT, 1);
            guest.desc(1, c, 1, DESC_F_NEXT, 2);
            guest.desc(2, c, 1, 0, 0);
            guest.offer(0);
            Chain c4 = q.newChain();
            assertFalse(q.pop(c4));
            assertEquals(1, q.errors().count(RingErrors.Kind.TOO_MANY_BYTES));
            guest.desc(2, c, 0, 0, 0);
            guest.offer(0);
            assertTrue(q.pop(c4), "exactly 2^32 bytes is allowed");
            assertEquals(0x1_0000_0000L, c4.readableBytes());
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** Offers {@code head}, expects it refused as {@code kind}, returned with len 0, and the queue still up. */
    private void assertRejected(int head, RingErrors.Kind kind) {
        long before = device.errors().count(kind);
        int used = guest.usedIdx();
        guest.offer(head);
        assertFalse(device.pop(chain), kind + " accepted");
        assertEquals(before + 1, device.errors().count(kind), device.errors().toString());
        device.publishUsed();
        assertEquals((used + 1) & 0xFFFF, guest.usedIdx(), "bad chain returned");
        assertEquals(head, guest.usedId(used));
        assertEquals(0, guest.usedLen(used));
        assertGoodChainStillWorks();
    }

    private void assertGoodChainStillWorks() {
        guest.desc(5, A + BUF + 0x200, 64, DESC_F_NEXT, 7);
        guest.desc(7, B + 0x10, 128, DESC_F_WRITE, 0);
        guest.offer(5);
        assertTrue(device.pop(chain), device.errors().toString());
        assertEquals(5, chain.head());
        assertEquals(2, chain.count());
        assertEquals(0, chain.region(0));
        assertEquals(BUF + 0x200, chain.offset(0));
        assertEquals(1, chain.region(1));
        assertEquals(0x10, chain.offset(1));
        assertEquals(128, chain.writableBytes());
        device.pushUsed(5, 128);
        device.publishUsed();
        assertEquals(5, guest.usedId((guest.usedIdx() - 1) & 0xFFFF));
    }
}
