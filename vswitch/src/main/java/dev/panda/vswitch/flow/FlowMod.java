package dev.panda.vswitch.flow;

import java.util.List;

/**
 * An OpenFlow 1.3 flow table modification, independent of its wire form.
 *
 * @param tableId     0..{@link BridgeFlows#TABLES}-1, or {@link #ALL_TABLES} for deletes
 * @param priority    0..65535
 * @param cookie      an opaque value stored with added flows; with {@code cookieMask} a filter
 *                    for modify and delete (flows whose cookie agrees under the mask)
 * @param idleTimeout seconds without a packet before the flow is removed, 0 never
 * @param hardTimeout seconds after adding before the flow is removed, 0 never
 * @param flags       {@link #SEND_FLOW_REM}, {@link #CHECK_OVERLAP}, {@link #RESET_COUNTS}, ...
 * @param outPort     for deletes: only flows that output to this port ({@link OfPort#ANY} all)
 * @param outGroup    for deletes: only flows that output to this group ({@link OfPort#GROUP_ANY} all)
 */
public record FlowMod(
        Command command,
        int tableId,
        int priority,
        Match match,
        List<Instruction> instructions,
        long cookie,
        long cookieMask,
        int idleTimeout,
        int hardTimeout,
        int flags,
        int outPort,
        int outGroup) {

    /** OFPFC_*; {@link #code} is the wire value. */
    public enum Command {
        ADD(0),
        MODIFY(1),
        MODIFY_STRICT(2),
        DELETE(3),
        DELETE_STRICT(4);

        public final int code;

        Command(int code) {
            this.code = code;
        }

        public static Command of(int code) {
            for (Command c : values()) {
                if (c.code == code) {
                    return c;
                }
            }
            return null;
        }
    }

    /** OFPTT_ALL. */
    public static final int ALL_TABLES = 0xff;

    /** OFP_DEFAULT_PRIORITY. */
    public static final int DEFAULT_PRIORITY = 0x8000;

    public static final int SEND_FLOW_REM = 1;
    public static final int CHECK_OVERLAP = 1 << 1;
    public static final int RESET_COUNTS = 1 << 2;
    public static final int NO_PKT_COUNTS = 1 << 3;
    public static final int NO_BYT_COUNTS = 1 << 4;

    public FlowMod {
        match = match == null ? Match.ANY : match;
        instructions = instructions == null ? List.of() : List.copyOf(instructions);
    }

    /** An add of a flow with {@code instructions} and no cookie, timeouts or flags. */
    public static FlowMod add(int tableId, int priority, Match match, List<Instruction> instructions) {
        return new FlowMod(
                Command.ADD, tableId, priority, match, instructions, 0, 0, 0, 0, 0, OfPort.ANY, OfPort.GROUP_ANY);
    }

    /** A non-strict delete of the flows in {@code tableId} (or ALL_TABLES) that {@code match} covers. */
    public static FlowMod delete(int tableId, Match match) {
        return new FlowMod(Command.DELETE, tableId, 0, match, List.of(), 0, 0, 0, 0, 0, OfPort.ANY, OfPort.GROUP_ANY);
    }

    public FlowMod withCommand(Command c) {
        return new FlowMod(
                c,
                tableId,
                priority,
                match,
                instructions,
                cookie,
                cookieMask,
                idleTimeout,
                hardTimeout,
                flags,
                outPort,
                outGroup);
    }

    public FlowMod withCookie(long cookie, long cookieMask) {
        return new FlowMod(
                command,
                tableId,
                priority,
                match,
                instructions,
                cookie,
                cookieMask,
                idleTimeout,
                hardTimeout,
                flags,
                outPort,
                outGroup);
    }

    public FlowMod withTimeouts(int idleTimeout, int hardTimeout) {
        return new FlowMod(
                command,
                tableId,
                priority,
                match,
                instructions,
                cookie,
                cookieMask,
                idleTimeout,
                hardTimeout,
                flags,
                outPort,
                outGroup);
    }

    public FlowMod withFlags(int flags) {
        return new FlowMod(
                command,
                tableId,
                priority,
                match,
                instructions,
                cookie,
                cookieMask,
                idleTimeout,
                hardTimeout,
                flags,
                outPort,
                outGroup);
    }

    public FlowMod withOutPort(int outPort) {
        return new FlowMod(
                command,
                tableId,
                priority,
                match,
                instructions,
                cookie,
                cookieMask,
                idleTimeout,
                hardTimeout,
                flags,
                outPort,
                outGroup);
    }

    public FlowMod withPriority(int priority) {
        return new FlowMod(
                command,
                tableId,
                priority,
                match,
                instructions,
                cookie,
                cookieMask,
                idleTimeout,
                hardTimeout,
                flags,
                outPort,
                outGroup);
    }
}
