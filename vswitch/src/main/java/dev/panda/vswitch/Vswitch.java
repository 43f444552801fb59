package dev.panda.vswitch;

import dev.panda.dataplane.filter.RxFilter;
import dev.panda.dataplane.filter.RxFilterStream;
import dev.panda.dataplane.filter.RxFilters;
import dev.panda.dataplane.fwd.Packets;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.DeviceSpec;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortStats;
import dev.panda.dataplane.port.Ports;
import dev.panda.vswitch.bridge.Fdb;
import dev.panda.vswitch.bridge.VlanPolicy;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.ConfigDiff;
import dev.panda.vswitch.config.MetricsConfig;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.datapath.BridgeEntry;
import dev.panda.vswitch.datapath.Datapath;
import dev.panda.vswitch.datapath.DropCounters;
import dev.panda.vswitch.datapath.PortEntry;
import dev.panda.vswitch.datapath.Snapshot;
import dev.panda.vswitch.flow.BridgeFlows;
import dev.panda.vswitch.flow.FailMode;
import dev.panda.vswitch.vxlan.Underlays;
import dev.panda.vswitch.vxlan.VxlanPort;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The running vswitch: bridges, ports and the data path. Every control call runs under this
 * object's lock and ends by publishing a new {@link Snapshot} (a diff applied, never a restart);
 * ports leave only after the data path has let go of them, and then give back their buffers.
 */
public final class Vswitch implements Control, AutoCloseable {

    private final PacketPool pool;
    private final boolean ownsPool;
    private final Ports drivers;
    /** The underlays of VXLAN tunnel ports, opened once per device and shared. */
    private final Underlays underlays;

    private final Datapath datapath;
    private final PmdConfig pmdConfig;
    private final Map<String, BridgeState> bridges = new LinkedHashMap<>();
    private final PortState[] portsById = new PortState[Snapshot.MAX_PORTS];
    private final Thread housekeeping;
    private final long startNanos = System.nanoTime();
    private final double tscGhz = dev.panda.dataplane.stats.TscRate.hz() / 1e9;
    private long generation;
    private volatile Fdb[] fdbs = new Fdb[0];
    private volatile BridgeFlows[] flowTables = new BridgeFlows[0];
    private volatile boolean closed;
    /** Packet captures, under the state directory ({@link #stateDir}). */
    private dev.panda.vswitch.capture.Captures captures;

    private java.nio.file.Path stateDir = dev.panda.vswitch.capture.Captures.DEFAULT_STATE_DIR;
    /** The state directory was given (config or --state-dir), so config-show prints it. */
    private boolean stateDirSet;
    /** The metrics listener it was started with (served by VswitchMain), for config-show. */
    private volatile MetricsConfig metrics = MetricsConfig.off();
    /** The bridges' OpenFlow channels (set-controller); started with the first controller. */
    private final dev.panda.vswitch.openflow.Controllers openflow = new dev.panda.vswitch.openflow.Controllers(this);
    /** What every bridge's flow changes pass through (the journal), or null. */
    private BridgeFlows.Gate flowGate;
    /** The flows each bridge gets when it is added by {@link #start} (a restart's, from the journal). */
    private Map<String, List<dev.panda.vswitch.flow.FlowMod>> restoring = Map.of();

    /**
     * What a restart brings back before anything runs: each bridge's flows (installed before its
     * ports forward and before its OpenFlow listeners and controller connections start) and the
     * gate every flow change passes through from the start (the journal).
     */
    public record Restore(Map<String, List<dev.panda.vswitch.flow.FlowMod>> flows, BridgeFlows.Gate gate) {
        public static final Restore NONE = new Restore(Map.of(), null);

        public Restore {
            flows = Map.copyOf(flows);
        }
    }

    private static final class BridgeState {
        BridgeConfig config; // mac-aging and mac-table-size may change by apply
        Fdb fdb; // replaced by apply when mac-table-size changes
        final List<PortState> ports = new ArrayList<>();
        /** Its OpenFlow tables; kept across apply (flows are not part of the config). */
        BridgeFlows flows;

        BridgeState(BridgeConfig config) {
            this.config = config;
            this.fdb = new Fdb(config.macTableSize(), config.macAging());
        }
    }

    /** An open rx filter and its stream per rx queue. */
    private record Filter(RxFilter filter, RxFilterStream[] streams) {
        static final Filter NONE = new Filter(null, null);

        void close() {
            if (filter != null) {
                filter.close();
            }
        }
    }

    private static final class PortState {
        final int id;
        final PortConfig config;
        final BridgeState bridge;
        final Port port;
        final VlanPolicy vlan;
        final Filter filter;
        final int[] txLocks;
        final long[] baseline;
        /** The poller of each rx queue, fixed when the port is first published (queues never move). */
        int[] pollerOf;

