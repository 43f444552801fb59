package dev.panda.vswitch.flow;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One bridge's flows as a value: what the control journal keeps and replays. Immutable; {@link
 * #apply} is a pure function carrying out a {@link FlowMod} with {@link BridgeFlows}' semantics
 * (the same checks, the same choice of flows for add, modify, modify-strict, delete and
 * delete-strict, the same order within a table) on the flows alone: no counters, no durations.
 * {@code FlowTableStateTest} holds the two side by side on random flow mods.
 */
public final class FlowTableState {

    /** One flow: what an add installs and a modify may change (its instructions). */
    public record Entry(
            int table,
            int priority,
            Match match,
            List<Instruction> instructions,
            long cookie,
            int idleTimeout,
            int hardTimeout,
            int flags) {

        public Entry {
            match = match.normalized();
            instructions = List.copyOf(instructions);
        }

        /** The add that installs this flow. */
        public FlowMod toAdd() {
            return new FlowMod(
                    FlowMod.Command.ADD,
                    table,
                    priority,
                    match,
                    instructions,
                    cookie,
                    0,
                    idleTimeout,
                    hardTimeout,
                    flags,
                    OfPort.ANY,
                    OfPort.GROUP_ANY);
        }

        static Entry of(FlowMod m) {
            return new Entry(
                    m.tableId(),
                    m.priority(),
                    m.match(),
                    m.instructions(),
                    m.cookie(),
                    m.idleTimeout(),
                    m.hardTimeout(),
                    m.flags());
        }

        Entry withInstructions(List<Instruction> ins) {
            return new Entry(table, priority, match, ins, cookie, idleTimeout, hardTimeout, flags);
        }

        boolean outputsTo(int port) {
            for (Instruction i : instructions) {
                List<Action> actions = switch (i) {
                    case Instruction.ApplyActions a -> a.actions();
                    case Instruction.WriteActions w -> w.actions();
                    default -> List.of();
                };
                for (Action a : actions) {
                    if (a instanceof Action.Output o && o.port() == port) {
                        return true;
                    }
                }
            }
            return false;
        }
    }

    public static final FlowTableState EMPTY = new FlowTableState(emptyTables(), 0);

    /** Per table, its flows in the order {@link BridgeFlows} keeps them (never null, unmodifiable). */
    private final List<Entry>[] tables;

    private final int count;

    private FlowTableState(List<Entry>[] tables, int count) {
        this.tables = tables;
        this.count = count;
    }

    @SuppressWarnings("unchecked")
    private static List<Entry>[] emptyTables() {
        List<Entry>[] t = new List[BridgeFlows.TABLES];
        Arrays.fill(t, List.of());
        return t;
    }

    /**
     * The state holding {@code entries}, table by table in the order given (a snapshot's flows).
     *
     * @throws IllegalArgumentException an entry {@link BridgeFlows} would refuse, two flows of the
     *     same table, priority and match, or more than {@code maxFlows}
     */
    public static FlowTableState of(List<Entry> entries, int maxFlows) {
        if (entries.size() > maxFlows) {
            throw new IllegalArgumentException(
                    entries.size() + " flows, more than the " + maxFlows + " a bridge holds");
        }
        @SuppressWarnings("unchecked")
        List<Entry>[] t = new List[BridgeFlows.TABLES];
        for (int i = 0; i < t.length; i++) {
            t[i] = new ArrayList<>();
        }
        java.util.Set<List<Object>> seen = new java.util.HashSet<>();
        for (Entry e : entries) {
            FlowModResult bad = BridgeFlows.check(e.toAdd());
            if (bad != null) {
                throw new IllegalArgumentException("flow refused: " + bad.message());
            }
            if (!seen.add(List.of(e.table(), e.priority(), e.match()))) {
                throw new IllegalArgumentException("two flows of table " + e.table() + ", priority " + e.priority()
                        + " and match " + FlowFormat.match(e.match()));
            }
            t[e.table()].add(e);
        }
        for (int i = 0; i < t.length; i++) {
            t[i] = List.copyOf(t[i]);
        }
        return new FlowTableState(t, entries.size());
    }

    public int size() {
        return count;
    }

    public boolean isEmpty() {
        return count == 0;
    }

    /** Every flow, table by table, each table in its order. */
    public List<Entry> entries() {
        List<Entry> out = new ArrayList<>(count);
        for (List<Entry> t : tables) {
            out.addAll(t);
        }
        return out;
    }

    /**
     * The state after {@code m}, as {@link BridgeFlows#apply} would leave the flows with at most
     * {@code maxFlows} of them.
     *
     * @throws IllegalArgumentException the flow mod is one {@link BridgeFlows} refuses (its
     *     message)
     */
    public FlowTableState apply(FlowMod m, int maxFlows) {
        FlowModResult bad = BridgeFlows.check(m);
        if (bad != null) {
            throw new IllegalArgumentException("flow mod refused: " + bad.message());
        }
        return switch (m.command()) {
            case ADD -> add(m, maxFlows);
            case MODIFY, MODIFY_STRICT -> modify(m, m.command() == FlowMod.Command.MODIFY_STRICT);
            case DELETE, DELETE_STRICT -> delete(m, m.command() == FlowMod.Command.DELETE_STRICT);
        };
    }

