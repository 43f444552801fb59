package dev.panda.vswitch;

import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.ConfigDiff;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** An in-memory {@link Control} for the control server and ctl tests: no devices, fixed counters. */
public final class FakeControl implements Control {

    public final Map<String, BridgeConfig> bridges = new LinkedHashMap<>();
    public final List<String> threads = Collections.synchronizedList(new ArrayList<>());
    public volatile int pmdClears;
    /** Thrown by the next call, then cleared. */
    public volatile RuntimeException failNext;
    /** Thrown by the next call, then cleared (an Error, as a broken invariant would throw). */
    public volatile Error errorNext;
    /** Each call sleeps this long first (to see calls serialised). */
    public volatile long delayMillis;
    /** Non-null: each call waits for it to open first (a call that blocks until the test lets it go). */
    public volatile java.util.concurrent.CountDownLatch gate;

    private void enter() {
        threads.add(Thread.currentThread().getName());
        java.util.concurrent.CountDownLatch g = gate;
        if (g != null) {
            try {
                g.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (delayMillis > 0) {
            try {
                Thread.sleep(delayMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Error e = errorNext;
        if (e != null) {
            errorNext = null;
            throw e;
        }
        RuntimeException f = failNext;
        if (f != null) {
            failNext = null;
            throw f;
        }
    }

    /** Real flow tables per bridge (the flow routes drive them as they would the vswitch's). */
    public final Map<String, dev.panda.vswitch.flow.BridgeFlows> flowTables = new LinkedHashMap<>();

    @Override
    public synchronized dev.panda.vswitch.flow.BridgeFlows flows(String name) {
        enter();
        BridgeConfig b = bridge(name);
        return flowTables.computeIfAbsent(name, n -> {
            var f = new dev.panda.vswitch.flow.BridgeFlows(n, 1);
            f.setFailMode(dev.panda.vswitch.flow.FailMode.parse(b.failMode()));
            return f;
        });
    }

    @Override
    public synchronized void setFailMode(String name, String mode) {
        enter();
        BridgeConfig b = bridge(name);
        dev.panda.vswitch.flow.FailMode m;
        try {
            m = dev.panda.vswitch.flow.FailMode.parse(mode);
        } catch (IllegalArgumentException e) {
            throw VswitchException.badRequest(e.getMessage());
        }
        bridges.put(name, b.withFailMode(m.label()));
        flows(name).setFailMode(m);
    }

    private BridgeConfig bridge(String name) {
        BridgeConfig b = bridges.get(name);
        if (b == null) {
            throw VswitchException.notFound("no bridge named " + name);
        }
        return b;
    }

    @Override
    public synchronized void addBridge(BridgeConfig bridge) {
        enter();
        if (bridges.containsKey(bridge.name())) {
            throw VswitchException.conflict("bridge " + bridge.name() + " already exists");
        }
        bridges.put(bridge.name(), bridge);
    }

    @Override
    public synchronized void delBridge(String bridge) {
        enter();
        bridge(bridge);
        bridges.remove(bridge);
    }

    @Override
    public synchronized void addPort(String bridge, PortConfig port) {
        enter();
        BridgeConfig b = bridge(bridge);
        for (BridgeConfig other : bridges.values()) {
            for (PortConfig p : other.ports()) {
                if (p.name().equals(port.name())) {
                    throw VswitchException.conflict("port " + port.name() + " already exists on " + other.name());
                }
            }
        }
        if (port.device().startsWith("bad")) {
            throw VswitchException.badRequest("unknown device '" + port.device() + "'");
        }
        List<PortConfig> ports = new ArrayList<>(b.ports());
        ports.add(port);
        bridges.put(bridge, b.withPorts(ports));
    }

    @Override
    public synchronized void delPort(String bridge, String port) {
        enter();
        BridgeConfig b = bridge(bridge);
        List<PortConfig> ports = new ArrayList<>(b.ports());
        if (!ports.removeIf(p -> p.name().equals(port))) {
            throw VswitchException.notFound("no port named " + port + " on " + bridge);
        }
        bridges.put(bridge, b.withPorts(ports));
    }

    @Override
    public synchronized Views.Show show() {
        enter();
        List<Views.BridgeView> views = new ArrayList<>();
        int id = 0;
        for (BridgeConfig b : bridges.values()) {
            List<Views.PortView> ports = new ArrayList<>();
            for (PortConfig p : b.ports()) {
                ports.add(new Views.PortView(
                        p.name(),
                        id++,
                        p.device(),
                        p.device().replaceAll("[0-9].*", ""),
                        "02:00:00:00:00:0" + id,
                        p.tag() != null ? "access" : p.trunks().isEmpty() ? "all" : "trunk",
                        p.tag(),
                        p.trunks(),
                        p.nativeVlan(),
                        p.rxFilter(),
                        "up",
                        1,
                        1,
                        List.of(1)));
            }
            views.add(new Views.BridgeView(b.name(), b.macAging(), b.macTableSize(), 2, ports, controllers(b.name())));
        }
        return new Views.Show(views, new Views.PmdView("rtc", List.of(1), "yield"));
    }

    @Override
    public synchronized Views.Fdb fdb(String bridge) {
        enter();
        BridgeConfig b = bridge(bridge);
        return new Views.Fdb(
                bridge,
                2,
                b.macTableSize(),
                List.of(
                        new Views.FdbEntry("vm1", 0, "52:54:00:00:00:01", 3),
                        new Views.FdbEntry("c1", 10, "52:54:00:00:00:02", 120)),
                Map.of("learned", 2L, "moved", 0L));
    }

    @Override
    public synchronized Views.Stats stats(String port) {
        enter();
        Views.PortStatsView vm1 =
                new Views.PortStatsView("br0", "vm1", 10, 640, 12, 768, 1, Map.of("no_buffer", 0L, "vlan", 2L));
        Views.PortStatsView c1 = new Views.PortStatsView("br0", "c1", 12, 768, 10, 640, 0, Map.of());
        List<Views.PortStatsView> all = List.of(vm1, c1);
        if (port != null) {
            all = all.stream().filter(p -> p.port().equals(port)).toList();
            if (all.isEmpty()) {
                throw VswitchException.notFound("no port named " + port);
            }
        }
        return new Views.Stats(all, List.of(new Views.BridgeStatsView("br0", 2, 0, 0, 0, 1)));
    }

    @Override
    public synchronized List<Views.PmdStatsView> pmdStats() {
        enter();
        return List.of(new Views.PmdStatsView(
                "pmd-1",
                1,
                "poller",
                List.of("vm1/0", "c1/0"),
                1000,
                250,
                22,
                0.25,
                120.5,
                361.5,
                80_000,
                0,
                3.0,
                null,
                null,
                20L,
                2L));
    }

    @Override
    public synchronized List<Views.FlowTableView> flowTables() {
        enter();
        return List.of(new Views.FlowTableView("br0", 0, 3, 22, 21));
    }

    @Override
    public synchronized List<Views.PacketInView> packetIns() {
        enter();
        return List.of(new Views.PacketInView("br0", 40, 7, 3, 12, 5));
    }

    @Override
    public synchronized void clearPmdStats() {
        enter();
        pmdClears++;
    }

    @Override
    public synchronized VswitchConfig config() {
        enter();
        return new VswitchConfig(PmdConfig.defaults(), new ArrayList<>(bridges.values()));
    }

    /** The diff against the fake's state; a device starting with "bad" refuses the whole apply. */
    @Override
    public synchronized ConfigDiff apply(VswitchConfig desired, boolean dryRun) {
        enter();
        ConfigDiff diff =
                ConfigDiff.between(new VswitchConfig(desired.pmd(), new ArrayList<>(bridges.values())), desired);
        for (BridgeConfig b : desired.bridges()) {
            for (PortConfig p : b.ports()) {
                if (p.device().startsWith("bad")) {
                    throw VswitchException.badRequest("port " + b.name() + "/" + p.name() + ": unknown device '"
                            + p.device() + "' (nothing changed)");
                }
            }
        }
        if (!dryRun) {
            bridges.clear();
            desired.bridges().forEach(b -> bridges.put(b.name(), b));
        }
        return diff;
    }

    @Override
    public synchronized void setController(String bridge, List<String> targets) {
        threads.add(Thread.currentThread().getName());
        BridgeConfig b = bridge(bridge);
        bridges.put(bridge, b.withControllers(dev.panda.vswitch.openflow.Controllers.parse(bridge, targets)));
    }

    @Override
    public synchronized List<Views.ControllerView> controllers(String bridge) {
        return bridge(bridge).controllers().stream()
                .map(t -> new Views.ControllerView(
                        t,
                        t.startsWith("ptcp:") ? "listening" : "connected",
                        "127.0.0.1:6653",
                        1,
                        !t.startsWith("ptcp:")))
                .toList();
    }
}
