package dev.panda.vswitch.openflow;

import java.util.List;

/**
 * One framed message's bytes to an {@link OfMessage}, treating the peer as untrusted: the header's
 * length must equal the bytes framed, every nested length is checked against its container, and
 * anything panda does not do is a typed {@link OfError} (its OFPT_ERROR type and code) rather than
 * an exception of another kind. Allocations are slices of the bytes received (at most 64 KiB).
 */
public final class OfDecoder {

    private OfDecoder() {}

    public static OfMessage decode(byte[] msg) throws OfError {
        if (msg.length < Of.HEADER) {
            throw OfError.badLen("message of " + msg.length + " bytes, shorter than the header");
        }
        OfReader r = OfReader.of(msg);
        int version = r.u8();
        int type = r.u8();
        int length = r.u16();
        int xid = r.u32();
        if (length != msg.length) {
            throw OfError.badLen("header length " + length + " but " + msg.length + " bytes framed");
        }
        if (type == Of.HELLO) {
            return hello(r, xid, version); // any version may say hello
        }
        if (version != Of.VERSION) {
            throw new OfError(Of.ET_BAD_REQUEST, Of.BRC_BAD_VERSION, "version " + version + " after a 1.3 hello");
        }
        return switch (type) {
            case Of.ERROR -> {
                int et = r.u16();
                int code = r.u16();
                yield new OfMessage.Error(xid, et, code, r.bytes(Math.min(r.remaining(), 64)));
            }
            case Of.ECHO_REQUEST -> new OfMessage.EchoRequest(xid, r.rest());
            case Of.ECHO_REPLY -> new OfMessage.EchoReply(xid, r.rest());
            case Of.FEATURES_REQUEST -> {
                empty(r, "features request");
                yield new OfMessage.FeaturesRequest(xid);
            }
            case Of.GET_CONFIG_REQUEST -> {
                empty(r, "get-config request");
                yield new OfMessage.GetConfigRequest(xid);
            }
            case Of.SET_CONFIG -> {
                if (r.remaining() != 4) {
                    throw new OfError(Of.ET_SWITCH_CONFIG_FAILED, Of.SCFC_BAD_LEN, "set-config length " + length);
                }
                int flags = r.u16();
                int miss = r.u16();
                if ((flags & ~3) != 0) {
                    throw new OfError(Of.ET_SWITCH_CONFIG_FAILED, Of.SCFC_BAD_FLAGS, "set-config flags " + flags);
                }
                yield new OfMessage.SetConfig(xid, flags, miss);
            }
            case Of.BARRIER_REQUEST -> {
                empty(r, "barrier request");
                yield new OfMessage.BarrierRequest(xid);
            }
            case Of.ROLE_REQUEST -> {
                if (r.remaining() != 16) {
                    throw OfError.badLen("role request length " + length);
                }
                int role = r.u32();
                r.skip(4);
                long gen = r.u64();
                if (Integer.compareUnsigned(role, Of.CR_ROLE_SLAVE) > 0) {
                    throw new OfError(Of.ET_ROLE_REQUEST_FAILED, Of.RRFC_BAD_ROLE, "role " + role);
                }
                yield new OfMessage.RoleRequest(xid, role, gen);
            }
            case Of.FLOW_MOD -> flowMod(r, xid);
            case Of.PACKET_OUT -> packetOut(r, xid);
            case Of.MULTIPART_REQUEST -> multipart(r, xid);
            case Of.EXPERIMENTER ->
                throw new OfError(Of.ET_BAD_REQUEST, Of.BRC_BAD_EXPERIMENTER, "experimenter messages unsupported");
            default -> throw OfError.badType("message type " + type + " unsupported");
        };
    }

    private static void empty(OfReader r, String what) throws OfError {
        if (r.remaining() != 0) {
            throw OfError.badLen(what + " with a body of " + r.remaining() + " bytes");
        }
    }

    /** HELLO: elements are walked; a version bitmap says what the peer speaks (spec 7.5.1). */
    private static OfMessage hello(OfReader r, int xid, int version) throws OfError {
        long bitmap = 0;
        boolean sawBitmap = false;
        while (r.remaining() >= 4) {
            int type = r.u16();
            int len = r.u16();
            if (len < 4) {
                throw OfError.badLen("hello element length " + len);
            }
            OfReader e = r.sub(len - 4, Of.ET_BAD_REQUEST, Of.BRC_BAD_LEN, "hello element");
            r.skip(Math.min(r.remaining(), Oxm.pad8(len) - len));
            if (type == Of.HELLO_ELEM_VERSIONBITMAP && !sawBitmap) {
                sawBitmap = true;
                if (e.remaining() >= 4) {
                    bitmap = e.u32() & 0xffffffffL; // versions 0..31: the first word is enough
                }
            }
        }
        if (!sawBitmap) {
            bitmap = version >= 0 && version < 63 ? (1L << (version + 1)) - 1 : -1L; // every version up to its own
        }
        return new OfMessage.Hello(xid, version, bitmap);
    }

