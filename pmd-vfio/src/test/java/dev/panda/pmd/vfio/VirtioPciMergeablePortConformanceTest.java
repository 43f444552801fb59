package dev.panda.pmd.vfio;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_EVENT_IDX;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_INDIRECT_DESC;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_MRG_RXBUF;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.bit;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortConformanceTest;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The Port suite on net_virtio_pci with MRG_RXBUF, INDIRECT_DESC and EVENT_IDX negotiated (the
 * shared driver's paths; EVENT_IDX as QEMU's virtio-net-pci offers it).
 */
class VirtioPciMergeablePortConformanceTest extends PortConformanceTest {

    @Override
    protected Fixture open(PacketPool pool) {
        SoftVirtioNet dev = new SoftVirtioNet(
                "net_virtio_pci10", pool, 0, 256, bit(F_MRG_RXBUF) | bit(F_INDIRECT_DESC) | bit(F_EVENT_IDX));
        MemorySegment frame = Arena.ofAuto().allocate(64);
        Port port = new LoopingPort(dev);
        return Fixture.loopback(port, n -> {
            int fed = 0;
            while (fed < n && dev.deliverSplit(frame, 0, 64, 40)) {
                fed++;
            }
            return fed;
        });
    }
}