    private FlowTableState add(FlowMod m, int maxFlows) {
        List<Entry> t = tables[m.tableId()];
        Match match = m.match().normalized();
        int same = -1;
        for (int i = 0; i < t.size(); i++) {
            Entry e = t.get(i);
            if (e.priority() != m.priority()) {
                continue;
            }
            if (e.match().equals(match)) {
                same = i;
            } else if ((m.flags() & FlowMod.CHECK_OVERLAP) != 0 && e.match().overlaps(match)) {
                throw new IllegalArgumentException(
                        "flow mod refused: overlaps a flow of the same priority: " + FlowFormat.match(e.match()));
            }
        }
        if (same < 0 && count >= maxFlows) {
            throw new IllegalArgumentException("flow mod refused: the bridge holds its maximum of " + maxFlows);
        }
        List<Entry> n = new ArrayList<>(t);
        if (same >= 0) {
            n.set(same, Entry.of(m));
        } else {
            n.add(Entry.of(m));
        }
        return with(m.tableId(), n, same >= 0 ? count : count + 1);
    }

    private static boolean cookieMatches(Entry e, FlowMod m) {
        return ((e.cookie() ^ m.cookie()) & m.cookieMask()) == 0;
    }

    private static boolean hit(Entry e, FlowMod m, Match match, boolean strict) {
        return strict
                ? e.priority() == m.priority() && e.match().equals(match)
                : e.match().isSubsetOf(match);
    }

    private FlowTableState modify(FlowMod m, boolean strict) {
        Match match = m.match().normalized();
        if (m.tableId() == FlowMod.ALL_TABLES) {
            for (int tid = 0; tid < BridgeFlows.TABLES; tid++) {
                for (Entry e : tables[tid]) {
                    if (cookieMatches(e, m) && hit(e, m, match, strict)) {
                        FlowModResult bad = BridgeFlows.checkInstructions(m.instructions(), tid);
                        if (bad != null) {
                            throw new IllegalArgumentException("flow mod refused: " + bad.message());
                        }
                    }
                }
            }
        }
        List<Entry>[] t = tables.clone();
        boolean any = false;
        for (int tid = 0; tid < BridgeFlows.TABLES; tid++) {
            if (m.tableId() != FlowMod.ALL_TABLES && m.tableId() != tid) {
                continue;
            }
            List<Entry> n = null;
            for (int i = 0; i < tables[tid].size(); i++) {
                Entry e = tables[tid].get(i);
                if (cookieMatches(e, m) && hit(e, m, match, strict)) {
                    if (n == null) {
                        n = new ArrayList<>(tables[tid]);
                    }
                    n.set(i, e.withInstructions(m.instructions()));
                }
            }
            if (n != null) {
                t[tid] = List.copyOf(n);
                any = true;
            }
        }
        return any ? new FlowTableState(t, count) : this;
    }

    private FlowTableState delete(FlowMod m, boolean strict) {
        Match match = m.match().normalized();
        List<Entry>[] t = tables.clone();
        int removed = 0;
        for (int tid = 0; tid < BridgeFlows.TABLES; tid++) {
            if (m.tableId() != FlowMod.ALL_TABLES && m.tableId() != tid) {
                continue;
            }
            List<Entry> n = null;
            for (Entry e : tables[tid]) {
                boolean gone = cookieMatches(e, m)
                        && (m.outPort() == OfPort.ANY || e.outputsTo(m.outPort()))
                        && m.outGroup() == OfPort.GROUP_ANY
                        && hit(e, m, match, strict);
                if (gone) {
                    if (n == null) {
                        n = new ArrayList<>(tables[tid]);
                    }
                    n.remove(e);
                    removed++;
                }
            }
            if (n != null) {
                t[tid] = List.copyOf(n);
            }
        }
        return removed == 0 ? this : new FlowTableState(t, count - removed);
    }

    /**
     * The state without the flow of {@code table}, {@code priority} and {@code match} (one that a
     * timeout removed); the same state when there is none.
     */
    public FlowTableState without(int table, int priority, Match match) {
        if (table < 0 || table >= BridgeFlows.TABLES) {
            throw new IllegalArgumentException("table " + table + " is not 0.." + (BridgeFlows.TABLES - 1));
        }
        Match mm = match.normalized();
        List<Entry> n = new ArrayList<>(tables[table]);
        if (!n.removeIf(e -> e.priority() == priority && e.match().equals(mm))) {
            return this;
        }
        return with(table, n, count - 1);
    }

    private FlowTableState with(int table, List<Entry> entries, int newCount) {
        List<Entry>[] t = tables.clone();
        t[table] = List.copyOf(entries);
        return new FlowTableState(t, newCount);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FlowTableState s && Arrays.equals(tables, s.tables);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(tables);
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        for (Entry e : entries()) {
            b.append(" table=")
                    .append(e.table())
                    .append(",priority=")
                    .append(e.priority())
                    .append(",cookie=0x")
                    .append(Long.toHexString(e.cookie()));
            String m = FlowFormat.match(e.match());
            if (!m.isEmpty()) {
                b.append(',').append(m);
            }
            b.append(",actions=")
                    .append(FlowFormat.instructions(e.instructions()))
                    .append('\n');
        }
        return b.toString();
    }
}
