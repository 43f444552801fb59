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
 * @param controllers  its OpenFlow controllers as ovs-vsctl's set-controller takes them
 *                     ({@code ptcp:PORT[:ADDR]}, {@code tcp:HOST:PORT}); empty: none
 */
public record BridgeConfig(
        String name,
        int macAging,
        int macTableSize,
        List<PortConfig> ports,
        String failMode,
        List<String> controllers) {

    public static final int DEFAULT_MAC_AGING = 300;
    public static final int DEFAULT_MAC_TABLE_SIZE = 8192;

    public static final String DEFAULT_FAIL_MODE = "standalone";

    public BridgeConfig {
        ports = ports == null ? List.of() : List.copyOf(ports);
        failMode = failMode == null ? DEFAULT_FAIL_MODE : failMode;
        controllers = controllers == null ? List.of() : List.copyOf(controllers);
    }

    public BridgeConfig(String name, int macAging, int macTableSize, List<PortConfig> ports) {
        this(name, macAging, macTableSize, ports, DEFAULT_FAIL_MODE, List.of());
    }

    /** A bridge without controllers. */
    public BridgeConfig(String name, int macAging, int macTableSize, List<PortConfig> ports, String failMode) {
        this(name, macAging, macTableSize, ports, failMode, List.of());
    }

    public BridgeConfig withFailMode(String mode) {
        return new BridgeConfig(name, macAging, macTableSize, ports, mode, controllers);
    }

    public static BridgeConfig of(String name) {
        return new BridgeConfig(name, DEFAULT_MAC_AGING, DEFAULT_MAC_TABLE_SIZE, List.of());
    }

    public BridgeConfig withPorts(List<PortConfig> p) {
        return new BridgeConfig(name, macAging, macTableSize, p, failMode, controllers);
    }

    public BridgeConfig withControllers(List<String> c) {
        return new BridgeConfig(name, macAging, macTableSize, ports, failMode, c);
    }
}
