package dev.panda.vswitch.openflow;

import dev.panda.vswitch.Control;
import dev.panda.vswitch.Views;
import dev.panda.vswitch.flow.BridgeFlows;
import dev.panda.vswitch.flow.FlowModResult;
import dev.panda.vswitch.flow.FlowRemoved;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;

/**
 * A vswitch bridge as its OpenFlow channel sees it, through {@link Control} only: ports and
 * counters from {@code show} and {@code stats}, flows from {@code flows(bridge)}. A port's
 * OpenFlow number is its data-path port id (stable while the port exists). Called from the
 * channel's executor thread, never from a Netty event loop.
 */
public final class VswitchDatapath implements OfDatapath {

    /** FLOW_REMOVED events waiting for the channel at most; beyond, they are counted and dropped. */
    static final int MAX_REMOVED = 4096;

    private final String bridge;
    private final Control control;
    private final long dpid;
    private final long started = System.nanoTime();
    private final ArrayBlockingQueue<FlowRemoved> removed = new ArrayBlockingQueue<>(MAX_REMOVED);
    private volatile BridgeFlows flows;

    public VswitchDatapath(String bridge, Control control) {
        this.bridge = bridge;
        this.control = control;
        this.dpid = datapathId(bridge);
    }

    /**
     * The datapath id of a bridge: the low 48 bits of the FNV-1a hash of its name, so the same
     * name gives the same id in every run and on every host.
     */
    public static long datapathId(String bridge) {
        long h = 0xcbf29ce484222325L;
        for (byte b : bridge.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h & 0xffff_ffff_ffffL;
    }

    private BridgeFlows flows() {
        BridgeFlows f = flows;
        if (f == null) {
            f = control.flows(bridge);
            BridgeFlows counted = f;
            f.setFlowRemovedListener(e -> counted.countFlowRemoved(removed.offer(e)));
            flows = f;
        }
        return f;
    }

    @Override
    public String bridge() {
        return bridge;
    }

    @Override
    public long datapathId() {
        return dpid;
    }

    @Override
    public int tables() {
        return BridgeFlows.TABLES;
    }

    private Views.BridgeView view() {
        for (Views.BridgeView b : control.show().bridges()) {
            if (b.name().equals(bridge)) {
                return b;
            }
        }
        throw new IllegalStateException("no bridge " + bridge);
    }

    @Override
    public List<PortInfo> ports() {
        List<PortInfo> out = new ArrayList<>();
        for (Views.PortView p : view().ports()) {
            out.add(new PortInfo(p.id(), p.name(), mac(p.mac()), "up".equals(p.link()), 10_000_000));
        }
        return out;
    }

    static byte[] mac(String s) {
        byte[] b = new byte[6];
        if (s == null) {
            return b;
        }
        String[] parts = s.split(":");
        for (int i = 0; i < Math.min(6, parts.length); i++) {
            try {
                b[i] = (byte) Integer.parseInt(parts[i], 16);
            } catch (NumberFormatException e) {
                return new byte[6];
            }
        }
        return b;
    }

    @Override
    public List<PortCounters> portCounters(int ofport) throws OfError {
        List<Views.PortView> ports = view().ports();
        Views.Stats stats = control.stats(null);
        List<PortCounters> out = new ArrayList<>();
        long now = System.nanoTime() - started;
        for (Views.PortView p : ports) {
            if (ofport != Of.PP_ANY && ofport != p.id()) {
                continue;
            }
            for (Views.PortStatsView s : stats.ports()) {
                if (s.port().equals(p.name())) {
                    long rxDrop = s.drops().getOrDefault("no_buffer", 0L)
                            + s.drops().getOrDefault("missed", 0L)
                            + s.drops().getOrDefault("vlan", 0L)
                            + s.drops().getOrDefault("filter", 0L)
                            + s.drops().getOrDefault("malformed", 0L)
                            + s.drops().getOrDefault("pipeline_full", 0L);
                    long txDrop = s.drops().getOrDefault("tx_full", 0L);
                    out.add(new PortCounters(
                            p.id(),
                            s.rxPackets(),
                            s.txPackets(),
                            s.rxBytes(),
                            s.txBytes(),
                            rxDrop,
                            txDrop,
                            s.drops().getOrDefault("rx_errors", 0L),
                            s.drops().getOrDefault("tx_errors", 0L),
                            now));
                }
            }
        }
        if (out.isEmpty() && ofport != Of.PP_ANY) {
            throw new OfError(Of.ET_BAD_REQUEST, Of.BRC_BAD_PORT, "bridge " + bridge + " has no port " + ofport);
        }
        return out;
    }

    @Override
    public void flowMod(OfMessage.FlowMod m) throws OfError {
        FlowModResult r;
        try {
            r = flows().applyDeferred(FlowTranslation.flowMod(m)); // the channel flushes (see flush)
        } catch (dev.panda.vswitch.VswitchException e) {
            // the journal could not take it (the change is undone), or the vswitch is closing
            throw new OfError(Of.ET_FLOW_MOD_FAILED, Of.FMFC_UNKNOWN, e.getMessage());
        }
        if (r != null && !r.isOk()) {
            throw FlowTranslation.error(r.error(), r.message());
        }
    }

    @Override
    public List<FlowStats> flowStats(OfMessage.FlowStatsRequest r) throws OfError {
        List<FlowStats> out = new ArrayList<>();
        for (dev.panda.vswitch.flow.FlowStats s : flows().flows(FlowTranslation.filter(r))) {
            out.add(FlowTranslation.stats(s));
        }
        return out;
    }

    @Override
    public List<TableStats> tableStats() {
        List<TableStats> out = new ArrayList<>();
        for (dev.panda.vswitch.flow.TableStats t : flows().tableStats()) {
            out.add(new TableStats(t.tableId(), t.activeCount(), t.lookups(), t.matched()));
        }
        return out;
    }

    @Override
    public void packetOut(OfMessage.PacketOut m) throws OfError {
        FlowModResult r = flows().packetOut(m.inPort(), m.data(), FlowTranslation.actions(m.actions()));
        if (r != null && !r.isOk()) {
            throw FlowTranslation.error(r.error(), r.message());
        }
    }

    @Override
    public long flushForBarrier() {
        BridgeFlows f = flows;
        return f == null ? 0 : f.flushForBarrier();
    }

    @Override
    public long flushWhenDue() {
        BridgeFlows f = flows;
        return f == null ? 0 : f.flushWhenDue();
    }

    @Override
    public long packetOutMark() {
        return flows().packetOutMark();
    }

    @Override
    public long packetOutsSent() {
        BridgeFlows f = flows;
        return f == null ? Long.MAX_VALUE : f.packetOutsSent();
    }

    @Override
    public int maxFlows() {
        return flows().maxFlows();
    }

    @Override
    public void flush() {
        BridgeFlows f = flows;
        if (f != null) {
            f.flush();
        }
    }

    @Override
    public void controllerConnected(boolean connected) {
        flows().setControllerConnected(connected);
    }

    @Override
    public void drainEvents(EventSink sink) {
        BridgeFlows f;
        try {
            f = flows();
        } catch (dev.panda.vswitch.VswitchException e) {
            return; // the bridge is not there (yet, or any more)
        }
        f.drainPacketIns((inPort, tunnelId, tableId, reason, cookie, totalLength, data, length) ->
                sink.packetIn(reason.code, tableId, cookie, inPort, tunnelId, data, totalLength, length));
        FlowRemoved e;
        while ((e = removed.poll()) != null) {
            sink.flowRemoved(FlowTranslation.removed(e), e.reason().code);
        }
    }
}
