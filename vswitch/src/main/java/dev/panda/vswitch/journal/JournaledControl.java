package dev.panda.vswitch.journal;

import dev.panda.vswitch.Control;
import dev.panda.vswitch.Views;
import dev.panda.vswitch.VswitchException;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.ConfigDiff;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link Control} whose every applied change is in the {@link Journal}, on disk, before the call
 * returns (and so before the control API answers). A change is applied first, then appended; if
 * the append fails the change is undone (the inverse call) and the caller gets a 500 that says so.
 * Calls are serialised here, so the journal's order is the order the changes were applied in.
 */
public final class JournaledControl implements Control, AutoCloseable {

    private final Control inner;
    private final Journal journal;
    private final AtomicLong appendFailures = new AtomicLong();

    public JournaledControl(Control inner, Journal journal) {
        this.inner = inner;
        this.journal = journal;
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

    /** Appends; on failure undoes the change and throws 500. */
    private void journal(String kind, byte[] payload, VswitchConfig after, Runnable undo) {
        try {
            journal.append(kind, payload, after);
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

    // flows (through BridgeFlows: the OpenFlow channel and the flow API) and captures are not in
    // the config, so they are not journaled: they pass straight through

    @Override
    public dev.panda.vswitch.flow.BridgeFlows flows(String bridge) {
        return inner.flows(bridge);
    }

    @Override
    public List<Views.FlowTableView> flowTables() {
        return inner.flowTables();
    }

    @Override
    public dev.panda.vswitch.capture.CaptureView captureStart(dev.panda.vswitch.capture.CaptureSpec spec) {
        return inner.captureStart(spec);
    }

    @Override
    public dev.panda.vswitch.capture.CaptureView captureStop(String name) {
        return inner.captureStop(name);
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
        return inner.openflowCounters();
    }

    /** Closes the vswitch, then the journal. */
    @Override
    public void close() throws Exception {
        try {
            if (inner instanceof AutoCloseable c) {
                c.close();
            }
        } finally {
            journal.close();
        }
    }
}