        PortState(
                int id,
                PortConfig config,
                BridgeState bridge,
                Port port,
                VlanPolicy vlan,
                Filter filter,
                int[] txLocks,
                long[] baseline) {
            this.id = id;
            this.config = config;
            this.bridge = bridge;
            this.port = port;
            this.vlan = vlan;
            this.filter = filter;
            this.txLocks = txLocks;
            this.baseline = baseline;
        }

        /** The same open device (same id, counters, queues) with a new config, bridge, VLANs, filter. */
        PortState with(PortConfig c, BridgeState b, VlanPolicy v, Filter f) {
            PortState n = new PortState(id, c, b, port, v, f, txLocks, baseline);
            n.pollerOf = pollerOf;
            return n;
        }
    }

    private Vswitch(PacketPool pool, Ports drivers, PmdConfig pmd, int[] cores, boolean ownsPool) {
        this.pool = pool;
        this.ownsPool = ownsPool;
        this.drivers = drivers;
        this.underlays = new Underlays(drivers, pool);
        this.pmdConfig = pmd;
        this.datapath = Datapath.create(pool, pmd, cores);
        this.housekeeping =
                Thread.ofPlatform().name("panda-housekeeping").daemon(true).unstarted(this::housekeep);
    }

    /** Starts the pollers as {@code config.pmd()} says and adds its bridges and ports. */
    public static Vswitch start(VswitchConfig config) {
        return start(config, Restore.NONE);
    }

    /** Starts as {@link #start(VswitchConfig)} with a restart's flows and the journal's gate. */
    public static Vswitch start(VswitchConfig config, Restore restore) {
        int[] cores = PmdCores.choose(config.pmd().cores());
        PmdCores.keepOtherThreadsOff(cores);
        PacketPool pool = PacketPool.create(PoolConfig.defaults());
        try {
            return start(config, pool, cores, true, restore);
        } catch (RuntimeException e) {
            pool.close();
            throw e;
        }
    }

    /**
     * Starts on a pool the caller made (and closes, unless {@code ownsPool}), e.g. to share it with
     * in-process ring ports in tests; threads other than the pollers are left where they are.
     */
    public static Vswitch start(VswitchConfig config, PacketPool pool, int[] cores, boolean ownsPool) {
        return start(config, pool, cores, ownsPool, Restore.NONE);
    }

    public static Vswitch start(VswitchConfig config, PacketPool pool, int[] cores, boolean ownsPool, Restore restore) {
        Vswitch v = new Vswitch(pool, Ports.discover(), config.pmd(), cores, ownsPool);
        v.flowGate = restore.gate();
        v.restoring = restore.flows();
        v.metrics = config.metrics();
        if (config.stateDir() != null) {
            v.stateDir = java.nio.file.Path.of(config.stateDir());
            v.stateDirSet = true;
        }
        v.datapath.start();
        v.housekeeping.start();
        try {
            for (BridgeConfig b : config.bridges()) {
                v.addBridge(b);
            }
            for (String b : v.restoring.keySet()) {
                if (!v.bridges.containsKey(b)) {
                    throw new VswitchException(500, "flows for bridge " + b + ", which is not in the state");
                }
            }
        } catch (RuntimeException e) {
            v.close();
            throw e;
        } finally {
            v.restoring = Map.of();
        }
        return v;
    }

    // ---- control verbs -------------------------------------------------------------------

    @Override
    public synchronized void addBridge(BridgeConfig bridge) {
        checkOpen();
        if (bridge.name() == null || bridge.name().isBlank()) {
            throw VswitchException.badRequest("a bridge needs a name");
        }
        if (bridges.containsKey(bridge.name())) {
            throw VswitchException.conflict("bridge " + bridge.name() + " already exists");
        }
        BridgeState b;
        List<String> controllers = dev.panda.vswitch.openflow.Controllers.parse(bridge.name(), bridge.controllers());
        try {
            b = new BridgeState(bridge.withPorts(List.of()).withControllers(controllers));
        } catch (IllegalArgumentException e) {
            throw VswitchException.badRequest("bridge " + bridge.name() + ": " + e.getMessage());
        }
        List<dev.panda.vswitch.flow.FlowMod> flows = restoring.get(bridge.name());
        if (flows != null && !flows.isEmpty()) {
            try {
                flowsOf(b).restore(flows); // before the bridge is published: its first packet meets them
            } catch (IllegalArgumentException e) {
                throw new VswitchException(500, e.getMessage(), e);
            }
        }
        bridges.put(bridge.name(), b);
        publish();
        try {
            for (PortConfig p : bridge.ports()) {
                addPort(bridge.name(), p);
            }
            openflow.set(bridge.name(), controllers);
        } catch (RuntimeException e) {
            delBridge(bridge.name());
            throw e;
        }
    }

