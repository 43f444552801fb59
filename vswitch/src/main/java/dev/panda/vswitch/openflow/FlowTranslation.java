package dev.panda.vswitch.openflow;

import dev.panda.vswitch.flow.Action;
import dev.panda.vswitch.flow.Field;
import dev.panda.vswitch.flow.FlowError;
import dev.panda.vswitch.flow.FlowFilter;
import dev.panda.vswitch.flow.FlowMod;
import dev.panda.vswitch.flow.FlowRemoved;
import dev.panda.vswitch.flow.Instruction;
import dev.panda.vswitch.flow.Masked;
import dev.panda.vswitch.flow.Match;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Wire to model and back: OXM TLVs to {@link Match}, the wire's actions and instructions to the
 * flow model's, FLOW_MOD to {@link FlowMod}, the model's stats and errors to the wire's.
 */
public final class FlowTranslation {

    private FlowTranslation() {}

    public static Match match(List<Oxm> oxms) throws OfError {
        Match m = Match.ANY;
        for (Oxm o : oxms) {
            Field f = Field.ofOxm(o.field());
            if (f == null) {
                throw new OfError(Of.ET_BAD_MATCH, Of.BMC_BAD_FIELD, "panda does not match on OXM field " + o.field());
            }
            m = m.with(f, masked(f, o));
        }
        return m;
    }

    private static Masked masked(Field f, Oxm o) {
        if (f.bits > 64) {
            byte[] v = o.value();
            byte[] k = o.mask();
            long vHi = Oxm.toLong(java.util.Arrays.copyOfRange(v, 0, 8));
            long vLo = Oxm.toLong(java.util.Arrays.copyOfRange(v, 8, 16));
            if (k == null) {
                return Masked.exact128(vHi, vLo);
            }
            return Masked.of128(
                    vHi,
                    vLo,
                    Oxm.toLong(java.util.Arrays.copyOfRange(k, 0, 8)),
                    Oxm.toLong(java.util.Arrays.copyOfRange(k, 8, 16)));
        }
        return o.mask() == null ? Masked.exact(o.longValue()) : Masked.of(o.longValue(), o.longMask());
    }

    public static List<Oxm> oxms(Match m) {
        List<Oxm> out = new ArrayList<>();
        for (Map.Entry<Field, Masked> e : m.fields().entrySet()) {
            Field f = e.getKey();
            Masked v = e.getValue();
            int n = Oxm.length(f.oxm);
            if (f.bits > 64) {
                byte[] value = new byte[16];
                byte[] mask = new byte[16];
                put(value, 0, v.valueHi(), 8);
                put(value, 8, v.value(), 8);
                put(mask, 0, v.maskHi(), 8);
                put(mask, 8, v.mask(), 8);
                out.add(new Oxm(f.oxm, value, v.isExact(f) ? null : mask));
            } else {
                byte[] value = new byte[n];
                put(value, 0, v.value(), n);
                if (v.isExact(f) || !f.maskable) {
                    out.add(new Oxm(f.oxm, value, null));
                } else {
                    byte[] mask = new byte[n];
                    put(mask, 0, v.mask(), n);
                    out.add(new Oxm(f.oxm, value, mask));
                }
            }
        }
        return out;
    }

    private static void put(byte[] b, int at, long v, int n) {
        for (int i = n - 1; i >= 0; i--) {
            b[at + i] = (byte) v;
            v >>>= 8;
        }
    }

    public static List<Action> actions(List<OfAction> wire) throws OfError {
        List<Action> out = new ArrayList<>(wire.size());
        for (OfAction a : wire) {
            out.add(
                    switch (a) {
                        case OfAction.Output o -> new Action.Output(o.port(), o.maxLen());
                        case OfAction.PushVlan p -> new Action.PushVlan(p.ethertype());
                        case OfAction.PopVlan p -> new Action.PopVlan();
                        case OfAction.SetField s -> {
                            Field f = Field.ofOxm(s.field().field());
                            if (f != Field.ETH_SRC && f != Field.ETH_DST && f != Field.VLAN_VID) {
                                throw new OfError(
                                        Of.ET_BAD_ACTION,
                                        Of.BAC_BAD_SET_TYPE,
                                        "panda sets eth_src, eth_dst and vlan_vid only, not OXM field "
                                                + s.field().field());
                            }
                            yield new Action.SetField(f, s.field().longValue());
                        }
                    });
        }
        return out;
    }

