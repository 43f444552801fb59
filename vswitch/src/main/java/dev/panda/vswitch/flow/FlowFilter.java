package dev.panda.vswitch.flow;

/**
 * Which flows a stats request (flow or aggregate) covers, as OFPMP_FLOW's request: a table (or
 * {@link FlowMod#ALL_TABLES}), a match that covers them (non-strict), an output port and group
 * ({@link OfPort#ANY}/{@link OfPort#GROUP_ANY} for any), and a cookie under a mask.
 */
public record FlowFilter(int tableId, Match match, int outPort, int outGroup, long cookie, long cookieMask) {

    public static final FlowFilter ALL =
            new FlowFilter(FlowMod.ALL_TABLES, Match.ANY, OfPort.ANY, OfPort.GROUP_ANY, 0, 0);

    public FlowFilter {
        match = match == null ? Match.ANY : match;
    }

    public static FlowFilter table(int tableId) {
        return new FlowFilter(tableId, Match.ANY, OfPort.ANY, OfPort.GROUP_ANY, 0, 0);
    }
}