    @Override
    public synchronized void delBridge(String name) {
        checkOpen();
        BridgeState b = bridge(name);
        openflow.remove(name);
        if (b.flows != null) {
            b.flows.detach();
        }
        List<PortState> gone = new ArrayList<>(b.ports);
        b.ports.clear();
        bridges.remove(name);
        for (PortState p : gone) {
            portsById[p.id] = null;
        }
        publish();
        for (PortState p : gone) {
            closePort(p);
        }
    }

    @Override
    public synchronized void addPort(String bridgeName, PortConfig pc) {
        checkOpen();
        BridgeState b = bridge(bridgeName);
        if (pc.name() == null || pc.name().isBlank()) {
            throw VswitchException.badRequest("a port needs a name");
        }
        if (pc.device() == null || pc.device().isBlank()) {
            throw VswitchException.badRequest("port " + pc.name() + " needs a device string");
        }
        if (findPort(pc.name()) != null) {
            throw VswitchException.conflict("port " + pc.name() + " already exists");
        }
        VlanPolicy vlan;
        DeviceSpec spec;
        try {
            vlan = VlanPolicy.of(pc.tag(), pc.trunks(), pc.nativeVlan());
            spec = ApplyCheck.device(pc.vxlan() != null ? pc.vxlan().underlay() : pc.device(), drivers);
        } catch (RuntimeException e) {
            throw VswitchException.badRequest("port " + pc.name() + ": " + e.getMessage());
        }
        if (pc.vxlan() == null && underlays.isOpen(spec.name())) {
            throw VswitchException.conflict("device " + spec.name() + " is the underlay of a vxlan port");
        }
        for (PortState other : portsById) {
            if (other != null && other.port.name().equals(spec.name())) {
                throw VswitchException.conflict("device " + spec.name() + " is already port " + other.config.name());
            }
        }
        PortState ps = openPort("port " + pc.name(), freeId(Set.of()), pc, b, vlan);
        portsById[ps.id] = ps;
        b.ports.add(ps);
        publish();
    }

    /** Opens the device and its rx filter; on failure nothing stays open. */
    private PortState openPort(String label, int id, PortConfig pc, BridgeState b, VlanPolicy vlan) {
        Port port;
        try {
            port = pc.vxlan() != null
                    ? underlays.openTunnel(label, pc.vxlan(), id)
                    : drivers.open(pc.device(), PortContext.of(pool, id));
        } catch (VswitchException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new VswitchException(
                    e instanceof IllegalArgumentException ? 400 : 500, label + ": " + e.getMessage(), e);
        }
        Filter filter;
        try {
            filter = openFilter(label, pc.rxFilter(), port, id);
        } catch (RuntimeException e) {
            port.close();
            throw e;
        }
        int[] txLocks = port.txQueueCount() < datapath.transmitters() ? new int[port.txQueueCount()] : null;
        long[] baseline = new long[DropCounters.COUNT];
        sumDrops(id, baseline);
        return new PortState(id, pc, b, port, vlan, filter, txLocks, baseline);
    }

    private Filter openFilter(String label, String spec, Port port, int id) {
        if (spec == null || spec.isBlank()) {
            return Filter.NONE;
        }
        RxFilter filter = null;
        try {
            filter = RxFilters.discover().open(spec, port.rxQueueCount());
            RxFilterStream[] streams = new RxFilterStream[port.rxQueueCount()];
            for (int q = 0; q < streams.length; q++) {
                streams[q] = filter.newStream(q, pool, port, id, q, -1);
            }
            return new Filter(filter, streams);
        } catch (RuntimeException e) {
            if (filter != null) {
                filter.close();
            }
            throw VswitchException.badRequest(label + ": rx-filter: " + e.getMessage());
        }
    }

    @Override
    public synchronized void delPort(String bridgeName, String portName) {
        checkOpen();
        BridgeState b = bridge(bridgeName);
        PortState p = b.ports.stream()
                .filter(x -> x.config.name().equals(portName))
                .findFirst()
                .orElseThrow(() -> VswitchException.notFound("bridge " + bridgeName + " has no port " + portName));
        b.ports.remove(p);
        portsById[p.id] = null;
        publish();
        closePort(p);
    }

    // ---- apply: the whole desired state, as a diff --------------------------------------