    public static List<OfAction> wireActions(List<Action> model) {
        List<OfAction> out = new ArrayList<>(model.size());
        for (Action a : model) {
            out.add(
                    switch (a) {
                        case Action.Output o -> new OfAction.Output(o.port(), o.maxLen());
                        case Action.PushVlan p -> new OfAction.PushVlan(p.ethertype());
                        case Action.PopVlan p -> new OfAction.PopVlan();
                        case Action.SetField s -> {
                            Oxm o = Oxm.exact(s.field().oxm, s.value());
                            yield new OfAction.SetField(o);
                        }
                    });
        }
        return out;
    }

    public static List<Instruction> instructions(List<OfInstruction> wire) throws OfError {
        List<Instruction> out = new ArrayList<>(wire.size());
        for (OfInstruction i : wire) {
            out.add(
                    switch (i) {
                        case OfInstruction.GotoTable g -> new Instruction.GotoTable(g.table());
                        case OfInstruction.ApplyActions a -> new Instruction.ApplyActions(actions(a.actions()));
                        case OfInstruction.WriteActions w -> new Instruction.WriteActions(actions(w.actions()));
                        case OfInstruction.ClearActions c -> new Instruction.ClearActions();
                    });
        }
        return out;
    }

    public static List<OfInstruction> wireInstructions(List<Instruction> model) {
        List<OfInstruction> out = new ArrayList<>(model.size());
        for (Instruction i : model) {
            out.add(
                    switch (i) {
                        case Instruction.GotoTable g -> new OfInstruction.GotoTable(g.tableId());
                        case Instruction.ApplyActions a -> new OfInstruction.ApplyActions(wireActions(a.actions()));
                        case Instruction.WriteActions w -> new OfInstruction.WriteActions(wireActions(w.actions()));
                        case Instruction.ClearActions c -> new OfInstruction.ClearActions();
                    });
        }
        return out;
    }

    public static FlowMod flowMod(OfMessage.FlowMod m) throws OfError {
        FlowMod.Command c = FlowMod.Command.of(m.command());
        if (c == null) {
            throw new OfError(Of.ET_FLOW_MOD_FAILED, Of.FMFC_BAD_COMMAND, "command " + m.command());
        }
        boolean delete = c == FlowMod.Command.DELETE || c == FlowMod.Command.DELETE_STRICT;
        return new FlowMod(
                c,
                m.tableId(),
                m.priority(),
                match(m.match()),
                instructions(m.instructions()),
                m.cookie(),
                m.cookieMask(),
                m.idleTimeout(),
                m.hardTimeout(),
                m.flags(),
                delete ? m.outPort() : Of.PP_ANY, // out_port and out_group filter deletes only (spec 7.3.4.1)
                delete ? m.outGroup() : Of.GROUP_ANY);
    }

    public static FlowFilter filter(OfMessage.FlowStatsRequest r) throws OfError {
        return new FlowFilter(r.tableId(), match(r.match()), r.outPort(), r.outGroup(), r.cookie(), r.cookieMask());
    }

    public static OfError error(FlowError e, String message) {
        return new OfError(e.type, e.code, message == null ? e.name() : message);
    }

    public static OfDatapath.FlowStats stats(dev.panda.vswitch.flow.FlowStats s) {
        return new OfDatapath.FlowStats(
                s.tableId(),
                s.durationNanos(),
                s.priority(),
                s.idleTimeout(),
                s.hardTimeout(),
                s.flags(),
                s.cookie(),
                s.packets(),
                s.bytes(),
                oxms(s.match()),
                wireInstructions(s.instructions()));
    }

    public static OfDatapath.FlowStats removed(FlowRemoved r) {
        return new OfDatapath.FlowStats(
                r.tableId(),
                r.durationNanos(),
                r.priority(),
                r.idleTimeout(),
                r.hardTimeout(),
                0,
                r.cookie(),
                r.packets(),
                r.bytes(),
                oxms(r.match()),
                List.of());
    }
}
