package dev.panda.vswitch.flow;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One bridge's OpenFlow 1.3 flow tables: what the control API and the OpenFlow channel call.
 *
 * <p>Control-side calls ({@link #apply}, {@link #flows}, {@link #sweep}, ...) are serialised on
 * this object; the data path never takes that lock. Every change publishes a new immutable
 * {@link Classifier} with a volatile write, which the data path reads per packet (and which
 * invalidates every thread's exact-match cache). Per-flow and per-table counters live in one slot
 * per data-path thread. PACKET_INs travel to the control side through a preallocated ring
 * ({@link #drainPacketIns}); PACKET_OUTs the other way through a queue the data path polls.
 *
 * <p>While the bridge has no flow, is in {@code standalone} fail mode and has no controller, it is
 * not {@link #engaged()}: the data path switches its packets as the learning bridge (NORMAL)
 * without looking at the tables at all.
 */
public final class BridgeFlows {

    /** Tables 0..TABLES-1 (n_tables in FEATURES_REPLY). */
    public static final int TABLES = 64;

    public static final int DEFAULT_MAX_FLOWS = 65536;
    /** Packet-outs waiting for the data path at most; beyond, {@link #packetOut} refuses. */
    public static final int MAX_PENDING_PACKET_OUTS = 1024;

    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

    /** A PACKET_OUT waiting for the data path. */
    record PacketOut(int inPort, byte[] frame, Action[] actions) {}

    private final String bridge;
    private final int threads;
    private final int maxFlows;

    @SuppressWarnings("unchecked")
    private final List<Rule>[] tables = new List[TABLES];

    /** Per table, a superset of its flows' keys (see {@link #keys}); under this object's lock. */
    @SuppressWarnings("unchecked")
    private final Set<RuleKey>[] keys = new Set[TABLES];

    private int flowCount;
    private long generation;
    private volatile Classifier classifier;

    private volatile int maxFrame = 9216;

    /** Tables changed since {@link #classifier} was built; under this object's lock. */
    private final boolean[] stale = new boolean[TABLES];

    private volatile boolean anyStale;
    /** When the oldest change {@link #classifier} lacks was made (System.nanoTime); under the lock. */
    private long staleSince;
    /** How long the last {@link #flushLocked} took to build its tables. */
    private long lastBuildNanos;

    /**
     * Longest a deferred change waits for {@link #flushWhenDue()}: a controller that sends FLOW_MODs
     * and no barrier sees them take effect within this.
     */
    public static final long MAX_DEFER_NANOS = 100_000_000L;

    /**
     * A bridge with at most this many flows has its classifier rebuilt at every barrier (a
     * rebuild of 1,000 flows took 120 us here, 4,000 took 310 us); a bigger one gets a barrier's
     * changes within {@link #MAX_DEFER_NANOS}.
     */
    public static final int EAGER_FLOWS = 2048;
    /** True while {@link #applyDeferred} runs (under the lock): changes wait for {@link #flush()}. */
    private boolean deferring;

    private volatile FailMode failMode = FailMode.STANDALONE;
    private volatile boolean controllerConnected;
    private volatile boolean engaged;
    private volatile FlowRemoved.Listener listener;
    private volatile Gate gate;
    private volatile boolean detached;

    /** Per table and data-path thread: [table * threads + thread]. */
    private final long[] lookups;

    private final long[] matched;
    final PacketInRing packetIns = new PacketInRing();
    final ConcurrentLinkedQueue<PacketOut> packetOuts = new ConcurrentLinkedQueue<>();
    final AtomicInteger packetOutsPending = new AtomicInteger();
    /**
     * PACKET_OUTs queued so far; they enter {@link #packetOuts} under {@code packetOuts}' lock, so
     * the queue's order is this count's and the n-th one taken is the n-th one queued.
     */
    private long packetOutsQueued;
    /** PACKET_OUTs the data path took (its one sending thread only). */
    private long packetOutsTaken;
    /** {@link #packetOutsTaken} as of the data path's last flush: those frames were handed to their ports. */
    private volatile long packetOutsSent;

    private final AtomicLong packetInsNoController = new AtomicLong();

    /**
     * @param threads how many data-path threads run flows (their indices are 0..threads-1)
     */
    public BridgeFlows(String bridge, int threads, int maxFlows) {
        if (maxFlows < 1) {
            throw new IllegalArgumentException("max flows must be at least 1, got " + maxFlows);
        }
        this.bridge = bridge;
        this.threads = Math.max(1, threads);
        this.maxFlows = maxFlows;
        for (int i = 0; i < TABLES; i++) {
            tables[i] = new ArrayList<>();
            keys[i] = new java.util.HashSet<>();
        }
        this.classifier = Classifier.empty(TABLES);
        this.lookups = new long[TABLES * this.threads];
        this.matched = new long[TABLES * this.threads];
    }

    public BridgeFlows(String bridge, int threads) {
        this(bridge, threads, DEFAULT_MAX_FLOWS);
    }

    public String bridge() {
        return bridge;
    }

    public int maxFlows() {
        return maxFlows;
    }

    // ---- configuration ------------------------------------------------------------------------

    public FailMode failMode() {
        return failMode;
    }

    public synchronized void setFailMode(FailMode mode) {
        this.failMode = mode;
        updateEngaged();
    }

    public boolean controllerConnected() {
        return controllerConnected;
    }

    /** The OpenFlow channel says whether a controller is connected (table-miss behaviour, PACKET_IN). */
    public synchronized void setControllerConnected(boolean connected) {
        this.controllerConnected = connected;
        updateEngaged();
    }

    /** Receives FLOW_REMOVED for flows flagged SEND_FLOW_REM (null: none). */
    public void setFlowRemovedListener(FlowRemoved.Listener l) {
        this.listener = l;
    }

    private void updateEngaged() {
        engaged = flowCount > 0 || failMode == FailMode.SECURE || controllerConnected;
    }

    /** True when the data path must run packets through the tables (else: NORMAL, as without flows). */
    public boolean engaged() {
        return engaged;
    }

    /** What a table-miss does now: true = NORMAL (standalone, no controller), false = drop. */
    boolean missIsNormal() {
        return !controllerConnected && failMode == FailMode.STANDALONE;
    }

    Classifier classifier() {
        return classifier;
    }

    /** Changes so far (each publishes a new classifier). */
    public synchronized long generation() {
        return generation;
    }

    public synchronized int flowCount() {
        return flowCount;
    }

    // ---- the journal's gate ---------------------------------------------------------------------

    /**
     * What every change of these tables passes through when set (the control journal): a flow mod,
     * whoever sends it (the control API, an OpenFlow peer), and the removals of the timeout sweep.
     * The gate runs the change, records it, and only then returns; a flow mod it cannot record it
     * undoes and refuses by throwing (the caller's answer is an error).
     */
    public interface Gate {
        /** Runs {@code apply} (which carries out {@code m}), records it if it changed anything, returns its result. */
        FlowModResult flowMod(BridgeFlows flows, FlowMod m, java.util.function.Supplier<Applied> apply);

        /**
         * Runs {@code apply} (which carries out {@code mods}, all or none), records each flow mod
         * that changed anything, in order, and returns the run's result. When it cannot record
         * them all it keeps those it recorded ({@link AppliedAll#undoFrom}) and throws.
         */
        FlowModsResult flowMods(BridgeFlows flows, List<FlowMod> mods, java.util.function.Supplier<AppliedAll> apply);

        /** Runs {@code sweep} (which removes expired flows and lists them) and records what it removed. */
        List<Expired> expire(BridgeFlows flows, java.util.function.Supplier<List<Expired>> sweep);
    }

    /** A flow mod carried out, and how to put the tables back as they were before it. */
    public interface Applied {
        FlowModResult result();

        /** Puts back the flows the flow mod changed (counters a reset_counts zeroed stay zero). */
        void undo();
    }

    /** A run of flow mods carried out by {@link #applyAll}, and how to keep only its beginning. */
    public interface AppliedAll {
        FlowModsResult result();

        /**
         * Puts the tables back as they were before the run, then carries out its first {@code
         * keep} flow mods again (they succeed as they did): what stays when only those could be
         * recorded. The data path gets the result at the run's end.
         */
        void undoFrom(int keep);
    }

    /** A flow a timeout removed: enough to find it in a table (table, priority, match). */
    public record Expired(int table, int priority, Match match, FlowRemoved.Reason reason) {}

    /** Routes every later change through {@code g} (null: none). */
    public void setGate(Gate g) {
        this.gate = g;
    }

    /** The bridge is gone: changes to these tables are no longer the bridge's (the gate records none). */
    public void detach() {
        detached = true;
    }

    public boolean detached() {
        return detached;
    }

    /**
     * The flows as a value (no counters), each table in its order: what a journal snapshot keeps.
     */
    public synchronized FlowTableState state() {
        List<FlowTableState.Entry> out = new ArrayList<>(flowCount);
        for (List<Rule> t : tables) {
            for (Rule r : t) {
                out.add(new FlowTableState.Entry(
                        r.table, r.priority, r.match, r.instructions, r.cookie, r.idleTimeout, r.hardTimeout, r.flags));
            }
        }
        return FlowTableState.of(out, Integer.MAX_VALUE);
    }

    /**
     * Installs {@code adds} (a restart's flows from the journal) without the gate, each table
     * published once: counters start at zero, timeouts from now.
     *
     * @throws IllegalArgumentException a flow the tables refuse (nothing is installed then)
     */
    public synchronized void restore(List<FlowMod> adds) {
        long now = System.nanoTime();
        java.util.Set<List<Object>> seen = new java.util.HashSet<>();
        for (List<Rule> t : tables) {
            for (Rule r : t) {
                seen.add(List.of(r.table, r.priority, r.match));
            }
        }
        for (FlowMod m : adds) {
            FlowModResult bad = m.command() != FlowMod.Command.ADD
                    ? FlowModResult.fail(FlowError.BAD_COMMAND, "not an add")
                    : check(m);
            if (bad == null && flowCount + adds.size() > maxFlows) {
                bad = FlowModResult.fail(FlowError.TABLE_FULL, "more than " + maxFlows + " flows");
            }
            if (bad == null
                    && !seen.add(List.of(m.tableId(), m.priority(), m.match().normalized()))) {
                bad = FlowModResult.fail(FlowError.OVERLAP, "the same flow twice");
            }
            if (bad != null) {
                throw new IllegalArgumentException(
                        "bridge " + bridge + ": cannot restore " + FlowFormat.match(m.match()) + ": " + bad.message());
            }
        }
        for (FlowMod m : adds) {
            tables[m.tableId()].add(new Rule(m, now, new FlowCounters(threads)));
            keys(m.tableId()).add(new RuleKey(m.priority(), m.match().normalized()));
            flowCount++;
            markStale(m.tableId());
        }
        flushLocked(); // every table it filled, in one new classifier
    }

    // ---- flow mods ----------------------------------------------------------------------------

    /**
     * Carries out {@code m} all or nothing; a refusal names the OpenFlow error and changes nothing.
     * With a {@link Gate} the change is recorded before this returns; a gate that cannot record it
     * throws (and the change is undone).
     */
    public FlowModResult apply(FlowMod m) {
        return apply(m, false);
    }

    /**
     * {@link #apply}, with the data path's classifier rebuilt at the next {@link #flush()} (or the
     * next change made without deferring) instead of now: a controller's run of FLOW_MODs costs one
     * rebuild per changed table, where one per message made filling a table take time that grew
     * with the square of its size. The tables themselves (stats, dumps, the journal) change at once.
     * The caller must {@link #flush()} before it answers anything that orders after the change
     * (a BARRIER_REPLY) and before it goes idle.
     */
    public FlowModResult applyDeferred(FlowMod m) {
        return apply(m, true);
    }

    /**
     * Carries out {@code mods} in order, all or none, and gives the data path one new classifier
     * at the end (each changed table rebuilt once): the way to load many flows, where one {@link
     * #apply} per flow rebuilds its table each time. Stats and dumps see the tables change as
     * {@link #applyDeferred} changes them. The first flow mod refused puts every table back as it
     * was (nothing published, no FLOW_REMOVED; a {@code reset_counts} that zeroed counters stays
     * zeroed, as for an undo) and the result names it. With a {@link Gate} every flow mod of the
     * run that changed something is recorded before this returns; a gate that cannot record them
     * all keeps those it did and throws.
     */
    public FlowModsResult applyAll(List<FlowMod> mods) {
        List<FlowRemoved> removed = new ArrayList<>();
        Gate g = gate;
        try {
            if (g == null) {
                return applyAllUndoable(mods, removed).result();
            }
            return g.flowMods(this, mods, () -> applyAllUndoable(mods, removed));
        } finally {
            flush(); // what the run changed (or what an undo kept of it), in one classifier
            notify(removed);
        }
    }

    private synchronized AppliedAll applyAllUndoable(List<FlowMod> mods, List<FlowRemoved> removed) {
        Saved before = new Saved();
        long now = System.nanoTime();
        List<FlowModResult> results = new ArrayList<>(mods.size());
        for (int i = 0; i < mods.size(); i++) {
            FlowModResult r = applyLocked(mods.get(i), now, removed, true);
            if (!r.isOk()) {
                before.restore(false);
                removed.clear();
                FlowModsResult refused = FlowModsResult.refused(i, r);
                return new AppliedAll() {
                    @Override
                    public FlowModsResult result() {
                        return refused;
                    }

                    @Override
                    public void undoFrom(int keep) {
                        // nothing was changed
                    }
                };
            }
            results.add(r);
        }
        FlowModsResult ok = FlowModsResult.ok(results);
        return new AppliedAll() {
            @Override
            public FlowModsResult result() {
                return ok;
            }

            @Override
            public void undoFrom(int keep) {
                synchronized (BridgeFlows.this) {
                    before.restore(true);
                    removed.clear();
                    long again = System.nanoTime();
                    for (int i = 0; i < keep && i < mods.size(); i++) {
                        applyLocked(mods.get(i), again, removed, true);
                    }
                }
            }
        };
    }

    /** The tables as they were before a run of {@link #applyAll}; under this object's lock. */
    private final class Saved {
        @SuppressWarnings("unchecked")
        private final List<Rule>[] rules = new List[TABLES];

        private final boolean[] wasStale = stale.clone();
        private final boolean wasAnyStale = anyStale;
        private final int count = flowCount;

        Saved() {
            for (int t = 0; t < TABLES; t++) {
                rules[t] = tables[t].isEmpty() ? List.of() : new ArrayList<>(tables[t]);
            }
        }

        /**
         * Puts every table back. {@code republish} false: nothing was published since, so the
         * data path's classifier is still that of these tables (the stale marks go back too); true:
         * a flush may have published the run meanwhile, so the tables put back are published again.
         */
        void restore(boolean republish) {
            for (int t = 0; t < TABLES; t++) {
                if (sameRules(rules[t], tables[t])) {
                    continue;
                }
                tables[t].clear();
                tables[t].addAll(rules[t]);
                keys[t].clear(); // the run may have rebuilt it without a flow put back here
                for (Rule r : rules[t]) {
                    keys[t].add(new RuleKey(r.priority, r.match));
                }
                if (republish) {
                    markStale(t);
                }
            }
            if (!republish) {
                System.arraycopy(wasStale, 0, stale, 0, TABLES);
                anyStale = wasAnyStale;
            }
            flowCount = count;
            updateEngaged();
        }
    }

    private FlowModResult apply(FlowMod m, boolean defer) {
        List<FlowRemoved> removed = new ArrayList<>();
        FlowModResult r;
        Gate g = gate;
        if (g == null) {
            synchronized (this) {
                r = applyLocked(m, System.nanoTime(), removed, defer);
            }
        } else {
            r = g.flowMod(this, m, () -> applyUndoable(m, removed, defer));
        }
        notify(removed);
        return r;
    }

    private Applied applyUndoable(FlowMod m, List<FlowRemoved> removed, boolean defer) {
        synchronized (this) {
            @SuppressWarnings("unchecked")
            List<Rule>[] saved = new List[TABLES];
            boolean one = m.tableId() >= 0 && m.tableId() < TABLES;
            for (int t = 0; t < TABLES; t++) {
                if (!one || t == m.tableId()) {
                    saved[t] = new ArrayList<>(tables[t]);
                }
            }
            int savedCount = flowCount;
            FlowModResult r = applyLocked(m, System.nanoTime(), removed, defer);
            return new Applied() {
                @Override
                public FlowModResult result() {
                    return r;
                }

                @Override
                public void undo() {
                    synchronized (BridgeFlows.this) {
                        flowCount = savedCount;
                        for (int t = 0; t < TABLES; t++) {
                            if (saved[t] != null && !sameRules(saved[t], tables[t])) {
                                tables[t].clear();
                                tables[t].addAll(saved[t]);
                                publish(t);
                            }
                        }
                        updateEngaged();
                        removed.clear(); // nothing was removed after all: no FLOW_REMOVED
                    }
                }
            };
        }
    }

    private static boolean sameRules(List<Rule> a, List<Rule> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (a.get(i) != b.get(i)) {
                return false;
            }
        }
        return true;
    }

    private void notify(List<FlowRemoved> removed) {
        FlowRemoved.Listener l = listener;
        if (l != null) {
            for (FlowRemoved e : removed) {
                l.flowRemoved(e);
            }
        }
    }

    /** Checks {@code m} without applying it: null if it would be accepted, else the error. */
    public static FlowModResult check(FlowMod m) {
        if (m.command() == null) {
            return FlowModResult.fail(FlowError.BAD_COMMAND, "no command");
        }
        boolean delete = m.command() == FlowMod.Command.DELETE || m.command() == FlowMod.Command.DELETE_STRICT;
        boolean add = m.command() == FlowMod.Command.ADD;
        // table 255 (all) for deletes, and for modifies too (as Open vSwitch allows), never for adds
        if (m.tableId() == FlowMod.ALL_TABLES ? add : m.tableId() < 0 || m.tableId() >= TABLES) {
            return FlowModResult.fail(
                    FlowError.BAD_TABLE_ID,
                    "table " + m.tableId() + " is not 0.." + (TABLES - 1) + (add ? "" : " or 255 (all)"));
        }
        if (m.priority() < 0 || m.priority() > 0xffff) {
            return FlowModResult.fail(FlowError.UNKNOWN, "priority " + m.priority() + " is not 0..65535");
        }
        if (m.idleTimeout() < 0 || m.idleTimeout() > 0xffff || m.hardTimeout() < 0 || m.hardTimeout() > 0xffff) {
            return FlowModResult.fail(FlowError.BAD_TIMEOUT, "timeouts are 0..65535 seconds");
        }
        int known = FlowMod.SEND_FLOW_REM
                | FlowMod.CHECK_OVERLAP
                | FlowMod.RESET_COUNTS
                | FlowMod.NO_PKT_COUNTS
                | FlowMod.NO_BYT_COUNTS;
        if ((m.flags() & ~known) != 0) {
            return FlowModResult.fail(FlowError.BAD_FLAGS, "unknown flags 0x" + Integer.toHexString(m.flags()));
        }
        var me = m.match().validate();
        if (me.isPresent()) {
            return FlowModResult.fail(
                    FlowError.of(me.get()), "bad match: " + me.get().name().toLowerCase());
        }
        if (delete) {
            return null; // instructions of a delete are ignored
        }
        return checkInstructions(m.instructions(), m.tableId() == FlowMod.ALL_TABLES ? -1 : m.tableId());
    }

    static FlowModResult checkInstructions(List<Instruction> instructions, int tableId) {
        boolean[] seen = new boolean[8];
        for (Instruction i : instructions) {
            if (i == null) {
                return FlowModResult.fail(FlowError.UNKNOWN_INST, "null instruction");
            }
            int t = i.ofType();
            if (seen[t]) {
                return FlowModResult.fail(FlowError.UNSUP_INST, "two instructions of type " + t);
            }
            seen[t] = true;
            switch (i) {
                case Instruction.GotoTable g -> {
                    if (g.tableId() <= tableId || g.tableId() >= TABLES) {
                        return FlowModResult.fail(
                                FlowError.BAD_INST_TABLE_ID,
                                "goto_table:" + g.tableId() + " must name a later table (" + (tableId + 1) + ".."
                                        + (TABLES - 1) + ")");
                    }
                }
                case Instruction.ApplyActions a -> {
                    FlowModResult r = checkActions(a.actions(), false);
                    if (r != null) {
                        return r;
                    }
                }
                case Instruction.WriteActions w -> {
                    FlowModResult r = checkActions(w.actions(), false);
                    if (r != null) {
                        return r;
                    }
                }
                case Instruction.ClearActions c -> {}
            }
        }
        return null;
    }

    /** Null if every action is one panda carries out with valid arguments. */
    static FlowModResult checkActions(List<Action> actions, boolean packetOut) {
        if (actions.size() > 64) {
            return FlowModResult.fail(FlowError.TOO_MANY_ACTIONS, "more than 64 actions");
        }
        for (Action a : actions) {
            switch (a) {
                case null -> {
                    return FlowModResult.fail(FlowError.BAD_ACTION_TYPE, "null action");
                }
                case Action.Output o -> {
                    int p = o.port();
                    boolean ok = OfPort.isPhysical(p)
                            || p == OfPort.IN_PORT
                            || p == OfPort.NORMAL
                            || p == OfPort.FLOOD
                            || p == OfPort.ALL
                            || p == OfPort.CONTROLLER
                            || (packetOut && p == OfPort.TABLE);
                    if (!ok) {
                        return FlowModResult.fail(
                                FlowError.BAD_OUT_PORT, "output to " + OfPort.name(p) + " is not supported here");
                    }
                    if (o.maxLen() < 0 || o.maxLen() > 0xffff) {
                        return FlowModResult.fail(FlowError.BAD_ACTION_ARGUMENT, "max_len " + o.maxLen());
                    }
                }
                case Action.PushVlan pv -> {
                    if (pv.ethertype() != 0x8100 && pv.ethertype() != 0x88a8) {
                        return FlowModResult.fail(
                                FlowError.BAD_ACTION_ARGUMENT,
                                "push_vlan ethertype must be 0x8100 or 0x88a8, got 0x"
                                        + Integer.toHexString(pv.ethertype()));
                    }
                }
                case Action.PopVlan pv -> {}
                case Action.SetField sf -> {
                    if (sf.field() == null) {
                        return FlowModResult.fail(FlowError.BAD_SET_TYPE, "set_field without a field");
                    }
                    switch (sf.field()) {
                        case ETH_SRC, ETH_DST -> {
                            if ((sf.value() & ~0xffff_ffff_ffffL) != 0) {
                                return FlowModResult.fail(FlowError.BAD_SET_ARGUMENT, "a MAC is 48 bits");
                            }
                        }
                        case VLAN_VID -> {
                            if ((sf.value() & ~0x1fffL) != 0) {
                                return FlowModResult.fail(FlowError.BAD_SET_ARGUMENT, "vlan_vid is 0..4095 (| 0x1000)");
                            }
                        }
                        default -> {
                            return FlowModResult.fail(
                                    FlowError.BAD_SET_TYPE,
                                    "set_field of " + sf.field().ofName() + " is not supported");
                        }
                    }
                }
            }
        }
        return null;
    }

    /** {@link #applyLocked}, its tables published now or, with {@code defer}, at {@link #flush()}. */
    private FlowModResult applyLocked(FlowMod m, long now, List<FlowRemoved> removed, boolean defer) {
        deferring = defer;
        try {
            return applyLocked(m, now, removed);
        } finally {
            deferring = false;
        }
    }

    private FlowModResult applyLocked(FlowMod m, long now, List<FlowRemoved> removed) {
        FlowModResult bad = check(m);
        if (bad != null) {
            return bad;
        }
        return switch (m.command()) {
            case ADD -> add(m, now);
            case MODIFY, MODIFY_STRICT -> modify(m, m.command() == FlowMod.Command.MODIFY_STRICT);
            case DELETE, DELETE_STRICT -> delete(m, m.command() == FlowMod.Command.DELETE_STRICT, now, removed);
        };
    }

    private FlowModResult add(FlowMod m, long now) {
        List<Rule> t = tables[m.tableId()];
        Match match = m.match().normalized();
        Set<RuleKey> k = keys(m.tableId());
        RuleKey key = new RuleKey(m.priority(), match);
        int same = -1;
        // without the key no flow of the table is this one: only an overlap check walks the table
        boolean walk = k.contains(key) || (m.flags() & FlowMod.CHECK_OVERLAP) != 0;
        for (int i = 0; walk && i < t.size(); i++) {
            Rule r = t.get(i);
            if (r.priority != m.priority()) {
                continue;
            }
            if (r.match.equals(match)) {
                same = i;
            } else if ((m.flags() & FlowMod.CHECK_OVERLAP) != 0 && r.match.overlaps(match)) {
                return FlowModResult.fail(
                        FlowError.OVERLAP, "overlaps a flow of the same priority: " + FlowFormat.match(r.match));
            }
        }
        if (same < 0 && flowCount >= maxFlows) {
            return FlowModResult.fail(
                    FlowError.TABLE_FULL, "bridge " + bridge + " holds its maximum of " + maxFlows + " flows");
        }
        Rule r = new Rule(m, now, new FlowCounters(threads));
        if (same >= 0) {
            t.set(same, r); // an identical flow is replaced, its counters and duration start again
        } else {
            t.add(r);
            k.add(key);
            flowCount++;
        }
        publish(m.tableId());
        return FlowModResult.ok(1);
    }

    /** A flow's identity in its table: OpenFlow's "identical" flow has the same priority and match. */
    private record RuleKey(int priority, Match match) {}

    /**
     * The keys of table {@code t}'s flows, and perhaps of some removed since: a removal leaves its
     * key, which only costs a walk of the table when the same flow is added again. Rebuilt from the
     * table when the removed ones outnumber it, so it stays within twice the table's size.
     */
    private Set<RuleKey> keys(int t) {
        Set<RuleKey> k = keys[t];
        if (k.size() > 2 * tables[t].size() + 64) {
            k.clear();
            for (Rule r : tables[t]) {
                k.add(new RuleKey(r.priority, r.match));
            }
        }
        return k;
    }

    private static boolean cookieMatches(Rule r, FlowMod m) {
        return ((r.cookie ^ m.cookie()) & m.cookieMask()) == 0;
    }

    private FlowModResult modify(FlowMod m, boolean strict) {
        Match match = m.match().normalized();
        if (m.tableId() == FlowMod.ALL_TABLES) {
            // a goto in the new instructions must lead forward from every table it lands in
            for (int tid = 0; tid < TABLES; tid++) {
                for (Rule r : tables[tid]) {
                    if (cookieMatches(r, m)
                            && (strict
                                    ? r.priority == m.priority() && r.match.equals(match)
                                    : r.match.isSubsetOf(match))) {
                        FlowModResult bad = checkInstructions(m.instructions(), tid);
                        if (bad != null) {
                            return bad;
                        }
                    }
                }
            }
        }
        int n = 0;
        for (int tid = 0; tid < TABLES; tid++) {
            if (m.tableId() != FlowMod.ALL_TABLES && m.tableId() != tid) {
                continue;
            }
            List<Rule> t = tables[tid];
            boolean changed = false;
            for (int i = 0; i < t.size(); i++) {
                Rule r = t.get(i);
                if (!cookieMatches(r, m)) {
                    continue;
                }
                boolean hit = strict ? r.priority == m.priority() && r.match.equals(match) : r.match.isSubsetOf(match);
                if (hit) {
                    t.set(i, r.modified(m.instructions(), (m.flags() & FlowMod.RESET_COUNTS) != 0));
                    changed = true;
                    n++;
                }
            }
            if (changed) {
                publish(tid);
            }
        }
        return FlowModResult.ok(n);
    }

    private FlowModResult delete(FlowMod m, boolean strict, long now, List<FlowRemoved> removed) {
        Match match = m.match().normalized();
        int n = 0;
        for (int tid = 0; tid < TABLES; tid++) {
            if (m.tableId() != FlowMod.ALL_TABLES && m.tableId() != tid) {
                continue;
            }
            boolean changed = false;
            for (Iterator<Rule> it = tables[tid].iterator(); it.hasNext(); ) {
                Rule r = it.next();
                if (!cookieMatches(r, m)) {
                    continue;
                }
                if (m.outPort() != OfPort.ANY && !r.outputsTo(m.outPort())) {
                    continue;
                }
                if (m.outGroup() != OfPort.GROUP_ANY) {
                    continue; // no flow outputs to a group
                }
                boolean hit = strict ? r.priority == m.priority() && r.match.equals(match) : r.match.isSubsetOf(match);
                if (hit) {
                    it.remove();
                    flowCount--;
                    changed = true;
                    n++;
                    removedEvent(r, FlowRemoved.Reason.DELETE, now, removed);
                }
            }
            if (changed) {
                publish(tid);
            }
        }
        return FlowModResult.ok(n);
    }

    private static void removedEvent(Rule r, FlowRemoved.Reason why, long now, List<FlowRemoved> out) {
        if ((r.flags & FlowMod.SEND_FLOW_REM) != 0) {
            out.add(new FlowRemoved(
                    why,
                    r.table,
                    r.priority,
                    r.match,
                    r.cookie,
                    now - r.addedNanos,
                    r.idleTimeout,
                    r.hardTimeout,
                    r.counters.packets(),
                    r.counters.bytes()));
        }
    }

    /**
     * Table {@code changedTable} changed: the data path gets a new classifier now, or at the next
     * {@link #flush()} while {@link #applyDeferred} runs. Under this object's lock.
     */
    private void publish(int changedTable) {
        markStale(changedTable);
        if (!deferring) {
            flushLocked();
        }
    }

    /** Table {@code t} changed and the data path's classifier does not have it yet; under the lock. */
    private void markStale(int t) {
        stale[t] = true;
        if (!anyStale) {
            staleSince = System.nanoTime();
            anyStale = true;
        }
    }

    /**
     * Before a BARRIER_REPLY: flushes at once on a bridge of at most {@link #EAGER_FLOWS} flows,
     * else as {@link #flushWhenDue()}, so a peer that sends a barrier
     * after every FLOW_MOD (as {@code ovs-ofctl add-flows} does) does not rebuild a big table once
     * per flow. Returns as {@link #flushWhenDue()}.
     */
    public long flushForBarrier() {
        return flushWhenDue(true);
    }

    /** Whether the data path's classifier lacks changes {@link #applyDeferred} made. */
    public boolean dataPathBehind() {
        return anyStale;
    }

    /**
     * Flushes the changes {@link #applyDeferred} left waiting once they have waited ten times as
     * long as the last rebuild took, or {@link #MAX_DEFER_NANOS}, whichever is shorter; returns 0
     * when nothing waits afterwards, else the nanoseconds until it is due. A peer's long run of
     * FLOW_MODs into a big table thus rebuilds it a bounded number of times, spending at most a
     * tenth of the run on rebuilds, where a flush per turn of 64 rebuilt a table of n flows n/64
     * times; a small table is still flushed at once. {@link #flush()} flushes regardless.
     */
    public long flushWhenDue() {
        return flushWhenDue(false);
    }

    /** {@link #flushWhenDue()}; {@code barrier}: at once on a bridge of at most {@link #EAGER_FLOWS} flows. */
    private long flushWhenDue(boolean barrier) {
        if (!anyStale) {
            return 0;
        }
        synchronized (this) {
            if (!anyStale) {
                return 0;
            }
            long due = barrier && flowCount <= EAGER_FLOWS ? 0 : Math.min(MAX_DEFER_NANOS, 10 * lastBuildNanos);
            long waited = System.nanoTime() - staleSince;
            if (waited >= due) {
                flushLocked();
                return 0;
            }
            return due - waited;
        }
    }

    /**
     * Gives the data path the flows that {@link #applyDeferred} changed: one new classifier, each
     * changed table rebuilt once. Cheap when nothing waits.
     */
    public void flush() {
        if (anyStale) {
            synchronized (this) {
                flushLocked();
            }
        }
    }

    private void flushLocked() {
        if (!anyStale) {
            return;
        }
        long t0 = System.nanoTime();
        Classifier old = classifier;
        Subtable[][] t = old.tables.clone();
        for (int i = 0; i < TABLES; i++) {
            if (stale[i]) {
                t[i] = Classifier.buildTable(tables[i]);
                stale[i] = false;
            }
        }
        lastBuildNanos = System.nanoTime() - t0;
        anyStale = false;
        generation++;
        classifier = new Classifier(generation, t, flowCount);
        updateEngaged();
    }

    // ---- timeouts -----------------------------------------------------------------------------

    /**
     * Removes flows whose idle or hard timeout has passed at {@code nowNanos} (System.nanoTime),
     * sending FLOW_REMOVED for those flagged; returns how many. Called by the housekeeping thread.
     */
    public int sweep(long nowNanos) {
        List<FlowRemoved> removed = new ArrayList<>();
        Gate g = gate;
        if (g != null && !anyExpired(nowNanos)) {
            return 0; // the gate (the journal's lock) only when there is something to remove
        }
        int n = g == null
                ? sweepLocked(nowNanos, removed).size()
                : g.expire(this, () -> sweepLocked(nowNanos, removed)).size();
        notify(removed);
        return n;
    }

    private List<Expired> sweepLocked(long nowNanos, List<FlowRemoved> removed) {
        List<Expired> gone = List.of();
        synchronized (this) {
            for (int tid = 0; tid < TABLES; tid++) {
                boolean changed = false;
                for (Iterator<Rule> it = tables[tid].iterator(); it.hasNext(); ) {
                    Rule r = it.next();
                    touch(r, nowNanos);
                    FlowRemoved.Reason why = null;
                    if (r.hardTimeout > 0 && nowNanos - r.addedNanos >= r.hardTimeout * 1_000_000_000L) {
                        why = FlowRemoved.Reason.HARD_TIMEOUT;
                    } else if (r.idleTimeout > 0 && nowNanos - r.lastUsedNanos >= r.idleTimeout * 1_000_000_000L) {
                        why = FlowRemoved.Reason.IDLE_TIMEOUT;
                    }
                    if (why != null) {
                        it.remove();
                        flowCount--;
                        changed = true;
                        if (gone.isEmpty()) {
                            gone = new ArrayList<>();
                        }
                        gone.add(new Expired(tid, r.priority, r.match, why));
                        removedEvent(r, why, nowNanos, removed);
                    }
                }
                if (changed) {
                    publish(tid);
                }
            }
        }
        return gone;
    }

    private synchronized boolean anyExpired(long nowNanos) {
        for (List<Rule> t : tables) {
            for (Rule r : t) {
                touch(r, nowNanos);
                if (r.hardTimeout > 0 && nowNanos - r.addedNanos >= r.hardTimeout * 1_000_000_000L
                        || r.idleTimeout > 0 && nowNanos - r.lastUsedNanos >= r.idleTimeout * 1_000_000_000L) {
                    return true;
                }
            }
        }
        return false;
    }

    /** A flow whose packet count moved since the last look was used now. */
    private static void touch(Rule r, long now) {
        long p = r.counters.rawPackets();
        if (p != r.lastRawPackets) {
            r.lastRawPackets = p;
            r.lastUsedNanos = now;
        }
    }

    // ---- statistics ---------------------------------------------------------------------------

    private static boolean covered(Rule r, int tid, FlowFilter f) {
        return (f.tableId() == FlowMod.ALL_TABLES || f.tableId() == tid)
                && ((r.cookie ^ f.cookie()) & f.cookieMask()) == 0
                && (f.outPort() == OfPort.ANY || r.outputsTo(f.outPort()))
                && f.outGroup() == OfPort.GROUP_ANY
                && r.match.isSubsetOf(f.match().normalized());
    }

    /** The flows {@code filter} covers, table by table, highest priority first. */
    public synchronized List<FlowStats> flows(FlowFilter filter) {
        long now = System.nanoTime();
        List<FlowStats> out = new ArrayList<>();
        for (int tid = 0; tid < TABLES; tid++) {
            List<Rule> sorted = new ArrayList<>(tables[tid]);
            sorted.sort((a, b) -> Integer.compare(b.priority, a.priority));
            for (Rule r : sorted) {
                if (covered(r, tid, filter)) {
                    touch(r, now);
                    out.add(r.stats(now, tid));
                }
            }
        }
        return out;
    }

    public synchronized AggregateStats aggregate(FlowFilter filter) {
        long p = 0, b = 0;
        int n = 0;
        for (int tid = 0; tid < TABLES; tid++) {
            for (Rule r : tables[tid]) {
                if (covered(r, tid, filter)) {
                    p += r.counters.packets();
                    b += r.counters.bytes();
                    n++;
                }
            }
        }
        return new AggregateStats(p, b, n);
    }

    /** Every table 0..TABLES-1 with its flows, lookups and matches. */
    public synchronized List<TableStats> tableStats() {
        List<TableStats> out = new ArrayList<>(TABLES);
        for (int tid = 0; tid < TABLES; tid++) {
            out.add(new TableStats(tid, tables[tid].size(), sum(lookups, tid), sum(matched, tid)));
        }
        return out;
    }

    private long sum(long[] a, int table) {
        long s = 0;
        for (int i = 0; i < threads; i++) {
            s += (long) LONGS.getOpaque(a, table * threads + i);
        }
        return s;
    }

    /** Counts a lookup in {@code table} by data-path thread {@code thread} (and a match if hit). */
    void countLookup(int thread, int table, boolean hit) {
        if (thread < threads) {
            int i = table * threads + thread;
            LONGS.setOpaque(lookups, i, lookups[i] + 1);
            if (hit) {
                LONGS.setOpaque(matched, i, matched[i] + 1);
            }
        } else {
            int i = table * threads + thread % threads;
            LONGS.getAndAdd(lookups, i, 1L);
            if (hit) {
                LONGS.getAndAdd(matched, i, 1L);
            }
        }
    }

    // ---- PACKET_IN / PACKET_OUT ---------------------------------------------------------------

    /** Hands every queued PACKET_IN to {@code c}; returns how many. */
    public int drainPacketIns(PacketIn.Consumer c) {
        return packetIns.drain(c);
    }

    /** PACKET_INs dropped because the ring was full. */
    public long packetInsDropped() {
        return packetIns.dropped.get();
    }

    /** PACKET_INs queued so far. */
    public long packetInsQueued() {
        return packetIns.queued.get();
    }

    /** Outputs to CONTROLLER while no controller was connected (dropped). */
    public long packetInsNoController() {
        return packetInsNoController.get();
    }

    private final AtomicLong flowRemovedQueued = new AtomicLong();
    private final AtomicLong flowRemovedDropped = new AtomicLong();

    /** The OpenFlow channel's listener queued a FLOW_REMOVED ({@code true}) or had no room for it. */
    public void countFlowRemoved(boolean queued) {
        (queued ? flowRemovedQueued : flowRemovedDropped).incrementAndGet();
    }

    /** FLOW_REMOVED messages queued for the OpenFlow channel. */
    public long flowRemovedQueued() {
        return flowRemovedQueued.get();
    }

    /** FLOW_REMOVED messages dropped because the channel's queue was full. */
    public long flowRemovedDropped() {
        return flowRemovedDropped.get();
    }

    void countNoController() {
        packetInsNoController.incrementAndGet();
    }

    /**
     * Queues {@code frame} for the data path to send with {@code actions}, as if received on
     * {@code inPort} (a port, or {@link OfPort#CONTROLLER}); output to {@link OfPort#TABLE} runs it
     * through the flow tables. Returns null when queued, else the error (bad action, bad in_port,
     * frame empty or too long, too many waiting).
     */
    public FlowModResult packetOut(int inPort, byte[] frame, List<Action> actions) {
        if (!(OfPort.isPhysical(inPort) || inPort == OfPort.CONTROLLER || inPort == OfPort.ANY)) {
            return FlowModResult.fail(FlowError.BAD_PORT, "in_port " + OfPort.name(inPort));
        }
        int most = maxFrame;
        if (frame == null || frame.length < 14 || frame.length > most) {
            // never cut short: a frame longer than a packet buffer holds is refused whole
            return FlowModResult.fail(
                    FlowError.BAD_REQUEST_LEN, "a packet-out frame is 14.." + most + " bytes (a packet buffer's room)");
        }
        FlowModResult bad = checkActions(actions, true);
        if (bad != null) {
            return bad;
        }
        if (packetOutsPending.incrementAndGet() > MAX_PENDING_PACKET_OUTS) {
            packetOutsPending.decrementAndGet();
            return FlowModResult.fail(FlowError.REQUEST_EPERM, "too many packet-outs waiting");
        }
        PacketOut po = new PacketOut(inPort, frame.clone(), actions.toArray(new Action[0]));
        synchronized (packetOuts) {
            packetOutsQueued++;
            packetOuts.add(po);
        }
        return null;
    }

    /**
     * How many PACKET_OUTs have been queued so far: once {@link #packetOutsSent()} reaches it, every
     * one queued before this call has been sent (or dropped and counted). A BARRIER_REPLY waits for
     * that, as OpenFlow 1.3 §6.2 asks: everything before the barrier is done when it is answered.
     */
    public long packetOutMark() {
        synchronized (packetOuts) {
            return packetOutsQueued;
        }
    }

    /** How many PACKET_OUTs the data path has sent, in the order they were queued. */
    public long packetOutsSent() {
        return packetOutsSent;
    }

    /** The data path took one PACKET_OUT off the queue (its one sending thread). */
    PacketOut takePacketOut() {
        PacketOut po = packetOuts.poll();
        if (po != null) {
            packetOutsPending.decrementAndGet();
            packetOutsTaken++;
        }
        return po;
    }

    /**
     * The data path flushed its ports after sending PACKET_OUTs: those taken so far are out. Only
     * the thread that takes them calls this.
     */
    public void packetOutsFlushed() {
        long t = packetOutsTaken;
        if (t != packetOutsSent) {
            packetOutsSent = t;
        }
    }

    /**
     * The longest PACKET_OUT frame accepted: the room of the packet buffers it will be copied into
     * (at most 9216, the largest frame any port here sends).
     */
    public void setMaxFrame(int bytes) {
        maxFrame = Math.max(14, Math.min(9216, bytes));
    }

    /** True when a PACKET_OUT waits for the data path. */
    public boolean hasPacketOuts() {
        return packetOutsPending.get() > 0;
    }

    /** Lookup through the classifier for tests and benchmarks (no cache, no counters). */
    FlowStats lookup(int table, FlowKey k) {
        Rule r = classifier.lookup(table, k.w);
        return r == null ? null : r.stats(System.nanoTime(), table);
    }
}
