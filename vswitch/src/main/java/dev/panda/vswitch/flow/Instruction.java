package dev.panda.vswitch.flow;

import java.util.List;

/**
 * An OpenFlow 1.3 instruction. Whatever order a flow lists them in, they run in OpenFlow's order:
 * apply-actions, clear-actions, write-actions, goto-table. A flow with no output anywhere drops.
 */
public sealed interface Instruction
        permits Instruction.ApplyActions, Instruction.WriteActions, Instruction.ClearActions, Instruction.GotoTable {

    /** OFPIT_APPLY_ACTIONS: the actions, in order, on the packet now. */
    record ApplyActions(List<Action> actions) implements Instruction {
        public ApplyActions {
            actions = List.copyOf(actions);
        }
    }

    /** OFPIT_WRITE_ACTIONS: merged into the action set (one action of each kind; the last written wins). */
    record WriteActions(List<Action> actions) implements Instruction {
        public WriteActions {
            actions = List.copyOf(actions);
        }
    }

    /** OFPIT_CLEAR_ACTIONS: empties the action set. */
    record ClearActions() implements Instruction {}

    /** OFPIT_GOTO_TABLE: continue in a later table. */
    record GotoTable(int tableId) implements Instruction {}

    int GOTO_TABLE = 1;
    int WRITE_METADATA = 2;
    int WRITE_ACTIONS = 3;
    int APPLY_ACTIONS = 4;
    int CLEAR_ACTIONS = 5;
    int METER = 6;

    /** This instruction's OFPIT_* type. */
    default int ofType() {
        return switch (this) {
            case ApplyActions a -> APPLY_ACTIONS;
            case WriteActions w -> WRITE_ACTIONS;
            case ClearActions c -> CLEAR_ACTIONS;
            case GotoTable g -> GOTO_TABLE;
        };
    }

    /** Shorthand: apply-actions with {@code actions}. */
    static Instruction apply(Action... actions) {
        return new ApplyActions(List.of(actions));
    }
}
