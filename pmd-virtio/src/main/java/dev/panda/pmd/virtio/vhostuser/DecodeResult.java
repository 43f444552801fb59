package dev.panda.pmd.virtio.vhostuser;

/**
 * What decoding (or reading) one vhost-user message gave: a message, a rejection, or the end
 * of the connection. Peer input never surfaces as an exception: the socket loop switches on
 * this, counts and logs an {@link Invalid}, replies a failure if the peer asked for a reply
 * and carries on, unless the rejection is {@link Invalid#fatal() fatal}.
 */
public sealed interface DecodeResult {

    /** A well-formed message; the caller owns it and its descriptors. */
    record Ok(VhostUserMessage message) implements DecodeResult {}

    /**
     * A message that was rejected. Every descriptor that came with it has been closed already.
     *
     * @param request the request number from the header (-1 if the header was incomplete)
     * @param flags   the header flags (0 if the header was incomplete)
     * @param reason  one line saying what was wrong, for the log
     * @param fatal   the byte stream is out of step (size above the cap, or the peer closed
     *                mid-message): the connection must be closed
     */
    record Invalid(int request, int flags, String reason, boolean fatal) implements DecodeResult {

        /** Whether the peer asked for a reply (REPLY_ACK) to the rejected message. */
        public boolean needReply() {
            return (flags & VhostUserMessage.NEED_REPLY) != 0;
        }

        /** The request the header named, or {@code null} if panda does not know that number. */
        public VhostUserRequest knownRequest() {
            return VhostUserRequest.byId(request);
        }

        @Override
        public String toString() {
            VhostUserRequest known = knownRequest();
            return "invalid vhost-user message (request " + (known != null ? known : Integer.toString(request)) + "): "
                    + reason + (fatal ? " [connection must close]" : "");
        }
    }

    /** The peer closed the connection between two messages. */
    record Closed() implements DecodeResult {}
}
