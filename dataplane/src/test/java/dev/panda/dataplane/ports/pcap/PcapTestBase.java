package dev.panda.dataplane.ports.pcap;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pool and a temp directory per test; every port a test opens is closed after it, and then the
 * pool must be whole: every buffer back, none freed twice.
 */
abstract class PcapTestBase {

    @TempDir
    Path dir;

    PacketPool pool;
    private final List<Port> opened = new ArrayList<>();

    PoolConfig poolConfig() {
        return PoolConfig.defaults().withCount(1024).withHugepages(PoolConfig.Hugepages.OFF);
    }

    @BeforeEach
    void createPool() {
        pool = PacketPool.create(poolConfig());
    }

    @AfterEach
    void poolIsWhole() {
        try {
            for (Port p : opened) {
                p.close();
            }
            assertEquals(pool.capacity(), pool.available(), "buffers missing from the pool after close");
            assertEquals(0, pool.doubleFrees(), "buffers freed twice");
        } finally {
            pool.close();
        }
    }

    Port open(String device) {
        Port p = Ports.discover().open(device, PortContext.of(pool, opened.size()));
        opened.add(p);
        return p;
    }

    /** Receives everything the port has (bounded, for infinite ports), returning the packets' bytes. */
    List<byte[]> drain(Port port, int burstSize, int maxBursts) {
        PacketBurst burst = new PacketBurst(burstSize);
        List<byte[]> got = new ArrayList<>();
        for (int b = 0; b < maxBursts; b++) {
            int n = port.rxBurst(0, burst);
            assertEquals(n, burst.size);
            if (n == 0) {
                break;
            }
            for (int i = 0; i < n; i++) {
                got.add(bytesOf(burst.handles[i]));
            }
            pool.freeBulk(burst.handles, 0, n);
        }
        return got;
    }

    List<byte[]> drain(Port port) {
        return drain(port, PacketBurst.DEFAULT_BURST, 1_000_000);
    }

    byte[] bytesOf(int handle) {
        return pool.segment()
                .asSlice(pool.dataOffset(handle), pool.length(handle))
                .toArray(ValueLayout.JAVA_BYTE);
    }

    /** Allocates a buffer holding {@code data}. */
    int packet(byte[] data) {
        int h = pool.alloc();
        MemorySegment.copy(MemorySegment.ofArray(data), 0, pool.segment(), pool.dataOffset(h), data.length);
        pool.setLength(h, data.length);
        return h;
    }

    /** Sends {@code frames} through {@code port} in bursts of up to 32; all must be accepted. */
    void send(Port port, List<byte[]> frames) {
        PacketBurst burst = new PacketBurst(PacketBurst.DEFAULT_BURST);
        for (int i = 0; i < frames.size(); ) {
            int n = Math.min(burst.maxBurst(), frames.size() - i);
            for (int k = 0; k < n; k++) {
                burst.handles[k] = packet(frames.get(i + k));
            }
            assertEquals(n, port.txBurst(0, burst, n));
            i += n;
        }
    }

    String path(String name) {
        return dir.resolve(name).toString();
    }
}
