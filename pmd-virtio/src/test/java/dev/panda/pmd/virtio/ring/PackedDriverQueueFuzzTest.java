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
 * Fuzzes the driver side of a packed ring ({@link PackedDriverQueue}) with a device that writes
 * arbitrary used descriptors and event suppression words: whatever it writes, a harvest hands back
 * only tokens in flight, each once, with a length within the buffers the device may write; the
 * counts of free descriptors and buffers in flight stay consistent with what was added and taken
 * (exactly, until the device has written a bad id: then a chain it skipped may be given up);
 * and the queue keeps taking new buffers.
 *
 * <p>Input, little-endian, missing bytes read as zero: {@code u8 size} (1 + low 4 bits), {@code
 * u8 mode} (bit 0: VIRTIO_F_EVENT_IDX, bit 1: indirect tables of 2 when size > 1, bit 2:
 * VIRTIO_F_IN_ORDER), then rounds while bytes
 * are left: {@code u8 adds} (low 4 bits: buffers to offer; each {@code u8 kind}: 0 one readable,
 * 1 one writable, 2 a chain of 2 + kind/4 % 3, 3 an indirect pair), {@code u16 device flags},
 * {@code u16 off_wrap}, {@code u8 writes} (low 4 bits) each {@code u8 slot, u16 id, u32 len, u16
 * flags} written into the ring, then {@code u8 max} (harvest up to 1 + low 5 bits). Seeds:
 * {@code PackedDriverQueueFuzzTestInputs/harvest/}; {@code JAZZER_FUZZ=1} fuzzes.
 */
class PackedDriverQueueFuzzTest {

    private static final int MAX_SIZE = 16;
    private static final long ADDR = 0x10_0000;

    private static final java.util.logging.Logger RING_LOG =
            java.util.logging.Logger.getLogger(RingErrors.class.getName());

    private static Arena arena;
    private static MemorySegment mem;

    @BeforeAll
    static void map() {
        RING_LOG.setLevel(java.util.logging.Level.OFF);
        arena = Arena.ofShared();
        mem = arena.allocate(PackedDriverQueue.bytes(MAX_SIZE, 2), 4096);
    }

    @AfterAll
    static void unmap() {
        arena.close();
    }

    @FuzzTest(maxDuration = "10s")
    void harvest(byte[] input) {
        Input in = new Input(input);
        int size = 1 + (in.u8() & 15);
        int mode = in.u8();
        long features = VirtioFeatures.bit(VirtioFeatures.F_RING_PACKED)
                | VirtioFeatures.bit(VirtioFeatures.F_INDIRECT_DESC)
                | ((mode & 1) != 0 ? VirtioFeatures.bit(VirtioFeatures.F_EVENT_IDX) : 0)
                | ((mode & 4) != 0 ? VirtioFeatures.bit(VirtioFeatures.F_IN_ORDER) : 0);
        int indirectMax = (mode & 2) != 0 && size >= 2 ? 2 : 0; // a table holds at most size entries
        PackedDriverQueue q = PackedDriverQueue.create("fuzz", mem, ADDR, size, features, indirectMax);
        MemorySegment ring = mem.asSlice(0, PackedRing.descRingBytes(size));
        MemorySegment deviceEvent = mem.asSlice(PackedRing.blockDeviceEventOffset(size), PackedRing.EVENT_BYTES);
        // per token (a counter): writable bytes, and whether it is in flight
        long[] writable = new long[4096];
        boolean[] out = new boolean[4096];
        int next = 0;
        int inFlight = 0;
        long[] addrs = new long[4];
        int[] lens = new int[4];
        int[] tokens = new int[64];
        int[] got = new int[64];
        int rounds = 0;
        while (in.left() > 0 && rounds++ < 64 && next < writable.length - 16) {
            int adds = in.u8() & 15;
            for (int a = 0; a < adds; a++) {
                int kind = in.u8();
                int len = 64 + (kind >> 4);
                boolean ok;
                long w;
                switch (kind & 3) {
                    case 0 -> {
                        ok = q.addOut(ADDR + 0x1000, len, next);
                        w = 0;
                    }
                    case 1 -> {
                        ok = q.addIn(ADDR + 0x1000, len, next);
                        w = len;
                    }
                    case 2 -> {
                        int n = 2 + (kind >> 2) % 3;
                        for (int k = 0; k < n; k++) {
                            addrs[k] = ADDR + 0x1000 + 0x100L * k;
                            lens[k] = len;
                        }
                        ok = q.add(addrs, lens, 1, n - 1, next);
                        w = (long) (n - 1) * len;
                    }
                    default -> {
                        if (indirectMax == 0) {
                            continue;
                        }
                        addrs[0] = ADDR + 0x1000;
                        addrs[1] = ADDR + 0x2000;
                        lens[0] = 12;
                        lens[1] = len;
                        ok = q.addIndirect(addrs, lens, 1, 1, next);
                        w = len;
                    }
                }
                if (ok) {
                    writable[next] = w;
                    out[next] = true;
                    inFlight++;
                    next++;
                }
            }
            deviceEvent.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2, (short) in.u16());
            deviceEvent.set(ValueLayout.JAVA_SHORT_UNALIGNED, 0, (short) in.u16());
            q.publish(); // any device event words: a kick or not, never a failure
            int writes = in.u8() & 15;
            for (int k = 0; k < writes; k++) {
                long at = (in.u8() % size) * PackedRing.DESC_BYTES;
                int id = in.u16();
                long len = in.u32();
                int flags = in.u16();
                ring.set(ValueLayout.JAVA_SHORT_UNALIGNED, at + PackedRing.DESC_ID_OFFSET, (short) id);
                ring.set(ValueLayout.JAVA_INT_UNALIGNED, at + PackedRing.DESC_LEN_OFFSET, (int) len);
                ring.set(ValueLayout.JAVA_SHORT_UNALIGNED, at + PackedRing.DESC_FLAGS_OFFSET, (short) flags);
            }
            int max = 1 + (in.u8() & 31);
            int n = q.harvest(tokens, got, max);
            assertTrue(n >= 0 && n <= max, "harvest count " + n);
            for (int i = 0; i < n; i++) {
                int t = tokens[i];
                assertTrue(t >= 0 && t < next && out[t], "token " + t + " not in flight");
                assertTrue(
                        got[i] >= 0 && got[i] <= writable[t], "length " + got[i] + " past the writable " + writable[t]);
                out[t] = false;
                inFlight--;
            }
            if (q.errors().count(RingErrors.Kind.BAD_USED_ID) == 0) {
                assertEquals(inFlight, q.inFlight(), "buffers in flight");
            } else {
                // with IN_ORDER a chain the device skipped gives its id (its position) up when reused
                assertTrue(q.inFlight() <= inFlight, "buffers in flight " + q.inFlight() + " > " + inFlight);
            }
            assertTrue(q.freeDescriptors() >= 0 && q.freeDescriptors() <= size, "free " + q.freeDescriptors());
            assertTrue(q.pendingUsed() == 0 || q.pendingUsed() == 1);
            q.enableInterrupts();
            q.disableInterrupts();
        }
        assertEquals(
                q.errors().count(RingErrors.Kind.BAD_USED_ID) + q.errors().count(RingErrors.Kind.BAD_USED_LEN),
                q.errors().severe());
    }

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
    }
}