    /**
     * Three steps: check everything and open every new device, filter and table (a failure closes
     * what was opened and changes nothing); commit the state and publish one snapshot; then close
     * what left. Ports whose config did not change keep their device, id, counters and queues.
     */
    @Override
    public synchronized ConfigDiff apply(VswitchConfig desired, boolean dryRun) {
        checkOpen();
        VswitchConfig running = config();
        ConfigDiff diff = ConfigDiff.between(running, desired);
        for (ConfigDiff.PmdChanged c : diff.pmd()) {
            throw VswitchException.conflict("pmd." + c.field() + ": " + c.from() + " -> " + c.to()
                    + " cannot change while the vswitch runs (restart it with the new value); nothing changed");
        }
        if (desired.stateDir() != null && !desired.stateDir().equals(running.stateDir())) {
            throw VswitchException.conflict("state-dir: " + running.stateDir() + " -> " + desired.stateDir()
                    + " cannot change while the vswitch runs (restart it with the new value); nothing changed");
        }
        for (ConfigDiff.MetricsChanged c : diff.of(ConfigDiff.MetricsChanged.class)) {
            throw VswitchException.conflict("metrics.listen: " + c.from() + " -> " + c.to()
                    + " cannot change while the vswitch runs (restart it with the new value); nothing changed");
        }
        Map<String, VlanPolicy> vlans = ApplyCheck.check(running, desired, diff, drivers);
        if (dryRun || diff.isEmpty()) {
            return diff;
        }
        Map<String, BridgeState> newBridges = new LinkedHashMap<>();
        Map<String, Fdb> newTables = new HashMap<>();
        Map<String, PortState> opened = new LinkedHashMap<>();
        Map<String, Filter> newFilters = new HashMap<>();
        Set<Integer> taken = new HashSet<>();
        Map<String, List<String>> controllersBefore = new LinkedHashMap<>();
        try {
            for (ConfigDiff.BridgeAdded a : diff.of(ConfigDiff.BridgeAdded.class)) {
                newBridges.put(a.bridge(), new BridgeState(a.config()));
            }
            for (ConfigDiff.BridgeChanged c : diff.of(ConfigDiff.BridgeChanged.class)) {
                if (c.tableSizeChanged()) {
                    newTables.put(c.bridge(), new Fdb(c.to().macTableSize(), c.to().macAging()));
                }
            }
            for (ConfigDiff.Change c : diff.changes()) {
                PortConfig pc;
                if (c instanceof ConfigDiff.PortAdded a) {
                    pc = a.config();
                } else if (c instanceof ConfigDiff.PortChanged ch && ch.reopens()) {
                    pc = ch.to();
                } else {
                    if (c instanceof ConfigDiff.PortChanged ch && ch.filterChanged()) {
                        PortState old = findPort(ch.port());
                        newFilters.put(
                                ch.port(),
                                openFilter(
                                        ApplyCheck.label(ch.bridge(), ch.port()),
                                        ch.to().rxFilter(),
                                        old.port,
                                        old.id));
                    }
                    continue;
                }
                BridgeState b =
                        newBridges.containsKey(c.bridge()) ? newBridges.get(c.bridge()) : bridges.get(c.bridge());
                PortState ps =
                        openPort(ApplyCheck.label(c.bridge(), pc.name()), freeId(taken), pc, b, vlans.get(pc.name()));
                taken.add(ps.id);
                opened.put(pc.name(), ps);
            }
            applyControllers(diff, controllersBefore);
        } catch (RuntimeException e) {
            controllersBefore.forEach((bridge, before) -> {
                try {
                    openflow.set(bridge, before);
                } catch (RuntimeException again) {
                    // the listener it had is gone; the bridge keeps what it could
                }
            });
            for (PortState p : opened.values()) {
                p.filter.close();
                p.port.close();
            }
            newFilters.values().forEach(Filter::close);
            int status = e instanceof VswitchException v ? v.status() : 500;
            throw new VswitchException(status, e.getMessage() + " (nothing changed)", e);
        }

        // commit: from here on nothing can be refused
        Map<String, PortState> before = new HashMap<>();
        for (PortState p : portsById) {
            if (p != null) {
                before.put(p.config.name(), p);
            }
        }
        List<PortState> gone = new ArrayList<>();
        List<PortState> relearn = new ArrayList<>();
        List<Filter> oldFilters = new ArrayList<>();
        for (ConfigDiff.PortRemoved r : diff.of(ConfigDiff.PortRemoved.class)) {
            PortState p = before.get(r.port());
            p.bridge.ports.remove(p);
            portsById[p.id] = null;
            gone.add(p);
        }
        for (ConfigDiff.BridgeRemoved r : diff.of(ConfigDiff.BridgeRemoved.class)) {
            BridgeState removed = bridges.remove(r.bridge());
            openflow.remove(r.bridge());
            if (removed != null && removed.flows != null) {
                removed.flows.detach();
            }
        }
        bridges.putAll(newBridges);
        for (ConfigDiff.BridgeChanged c : diff.of(ConfigDiff.BridgeChanged.class)) {
            BridgeState b = bridges.get(c.bridge());
            b.config = c.to().withPorts(List.of());
            if (b.flows != null) {
                b.flows.setFailMode(FailMode.parse(b.config.failMode()));
            }
            if (c.tableSizeChanged()) {
                b.fdb = newTables.get(c.bridge());
            } else {
                b.fdb.setAgingSeconds(c.to().macAging());
            }
        }
        for (ConfigDiff.PortAdded a : diff.of(ConfigDiff.PortAdded.class)) {
            PortState p = opened.get(a.port());
            portsById[p.id] = p;
            p.bridge.ports.add(p);
        }
        for (ConfigDiff.PortChanged c : diff.of(ConfigDiff.PortChanged.class)) {
            PortState old = before.get(c.port());
            BridgeState to = bridges.get(c.bridge());
            PortState now;
            if (c.reopens()) {
                now = opened.get(c.port());
                portsById[old.id] = null;
                gone.add(old);
            } else {
                Filter f = old.filter;
                if (c.filterChanged()) {
                    f = newFilters.get(c.port());
                    oldFilters.add(old.filter);
                }
                now = old.with(c.to(), to, vlans.get(c.port()), f);
                if (c.moved() || c.vlanChanged()) {
                    relearn.add(old); // its MACs, learned in its old bridge or VLANs
                }
            }
            portsById[now.id] = now;
            int at = old.bridge.ports.indexOf(old);
            if (old.bridge == to) {
                to.ports.set(at, now);
            } else {
                old.bridge.ports.remove(at);
                to.ports.add(now);
            }
        }
        publish();
        for (PortState p : gone) {
            closePort(p);
        }
        oldFilters.forEach(Filter::close);
        for (PortState p : relearn) {
            p.bridge.fdb.flushPort(p.id);
        }
        return diff;
    }

