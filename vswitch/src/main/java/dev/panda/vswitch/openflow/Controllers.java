package dev.panda.vswitch.openflow;

import dev.panda.vswitch.Control;
import dev.panda.vswitch.Views;
import dev.panda.vswitch.VswitchException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The vswitch's side of set-controller: each bridge's targets, bound to an {@link OpenFlowService}
 * (started with the first controller) through a {@link VswitchDatapath} per bridge. The caller
 * (the vswitch, under its lock) keeps the targets in the bridge's config.
 */
public final class Controllers implements AutoCloseable {

    private final Control control;
    private OpenFlowService service;

    public Controllers(Control control) {
        this.control = control;
    }

    /** Canonical target strings; a bad one is a 400 naming it. */
    public static List<String> parse(String bridge, List<String> targets) {
        List<String> out = new ArrayList<>();
        for (String t : targets) {
            String c;
            try {
                c = ControllerTarget.parse(t).toString();
            } catch (IllegalArgumentException e) {
                throw VswitchException.badRequest("bridge " + bridge + ": controllers: " + e.getMessage());
            }
            if (out.contains(c)) {
                throw VswitchException.badRequest("bridge " + bridge + ": controllers: " + c + " is given twice");
            }
            out.add(c);
        }
        return out;
    }

    /**
     * Makes {@code bridge}'s controllers {@code targets} (canonical, from {@link #parse}); a
     * listener that cannot bind is a 409 and changes nothing.
     */
    public synchronized void set(String bridge, List<String> targets) {
        if (targets.isEmpty() && service == null) {
            return;
        }
        List<ControllerTarget> parsed = new ArrayList<>();
        for (String t : targets) {
            parsed.add(ControllerTarget.parse(t));
        }
        try {
            service().configure(datapath(bridge), parsed);
        } catch (IllegalStateException e) {
            throw VswitchException.conflict("bridge " + bridge + ": " + e.getMessage() + " (nothing changed)");
        }
    }

    private final Map<String, VswitchDatapath> datapaths = new java.util.HashMap<>();

    private VswitchDatapath datapath(String bridge) {
        return datapaths.computeIfAbsent(bridge, b -> new VswitchDatapath(b, control));
    }

    private OpenFlowService service() {
        if (service == null) {
            service = new OpenFlowService();
        }
        return service;
    }

    /** The bridge is gone: its channels close. */
    public synchronized void remove(String bridge) {
        datapaths.remove(bridge);
        if (service != null) {
            service.remove(bridge);
        }
    }

    public synchronized List<Views.ControllerView> status(String bridge) {
        if (service == null) {
            return List.of();
        }
        List<Views.ControllerView> out = new ArrayList<>();
        for (OpenFlowService.ControllerStatus s : service.status(bridge)) {
            out.add(new Views.ControllerView(s.target(), s.state(), s.bound(), s.connections(), s.connected()));
        }
        return out;
    }

    public synchronized Map<String, Long> counters() {
        return service == null
                ? new OfChannelCounters().snapshot()
                : service.counters().snapshot();
    }

    @Override
    public synchronized void close() {
        if (service != null) {
            service.close();
            service = null;
        }
        datapaths.clear();
    }
}