    private static OfMessage flowMod(OfReader r, int xid) throws OfError {
        if (r.remaining() < 40) {
            throw OfError.badLen("flow-mod shorter than its fixed part");
        }
        long cookie = r.u64();
        long cookieMask = r.u64();
        int table = r.u8();
        int command = r.u8();
        int idle = r.u16();
        int hard = r.u16();
        int priority = r.u16();
        int bufferId = r.u32();
        int outPort = r.u32();
        int outGroup = r.u32();
        int flags = r.u16();
        r.skip(2);
        if (command > Of.FC_DELETE_STRICT) {
            throw new OfError(Of.ET_FLOW_MOD_FAILED, Of.FMFC_BAD_COMMAND, "flow-mod command " + command);
        }
        if ((flags & ~0x1f) != 0) {
            throw new OfError(
                    Of.ET_FLOW_MOD_FAILED, Of.FMFC_BAD_FLAGS, "flow-mod flags 0x" + Integer.toHexString(flags));
        }
        if (table == Of.TT_ALL && command == Of.FC_ADD) {
            // modify and delete may name every table (Open vSwitch allows a modify of table 255 too)
            throw new OfError(Of.ET_FLOW_MOD_FAILED, Of.FMFC_BAD_TABLE_ID, "table 255 (all) on an add");
        }
        List<Oxm> match = Oxm.decodeMatch(r);
        List<OfInstruction> inst = OfInstruction.decodeList(r);
        if (bufferId != Of.NO_BUFFER && command < Of.FC_DELETE) {
            throw new OfError(
                    Of.ET_BAD_REQUEST, Of.BRC_BUFFER_UNKNOWN, "buffer " + bufferId + ": panda buffers nothing");
        }
        return new OfMessage.FlowMod(
                xid,
                cookie,
                cookieMask,
                table,
                command,
                idle,
                hard,
                priority,
                bufferId,
                outPort,
                outGroup,
                flags,
                match,
                inst);
    }

    private static OfMessage packetOut(OfReader r, int xid) throws OfError {
        if (r.remaining() < 16) {
            throw OfError.badLen("packet-out shorter than its fixed part");
        }
        int bufferId = r.u32();
        int inPort = r.u32();
        int actionsLen = r.u16();
        r.skip(6);
        OfReader a = r.sub(actionsLen, Of.ET_BAD_REQUEST, Of.BRC_BAD_LEN, "packet-out actions");
        List<OfAction> actions = OfAction.decodeList(a);
        if (bufferId != Of.NO_BUFFER) {
            throw new OfError(
                    Of.ET_BAD_REQUEST, Of.BRC_BUFFER_UNKNOWN, "buffer " + bufferId + ": panda buffers nothing");
        }
        byte[] data = r.rest();
        if (data.length < 14) {
            throw new OfError(Of.ET_BAD_REQUEST, Of.BRC_BAD_PACKET, "packet-out frame of " + data.length + " bytes");
        }
        return new OfMessage.PacketOut(xid, bufferId, inPort, actions, data);
    }

    private static OfMessage multipart(OfReader r, int xid) throws OfError {
        if (r.remaining() < 8) {
            throw OfError.badLen("multipart request shorter than its fixed part");
        }
        int type = r.u16();
        int flags = r.u16();
        r.skip(4);
        if ((flags & Of.MPF_MORE) != 0) {
            throw new OfError(Of.ET_BAD_REQUEST, Of.BRC_BAD_MULTIPART, "multipart requests in parts unsupported");
        }
        return switch (type) {
            case Of.MP_DESC -> {
                empty(r, "desc request");
                yield new OfMessage.DescRequest(xid);
            }
            case Of.MP_FLOW, Of.MP_AGGREGATE -> {
                if (r.remaining() < 32) {
                    throw OfError.badLen("flow stats request shorter than its fixed part");
                }
                int table = r.u8();
                r.skip(3);
                int outPort = r.u32();
                int outGroup = r.u32();
                r.skip(4);
                long cookie = r.u64();
                long cookieMask = r.u64();
                List<Oxm> match = Oxm.decodeMatch(r);
                empty(r, "flow stats request");
                yield new OfMessage.FlowStatsRequest(
                        xid, type == Of.MP_AGGREGATE, table, outPort, outGroup, cookie, cookieMask, match);
            }
            case Of.MP_TABLE -> {
                empty(r, "table stats request");
                yield new OfMessage.TableStatsRequest(xid);
            }
            case Of.MP_PORT_STATS -> {
                if (r.remaining() != 8) {
                    throw OfError.badLen("port stats request length");
                }
                yield new OfMessage.PortStatsRequest(xid, r.u32());
            }
            case Of.MP_TABLE_FEATURES -> {
                if (r.remaining() != 0) {
                    throw new OfError(
                            Of.ET_TABLE_FEATURES_FAILED, Of.TFFC_EPERM, "the tables' features cannot be changed");
                }
                yield new OfMessage.TableFeaturesRequest(xid);
            }
            case Of.MP_PORT_DESC -> {
                empty(r, "port desc request");
                yield new OfMessage.PortDescRequest(xid);
            }
            default -> throw new OfError(Of.ET_BAD_REQUEST, Of.BRC_BAD_MULTIPART, "multipart type " + type);
        };
    }
}