    /**
     * The OpenFlow controllers of added and changed bridges, before the commit so a listener that
     * cannot bind refuses the whole apply; {@code before} collects what to restore on a refusal.
     */
    private void applyControllers(ConfigDiff diff, Map<String, List<String>> before) {
        for (ConfigDiff.Change c : diff.changes()) {
            BridgeConfig to;
            if (c instanceof ConfigDiff.BridgeAdded a
                    && !a.config().controllers().isEmpty()) {
                to = a.config();
            } else if (c instanceof ConfigDiff.BridgeChanged ch && ch.controllersChanged()) {
                to = ch.to();
            } else {
                continue;
            }
            List<String> targets = dev.panda.vswitch.openflow.Controllers.parse(to.name(), to.controllers());
            BridgeState running = bridges.get(to.name());
            List<String> was = running == null ? List.of() : running.config.controllers();
            openflow.set(to.name(), targets);
            before.put(to.name(), was);
        }
    }

    @Override
    public synchronized void setController(String bridgeName, List<String> targets) {
        checkOpen();
        BridgeState b = bridge(bridgeName);
        List<String> canonical = dev.panda.vswitch.openflow.Controllers.parse(bridgeName, targets);
        openflow.set(bridgeName, canonical);
        b.config = b.config.withControllers(canonical);
    }

    @Override
    public synchronized List<Views.ControllerView> controllers(String bridgeName) {
        bridge(bridgeName);
        return openflow.status(bridgeName);
    }

    @Override
    public Map<String, Long> openflowCounters() {
        return openflow.counters();
    }

    /** After the data path let go of it: forget its MACs, close it (its buffers go back). */
    private void closePort(PortState p) {
        p.bridge.fdb.flushPort(p.id);
        p.filter.close();
        p.port.close();
    }

    // ---- views ----------------------------------------------------------------------------

    @Override
    public synchronized Views.Show show() {
        List<Views.BridgeView> out = new ArrayList<>();
        Map<Integer, List<Integer>> pmdsByPort = pmdsByPort();
        for (BridgeState b : bridges.values()) {
            List<Views.PortView> ports = new ArrayList<>();
            for (PortState p : b.ports) {
                ports.add(new Views.PortView(
                        p.config.name(),
                        p.id,
                        p.config.device(),
                        p.port.driverName(),
                        Packets.macToString(p.port.mac()),
                        p.vlan.label(),
                        p.config.tag(),
                        p.config.trunks(),
                        p.config.nativeVlan(),
                        p.config.rxFilter(),
                        p.port.link().up() ? "up" : "down",
                        p.port.rxQueueCount(),
                        p.port.txQueueCount(),
                        pmdsByPort.getOrDefault(p.id, List.of())));
            }
            BridgeConfig c = b.config;
            out.add(new Views.BridgeView(
                    c.name(), c.macAging(), c.macTableSize(), b.fdb.size(), ports, openflow.status(c.name())));
        }
        int[] cores = datapath.pollerCores();
        List<Integer> coreList = new ArrayList<>();
        for (int c : cores) {
            coreList.add(c);
        }
        return new Views.Show(out, new Views.PmdView(pmdConfig.mode().label(), coreList, pmdConfig.idle()));
    }

