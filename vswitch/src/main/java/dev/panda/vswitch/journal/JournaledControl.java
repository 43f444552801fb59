package dev.panda.vswitch.journal;

import dev.panda.vswitch.Control;
import dev.panda.vswitch.Views;
import dev.panda.vswitch.VswitchException;
import dev.panda.vswitch.capture.CaptureSpec;
import dev.panda.vswitch.capture.CaptureView;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.ConfigDiff;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.flow.BridgeFlows;
import dev.panda.vswitch.flow.FlowMod;
import dev.panda.vswitch.flow.FlowModResult;
import dev.panda.vswitch.flow.FlowModsResult;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * A {@link Control} whose every applied change is in the {@link Journal}, on disk, before the call
 * returns (and so before the control API answers). A change is applied first, then appended; if
 * the append fails the change is undone (the inverse call) and the caller gets a 500 that says so.
 * Calls are serialised here, so the journal's order is the order the changes were applied in.
 *
 * <p>It is also every bridge's {@link BridgeFlows.Gate}: a flow mod, from the control API or an
 * OpenFlow peer, is applied and appended under the same lock, and the flows a timeout removes are
 * appended right after the sweep removed them. Lock order: this, then the vswitch, then a bridge's
 * flow tables.
 */
public final class JournaledControl implements Control, AutoCloseable, BridgeFlows.Gate {

    private volatile Control inner;
    private final Journal journal;
    private final AtomicLong appendFailures = new AtomicLong();
    private final AtomicLong flowModsRefused = new AtomicLong();
    /** False until {@link #begin}: changes before it are in the snapshot it writes, not appended. */
    private boolean recording;

    private boolean closing;

    /** Journals the changes to {@code inner}, whose state the journal's current generation starts with. */
    public JournaledControl(Control inner, Journal journal) {
        this.inner = inner;
        this.journal = journal;
        this.recording = true;
    }

    /**
     * A gate for the flow tables of a vswitch still being started (pass it in {@code
     * Vswitch.Restore}); {@link #begin} then writes the snapshot and starts journaling.
     */
    public JournaledControl(Journal journal) {
        this.journal = journal;
    }

    /**
     * Starts a new generation with a snapshot of {@code running} (its config, flows and captures)
     * and journals every change after it. A flow change that comes meanwhile (an OpenFlow peer)
     * waits for this lock: it lands either in the snapshot or in the journal.
     *
     * @return where a corrupt generation went, or null
     */
    public synchronized Path begin(Control running) throws IOException {
        this.inner = running;
        Path aside = journal.begin(JournalState.of(running));
        recording = true;
        return aside;
    }

    public Control inner() {
        return inner;
    }

    public Journal journal() {
        return journal;
    }

    /** Changes refused because the journal could not take them. */
    public long appendFailures() {
        return appendFailures.get();
    }

    /** Flow mods (control API or OpenFlow) refused because the journal could not take them. */
    public long flowModsRefused() {
        return flowModsRefused.get();
    }

    private JournalState state() {
        return JournalState.of(inner);
    }

    @Override
    public synchronized void addBridge(BridgeConfig bridge) {
        inner.addBridge(bridge);
        VswitchConfig after = inner.config();
        BridgeConfig added = after.bridges().get(ChangeKinds.existing(after, bridge.name()));
        journal(ChangeKinds.ADD_BRIDGE, ChangeKinds.addBridge(added), after, () -> inner.delBridge(bridge.name()));
    }

    @Override
    public synchronized void delBridge(String bridge) {
        VswitchConfig before = inner.config();
        BridgeConfig was = before.bridges().stream()
                .filter(b -> b.name().equals(bridge))
                .findFirst()
                .orElse(null);
        inner.delBridge(bridge); // refuses an unknown bridge
        journal(ChangeKinds.DEL_BRIDGE, ChangeKinds.delBridge(bridge), inner.config(), () -> inner.addBridge(was));
    }

    @Override
    public synchronized void addPort(String bridge, PortConfig port) {
        inner.addPort(bridge, port);
        VswitchConfig after = inner.config();
        PortConfig added = after.bridges().get(ChangeKinds.existing(after, bridge)).ports().stream()
                .filter(p -> p.name().equals(port.name()))
                .findFirst()
                .orElse(port);
        journal(
                ChangeKinds.ADD_PORT,
                ChangeKinds.addPort(bridge, added),
                after,
                () -> inner.delPort(bridge, port.name()));
    }

    @Override
    public synchronized void delPort(String bridge, String port) {
        VswitchConfig before = inner.config();
        PortConfig was = before.bridges().stream()
                .filter(b -> b.name().equals(bridge))
                .flatMap(b -> b.ports().stream())
                .filter(p -> p.name().equals(port))
                .findFirst()
                .orElse(null);
        inner.delPort(bridge, port);
        journal(
                ChangeKinds.DEL_PORT,
                ChangeKinds.delPort(bridge, port),
                inner.config(),
                () -> inner.addPort(bridge, was));
    }

