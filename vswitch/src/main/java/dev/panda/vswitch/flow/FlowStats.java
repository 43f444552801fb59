package dev.panda.vswitch.flow;

import java.util.List;

/** One flow as OFPMP_FLOW reports it. */
public record FlowStats(
        int tableId,
        int priority,
        Match match,
        List<Instruction> instructions,
        long cookie,
        long packets,
        long bytes,
        long durationNanos,
        int idleTimeout,
        int hardTimeout,
        int flags,
        /** Seconds since a packet last hit it (or since it was added), for ovs-ofctl's idle_age. */
        long idleAgeSeconds) {

    public int durationSec() {
        return (int) (durationNanos / 1_000_000_000L);
    }

    public int durationNsec() {
        return (int) (durationNanos % 1_000_000_000L);
    }
}