    private Map<Integer, List<Integer>> pmdsByPort() {
        Map<Integer, List<Integer>> m = new LinkedHashMap<>();
        Snapshot s = datapath.snapshot();
        int[] cores = datapath.pollerCores();
        for (int i = 0; i < cores.length; i++) {
            for (int[] rxq : s.rxqs(i)) {
                List<Integer> l = m.computeIfAbsent(rxq[0], k -> new ArrayList<>());
                if (!l.contains(cores[i])) {
                    l.add(cores[i]);
                }
            }
        }
        return m;
    }

    @Override
    public synchronized Views.Fdb fdb(String bridgeName) {
        BridgeState b = bridge(bridgeName);
        int now = seconds();
        List<Views.FdbEntry> table = new ArrayList<>();
        b.fdb.forEach((vlan, mac, port, seen) -> {
            PortState p = portsById[port];
            table.add(new Views.FdbEntry(
                    p == null ? "#" + port : p.config.name(), vlan, Packets.macToString(mac), Math.max(0, now - seen)));
        });
        table.sort((x, y) -> x.port().equals(y.port())
                ? Integer.compare(x.vlan(), y.vlan()) * 2
                        + Integer.signum(x.mac().compareTo(y.mac()))
                : x.port().compareTo(y.port()));
        Map<String, Long> counters = new LinkedHashMap<>();
        counters.put("learned", b.fdb.learned());
        counters.put("moved", b.fdb.moved());
        counters.put("aged", b.fdb.aged());
        counters.put("table_full", b.fdb.tableFull());
        return new Views.Fdb(b.config.name(), b.fdb.size(), b.fdb.maxEntries(), table, counters);
    }

    @Override
    public synchronized Views.Stats stats(String portName) {
        List<Views.PortStatsView> ports = new ArrayList<>();
        List<Views.BridgeStatsView> bstats = new ArrayList<>();
        if (portName != null && findPort(portName) == null) {
            throw VswitchException.notFound("no port " + portName);
        }
        for (BridgeState b : bridges.values()) {
            long floods = 0;
            for (PortState p : b.ports) {
                Views.PortStatsView v = portStats(p);
                floods += v.floods();
                if (portName == null || portName.equals(p.config.name())) {
                    ports.add(v);
                }
            }
            bstats.add(new Views.BridgeStatsView(
                    b.config.name(), b.fdb.learned(), b.fdb.moved(), b.fdb.aged(), b.fdb.tableFull(), floods));
        }
        return new Views.Stats(ports, bstats);
    }

    private Views.PortStatsView portStats(PortState p) {
        long[] d = new long[DropCounters.COUNT];
        sumDrops(p.id, d);
        for (int i = 0; i < d.length; i++) {
            d[i] -= p.baseline[i];
        }
        PortStats s = p.port.stats();
        Map<String, Long> drops = new LinkedHashMap<>();
        drops.put("no_buffer", s.rxNombuf() + d[DropCounters.NO_BUFFER]);
        drops.put("tx_full", d[DropCounters.TX_FULL]);
        drops.put("vlan", d[DropCounters.VLAN]);
        drops.put("table_full", d[DropCounters.TABLE_FULL]);
        drops.put("filter", d[DropCounters.FILTER]);
        drops.put("same_port", d[DropCounters.SAME_PORT]);
        drops.put("malformed", d[DropCounters.MALFORMED]);
        drops.put("pipeline_full", d[DropCounters.PIPELINE_FULL]);
        drops.put("no_port", d[DropCounters.NO_PORT]);
        drops.put("missed", s.imissed());
        drops.put("rx_errors", s.ierrors());
        drops.put("tx_errors", s.oerrors());
        Map<String, Long> tunnelCounters = null;
        if (p.port instanceof VxlanPort tunnel) {
            tunnel.addDrops(drops);
            tunnelCounters = tunnel.counters();
        }
        return new Views.PortStatsView(
                p.bridge.config.name(),
                p.config.name(),
                s.ipackets(),
                s.ibytes(),
                s.opackets(),
                s.obytes(),
                d[DropCounters.FLOODS],
                drops,
                tunnelCounters);
    }

    private void sumDrops(int id, long[] into) {
        for (Datapath.Worker w : datapath.workers()) {
            for (int i = 0; i < DropCounters.COUNT; i++) {
                into[i] += w.drops().get(id, i);
            }
        }
    }

