package dev.panda.dataplane.fwd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzzes what {@code --latency} reads from received frames (a peer writes them): any bytes as a
 * burst of frames, each optionally with its stamp's time set to a fuzzed distance before now (so
 * recorded, clipped and "from the future" stamps all occur). Nothing may throw, every frame is
 * recorded at most once, and the histogram stays within its range.
 *
 * <p>Input: byte 0 gives the frame count (1..8); each frame is a 2-byte length (clipped to what is
 * left and to 256), a flag byte (bit 0: write {@code now - delta} into the stamp's time, delta the
 * next 4 bytes, signed) and the frame bytes. Without {@code JAZZER_FUZZ=1} only the seeds in
 * {@code LatencyRecorderFuzzTestInputs/} run.
 */
class LatencyRecorderFuzzTest {

    private static PacketPool pool;

    @BeforeAll
    static void createPool() {
        pool = PacketPool.create(
                PoolConfig.defaults().withCount(1024).withDataRoom(256).withHugepages(PoolConfig.Hugepages.OFF));
    }

    @AfterAll
    static void closePool() {
        pool.close();
    }

    @FuzzTest(maxDuration = "10s")
    void record(byte[] input) {
        if (input.length == 0) {
            return;
        }
        int frames = 1 + (input[0] & 7);
        PacketBurst burst = new PacketBurst(8);
        int n = pool.allocBulk(burst.handles, 0, frames);
        MemorySegment mem = pool.segment();
        int at = 1;
        for (int i = 0; i < n; i++) {
            int h = burst.handles[i];
            long f = pool.dataOffset(h);
            int len = 0;
            boolean setTime = false;
            int delta = 0;
            if (at + 3 <= input.length) {
                len = ((input[at] & 0xff) << 8) | (input[at + 1] & 0xff);
                setTime = (input[at + 2] & 1) != 0;
                at += 3;
            }
            if (setTime && at + 4 <= input.length) {
                delta = MemorySegment.ofArray(input).get(ValueLayout.JAVA_INT_UNALIGNED, at);
                at += 4;
            }
            len = Math.min(Math.min(len, input.length - at), 256);
            MemorySegment.copy(input, at, mem, ValueLayout.JAVA_BYTE, f, len);
            at += len;
            if (setTime && len >= Packets.PAYLOAD + PayloadStamp.SIZE) {
                long t = System.nanoTime() - delta;
                Packets.u32(mem, f + Packets.PAYLOAD + 4, (int) (t >>> 32));
                Packets.u32(mem, f + Packets.PAYLOAD + 8, (int) t);
            }
            pool.setLength(h, len);
        }
        LatencyRecorder r = new LatencyRecorder();
        r.record(pool, burst, n);
        Histogram h = LatencyRecorder.newHistogram();
        r.addTo(h);
        assertTrue(h.getTotalCount() + r.negative() <= n, "more latencies than frames");
        assertTrue(
                h.getTotalCount() == 0 || h.getMaxValue() <= h.highestEquivalentValue(LatencyRecorder.HIGHEST_NANOS));
        assertTrue(r.clipped() <= h.getTotalCount());
        pool.freeBulk(burst.handles, 0, n);
        assertEquals(1024, pool.available(), "pool not whole");
    }
}
