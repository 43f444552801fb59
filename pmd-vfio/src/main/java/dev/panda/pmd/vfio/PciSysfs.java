package dev.panda.pmd.vfio;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * What sysfs says about PCI functions (Documentation/ABI/testing/sysfs-bus-pci): ids, the
 * bound driver, the IOMMU group, and the bind/unbind/driver_override files devbind writes.
 * The root is a parameter so tests can build a fake tree.
 */
public final class PciSysfs {

    /** One function as {@code devbind --status} lists it. */
    public record Function(
            PciAddress address, int vendor, int device, int pciClass, String driver, Optional<Integer> iommuGroup) {
        public boolean isNetwork() {
            return (pciClass >> 16) == 0x02;
        }
    }

    private final Path root;

    public PciSysfs(Path root) {
        this.root = root;
    }

    public static PciSysfs system() {
        return new PciSysfs(Path.of("/sys"));
    }

    public Path root() {
        return root;
    }

    Path devices() {
        return root.resolve("bus/pci/devices");
    }

    Path deviceDir(PciAddress a) {
        return devices().resolve(a.toString());
    }

    public boolean exists(PciAddress a) {
        return Files.isDirectory(deviceDir(a));
    }

    public int vendor(PciAddress a) {
        return hex(deviceDir(a).resolve("vendor"));
    }

    public int device(PciAddress a) {
        return hex(deviceDir(a).resolve("device"));
    }

    /** The bound driver's name, or empty if none. */
    public String driver(PciAddress a) {
        Path link = deviceDir(a).resolve("driver");
        try {
            return Files.isSymbolicLink(link)
                    ? Files.readSymbolicLink(link).getFileName().toString()
                    : "";
        } catch (IOException e) {
            return "";
        }
    }

    /** The IOMMU group number, from the {@code iommu_group} link; empty without an IOMMU. */
    public Optional<Integer> iommuGroup(PciAddress a) {
        Path link = deviceDir(a).resolve("iommu_group");
        try {
            if (!Files.isSymbolicLink(link)) {
                return Optional.empty();
            }
            return Optional.of(
                    Integer.parseInt(Files.readSymbolicLink(link).getFileName().toString()));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** Every PCI function, sorted by address. */
    public List<Function> functions() {
        List<Function> out = new ArrayList<>();
        if (!Files.isDirectory(devices())) {
            return out;
        }
        try (Stream<Path> s = Files.list(devices())) {
            for (Path p : s.sorted().toList()) {
                PciAddress a;
                try {
                    a = PciAddress.parse(p.getFileName().toString());
                } catch (IllegalArgumentException e) {
                    continue;
                }
                out.add(new Function(a, vendor(a), device(a), hex(p.resolve("class")), driver(a), iommuGroup(a)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** Whether the kernel driver {@code name} is loaded (has a directory under bus/pci/drivers). */
    public boolean driverLoaded(String name) {
        return Files.isDirectory(root.resolve("bus/pci/drivers").resolve(name));
    }

    /** Unbinds {@code a} from its driver, if any. */
    public void unbind(PciAddress a) {
        String d = driver(a);
        if (!d.isEmpty()) {
            write(deviceDir(a).resolve("driver/unbind"), a.toString());
        }
    }

    /**
     * Binds {@code a} to {@code driver} the way the kernel documents for vfio-pci: unbind,
     * {@code driver_override}, {@code drivers_probe}; then clears the override so a later
     * unbind leaves the device free for any driver again.
     */
    public void bind(PciAddress a, String driver) {
        unbind(a);
        write(deviceDir(a).resolve("driver_override"), driver);
        write(root.resolve("bus/pci/drivers_probe"), a.toString());
        write(deviceDir(a).resolve("driver_override"), "\n");
        String now = driver(a);
        if (!now.equals(driver)) {
            throw new IllegalStateException(a + " is bound to '" + now + "' after probing, not " + driver
                    + (driverLoaded(driver) ? "" : " (is the " + driver + " module loaded? modprobe " + driver + ")"));
        }
    }

    private static void write(Path file, String value) {
        try {
            Files.writeString(file, value);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot write '" + value.strip() + "' to " + file + ": " + e.getMessage(), e);
        }
    }

    private static int hex(Path file) {
        try {
            String s = Files.readString(file).trim();
            return (int) Long.parseLong(s.startsWith("0x") ? s.substring(2) : s, 16);
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }
}
