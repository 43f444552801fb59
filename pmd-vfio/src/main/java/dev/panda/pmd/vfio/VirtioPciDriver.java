package dev.panda.pmd.vfio;

import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.DeviceSpec;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortDriver;
import dev.panda.jextract.NativeException;
import java.util.Set;

/**
 * {@code net_virtio_pciN,dev=DDDD:BB:DD.F[,queue_size=256][,intr=0]}: a virtio-net PCI function
 * bound to vfio-pci, driven from userspace (what DPDK's {@code -a 0000:00:05.0} does with its
 * virtio PMD). {@code intr=1} routes the receive queue's MSI-X vector into an eventfd for
 * {@link VirtioPciPort#awaitRx}; polling is the default.
 */
public final class VirtioPciDriver implements PortDriver {

    static final String NAME = "net_virtio_pci";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "virtio-net PCI device through VFIO, dev=DDDD:BB:DD.F (bind it with panda devbind)";
    }

    /** Modern and transitional virtio-net ids (virtio 1.2 §4.1.2), as DPDK's virtio PMD probes them. */
    @Override
    public boolean probesPci(int vendor, int device) {
        return vendor == VirtioPciCaps.VENDOR
                && (device == VirtioPciCaps.NET_MODERN || device == VirtioPciCaps.NET_TRANSITIONAL);
    }

    @Override
    public Set<String> keys() {
        return Set.of("dev", "queue_size", "intr");
    }

    @Override
    public Port open(DeviceSpec spec, PortContext ctx) {
        String dev = spec.get("dev");
        if (dev == null || dev.isEmpty()) {
            throw new DeviceException("device '" + spec.name() + "' needs dev=DDDD:BB:DD.F (a PCI address)");
        }
        PciAddress address;
        try {
            address = PciAddress.parse(dev);
        } catch (IllegalArgumentException e) {
            throw new DeviceException("device '" + spec.name() + "': " + e.getMessage());
        }
        int size = spec.getInt("queue_size", 256, 2, 32768);
        if (Integer.bitCount(size) != 1) {
            throw new DeviceException("device '" + spec.name() + "': queue_size " + size
                    + " is not a power of two (2..32768, virtio 1.2 §2.7)");
        }
        if (ctx.rxQueues() > 1 || ctx.txQueues() > 1) {
            throw new DeviceException("device '" + spec.name() + "': net_virtio_pci has one queue pair "
                    + "(VIRTIO_NET_F_MQ not implemented); use --rxq=1 --txq=1");
        }
        boolean intr = spec.getBool("intr", false);
        try {
            return VirtioPciNet.open(spec.name(), NAME, ctx.pool(), ctx.portId(), address, size, intr);
        } catch (VfioException | NativeException | IllegalArgumentException e) {
            throw new DeviceException(
                    "device '" + spec.name() + "': cannot open " + address + ": " + e.getMessage(), e);
        }
    }
}
