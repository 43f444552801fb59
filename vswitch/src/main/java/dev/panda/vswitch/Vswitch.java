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
import dev.panda.vswitch.config.MetricsConfig;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.datapath.BridgeEntry;
import dev.panda.vswitch.datapath.Datapath;
import dev.panda.vswitch.datapath.DropCounters;
import dev.panda.vswitch.datapath.PortEntry;
import dev.panda.vswitch.datapath.Snapshot;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
    private final Datapath datapath;
    private final PmdConfig pmdConfig;
    private final Map<String, BridgeState> bridges = new LinkedHashMap<>();
    private final PortState[] portsById = new PortState[Snapshot.MAX_PORTS];
    private final Thread housekeeping;
    private final long startNanos = System.nanoTime();
    private final double tscGhz = TscRate.ghz();
    private long generation;
    private volatile Fdb[] fdbs = new Fdb[0];
    private volatile boolean closed;
    /** The metrics listener it was started with (served by VswitchMain), for config-show. */
    private volatile MetricsConfig metrics = MetricsConfig.off();

    private static final class BridgeState {
        final BridgeConfig config;
        final Fdb fdb;
        final List<PortState> ports = new ArrayList<>();
        BridgeEntry entry;

        BridgeState(BridgeConfig config) {
            this.config = config;
            this.fdb = new Fdb(config.macTableSize(), config.macAging());
        }
    }

    private static final class PortState {
        final int id;
        final PortConfig config;
        final BridgeState bridge;
        final Port port;
        final VlanPolicy vlan;
        final RxFilter filter;
        final RxFilterStream[] streams;
        final int[] txLocks;
        final long[] baseline = new long[DropCounters.COUNT];

        PortState(
                int id,
                PortConfig config,
                BridgeState bridge,
                Port port,
                VlanPolicy vlan,
                RxFilter filter,
                RxFilterStream[] streams,
                int[] txLocks) {
            this.id = id;
            this.config = config;
            this.bridge = bridge;
            this.port = port;
            this.vlan = vlan;
            this.filter = filter;
            this.streams = streams;
            this.txLocks = txLocks;
        }
    }

    private Vswitch(PacketPool pool, Ports drivers, PmdConfig pmd, int[] cores, boolean ownsPool) {
        this.pool = pool;
        this.ownsPool = ownsPool;
        this.drivers = drivers;
        this.pmdConfig = pmd;
        this.datapath = Datapath.create(pool, pmd, cores);
        this.housekeeping =
                Thread.ofPlatform().name("panda-housekeeping").daemon(true).unstarted(this::housekeep);
    }

    /** Starts the pollers as {@code config.pmd()} says and adds its bridges and ports. */
    public static Vswitch start(VswitchConfig config) {
        int[] cores = PmdCores.choose(config.pmd().cores());
        PmdCores.keepOtherThreadsOff(cores);
        PacketPool pool = PacketPool.create(PoolConfig.defaults());
        try {
            return start(config, pool, cores, true);
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
        Vswitch v = new Vswitch(pool, Ports.discover(), config.pmd(), cores, ownsPool);
        v.metrics = config.metrics();
        v.datapath.start();
        v.housekeeping.start();
        try {
            for (BridgeConfig b : config.bridges()) {
                v.addBridge(b);
            }
        } catch (RuntimeException e) {
            v.close();
            throw e;
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
        try {
            b = new BridgeState(bridge.withPorts(List.of()));
        } catch (IllegalArgumentException e) {
            throw VswitchException.badRequest("bridge " + bridge.name() + ": " + e.getMessage());
        }
        bridges.put(bridge.name(), b);
        publish();
        try {
            for (PortConfig p : bridge.ports()) {
                addPort(bridge.name(), p);
            }
        } catch (RuntimeException e) {
            delBridge(bridge.name());
            throw e;
        }
    }

    @Override
    public synchronized void delBridge(String name) {
        checkOpen();
        BridgeState b = bridge(name);
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
            spec = DeviceSpec.parse(pc.device());
        } catch (RuntimeException e) {
            throw VswitchException.badRequest("port " + pc.name() + ": " + e.getMessage());
        }
        for (PortState other : portsById) {
            if (other != null && other.port.name().equals(spec.name())) {
                throw VswitchException.conflict("device " + spec.name() + " is already port " + other.config.name());
            }
        }
        int id = freeId();
        Port port;
        try {
            port = drivers.open(pc.device(), PortContext.of(pool, id));
        } catch (RuntimeException e) {
            throw new VswitchException(
                    e instanceof IllegalArgumentException ? 400 : 500, "port " + pc.name() + ": " + e.getMessage(), e);
        }
        RxFilter filter = null;
        RxFilterStream[] streams = null;
        try {
            if (pc.rxFilter() != null && !pc.rxFilter().isBlank()) {
                filter = RxFilters.discover().open(pc.rxFilter(), port.rxQueueCount());
                streams = new RxFilterStream[port.rxQueueCount()];
                for (int q = 0; q < streams.length; q++) {
                    streams[q] = filter.newStream(q, pool, port, id, q, -1);
                }
            }
        } catch (RuntimeException e) {
            port.close();
            throw VswitchException.badRequest("port " + pc.name() + ": rx-filter: " + e.getMessage());
        }
        int[] txLocks = port.txQueueCount() < datapath.transmitters() ? new int[port.txQueueCount()] : null;
        PortState ps = new PortState(id, pc, b, port, vlan, filter, streams, txLocks);
        sumDrops(id, ps.baseline);
        portsById[id] = ps;
        b.ports.add(ps);
        publish();
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

    /** After the data path let go of it: forget its MACs, close it (its buffers go back). */
    private void closePort(PortState p) {
        p.bridge.fdb.flushPort(p.id);
        if (p.filter != null) {
            p.filter.close();
        }
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
            out.add(new Views.BridgeView(c.name(), c.macAging(), c.macTableSize(), b.fdb.size(), ports));
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
                    b.config.name(), b.fdb.learned(), b.fdb.moved(), b.fdb.aged(), b.fdb.tableFull(), floods, 0));
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
        return new Views.PortStatsView(
                p.bridge.config.name(),
                p.config.name(),
                s.ipackets(),
                s.ibytes(),
                s.opackets(),
                s.obytes(),
                d[DropCounters.FLOODS],
                drops);
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
                    w.backlog() == null ? null : w.ringSize()));
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
        return new VswitchConfig(new PmdConfig(coreList, p.mode(), p.idle(), p.stages(), p.ringSize()), out, metrics);
    }

    // ---- internals ------------------------------------------------------------------------

    /** Builds the next snapshot from the state and waits until the data path runs on it. */
    private void publish() {
        List<BridgeEntry> bes = new ArrayList<>();
        List<PortEntry> pes = new ArrayList<>();
        List<List<int[]>> rxqs = new ArrayList<>();
        int pollers = datapath.pollers();
        for (int i = 0; i < pollers; i++) {
            rxqs.add(new ArrayList<>());
        }
        int next = 0;
        for (BridgeState b : bridges.values()) {
            BridgeEntry be = new BridgeEntry(b.config.name(), b.fdb);
            b.entry = be;
            bes.add(be);
            for (PortState p : b.ports) {
                pes.add(new PortEntry(p.id, p.config.name(), p.port, p.vlan, be, p.streams, p.txLocks));
                for (int q = 0; q < p.port.rxQueueCount(); q++) {
                    rxqs.get(next++ % pollers).add(new int[] {p.id, q});
                }
            }
        }
        fdbs = bridges.values().stream().map(b -> b.fdb).toArray(Fdb[]::new);
        datapath.publish(new Snapshot(++generation, pes, bes, rxqs));
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

    private int freeId() {
        for (int i = 1; i < portsById.length; i++) {
            if (portsById[i] == null) {
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
        housekeeping.interrupt();
        datapath.close();
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
