package dev.panda.vswitch.flow;

/** OFPMP_TABLE's reply for one table: flows in it, packets looked up in it, and those that matched. */
public record TableStats(int tableId, int activeCount, long lookups, long matched) {}