    @Override
    public synchronized ConfigDiff apply(VswitchConfig desired, boolean dryRun) {
        if (dryRun) {
            return inner.apply(desired, true);
        }
        VswitchConfig before = inner.config();
        ConfigDiff diff = inner.apply(desired, false);
        if (!diff.isEmpty()) {
            VswitchConfig after = inner.config();
            journal(ChangeKinds.SET_CONFIG, ChangeKinds.config(after), after, () -> inner.apply(before, false));
        }
        return diff;
    }

    @Override
    public synchronized void setFailMode(String bridge, String mode) {
        VswitchConfig before = inner.config();
        inner.setFailMode(bridge, mode);
        journalConfig(before);
    }

    @Override
    public synchronized void setController(String bridge, List<String> targets) {
        VswitchConfig before = inner.config();
        inner.setController(bridge, targets);
        journalConfig(before);
    }

    /** A change made by a verb of its own, journaled as the whole config after it (set-config). */
    private void journalConfig(VswitchConfig before) {
        VswitchConfig after = inner.config();
        if (!after.equals(before)) {
            journal(ChangeKinds.SET_CONFIG, ChangeKinds.config(after), after, () -> inner.apply(before, false));
        }
    }

    @Override
    public synchronized CaptureView captureStart(CaptureSpec spec) {
        CaptureView v = inner.captureStart(spec);
        CaptureSpec started = JournalState.spec(v);
        journal(
                ChangeKinds.CAPTURE_START,
                ChangeKinds.captureStart(started),
                null,
                () -> inner.captureStop(spec.name()));
        return v;
    }

    @Override
    public synchronized CaptureView captureStop(String name) {
        CaptureSpec was = inner.captures().stream()
                .filter(c -> c.name().equals(name))
                .map(JournalState::spec)
                .findFirst()
                .orElse(null);
        CaptureView v = inner.captureStop(name); // refuses an unknown capture
        journal(ChangeKinds.CAPTURE_STOP, ChangeKinds.captureStop(name), null, () -> inner.captureStart(was));
        return v;
    }

    // ---- the flow tables' gate --------------------------------------------------------------

    @Override
    public FlowModResult flowMod(BridgeFlows flows, FlowMod m, Supplier<BridgeFlows.Applied> apply) {
        synchronized (this) {
            if (closing) {
                throw new VswitchException(503, "the vswitch is shutting down");
            }
            BridgeFlows.Applied a = apply.get();
            FlowModResult r = a.result();
            if (!recording || flows.detached() || !r.isOk() || r.affected() == 0) {
                return r; // nothing changed, or not (or no longer) a bridge's
            }
            try {
                journal(ChangeKinds.FLOW_MOD, ChangeKinds.flowMod(flows.bridge(), m), null, a::undo);
            } catch (VswitchException e) {
                flowModsRefused.incrementAndGet();
                throw e;
            }
            return r;
        }
    }

    /**
     * A run of flow mods ({@link BridgeFlows#applyAll}, the control API's add-flows): applied, then
     * each flow mod that changed something appended as its own {@code flow-mod} entry, as if sent
     * one by one, with one msync for the run before the answer. If the journal takes only the
     * first k entries, the flow mods they record stay applied (a restart brings them back), the
     * others are undone, and the call is refused with a 500 that says how many stayed.
     */
    @Override
    public FlowModsResult flowMods(BridgeFlows flows, List<FlowMod> mods, Supplier<BridgeFlows.AppliedAll> apply) {
        synchronized (this) {
            if (closing) {
                throw new VswitchException(503, "the vswitch is shutting down");
            }
            BridgeFlows.AppliedAll a = apply.get();
            FlowModsResult r = a.result();
            if (!recording || flows.detached() || !r.isOk()) {
                return r;
            }
            List<byte[]> payloads = new ArrayList<>();
            List<Integer> changing = new ArrayList<>(); // the flow mod each payload records
            for (int i = 0; i < mods.size(); i++) {
                if (r.results().get(i).affected() > 0) {
                    payloads.add(ChangeKinds.flowMod(flows.bridge(), mods.get(i)));
                    changing.add(i);
                }
            }
            if (payloads.isEmpty()) {
                return r;
            }
            try {
                journal.appendAll(ChangeKinds.FLOW_MOD, payloads, this::state);
            } catch (Journal.Partial e) {
                appendFailures.incrementAndGet();
                // from the first flow mod not in the journal on, the run is undone
                int keep = e.written() < changing.size() ? changing.get(e.written()) : mods.size();
                flowModsRefused.addAndGet(mods.size() - keep);
                String undone;
                try {
                    a.undoFrom(keep);
                    undone = e.written() == 0
                            ? "none of the " + mods.size() + " flow mods was applied"
                            : "the first " + keep + " of the " + mods.size()
                                    + " flow mods are applied and in the journal, the others were undone";
                } catch (RuntimeException u) {
                    undone = "undoing the others failed too (" + Journal.oneLine(u.getMessage())
                            + "): the running state has flow mods the journal does not";
                }
                throw new VswitchException(
                        500,
                        "journal: cannot write " + ChangeKinds.FLOW_MOD + " to " + journal.dir() + " ("
                                + Journal.oneLine(e.getMessage()) + "); " + undone,
                        e);
            }
            return r;
        }
    }

