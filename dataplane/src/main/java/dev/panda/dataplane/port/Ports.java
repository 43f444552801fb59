package dev.panda.dataplane.port;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;

/** Finds drivers through {@link ServiceLoader} and opens device strings with them. */
public final class Ports {

    private final List<PortDriver> drivers;

    private Ports(List<PortDriver> drivers) {
        this.drivers = drivers;
    }

    /** The drivers visible to the class loader that loaded panda. */
    public static Ports discover() {
        List<PortDriver> list = new ArrayList<>();
        ServiceLoader.load(PortDriver.class, Ports.class.getClassLoader()).forEach(list::add);
        // Longest prefix first, so net_virtio_user wins over a hypothetical net_virtio.
        list.sort(Comparator.comparingInt((PortDriver d) -> d.name().length())
                .reversed()
                .thenComparing(PortDriver::name));
        return new Ports(List.copyOf(list));
    }

    public List<PortDriver> drivers() {
        return drivers.stream().sorted(Comparator.comparing(PortDriver::name)).toList();
    }

    /** The driver whose name prefixes the device name. */
    public PortDriver driverFor(DeviceSpec spec) {
        for (PortDriver d : drivers) {
            String n = spec.name();
            if (n.startsWith(d.name()) && isIndexSuffix(n.substring(d.name().length()))) {
                return d;
            }
        }
        throw new DeviceException("no driver for device '" + spec.name() + "': known drivers are "
                + String.join(", ", drivers().stream().map(PortDriver::name).toList())
                + " (name a device as DRIVER<N>, e.g. net_ring0)");
    }

    private static boolean isIndexSuffix(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (!Character.isDigit(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /** Parses and opens one device string, or a PCI address ({@code -a}) through the driver probing its ids. */
    public Port open(String deviceString, PortContext context) {
        if (PciAllow.isPci(deviceString)) {
            deviceString = PciAllow.resolve(deviceString, context.portId(), drivers, java.nio.file.Path.of("/sys"));
        }
        DeviceSpec spec = DeviceSpec.parse(deviceString);
        PortDriver driver = driverFor(spec);
        spec.requireKnownKeys(driver.name(), driver.keys());
        return driver.open(spec, context);
    }
}
