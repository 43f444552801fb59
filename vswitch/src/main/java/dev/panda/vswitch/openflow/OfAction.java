package dev.panda.vswitch.openflow;

import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;

/** The OpenFlow 1.3 actions panda carries out (spec 7.2.5), as on the wire. */
public sealed interface OfAction {

    /** Most actions in one list; more is {@code BAD_ACTION/TOO_MANY}. */
    int MAX_ACTIONS = 256;

    record Output(int port, int maxLen) implements OfAction {
        @Override
        public void encode(ByteBuf out) {
            header(out, Of.AT_OUTPUT, 16);
            out.writeInt(port);
            out.writeShort(maxLen);
            out.writeZero(6);
        }
    }

    record PushVlan(int ethertype) implements OfAction {
        @Override
        public void encode(ByteBuf out) {
            header(out, Of.AT_PUSH_VLAN, 8);
            out.writeShort(ethertype);
            out.writeZero(2);
        }
    }

    record PopVlan() implements OfAction {
        @Override
        public void encode(ByteBuf out) {
            header(out, Of.AT_POP_VLAN, 8);
            out.writeZero(4);
        }
    }

    record SetField(Oxm field) implements OfAction {
        @Override
        public void encode(ByteBuf out) {
            int len = Oxm.pad8(4 + 4 + field.value().length);
            header(out, Of.AT_SET_FIELD, len);
            field.encode(out);
            out.writeZero(len - 8 - field.value().length);
        }
    }

    void encode(ByteBuf out);

    /** A list filling {@code r}; unknown types are {@code BAD_ACTION/BAD_TYPE}. */
    static List<OfAction> decodeList(OfReader r) throws OfError {
        List<OfAction> out = new ArrayList<>();
        while (r.remaining() > 0) {
            if (out.size() == MAX_ACTIONS) {
                throw new OfError(Of.ET_BAD_ACTION, Of.BAC_TOO_MANY, "more than " + MAX_ACTIONS + " actions");
            }
            if (r.remaining() < 8) {
                throw new OfError(Of.ET_BAD_ACTION, Of.BAC_BAD_LEN, "action header cut short");
            }
            int type = r.u16();
            int len = r.u16();
            if (len < 8 || len % 8 != 0) {
                throw new OfError(Of.ET_BAD_ACTION, Of.BAC_BAD_LEN, "action " + type + " length " + len);
            }
            OfReader a = r.sub(len - 4, Of.ET_BAD_ACTION, Of.BAC_BAD_LEN, "action " + type);
            out.add(
                    switch (type) {
                        case Of.AT_OUTPUT -> {
                            if (len != 16) {
                                throw new OfError(Of.ET_BAD_ACTION, Of.BAC_BAD_LEN, "output length " + len);
                            }
                            int port = a.u32();
                            int maxLen = a.u16();
                            if (port == 0
                                    || (Integer.compareUnsigned(port, Of.PP_MAX) > 0
                                            && port != Of.PP_IN_PORT
                                            && port != Of.PP_NORMAL
                                            && port != Of.PP_FLOOD
                                            && port != Of.PP_ALL
                                            && port != Of.PP_CONTROLLER
                                            && port != Of.PP_LOCAL
                                            && port != Of.PP_TABLE)) {
                                throw new OfError(
                                        Of.ET_BAD_ACTION, Of.BAC_BAD_OUT_PORT, "output to " + Of.portName(port));
                            }
                            yield new Output(port, maxLen);
                        }
                        case Of.AT_PUSH_VLAN -> {
                            if (len != 8) {
                                throw new OfError(Of.ET_BAD_ACTION, Of.BAC_BAD_LEN, "push_vlan length " + len);
                            }
                            int et = a.u16();
                            if (et != 0x8100 && et != 0x88a8) {
                                throw new OfError(
                                        Of.ET_BAD_ACTION,
                                        Of.BAC_BAD_ARGUMENT,
                                        "push_vlan ethertype 0x" + Integer.toHexString(et));
                            }
                            yield new PushVlan(et);
                        }
                        case Of.AT_POP_VLAN -> {
                            if (len != 8) {
                                throw new OfError(Of.ET_BAD_ACTION, Of.BAC_BAD_LEN, "pop_vlan length " + len);
                            }
                            yield new PopVlan();
                        }
                        case Of.AT_SET_FIELD -> {
                            Oxm f;
                            try {
                                f = Oxm.decode(a, Of.ET_BAD_ACTION, Of.BAC_BAD_SET_LEN);
                            } catch (OfError e) {
                                throw e.type() == Of.ET_BAD_MATCH
                                        ? new OfError(Of.ET_BAD_ACTION, Of.BAC_BAD_SET_TYPE, e.getMessage())
                                        : e;
                            }
                            if (f.mask() != null) {
                                throw new OfError(Of.ET_BAD_ACTION, Of.BAC_BAD_SET_ARGUMENT, "set_field with a mask");
                            }
                            if (f.field() == Oxm.VLAN_VID
                                    && (f.longValue() & Of.VID_PRESENT) == 0 | f.longValue() > 0x1fff) {
                                throw new OfError(
                                        Of.ET_BAD_ACTION,
                                        Of.BAC_BAD_SET_ARGUMENT,
                                        "set_field vlan_vid without OFPVID_PRESENT (0x1000)");
                            }
                            if (Oxm.pad8(4 + 4 + f.value().length) != len) {
                                throw new OfError(Of.ET_BAD_ACTION, Of.BAC_BAD_SET_LEN, "set_field length " + len);
                            }
                            yield new SetField(f);
                        }
                        default -> throw new OfError(Of.ET_BAD_ACTION, Of.BAC_BAD_TYPE, "action type " + type);
                    });
        }
        return out;
    }

    static void encodeList(List<OfAction> actions, ByteBuf out) {
        for (OfAction a : actions) {
            a.encode(out);
        }
    }

    static int encodedLength(List<OfAction> actions) {
        io.netty.buffer.ByteBuf b = io.netty.buffer.Unpooled.buffer();
        encodeList(actions, b);
        int n = b.readableBytes();
        b.release();
        return n;
    }

    // encoders
    default void header(ByteBuf out, int type, int len) {
        out.writeShort(type);
        out.writeShort(len);
    }
}