    @Override
    public List<BridgeFlows.Expired> expire(BridgeFlows flows, Supplier<List<BridgeFlows.Expired>> sweep) {
        synchronized (this) {
            if (closing) {
                return List.of();
            }
            List<BridgeFlows.Expired> gone = sweep.get();
            if (gone.isEmpty() || !recording || flows.detached()) {
                return gone;
            }
            try {
                // after the removal took effect: a crash in between brings the flow back, with its
                // timeout counting from the restart
                journal.append(ChangeKinds.FLOW_EXPIRED, ChangeKinds.flowExpired(flows.bridge(), gone), this::state);
            } catch (Exception e) {
                appendFailures.incrementAndGet();
                System.getLogger(JournaledControl.class.getName())
                        .log(
                                System.Logger.Level.WARNING,
                                "journal: cannot write the expiry of " + gone.size() + " flow(s) of bridge "
                                        + flows.bridge() + ": " + Journal.oneLine(e.getMessage()));
            }
            return gone;
        }
    }

    /** Appends; on failure undoes the change and throws 500. {@code after} null: the running state. */
    private void journal(String kind, byte[] payload, VswitchConfig after, Runnable undo) {
        try {
            journal.append(kind, payload, after == null ? this::state : () -> stateWith(after));
        } catch (Exception e) {
            appendFailures.incrementAndGet();
            String undone;
            try {
                undo.run();
                undone = "the change was undone";
            } catch (RuntimeException u) {
                undone = "undoing it failed too (" + Journal.oneLine(u.getMessage())
                        + "): the running state has the change, the journal does not";
            }
            throw new VswitchException(
                    500,
                    "journal: cannot write " + kind + " to " + journal.dir() + " (" + Journal.oneLine(e.getMessage())
                            + "); " + undone,
                    e);
        }
    }

    // ---- reads: straight through --------------------------------------------------------

    @Override
    public Views.Show show() {
        return inner.show();
    }

    @Override
    public Views.Fdb fdb(String bridge) {
        return inner.fdb(bridge);
    }

    @Override
    public Views.Stats stats(String port) {
        return inner.stats(port);
    }

    @Override
    public List<Views.PmdStatsView> pmdStats() {
        return inner.pmdStats();
    }

    @Override
    public void clearPmdStats() {
        inner.clearPmdStats();
    }

    @Override
    public VswitchConfig config() {
        return inner.config();
    }

    /** The state with {@code after} as its config (flows and captures as they run). */
    private JournalState stateWith(VswitchConfig after) {
        JournalState now = state();
        return new JournalState(after, now.flows(), now.captures()).withConfig(after);
    }

    // flows are journaled by the gate (every bridge's BridgeFlows passes its changes through it)

    @Override
    public dev.panda.vswitch.flow.BridgeFlows flows(String bridge) {
        return inner.flows(bridge);
    }

    @Override
    public List<Views.FlowTableView> flowTables() {
        return inner.flowTables();
    }

    @Override
    public List<Views.PacketInView> packetIns() {
        return inner.packetIns();
    }

    @Override
    public List<dev.panda.vswitch.capture.CaptureView> captures() {
        return inner.captures();
    }

    @Override
    public List<Views.ControllerView> controllers(String bridge) {
        return inner.controllers(bridge);
    }

    @Override
    public java.util.Map<String, Long> openflowCounters() {
        java.util.Map<String, Long> m = new java.util.LinkedHashMap<>(inner.openflowCounters());
        m.put("flow_mods_refused_by_journal", flowModsRefused.get());
        return m;
    }

    /** Closes the vswitch, then the journal. */
    @Override
    public void close() throws Exception {
        synchronized (this) {
            closing = true; // flow changes from now on are refused without waiting for the vswitch
        }
        try {
            if (inner instanceof AutoCloseable c) {
                c.close();
            }
        } finally {
            journal.close();
        }
    }
}
