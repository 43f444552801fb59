package dev.panda.dataplane.port;

import java.util.Set;

/**
 * A driver, found through {@link java.util.ServiceLoader} by the prefix of a device string, as
 * DPDK finds a vdev: {@code net_ring0,size=1024} is opened by the driver named {@code net_ring}.
 */
public interface PortDriver {

    /** The device-name prefix this driver serves, e.g. {@code net_ring}. */
    String name();

    /** One line for help output. */
    String description();

    /** The keys this driver accepts after the device name. */
    Set<String> keys();

    /**
     * Opens the device. Throws {@link DeviceException} for a bad argument (with a message that
     * names what is wrong and what is accepted); on failure nothing stays open.
     */
    Port open(DeviceSpec spec, PortContext context);

    /** Whether this driver takes the PCI function with these ids when given {@code -a ADDRESS}. */
    default boolean probesPci(int vendor, int device) {
        return false;
    }
}
