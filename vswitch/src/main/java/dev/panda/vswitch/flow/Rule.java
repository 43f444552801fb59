package dev.panda.vswitch.flow;

import java.util.ArrayList;
import java.util.List;

/**
 * An installed flow: what the control side added, compiled for the data path (the match as
 * key-word masks and values, the instructions as action arrays). Immutable except its counters
 * and the sweeper's bookkeeping; a modify makes a new Rule sharing the counters.
 */
final class Rule {

    final int table;
    final int priority;
    final Match match;
    final List<Instruction> instructions;
    final long cookie;
    final int idleTimeout;
    final int hardTimeout;
    final int flags;
    final long addedNanos;
    final FlowCounters counters;

    /** Key-word mask and masked value. */
    final long[] mask = new long[FlowKey.WORDS];

    final long[] value = new long[FlowKey.WORDS];
    /** Apply-actions (null if none), write-actions (null if none), clear-actions, goto (-1 none). */
    final Action[] apply;

    final Action[] write;
    final boolean clear;
    final int gotoTable;
    /** A table-miss flow (priority 0, match all): its PACKET_INs say NO_MATCH. */
    final boolean tableMiss;

    // control side only (under BridgeFlows' lock)
    long lastUsedNanos;
    long lastRawPackets;

    Rule(FlowMod m, long now, FlowCounters counters) {
        this.table = m.tableId();
        this.priority = m.priority();
        this.match = m.match().normalized();
        this.instructions = m.instructions();
        this.cookie = m.cookie();
        this.idleTimeout = m.idleTimeout();
        this.hardTimeout = m.hardTimeout();
        this.flags = m.flags();
        this.addedNanos = now;
        this.counters = counters;
        this.lastUsedNanos = now;
        this.lastRawPackets = counters.rawPackets();
        compileMatch(match, mask, value);
        Action[] a = null;
        Action[] w = null;
        boolean c = false;
        int g = -1;
        for (Instruction i : instructions) {
            switch (i) {
                case Instruction.ApplyActions x -> a = x.actions().toArray(new Action[0]);
                case Instruction.WriteActions x -> w = x.actions().toArray(new Action[0]);
                case Instruction.ClearActions x -> c = true;
                case Instruction.GotoTable x -> g = x.tableId();
            }
        }
        this.apply = a;
        this.write = w;
        this.clear = c;
        this.gotoTable = g;
        this.tableMiss = priority == 0 && match.isEmpty();
    }

    /** The same flow with new instructions (a modify), keeping counters unless {@code reset}. */
    Rule modified(List<Instruction> newInstructions, boolean reset) {
        if (reset) {
            counters.reset();
        }
        FlowMod m = new FlowMod(
                FlowMod.Command.ADD,
                table,
                priority,
                match,
                newInstructions,
                cookie,
                0,
                idleTimeout,
                hardTimeout,
                flags,
                OfPort.ANY,
                OfPort.GROUP_ANY);
        Rule r = new Rule(m, addedNanos, counters);
        r.lastUsedNanos = lastUsedNanos;
        r.lastRawPackets = lastRawPackets;
        return r;
    }

    static void compileMatch(Match match, long[] mask, long[] value) {
        for (var e : match.fields().entrySet()) {
            Field f = e.getKey();
            Masked m = e.getValue();
            int w = FlowKey.word(f);
            if (f.bits == 128) {
                mask[w] |= m.maskHi();
                value[w] |= m.valueHi() & m.maskHi();
                mask[w + 1] |= m.mask();
                value[w + 1] |= m.value() & m.mask();
            } else {
                int s = FlowKey.shift(f);
                long fm = m.mask() & f.fullMask();
                mask[w] |= fm << s;
                value[w] |= (m.value() & fm) << s;
            }
        }
    }

    /** True if some action of this flow outputs to {@code port}. */
    boolean outputsTo(int port) {
        return outputsTo(apply, port) || outputsTo(write, port);
    }

    private static boolean outputsTo(Action[] actions, int port) {
        if (actions != null) {
            for (Action a : actions) {
                if (a instanceof Action.Output o && o.port() == port) {
                    return true;
                }
            }
        }
        return false;
    }

    FlowStats stats(long now, int tableId) {
        return new FlowStats(
                tableId,
                priority,
                match,
                instructions,
                cookie,
                counters.packets(),
                counters.bytes(),
                now - addedNanos,
                idleTimeout,
                hardTimeout,
                flags,
                Math.max(0, (now - lastUsedNanos) / 1_000_000_000L));
    }

    static List<Action> allActions(Rule r) {
        List<Action> l = new ArrayList<>();
        if (r.apply != null) {
            l.addAll(List.of(r.apply));
        }
        if (r.write != null) {
            l.addAll(List.of(r.write));
        }
        return l;
    }
}
