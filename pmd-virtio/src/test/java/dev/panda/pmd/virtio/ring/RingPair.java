package dev.panda.pmd.virtio.ring;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Our driver and our device on one queue in one process: a single guest region (seen at
 * {@link #BASE}) holds the driver's rings and indirect tables, then {@code buffers} buffers of
 * {@code bufferSize} bytes each.
 */
final class RingPair implements AutoCloseable {

    static final long BASE = 0x7_4000_0000L;
    static final long EVENT_IDX = 1L << VirtioFeatures.F_EVENT_IDX;
    static final long INDIRECT = 1L << VirtioFeatures.F_INDIRECT_DESC;

    final Arena arena = Arena.ofShared();
    final MemorySegment region;
    final SingleRegionMemory memory;
    final DriverQueue driver;
    final DeviceQueue device;
    final long bufferOffset;
    final int bufferSize;

    RingPair(int size, long features, int indirectMax, int buffers, int bufferSize) {
        long ringBytes = SplitRing.align(DriverQueue.bytes(size, indirectMax), 64);
        this.bufferOffset = ringBytes;
        this.bufferSize = bufferSize;
        this.region = arena.allocate(ringBytes + (long) buffers * bufferSize, 4096);
        this.memory = new SingleRegionMemory(region, BASE);
        this.driver = DriverQueue.create("driver", region, BASE, size, features, indirectMax);
        this.device = DeviceQueue.at(
                "device", memory, size, driver.descAddr(), driver.availAddr(), driver.usedAddr(), features, 0);
    }

    long addr(int buffer) {
        return BASE + bufferOffset + (long) buffer * bufferSize;
    }

    long offset(int buffer) {
        return bufferOffset + (long) buffer * bufferSize;
    }

    MemorySegment buffer(int buffer) {
        return region.asSlice(offset(buffer), bufferSize);
    }

    @Override
    public void close() {
        arena.close();
    }
}