    @Override
    public synchronized List<Views.PmdStatsView> pmdStats() {
        List<Views.PmdStatsView> out = new ArrayList<>();
        Snapshot s = datapath.snapshot();
        long now = System.nanoTime();
        for (Datapath.Worker w : datapath.workers()) {
            List<String> rxqs = new ArrayList<>();
            if (w.index() >= 0) {
                for (int[] rxq : s.rxqs(w.index())) {
                    PortState p = portsById[rxq[0]];
                    rxqs.add((p == null ? "#" + rxq[0] : p.config.name()) + "/" + rxq[1]);
                }
            }
            var c = w.perf();
            long packets = c.packets();
            long busyNs = c.busyNs();
            long span = Math.max(1, now - c.sinceNs());
            double nsPerPacket = packets == 0 ? 0 : (double) busyNs / packets;
            var fe = datapath.flowEngines().get(w.name());
            out.add(new Views.PmdStatsView(
                    w.name(),
                    w.core(),
                    w.role(),
                    rxqs,
                    c.iterations(),
                    c.busyIterations(),
                    packets,
                    Math.min(1.0, (double) busyNs / span),
                    nsPerPacket,
                    nsPerPacket * tscGhz,
                    c.maxIterationNs(),
                    c.over250us(),
                    tscGhz,
                    w.backlog() == null ? null : w.backlog().getAsLong(),
                    w.backlog() == null ? null : w.ringSize(),
                    fe == null ? null : fe.cacheHits(),
                    fe == null ? null : fe.cacheMisses()));
        }
        return out;
    }

    @Override
    public synchronized void clearPmdStats() {
        for (Datapath.Worker w : datapath.workers()) {
            w.perf().requestClear();
        }
    }

    @Override
    public synchronized VswitchConfig config() {
        List<BridgeConfig> out = new ArrayList<>();
        for (BridgeState b : bridges.values()) {
            out.add(b.config.withPorts(b.ports.stream().map(p -> p.config).toList()));
        }
        int[] cores = datapath.pollerCores();
        List<Integer> coreList = new ArrayList<>();
        for (int c : cores) {
            coreList.add(c);
        }
        PmdConfig p = pmdConfig;
        return new VswitchConfig(
                new PmdConfig(coreList, p.mode(), p.idle(), p.stages(), p.ringSize(), p.burst()),
                out,
                metrics,
                stateDirSet ? stateDir.toString() : null);
    }

    // ---- captures ---------------------------------------------------------------------------

    /** Where captures (and journals) live: {@code --state-dir}, default /var/lib/panda. */
    public synchronized void stateDir(java.nio.file.Path dir) {
        if (captures != null && !captures.list().isEmpty()) {
            throw VswitchException.conflict("state-dir cannot change while captures run");
        }
        if (captures != null) {
            captures.close();
            captures = null;
        }
        stateDir = dir;
        stateDirSet = true;
    }

    private dev.panda.vswitch.capture.Captures captureSet() {
        if (captures == null) {
            captures = new dev.panda.vswitch.capture.Captures(stateDir);
        }
        return captures;
    }

    @Override
    public synchronized dev.panda.vswitch.capture.CaptureView captureStart(dev.panda.vswitch.capture.CaptureSpec spec) {
        checkOpen();
        PortState p = findPort(spec.port());
        if (p == null) {
            throw VswitchException.notFound("port: no port " + spec.port());
        }
        var set = captureSet();
        var view = set.start(spec, p.id, p.port, datapath.captureSlots(), pool.headroom() + pool.dataRoom());
        datapath.setTaps(set.taps(Snapshot.MAX_PORTS));
        return view;
    }

    @Override
    public synchronized dev.panda.vswitch.capture.CaptureView captureStop(String name) {
        var set = captureSet();
        var c = set.remove(name);
        datapath.setTaps(set.taps(Snapshot.MAX_PORTS));
        return set.finish(c);
    }

    @Override
    public synchronized List<dev.panda.vswitch.capture.CaptureView> captures() {
        return captures == null ? List.of() : captures.list();
    }

    // ---- internals ------------------------------------------------------------------------

    /**
     * Builds the next snapshot from the state and waits until the data path runs on it. A port's
     * rx queues keep the poller they got when the port was first published; a new port's queues go
     * to the pollers with the fewest.
     */
    private void publish() {
        List<BridgeEntry> bes = new ArrayList<>();
        List<PortEntry> pes = new ArrayList<>();
        List<List<int[]>> rxqs = new ArrayList<>();
        int pollers = datapath.pollers();
        int[] load = new int[pollers];
        for (int i = 0; i < pollers; i++) {
            rxqs.add(new ArrayList<>());
        }
        for (BridgeState b : bridges.values()) {
            for (PortState p : b.ports) {
                if (p.pollerOf != null) {
                    for (int poller : p.pollerOf) {
                        load[poller]++;
                    }
                }
            }
        }
        for (BridgeState b : bridges.values()) {
            flowsOf(b);
            BridgeEntry be = new BridgeEntry(b.config.name(), b.fdb, b.flows);
            bes.add(be);
            for (PortState p : b.ports) {
                if (p.pollerOf == null) {
                    p.pollerOf = new int[p.port.rxQueueCount()];
                    for (int q = 0; q < p.pollerOf.length; q++) {
                        int least = 0;
                        for (int i = 1; i < pollers; i++) {
                            least = load[i] < load[least] ? i : least;
                        }
                        p.pollerOf[q] = least;
                        load[least]++;
                    }
                }
                long tunnelId = p.port instanceof VxlanPort t ? t.vni() : 0;
                pes.add(new PortEntry(
                        p.id, p.config.name(), p.port, p.vlan, be, p.filter.streams(), p.txLocks, tunnelId));
                for (int q = 0; q < p.pollerOf.length; q++) {
                    rxqs.get(p.pollerOf[q]).add(new int[] {p.id, q});
                }
            }
        }
        fdbs = bridges.values().stream().map(b -> b.fdb).toArray(Fdb[]::new);
        flowTables = bridges.values().stream().map(b -> b.flows).toArray(BridgeFlows[]::new);
        datapath.publish(new Snapshot(++generation, pes, bes, rxqs));
    }

