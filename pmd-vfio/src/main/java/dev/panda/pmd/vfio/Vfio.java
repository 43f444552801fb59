package dev.panda.pmd.vfio;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether VFIO can be used here, probed once (as Netty's {@code Epoll.isAvailable()}): each cause
 * is one line saying what is missing and what to do.
 */
public final class Vfio {

    private static final String CAUSE = probe(PciSysfs.system(), Path.of("/dev/vfio/vfio"));

    private Vfio() {}

    public static boolean isAvailable() {
        return CAUSE == null;
    }

    /** Why VFIO cannot be used on this machine, or null if it can. */
    public static String unavailabilityCause() {
        return CAUSE;
    }

    static String probe(PciSysfs sysfs, Path containerNode) {
        if (!Files.exists(containerNode)) {
            return "no " + containerNode + ": load VFIO (modprobe vfio-pci) with an IOMMU enabled "
                    + "(intel_iommu=on or amd_iommu=on on the kernel command line; -device intel-iommu in QEMU)";
        }
        Path groups = sysfs.root().resolve("kernel/iommu_groups");
        try (var s = Files.list(groups)) {
            if (s.findAny().isEmpty()) {
                return "no IOMMU groups in " + groups + ": enable the IOMMU (intel_iommu=on or amd_iommu=on; "
                        + "-device intel-iommu in QEMU)";
            }
        } catch (java.io.IOException e) {
            return "no IOMMU groups (" + groups + " unreadable): enable the IOMMU (intel_iommu=on or amd_iommu=on)";
        }
        if (!Files.isReadable(containerNode) || !Files.isWritable(containerNode)) {
            return containerNode + " is not read-writable by this user: run as root";
        }
        return null;
    }

    /** Why {@code address} cannot be opened through VFIO, or null if it can. */
    public static String unavailabilityCause(PciSysfs sysfs, PciAddress address) {
        String general = sysfs.root().equals(Path.of("/sys")) ? CAUSE : null;
        if (general != null) {
            return general;
        }
        if (!sysfs.exists(address)) {
            return "no PCI device " + address + " (see panda devbind --status)";
        }
        var group = sysfs.iommuGroup(address);
        if (group.isEmpty()) {
            return address + " has no IOMMU group: enable the IOMMU (intel_iommu=on; -device intel-iommu in QEMU)";
        }
        String driver = sysfs.driver(address);
        if (!driver.equals("vfio-pci")) {
            return address + (driver.isEmpty() ? " is bound to no driver" : " is bound to " + driver)
                    + ", not vfio-pci: run panda devbind --bind=vfio-pci " + address;
        }
        Path node = Path.of("/dev/vfio/" + group.get());
        if (sysfs.root().equals(Path.of("/sys")) && !Files.exists(node)) {
            return "no " + node + " for " + address + "'s IOMMU group " + group.get() + ": is vfio-pci loaded?";
        }
        return null;
    }
}
