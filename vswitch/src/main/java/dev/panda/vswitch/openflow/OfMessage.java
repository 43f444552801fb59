package dev.panda.vswitch.openflow;

import java.util.List;

/** A message a controller or tool sent to the switch, decoded and checked by {@link OfDecoder}. */
public sealed interface OfMessage {

    int xid();

    /** HELLO; {@code versions} is the bitmap of versions the peer offers (bit n = version n). */
    record Hello(int xid, int version, long versions) implements OfMessage {}

    record Error(int xid, int type, int code, byte[] data) implements OfMessage {}

    record EchoRequest(int xid, byte[] data) implements OfMessage {}

    record EchoReply(int xid, byte[] data) implements OfMessage {}

    record FeaturesRequest(int xid) implements OfMessage {}

    record GetConfigRequest(int xid) implements OfMessage {}

    record SetConfig(int xid, int flags, int missSendLen) implements OfMessage {}

    record BarrierRequest(int xid) implements OfMessage {}

    record RoleRequest(int xid, int role, long generationId) implements OfMessage {}

    /** FLOW_MOD (spec 7.3.4.1), every field as sent. */
    record FlowMod(
            int xid,
            long cookie,
            long cookieMask,
            int tableId,
            int command,
            int idleTimeout,
            int hardTimeout,
            int priority,
            int bufferId,
            int outPort,
            int outGroup,
            int flags,
            List<Oxm> match,
            List<OfInstruction> instructions)
            implements OfMessage {}

    /** PACKET_OUT (spec 7.3.7): only unbuffered frames, panda buffers nothing. */
    record PacketOut(int xid, int bufferId, int inPort, List<OfAction> actions, byte[] data) implements OfMessage {}

    record DescRequest(int xid) implements OfMessage {}

    /** FLOW and AGGREGATE multipart requests (spec 7.3.5.2, 7.3.5.3). */
    record FlowStatsRequest(
            int xid,
            boolean aggregate,
            int tableId,
            int outPort,
            int outGroup,
            long cookie,
            long cookieMask,
            List<Oxm> match)
            implements OfMessage {}

    record TableStatsRequest(int xid) implements OfMessage {}

    record TableFeaturesRequest(int xid) implements OfMessage {}

    record PortStatsRequest(int xid, int port) implements OfMessage {}

    record PortDescRequest(int xid) implements OfMessage {}
}
