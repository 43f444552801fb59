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
 * Fuzzes {@link PackedDeviceQueue}, the packed-ring walker (virtio 1.2 §2.8), with a driver that
 * writes arbitrary descriptor rings, event areas and indirect tables: nothing may escape, every
 * segment the device reports lies inside guest memory (and copying through it works), every
 * chain respects the queue bounds, good chains carry buffer ids below Queue Size, and the device
 * never reads more than a lap past its published used descriptors.
 *
 * <p>Guest memory is two 1 KiB regions at {@link #R0} and {@link #R1} with a gap between; the
 * 7-entry ring (not a power of two) and its event areas sit at the start of region 0. Input,
 * little-endian, missing bytes read as zero: {@code u8 mode} (bit 0 VIRTIO_F_EVENT_IDX, bit 1 a
 * queue the device only reads, bit 2 VIRTIO_F_IN_ORDER: with bit 1, one used descriptor per burst), {@code u16 base} (SET_VRING_BASE's low half), {@code u16
 * off_wrap, u16 flags} (the driver event area), 7 ring descriptors, {@code u8 n} and {@code n &
 * 15} descriptors at the start of region 1 (indirect tables), 7 more ring descriptors written
 * between the two rounds (the driver's next lap), then raw bytes for the rest of region 1. A
 * descriptor is {@code u8 sel, u64 addr, u32 len, u16 id, u16 flags}: {@code sel & 3} = 0 or 1
 * makes addr an offset into region 0 or 1 (low 10 bits), otherwise raw; without {@code sel & 4}
 * len keeps its low 9 bits, without {@code sel & 8} id its low 3 bits, without {@code sel & 16}
 * flags keep NEXT/WRITE/INDIRECT and take AVAIL/USED from {@code sel & 32}.
 * Seeds: {@code PackedDeviceQueueFuzzTestInputs/walk/}; {@code JAZZER_FUZZ=1} fuzzes.
 */
class PackedDeviceQueueFuzzTest {

    private static final int SIZE = 7;
    private static final long R0 = 0x1000;
    private static final long R1 = 0x3000;
    private static final long REGION = 1024;
    private static final int MAX_POPS_PER_ROUND = 4 * SIZE;

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
        PackedDriver guest = new PackedDriver(region0, R0, 0, SIZE);

        int mode = in.u8();
        int base = in.u16();
        guest.driverEvent(in.u16() & 0xFFFF, 0);
        PackedRing.EVENT_OFF_WRAP.set(region0, guest.driverEventOff, (short) in.u16());
        for (int i = 0; i < SIZE; i++) {
            descriptor(in, region0, 16L * i);
        }
        int tableDescs = in.u8() & 15;
        for (int i = 0; i < tableDescs; i++) {
            descriptor(in, region1, 16L * i);
        }
        long features = (1L << VirtioFeatures.F_INDIRECT_DESC)
                | ((mode & 1) != 0 ? 1L << VirtioFeatures.F_EVENT_IDX : 0)
                | ((mode & 4) != 0 ? 1L << VirtioFeatures.F_IN_ORDER : 0);
        PackedDeviceQueue q;
        try {
            q = PackedDeviceQueue.at(
                    "fuzz",
                    memory,
                    SIZE,
                    guest.ringAddr(),
                    guest.driverEventAddr(),
                    guest.deviceEventAddr(),
                    features,
                    base);
        } catch (IllegalArgumentException e) {
            assertTrue(PackedRing.offset(base) >= SIZE, "only a base outside the ring is refused: " + e);
            return;
        }
        if ((mode & 2) != 0) {
            q.deviceReadsOnly();
        }
        Chain c = q.newChain();
        int popped = 0;
        for (int round = 0; round < 2; round++) {
            int slots = 0;
            for (int pops = 0; pops < MAX_POPS_PER_ROUND; pops++) {
                int returnedBefore = q.returnedChains();
                if (!q.pop(c)) {
                    break;
                }
                checkChain(c);
                slots += c.ringSlots();
                long read = c.copyFromReadable(0, scratch, 0, scratch.byteSize());
                assertEquals(Math.min(c.readableBytes(), scratch.byteSize()), read);
                long written = c.copyToWritable(0, scratch, 0, Math.min(c.writableBytes(), scratch.byteSize()));
                q.pushUsed(c, (mode & 2) != 0 ? 0 : written);
                popped++;
                assertTrue(q.returnedChains() >= returnedBefore);
            }
            assertTrue(slots <= SIZE, "the device read " + slots + " slots in one round");
            q.publishUsed();
            q.enableKicks();
            q.disableKicks();
            q.available(SIZE);
            if (round == 0) {
                for (int i = 0; i < SIZE; i++) {
                    descriptor(in, region0, 16L * i);
                }
                for (long off = 16L * tableDescs; off < REGION && in.left() > 0; off++) {
                    region1.set(ValueLayout.JAVA_BYTE, off, (byte) in.u8());
                }
            }
        }
        assertTrue(popped <= 2 * MAX_POPS_PER_ROUND);
        int b = q.vringBase();
        assertTrue(PackedRing.offset(b) < SIZE && PackedRing.offset(b >>> 16) < SIZE, "base " + b);
    }

    private static void checkChain(Chain c) {
        assertTrue(c.head() >= 0 && c.head() < SIZE, "buffer id " + c.head());
        assertTrue(c.ringSlots() >= 1 && c.ringSlots() <= SIZE, "slots " + c.ringSlots());
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

    private static void descriptor(Input in, MemorySegment seg, long at) {
        int sel = in.u8();
        long raw = in.u64();
        long addr = switch (sel & 3) {
            case 0 -> R0 + (raw & (REGION - 1));
            case 1 -> R1 + (raw & (REGION - 1));
            default -> raw;
        };
        long len = in.u32();
        int id = in.u16();
        int flags = in.u16();
        if ((sel & 16) == 0) {
            flags = (flags & 7) | PackedRing.availFlags((sel & 32) == 0);
        }
        PackedRing.DESC_ADDR.set(seg, at, addr);
        PackedRing.DESC_LEN.set(seg, at, (int) ((sel & 4) != 0 ? len : len & 0x1FF));
        PackedRing.DESC_ID.set(seg, at, (short) ((sel & 8) != 0 ? id : id & 7));
        PackedRing.DESC_FLAGS.set(seg, at, (short) flags);
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
