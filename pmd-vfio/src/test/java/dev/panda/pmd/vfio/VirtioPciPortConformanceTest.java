package dev.panda.pmd.vfio;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortConformanceTest;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The dataplane's Port suite on net_virtio_pci's data path, with the software device in ordinary
 * memory looping transmitted frames back (the PCI device itself runs the suite's cases in the
 * QEMU guest proof).
 */
class VirtioPciPortConformanceTest extends PortConformanceTest {

    @Override
    protected Fixture open(PacketPool pool) {
        SoftVirtioNet dev = new SoftVirtioNet("net_virtio_pci9", pool, 0, 256);
        MemorySegment frame = Arena.ofAuto().allocate(64);
        Port port = new LoopingPort(dev);
        return Fixture.loopback(port, n -> {
            int fed = 0;
            while (fed < n && dev.deliver(frame, 0, 64)) {
                fed++;
            }
            return fed;
        });
    }
}
