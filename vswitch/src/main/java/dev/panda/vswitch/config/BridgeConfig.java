package dev.panda.vswitch.config;

import java.util.List;

/**
 * One learning bridge.
 *
 * @param name         e.g. {@code br0}
 * @param macAging     seconds an FDB entry lives without traffic from its MAC (default 300)
 * @param macTableSize most FDB entries the bridge holds (default 8192); a full table is counted and
 *                     the frame is flooded
 * @param ports        its ports, in the order they were added
 * @param failMode     {@code standalone} (default, also for null) or {@code secure}: what a packet
 *                     no flow matches does while no OpenFlow controller is connected
 */
public record BridgeConfig(String name, int macAging, int macTableSize, List<PortConfig> ports, String failMode) {

    public static final int DEFAULT_MAC_AGING = 300;
    public static final int DEFAULT_MAC_TABLE_SIZE = 8192;

    public static final String DEFAULT_FAIL_MODE = "standalone";

    public BridgeConfig {
        ports = ports == null ? List.of() : List.copyOf(ports);
        failMode = failMode == null ? DEFAULT_FAIL_MODE : failMode;
    }

    public BridgeConfig(String name, int macAging, int macTableSize, List<PortConfig> ports) {
        this(name, macAging, macTableSize, ports, DEFAULT_FAIL_MODE);
    }

    public BridgeConfig withFailMode(String mode) {
        return new BridgeConfig(name, macAging, macTableSize, ports, mode);
    }

    public static BridgeConfig of(String name) {
        return new BridgeConfig(name, DEFAULT_MAC_AGING, DEFAULT_MAC_TABLE_SIZE, List.of());
    }

    public BridgeConfig withPorts(List<PortConfig> p) {
        return new BridgeConfig(name, macAging, macTableSize, p, failMode);
    }
}
