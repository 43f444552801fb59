package dev.panda.vswitch;

import java.util.List;
import java.util.Map;

/** What the control API returns: plain records, rendered as JSON by the control server. */
public final class Views {

    private Views() {}

    /** {@code show}: the bridges and their ports. */
    public record Show(List<BridgeView> bridges, PmdView pmd) {}

    public record PmdView(String mode, List<Integer> cores, String idle) {}

    public record BridgeView(
            String name,
            int macAging,
            int macTableSize,
            int fdbEntries,
            List<PortView> ports,
            List<ControllerView> controllers) {

        public BridgeView(String name, int macAging, int macTableSize, int fdbEntries, List<PortView> ports) {
            this(name, macAging, macTableSize, fdbEntries, ports, List.of());
        }
    }

    /**
     * One OpenFlow controller target of a bridge.
     *
     * @param state       {@code listening}, {@code connected}, {@code connecting}, or why the last
     *                    attempt failed and when the next one is
     * @param address     the address listened on (the bound port for {@code ptcp:0}) or connected to
     * @param connections open connections (a listener's peers; 0 or 1 for an active target)
     * @param connected   an active target whose controller completed the hello
     */
    public record ControllerView(String target, String state, String address, int connections, boolean connected) {}

    /**
     * @param vlanMode {@code access}, {@code trunk} or {@code all} (no tag and no trunks: every VLAN)
     * @param link     {@code up} or {@code down}
     * @param pmds     the pmd cores polling this port's rx queues
     */
    public record PortView(
            String name,
            int id,
            String device,
            String driver,
            String mac,
            String vlanMode,
            Integer tag,
            List<Integer> trunks,
            Integer nativeVlan,
            String rxFilter,
            String link,
            int rxQueues,
            int txQueues,
            List<Integer> pmds) {}

    /** One FDB entry, as {@code ovs-appctl fdb/show}: port, VLAN, MAC, age in seconds. */
    public record FdbEntry(String port, int vlan, String mac, long age) {}

    public record Fdb(String bridge, int entries, int capacity, List<FdbEntry> table, Map<String, Long> counters) {}

    /**
     * Per-port counters. {@code drops} is keyed by reason: {@code no_buffer}, {@code tx_full},
     * {@code vlan}, {@code table_full} (frames flooded because the FDB was full: counted, not
     * lost), {@code filter}, {@code same_port}, {@code rx_errors}, {@code tx_errors}, {@code missed}.
     * {@code tunnel} is null but for a VXLAN tunnel port: whether its remote is resolved (0/1) and
     * its underlay's ARP counters.
     */
    public record PortStatsView(
            String bridge,
            String port,
            long rxPackets,
            long rxBytes,
            long txPackets,
            long txBytes,
            long floods,
            Map<String, Long> drops,

            @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
            Map<String, Long> tunnel) {

        public PortStatsView(
                String bridge,
                String port,
                long rxPackets,
                long rxBytes,
                long txPackets,
                long txBytes,
                long floods,
                Map<String, Long> drops) {
            this(bridge, port, rxPackets, rxBytes, txPackets, txBytes, floods, drops, null);
        }
    }

    /** Per-bridge counters. */
    public record BridgeStatsView(String bridge, long learned, long moved, long aged, long tableFull, long floods) {}

    /**
     * One poller, as OVS's {@code dpif-netdev/pmd-stats-show} and {@code pmd-perf-show}.
     *
     * @param busyRatio        busy time over all time since the stats were cleared (0..1)
     * @param busyNsPerPacket  busy ns over packets, counting iterations that moved packets only
     * @param busyCyclesPerPacket the same at the TSC rate
     * @param maxIterationNs   the longest iteration
     * @param iterationsOver250us iterations that took longer than 250 microseconds
     * @param ringBacklog      pipeline stages only: bursts waiting in the ring for this stage (null
     *                         for a poller)
     * @param ringSize         pipeline stages only: the ring's size in bursts (null for a poller)
     */
    public record PmdStatsView(
            String pmd,
            int core,
            String role,
            List<String> rxqs,
            long iterations,
            long busyIterations,
            long packets,
            double busyRatio,
            double busyNsPerPacket,
            double busyCyclesPerPacket,
            long maxIterationNs,
            long iterationsOver250us,
            double tscGhz,
            Long ringBacklog,
            Integer ringSize,
            Long flowCacheHits,
            Long flowCacheMisses) {

        public PmdStatsView(
                String pmd,
                int core,
                String role,
                List<String> rxqs,
                long iterations,
                long busyIterations,
                long packets,
                double busyRatio,
                double busyNsPerPacket,
                double busyCyclesPerPacket,
                long maxIterationNs,
                long iterationsOver250us,
                double tscGhz,
                Long ringBacklog,
                Integer ringSize) {
            this(
                    pmd,
                    core,
                    role,
                    rxqs,
                    iterations,
                    busyIterations,
                    packets,
                    busyRatio,
                    busyNsPerPacket,
                    busyCyclesPerPacket,
                    maxIterationNs,
                    iterationsOver250us,
                    tscGhz,
                    ringBacklog,
                    ringSize,
                    null,
                    null);
        }
    }

    /** One OpenFlow table of a bridge with flows or lookups: for pmd-stats and metrics. */
    public record FlowTableView(String bridge, int table, int active, long lookups, long matched) {}

    /**
     * A bridge's asynchronous OpenFlow messages so far. PACKET_INs: queued for the OpenFlow
     * channel, dropped because its ring was full, and not queued because no controller was
     * connected. FLOW_REMOVEDs: queued for the channel, and dropped because its queue (4096) was full.
     */
    public record PacketInView(
            String bridge,
            long queued,
            long dropped,
            long noController,
            long flowRemovedQueued,
            long flowRemovedDropped) {}

    public record Stats(List<PortStatsView> ports, List<BridgeStatsView> bridges) {}
}
