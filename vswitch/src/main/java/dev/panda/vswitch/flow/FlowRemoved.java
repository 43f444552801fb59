package dev.panda.vswitch.flow;

/** An OFPT_FLOW_REMOVED: a flow flagged SEND_FLOW_REM left the table. */
public record FlowRemoved(
        Reason reason,
        int tableId,
        int priority,
        Match match,
        long cookie,
        long durationNanos,
        int idleTimeout,
        int hardTimeout,
        long packets,
        long bytes) {

    /** OFPRR_*; {@link #code} is the wire value. */
    public enum Reason {
        IDLE_TIMEOUT(0),
        HARD_TIMEOUT(1),
        DELETE(2),
        GROUP_DELETE(3);

        public final int code;

        Reason(int code) {
            this.code = code;
        }
    }

    /** Receives FLOW_REMOVED events on the control side (the sweeper's or apply's thread). */
    @FunctionalInterface
    public interface Listener {
        void flowRemoved(FlowRemoved event);
    }
}
