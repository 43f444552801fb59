package dev.panda.pmd.virtio.ring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzzes the device side with a guest that writes arbitrary descriptor tables, avail rings and
 * indirect tables: nothing may escape, every segment the device reports must lie inside guest
 * memory (and copying through it must work), every chain must respect the queue bounds, and every
 * used entry must carry a valid id.
 *
 * <p>Guest memory is two 1 KiB regions at {@link #R0} and {@link #R1} with a gap between; the
 * 8-entry queue's rings sit at the start of region 0. Input, little-endian, missing bytes read as
 * zero: {@code u8 mode} (bit 0: VIRTIO_F_EVENT_IDX), {@code u16 lastAvail}, {@code u16 availIdx},
 * {@code u8 delta} (added to avail idx for a second round), {@code u16 used_event},
 * {@code u16 ring[8]}, 8 descriptors, {@code u8 n} and {@code n & 15} descriptors written at the
 * start of region 1 (indirect tables), then raw bytes for the rest of region 1. A descriptor is
 * {@code u8 sel, u64 addr, u32 len, u16 flags, u16 next}: {@code sel & 3} = 0 or 1 makes addr an
 * offset into region 0 or 1 (low 10 bits), otherwise raw; without {@code sel & 4} len keeps its
 * low 9 bits, without {@code sel & 8} flags its low 3, without {@code sel & 16} next its low 4.
 * Seeds: {@code DeviceQueueFuzzTestInputs/walk/}; {@code JAZZER_FUZZ=1} fuzzes.
 */
class DeviceQueueFuzzTest {

    private static final int SIZE = 8;
    private static final long R0 = 0x1000;
    private static final long R1 = 0x3000;
    private static final long REGION = 1024;
    private static final int MAX_POPS_PER_ROUND = 4 * SIZE;

    /** Each input builds a new queue, whose first problem of each kind would be logged: keep quiet. */
    private static final java.util.logging.Logger RING_LOG =
            java.util.logging.Logger.getLogger(RingErrors.class.getName());

    private static Arena arena;
    private static MemorySegment region0;
    private static MemorySegment region1;
    private static MemorySegment scratch;
    private static MultiRegionMemory memory;

    @BeforeAll
    static void map() {
        RING_LOG.setLevel(java.util.logging.Level.OFF);
        arena = Arena.ofShared();
        region0 = arena.allocate(REGION, 4096);
        region1 = arena.allocate(REGION, 4096);
        scratch = arena.allocate(4 * REGION, 16);
        memory = new MultiRegionMemory(new long[] {R0, R1}, new MemorySegment[] {region0, region1});
    }

    @AfterAll
    static void unmap() {
        arena.close();
    }

    @FuzzTest(maxDuration = "10s")
    void walk(byte[] input) {
        Input in = new Input(input);
        region0.fill((byte) 0);
        region1.fill((byte) 0);
        RawDriver guest = new RawDriver(region0, R0, 0, SIZE);

        int mode = in.u8();
        int lastAvail = in.u16();
        int availIdx = in.u16();
        int delta = in.u8();
        SplitRing.U16_AT.set(region0, guest.availOff + SplitRing.usedEventOffset(SIZE), (short) in.u16());
        for (int i = 0; i < SIZE; i++) {
            SplitRing.U16_AT.set(region0, guest.availOff + 4 + 2L * i, (short) in.u16());
        }
        for (int i = 0; i < SIZE; i++) {
            descriptor(in, region0, guest.descOff + 16L * i);
        }
        int tableDescs = in.u8() & 15;
        for (int i = 0; i < tableDescs; i++) {
            descriptor(in, region1, 16L * i);
        }
        for (long off = 16L * tableDescs; off < REGION && in.left() > 0; off++) {
            region1.set(ValueLayout.JAVA_BYTE, off, (byte) in.u8());
        }
        guest.setAvailIdx(availIdx);

        long features =
                (1L << VirtioFeatures.F_INDIRECT_DESC) | ((mode & 1) != 0 ? 1L << VirtioFeatures.F_EVENT_IDX : 0);
        DeviceQueue q = DeviceQueue.at(
                "fuzz", memory, SIZE, guest.descAddr(), guest.availAddr(), guest.usedAddr(), features, lastAvail);
        Chain c = q.newChain();
        int usedStart = q.usedIdx();
        int pushed = 0;
        boolean ringsOverwritten = false;
        for (int round = 0; round < 2; round++) {
            for (int pops = 0; pops < MAX_POPS_PER_ROUND && q.pop(c); pops++) {
                checkChain(c);
                ringsOverwritten |= writesIntoRings(c, guest.usedOff + SplitRing.usedRingBytes(SIZE));
                long read = c.copyFromReadable(0, scratch, 0, scratch.byteSize());
                assertEquals(Math.min(c.readableBytes(), scratch.byteSize()), read);
                long written = c.copyToWritable(0, scratch, 0, Math.min(c.writableBytes(), scratch.byteSize()));
                q.pushUsed(c.head(), written);
                pushed++;
            }
            q.publishUsed();
            q.enableKicks();
            q.disableKicks();
            guest.setAvailIdx(guest.availIdx() + delta);
        }
        int returned = (q.usedIdx() - usedStart) & 0xFFFF;
        assertTrue(returned >= pushed, "every good chain returned");
        // Bad chains are returned too, but only with ids that are descriptor indices (unless the
        // guest had the device copy over its own used ring, which it may).
        for (int k = 0; !ringsOverwritten && k < Math.min(returned, SIZE); k++) {
            int id = guest.usedId((q.usedIdx() - 1 - k) & 0xFFFF);
            assertTrue(id >= 0 && id < SIZE, "used id " + id);
        }
    }

    private static void checkChain(Chain c) {
        assertTrue(c.head() >= 0 && c.head() < SIZE, "head");
        assertTrue(c.count() >= 0 && c.count() <= SIZE, "chain of " + c.count());
        assertTrue(c.readableCount() <= c.count());
        long readable = 0;
        long writable = 0;
        for (int i = 0; i < c.count(); i++) {
            int r = c.region(i);
            assertTrue(r == 0 || r == 1, "region " + r);
            long off = c.offset(i);
            long len = c.length(i);
            assertTrue(len > 0 && off >= 0 && off + len <= memory.segment(r).byteSize(), c::toString);
            assertEquals(r, memory.find(memory.base(r) + off, len), "the guest range maps back");
            assertEquals(i >= c.readableCount(), c.writable(i));
            if (c.writable(i)) {
                writable += len;
            } else {
                readable += len;
            }
        }
        assertEquals(readable, c.readableBytes());
        assertEquals(writable, c.writableBytes());
        assertTrue(readable + writable <= 1L << 32);
    }

    private static boolean writesIntoRings(Chain c, long ringsEnd) {
        for (int i = c.readableCount(); i < c.count(); i++) {
            if (c.region(i) == 0 && c.offset(i) < ringsEnd) {
                return true;
            }
        }
        return false;
    }

    private static void descriptor(Input in, MemorySegment seg, long at) {
        int sel = in.u8();
        long raw = in.u64();
        long addr = switch (sel & 3) {
            case 0 -> R0 + (raw & (REGION - 1));
            case 1 -> R1 + (raw & (REGION - 1));
            default -> raw;
        };
        long len = in.u32();
        int flags = in.u16();
        int next = in.u16();
        SplitRing.DESC_ADDR.set(seg, at, addr);
        SplitRing.DESC_LEN.set(seg, at, (int) ((sel & 4) != 0 ? len : len & 0x1FF));
        SplitRing.DESC_FLAGS.set(seg, at, (short) ((sel & 8) != 0 ? flags : flags & 7));
        SplitRing.DESC_NEXT.set(seg, at, (short) ((sel & 16) != 0 ? next : next & 15));
    }

    /** Little-endian reader that yields zeros past the end. */
    private static final class Input {
        private final byte[] data;
        private int pos;

        Input(byte[] data) {
            this.data = data;
        }

        int left() {
            return data.length - pos;
        }

        int u8() {
            return pos < data.length ? data[pos++] & 0xFF : 0;
        }

        int u16() {
            return u8() | u8() << 8;
        }

        long u32() {
            return u16() | (long) u16() << 16;
        }

        long u64() {
            return u32() | u32() << 32;
        }
    }
}
