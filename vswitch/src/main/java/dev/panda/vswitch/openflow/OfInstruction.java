package dev.panda.vswitch.openflow;

import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;

/** The OpenFlow 1.3 instructions panda carries out (spec 7.2.4), as on the wire. */
public sealed interface OfInstruction {

    record GotoTable(int table) implements OfInstruction {
        @Override
        public void encode(ByteBuf out) {
            out.writeShort(Of.IT_GOTO_TABLE);
            out.writeShort(8);
            out.writeByte(table);
            out.writeZero(3);
        }
    }

    record WriteActions(List<OfAction> actions) implements OfInstruction {
        public WriteActions {
            actions = List.copyOf(actions);
        }

        @Override
        public void encode(ByteBuf out) {
            OfInstruction.actions(out, Of.IT_WRITE_ACTIONS, actions);
        }
    }

    record ApplyActions(List<OfAction> actions) implements OfInstruction {
        public ApplyActions {
            actions = List.copyOf(actions);
        }

        @Override
        public void encode(ByteBuf out) {
            OfInstruction.actions(out, Of.IT_APPLY_ACTIONS, actions);
        }
    }

    record ClearActions() implements OfInstruction {
        @Override
        public void encode(ByteBuf out) {
            out.writeShort(Of.IT_CLEAR_ACTIONS);
            out.writeShort(8);
            out.writeZero(4);
        }
    }

    void encode(ByteBuf out);

    static void actions(ByteBuf out, int type, List<OfAction> actions) {
        int start = out.writerIndex();
        out.writeShort(type);
        out.writeShort(0);
        out.writeZero(4);
        OfAction.encodeList(actions, out);
        out.setShort(start + 2, out.writerIndex() - start);
    }

    /**
     * Instructions filling {@code r}: each type at most once (spec 5.9), write-metadata and meter
     * unsupported, anything else unknown.
     */
    static List<OfInstruction> decodeList(OfReader r) throws OfError {
        List<OfInstruction> out = new ArrayList<>();
        int seen = 0;
        while (r.remaining() > 0) {
            if (r.remaining() < 4) {
                throw new OfError(Of.ET_BAD_INSTRUCTION, Of.BIC_BAD_LEN, "instruction header cut short");
            }
            int type = r.u16();
            int len = r.u16();
            if (len < 8 || len % 8 != 0) {
                throw new OfError(Of.ET_BAD_INSTRUCTION, Of.BIC_BAD_LEN, "instruction " + type + " length " + len);
            }
            OfReader i = r.sub(len - 4, Of.ET_BAD_INSTRUCTION, Of.BIC_BAD_LEN, "instruction " + type);
            if (type >= 1 && type <= 6) {
                if ((seen & (1 << type)) != 0) {
                    throw new OfError(Of.ET_BAD_INSTRUCTION, Of.BIC_UNSUP_INST, "instruction " + type + " twice");
                }
                seen |= 1 << type;
            }
            out.add(
                    switch (type) {
                        case Of.IT_GOTO_TABLE -> {
                            if (len != 8) {
                                throw new OfError(Of.ET_BAD_INSTRUCTION, Of.BIC_BAD_LEN, "goto_table length " + len);
                            }
                            yield new GotoTable(i.u8());
                        }
                        case Of.IT_WRITE_ACTIONS, Of.IT_APPLY_ACTIONS -> {
                            i.skip(4);
                            List<OfAction> actions = OfAction.decodeList(i);
                            yield type == Of.IT_WRITE_ACTIONS ? new WriteActions(actions) : new ApplyActions(actions);
                        }
                        case Of.IT_CLEAR_ACTIONS -> {
                            if (len != 8) {
                                throw new OfError(Of.ET_BAD_INSTRUCTION, Of.BIC_BAD_LEN, "clear_actions length " + len);
                            }
                            yield new ClearActions();
                        }
                        case Of.IT_WRITE_METADATA, Of.IT_METER ->
                            throw new OfError(
                                    Of.ET_BAD_INSTRUCTION, Of.BIC_UNSUP_INST, "instruction " + type + " unsupported");
                        default -> throw new OfError(Of.ET_BAD_INSTRUCTION, Of.BIC_UNKNOWN_INST, "instruction " + type);
                    });
        }
        return out;
    }

    static void encodeList(List<OfInstruction> list, ByteBuf out) {
        for (OfInstruction i : list) {
            i.encode(out);
        }
    }
}
