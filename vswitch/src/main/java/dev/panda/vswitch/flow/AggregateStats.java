package dev.panda.vswitch.flow;

/** OFPMP_AGGREGATE's reply: sums over the flows a {@link FlowFilter} covers. */
public record AggregateStats(long packets, long bytes, int flowCount) {}