    @Override
    public synchronized BridgeFlows flows(String bridgeName) {
        checkOpen();
        return flowsOf(bridge(bridgeName));
    }

    /** The bridge's flow tables, made with the config's fail mode on first use. */
    private BridgeFlows flowsOf(BridgeState b) {
        if (b.flows == null) {
            b.flows = new BridgeFlows(b.config.name(), datapath.transmitters());
            b.flows.setFailMode(FailMode.parse(b.config.failMode()));
            b.flows.setGate(flowGate);
            b.flows.setMaxFrame(pool.maxPacketLength());
        }
        return b.flows;
    }

    @Override
    public synchronized void setFailMode(String bridgeName, String mode) {
        checkOpen();
        BridgeState b = bridge(bridgeName);
        FailMode m;
        try {
            m = FailMode.parse(mode);
        } catch (IllegalArgumentException e) {
            throw VswitchException.badRequest(e.getMessage());
        }
        b.config = b.config.withFailMode(m.label());
        flowsOf(b).setFailMode(m);
    }

    @Override
    public synchronized List<Views.FlowTableView> flowTables() {
        List<Views.FlowTableView> out = new ArrayList<>();
        for (BridgeState b : bridges.values()) {
            BridgeFlows f = flowsOf(b);
            for (var t : f.tableStats()) {
                if (t.activeCount() > 0 || t.lookups() > 0) {
                    out.add(new Views.FlowTableView(
                            b.config.name(), t.tableId(), t.activeCount(), t.lookups(), t.matched()));
                }
            }
        }
        return out;
    }

    @Override
    public synchronized List<Views.PacketInView> packetIns() {
        List<Views.PacketInView> out = new ArrayList<>();
        for (BridgeState b : bridges.values()) {
            BridgeFlows f = b.flows;
            if (f != null) {
                out.add(new Views.PacketInView(
                        b.config.name(),
                        f.packetInsQueued(),
                        f.packetInsDropped(),
                        f.packetInsNoController(),
                        f.flowRemovedQueued(),
                        f.flowRemovedDropped()));
            }
        }
        return out;
    }

    private BridgeState bridge(String name) {
        BridgeState b = bridges.get(name);
        if (b == null) {
            throw VswitchException.notFound("no bridge " + name);
        }
        return b;
    }

    private PortState findPort(String name) {
        for (PortState p : portsById) {
            if (p != null && p.config.name().equals(name)) {
                return p;
            }
        }
        return null;
    }

    /** The lowest port id neither in use nor in {@code taken}. */
    private int freeId(Set<Integer> taken) {
        for (int i = 1; i < portsById.length; i++) {
            if (portsById[i] == null && !taken.contains(i)) {
                return i;
            }
        }
        throw VswitchException.conflict("no room for another port (at most " + (Snapshot.MAX_PORTS - 1) + ")");
    }

    private int seconds() {
        return (int) TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - startNanos);
    }

    private void housekeep() {
        while (!closed) {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                return;
            }
            int now = seconds();
            datapath.tick(now);
            for (Fdb f : fdbs) { // the array is replaced, never changed, so no allocation here
                f.age(now);
                f.compactIfNeeded();
            }
            long nanos = System.nanoTime();
            for (BridgeFlows f : flowTables) { // idle and hard timeouts
                f.sweep(nanos);
            }
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new VswitchException(503, "the vswitch is shutting down");
        }
    }

    /** The packet pool every port shares. */
    public PacketPool pool() {
        return pool;
    }

    /** Stops the pollers and closes every port. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        openflow.close();
        housekeeping.interrupt();
        datapath.close();
        if (captures != null) {
            captures.close(); // the pollers are stopped: every frame taken is written
        }
        for (BridgeState b : bridges.values()) {
            for (PortState p : b.ports) {
                closePort(p);
            }
        }
        bridges.clear();
        if (ownsPool) {
            pool.close();
        }
    }
}
