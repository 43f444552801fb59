package dev.panda.vswitch;

import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.ConfigDiff;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import java.util.List;

/**
 * Everything the control API can ask of a running vswitch: the verbs of {@code panda ctl}, each
 * one call. Calls are serialised by the implementation; a refused call throws
 * {@link VswitchException} (with its HTTP status) and changes nothing.
 */
public interface Control {

    /** add-br: a new empty bridge (ports in the config are added too). 409 if it exists. */
    void addBridge(BridgeConfig bridge);

    /** del-br: removes the bridge and every port on it. 404 if unknown. */
    void delBridge(String bridge);

    /**
     * add-port: opens the device and puts it on the bridge. 404 unknown bridge; 409 duplicate port
     * name or device; 400 bad VLAN or device string; 500 device would not open.
     */
    void addPort(String bridge, PortConfig port);

    /** del-port: removes the port (its buffers go back to the pool). 404 unknown. */
    void delPort(String bridge, String port);

    Views.Show show();

    /** fdb-show. 404 unknown bridge. */
    Views.Fdb fdb(String bridge);

    /** port-stats; {@code port} null for every port. 404 unknown port. */
    Views.Stats stats(String port);

    /** pmd-stats. */
    List<Views.PmdStatsView> pmdStats();

    /** pmd-stats-clear. */
    void clearPmdStats();

    /** config-show: the running state in the config file's form. */
    VswitchConfig config();

    /**
     * apply: makes the running state {@code desired} by changing only what differs, all or nothing,
     * and returns the difference; with {@code dryRun} checks everything that can be checked
     * without opening a device and changes nothing. Refused (and nothing changed): 400 a bad part
     * (bad device string, VLAN, rx filter), 409 a name or device in use or a pmd setting that
     * cannot change while running, 500 a device that would not open. The message names the part.
     */
    /**
     * The OpenFlow tables of {@code bridge}: what the OpenFlow channel and the flow API drive. The
     * same object for as long as the bridge exists. 404 if unknown.
     */
    default dev.panda.vswitch.flow.BridgeFlows flows(String bridge) {
        throw new UnsupportedOperationException("flows");
    }

    /** set-fail-mode: {@code secure} or {@code standalone}; 404 unknown bridge, 400 another mode. */
    default void setFailMode(String bridge, String mode) {
        throw new UnsupportedOperationException("set-fail-mode");
    }

    /** The OpenFlow tables that hold flows or saw lookups, of every bridge (pmd-stats, metrics). */
    default List<Views.FlowTableView> flowTables() {
        return List.of();
    }

    /** Each bridge with flow tables: its PACKET_INs queued, dropped, and without a controller (metrics). */
    default List<Views.PacketInView> packetIns() {
        return List.of();
    }

    default ConfigDiff apply(VswitchConfig desired, boolean dryRun) {
        throw new UnsupportedOperationException("apply");
    }

    /**
     * capture start: compiles the filter, opens the capture's queue under the state directory and
     * starts taking the port's frames. 400 bad spec or filter (libpcap's message); 404 unknown port;
     * 409 a capture of that name runs; 500 the queue would not open.
     */
    default dev.panda.vswitch.capture.CaptureView captureStart(dev.panda.vswitch.capture.CaptureSpec spec) {
        throw new UnsupportedOperationException("capture");
    }

    /** capture stop: stops taking frames, appends what is in the ring, closes the queue. 404 unknown. */
    default dev.panda.vswitch.capture.CaptureView captureStop(String name) {
        throw new UnsupportedOperationException("capture");
    }

    /** capture list: the running captures and their counters. */
    default List<dev.panda.vswitch.capture.CaptureView> captures() {
        return List.of();
    }

    /**
     * set-controller: makes {@code targets} the bridge's OpenFlow controllers, as ovs-vsctl's
     * ({@code ptcp:PORT[:ADDR]} listens, {@code tcp:HOST:PORT} connects); an empty list is
     * del-controller. 404 unknown bridge; 400 a bad target; 409 a port that cannot be listened on
     * (nothing changed).
     */
    default void setController(String bridge, List<String> targets) {
        throw new UnsupportedOperationException("set-controller");
    }

    /** get-controller: each target of the bridge and what it is doing. 404 unknown bridge. */
    default List<Views.ControllerView> controllers(String bridge) {
        throw new UnsupportedOperationException("get-controller");
    }

    /** The OpenFlow channels' counters (connections, messages, decode errors), by name. */
    default java.util.Map<String, Long> openflowCounters() {
        return new dev.panda.vswitch.openflow.OfChannelCounters().snapshot();
    }
}
