package dev.panda.dataplane.ports.pcap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.QueueCounters;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzzes the capture parser with arbitrary bytes as the whole file, without touching the file
 * system: {@link PcapReader} parses any {@link MemorySegment}. Each input is replayed once to the
 * end and once with infinite_rx for a few bursts, with a small pool so shortage is exercised too.
 *
 * <p>Without {@code JAZZER_FUZZ=1} only the seeds in {@code PcapReaderFuzzTestInputs/} run.
 */
class PcapReaderFuzzTest {

    private static final int POOL_COUNT = 48;
    private static PacketPool pool;

    @BeforeAll
    static void createPool() {
        pool = PacketPool.create(
                PoolConfig.defaults().withCount(POOL_COUNT).withDataRoom(256).withHugepages(PoolConfig.Hugepages.OFF));
    }

    @AfterAll
    static void closePool() {
        pool.close();
    }

    @FuzzTest(maxDuration = "20s")
    void rxBurst(byte[] input) {
        MemorySegment file = MemorySegment.ofArray(input);
        replay(file, false, 32, Integer.MAX_VALUE);
        replay(file, true, 1 + (input.length & 63), 6);
        assertEquals(POOL_COUNT, pool.available(), "pool not whole");
        assertEquals(0, pool.doubleFrees(), "buffers freed twice");
    }

    private static void replay(MemorySegment file, boolean infinite, int burstSize, int maxBursts) {
        QueueCounters counters = new QueueCounters();
        PcapReader reader;
        try {
            reader = new PcapReader(file, "fuzz", infinite, pool, counters);
        } catch (DeviceException expected) {
            return;
        }
        PacketBurst burst = new PacketBurst(burstSize);
        // Hold most of the pool during one burst, so rx meets a shortage.
        int[] held = new int[POOL_COUNT];
        long packets = 0;
        long bytes = 0;
        // Without infinite_rx every non-empty burst consumes at least one 16-byte record header.
        long bound = Math.min(maxBursts, file.byteSize() / PcapFormat.RECORD_HEADER_BYTES + 2);
        for (int b = 0; b < bound; b++) {
            int heldCount = b == 1 ? pool.allocBulk(held, 0, POOL_COUNT - 3) : 0;
            int n = reader.rxBurst(burst.handles, burst.maxBurst());
            assertTrue(n >= 0 && n <= burst.maxBurst(), "burst of " + n);
            for (int i = 0; i < n; i++) {
                int len = pool.length(burst.handles[i]);
                assertTrue(len >= 0 && len <= pool.maxPacketLength(), "packet of " + len + " bytes");
                bytes += len;
            }
            packets += n;
            pool.freeBulk(burst.handles, 0, n);
            pool.freeBulk(held, 0, heldCount);
            if (n == 0 && b != 1 && !infinite) {
                assertTrue(reader.exhausted(), "an empty burst with buffers to spare means the end");
                assertEquals(0, reader.rxBurst(burst.handles, burst.maxBurst()), "rx stays at the end");
                break;
            }
        }
        assertTrue(
                infinite || reader.exhausted() || bound == maxBursts,
                "replay did not reach the end in " + bound + " bursts");
        assertEquals(packets, counters.packets());
        assertEquals(bytes, counters.bytes());
    }
}
