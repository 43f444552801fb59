package dev.panda.vswitch.flow;

/** PACKET_IN: the reason codes and the consumer the control side drains the ring with. */
public final class PacketIn {

    /** OFPR_*; {@link #code} is the wire value. */
    public enum Reason {
        /** Sent by a table-miss flow (priority 0, match all) that outputs to CONTROLLER. */
        NO_MATCH(0),
        /** Sent by any other flow's output to CONTROLLER. */
        ACTION(1);

        public final int code;

        Reason(int code) {
            this.code = code;
        }
    }

    /**
     * Receives one queued PACKET_IN. {@code data[0..length)} holds the frame's first bytes (up to
     * the output's max_len); it is reused after the call returns, so copy what you keep.
     */
    @FunctionalInterface
    public interface Consumer {
        void packetIn(
                int inPort,
                long tunnelId,
                int tableId,
                Reason reason,
                long cookie,
                int totalLength,
                byte[] data,
                int length);
    }

    private PacketIn() {}
}
