package dev.panda.dataplane.port;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * DPDK's {@code -a DDDD:BB:DD.F[,key=value...]}: a PCI function named by address, matched to the
 * driver that probes its vendor/device id (read from sysfs, as DPDK's PCI bus scan does) and
 * turned into that driver's device string {@code DRIVER<port>,dev=DDDD:BB:DD.F[,key=value...]}.
 */
public final class PciAllow {

    private static final String ADDRESS = "([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]";

    private PciAllow() {}

    /** Whether {@code arg} starts with a PCI address rather than a vdev name. */
    public static boolean isPci(String arg) {
        return arg != null && arg.split(",", 2)[0].trim().matches(ADDRESS);
    }

    /** The device string for {@code arg} as port {@code index}, with the driver found in {@code drivers}. */
    public static String resolve(String arg, int index, List<PortDriver> drivers, Path sysfs) {
        String[] parts = arg.split(",", 2);
        String addr = parts[0].trim().toLowerCase(java.util.Locale.ROOT);
        if (addr.length() == 7) {
            addr = "0000:" + addr;
        }
        Path dir = sysfs.resolve("bus/pci/devices").resolve(addr);
        if (!Files.isDirectory(dir)) {
            throw new DeviceException("no PCI device " + addr + " (" + dir + " does not exist)");
        }
        int vendor = hex(dir.resolve("vendor"));
        int device = hex(dir.resolve("device"));
        for (PortDriver d : drivers) {
            if (d.probesPci(vendor, device)) {
                return d.name() + index + ",dev=" + addr + (parts.length > 1 ? "," + parts[1] : "");
            }
        }
        throw new DeviceException(String.format(
                "no driver for PCI device %s (%04x:%04x): panda drives virtio-net " + "(1af4:1041) with net_virtio_pci",
                addr, vendor, device));
    }

    private static int hex(Path file) {
        try {
            String s = Files.readString(file).trim();
            return Integer.parseInt(s.startsWith("0x") ? s.substring(2) : s, 16);
        } catch (IOException | NumberFormatException e) {
            throw new DeviceException("cannot read the PCI id in " + file + ": " + e.getMessage());
        }
    }
}
