package dev.panda.vswitch.openflow;

import java.util.List;

/**
 * One bridge as its OpenFlow channel sees it: ports with their OpenFlow numbers, the flow tables,
 * and what the data path queued for the controller. Everything is in wire terms ({@link Oxm},
 * {@link OfInstruction}, {@link OfAction}); the bridge's implementation translates to its flow
 * model. Calls come from the channel's event-loop threads; implementations serialise as they need.
 */
public interface OfDatapath {

    String bridge();

    /** Stable per bridge: the configured value, or derived from the bridge's name. */
    long datapathId();

    /** Tables 0..n-1. */
    int tables();

    /** The bridge's ports in OpenFlow terms, by ofport. */
    List<PortInfo> ports();

    /** Counters of one port, or every port for {@link Of#PP_ANY}; an unknown port is BAD_PORT. */
    List<PortCounters> portCounters(int ofport) throws OfError;

    /** Adds, changes or deletes flows as the message says; a refusal is its typed error. */
    void flowMod(OfMessage.FlowMod m) throws OfError;

    /** The flows the request selects (its table, out_port, out_group, cookie/mask, match). */
    List<FlowStats> flowStats(OfMessage.FlowStatsRequest r) throws OfError;

    List<TableStats> tableStats();

    /** Sends {@code m.data()} through {@code m.actions()} as if received on {@code m.inPort()}. */
    void packetOut(OfMessage.PacketOut m) throws OfError;

    /**
     * How many PACKET_OUTs the bridge has queued so far, counting those {@link #packetOut} just
     * queued: a BARRIER_REPLY after them waits until {@link #packetOutsSent()} reaches it.
     */
    default long packetOutMark() {
        return 0;
    }

    /** How many queued PACKET_OUTs the data path has sent (or dropped and counted), in queue order. */
    default long packetOutsSent() {
        return Long.MAX_VALUE;
    }

    /** Whether a controller (an active connection that completed its hello) is connected: fail mode. */
    void controllerConnected(boolean connected);

    /**
     * Makes the FLOW_MODs carried out so far take effect in the data path: {@link #flowMod} may
     * leave that to this call, which the channel makes before it handles any other message and at
     * the end of each turn of a connection's messages.
     */
    default void flush() {}

    /**
     * As {@link #flush}, but only once the changes have waited long enough that rebuilding for
     * them costs a small share of the time (see {@code BridgeFlows.flushWhenDue}); returns 0 when
     * nothing waits afterwards, else the nanoseconds until it should be called again. The channel
     * calls this at the end of each turn of a connection's messages.
     */
    default long flushWhenDue() {
        flush();
        return 0;
    }

    /**
     * What the channel calls before a message other than FLOW_MOD: as {@link #flush} when that is
     * cheap, else as {@link #flushWhenDue} (see {@code BridgeFlows.flushForBarrier}).
     */
    default long flushForBarrier() {
        flush();
        return 0;
    }

    /** Most flows the bridge holds, all its tables together (TABLE_FEATURES' {@code max_entries}). */
    default int maxFlows() {
        return dev.panda.vswitch.flow.BridgeFlows.DEFAULT_MAX_FLOWS;
    }

    /** Hands every PACKET_IN and FLOW_REMOVED queued since the last call to {@code sink}. */
    void drainEvents(EventSink sink);

    interface EventSink {
        /**
         * @param tunnelId the tunnel the frame came in on (0: none), sent as tun_id in the match
         * @param frame    its first bytes; {@code frame.length} may exceed them
         * @param frameLen the frame's whole length (total_len)
         * @param maxLen   how many of {@code frame}'s bytes to send, or {@code -1}: the
         *                 connection's miss_send_len
         */
        void packetIn(
                int reason,
                int tableId,
                long cookie,
                int inPort,
                long tunnelId,
                byte[] frame,
                int frameLen,
                int maxLen);

        void flowRemoved(FlowStats flow, int reason);
    }

    /** A port: number, name (at most 15 bytes on the wire), MAC, link state, speed in kbit/s. */
    record PortInfo(int ofport, String name, byte[] mac, boolean linkUp, long speedKbps) {}

    record PortCounters(
            int ofport,
            long rxPackets,
            long txPackets,
            long rxBytes,
            long txBytes,
            long rxDropped,
            long txDropped,
            long rxErrors,
            long txErrors,
            long durationNanos) {}

    record FlowStats(
            int tableId,
            long durationNanos,
            int priority,
            int idleTimeout,
            int hardTimeout,
            int flags,
            long cookie,
            long packets,
            long bytes,
            List<Oxm> match,
            List<OfInstruction> instructions) {}

    record TableStats(int tableId, long activeCount, long lookupCount, long matchedCount) {}
}
