package dev.panda.pmd.vfio;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A sysfs tree in a temporary directory: PCI functions with ids, class, driver and IOMMU group links. */
final class FakeSysfs {

    final Path root;

    FakeSysfs(Path root) throws IOException {
        this.root = root;
        Files.createDirectories(root.resolve("bus/pci/devices"));
        Files.createDirectories(root.resolve("bus/pci/drivers"));
        Files.createDirectories(root.resolve("kernel/iommu_groups"));
        Files.writeString(root.resolve("bus/pci/drivers_probe"), "");
    }

    PciSysfs sysfs() {
        return new PciSysfs(root);
    }

    Path function(String addr, int vendor, int device, int pciClass, String driver, Integer group) throws IOException {
        Path d = Files.createDirectories(root.resolve("bus/pci/devices").resolve(addr));
        Files.writeString(d.resolve("vendor"), String.format("0x%04x%n", vendor));
        Files.writeString(d.resolve("device"), String.format("0x%04x%n", device));
        Files.writeString(d.resolve("class"), String.format("0x%06x%n", pciClass));
        Files.writeString(d.resolve("driver_override"), "(null)\n");
        if (driver != null) {
            Path drv = Files.createDirectories(root.resolve("bus/pci/drivers").resolve(driver));
            Files.writeString(drv.resolve("unbind"), "");
            Files.createSymbolicLink(d.resolve("driver"), drv);
        }
        if (group != null) {
            Path g = Files.createDirectories(root.resolve("kernel/iommu_groups").resolve(group.toString()));
            Files.createSymbolicLink(d.resolve("iommu_group"), g);
        }
        return d;
    }
}
