package dev.panda.vswitch.datapath;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.vswitch.Views;
import dev.panda.vswitch.VswitchException;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.ConfigDiff;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code Vswitch.apply} on in-process ring ports: a whole desired state that adds a port, removes
 * one and changes VLANs and a bridge's aging, applied while 20,000 frames flow between two ports it
 * does not touch (none lost, their ids and counters go on); the running config applied to itself
 * changes nothing; a desired state with one bad part (bad device string, socket in use, device
 * missing, pmd change) is refused naming that part and leaves show, config and open files as they
 * were.
 */
class ApplyTest {

    private static final long A = 0x02_00_00_00_00_0aL;
    private static final long B = 0x02_00_00_00_00_0bL;

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(PmdConfig.Mode.class)
    void applyUnderTrafficLosesNothingBetweenUntouchedPorts(PmdConfig.Mode mode) throws Exception {
        try (Hosts hs = new Hosts(mode)) {
            var a = hs.host();
            var b = hs.host();
            var c = hs.host();
            var d = hs.host();
            var e = hs.host();
            VswitchConfig start = withBridges(
                    hs.vswitch.config(),
                    new BridgeConfig(
                            "br0",
                            300,
                            8192,
                            List.of(
                                    PortConfig.of("a", a.device),
                                    PortConfig.of("b", b.device),
                                    PortConfig.of("c", c.device),
                                    new PortConfig("e", e.device, 10, List.of(), null, null))));
            ConfigDiff first = hs.vswitch.apply(start, false);
            assertEquals(
                    List.of("+ bridge br0 mac-aging 300 mac-table-size 8192", "+ port br0 a device '" + a.device + "'"),
                    first.text().lines().limit(2).toList());
            assertEquals(5, first.changes().size(), first.text());
            Map<String, Integer> ids = ids(hs.vswitch.show());

            b.send(A, B, 0, 46); // learn B
            a.receive(200);
            int total = 20_000;
            AtomicLong got = new AtomicLong();
            Thread rx = Thread.ofPlatform().start(() -> {
                long end = System.currentTimeMillis() + 20_000;
                while (got.get() < total && System.currentTimeMillis() < end) {
                    got.addAndGet(b.receive(1).size());
                }
            });
            Thread tx = Thread.ofPlatform().start(() -> {
                long end = System.currentTimeMillis() + 20_000;
                for (int i = 0; i < total && System.currentTimeMillis() < end; i++) {
                    while (i - got.get() > 256 && System.currentTimeMillis() < end) {
                        Thread.yield();
                    }
                    a.send(B, A, 0, 46);
                }
            });
            VswitchConfig next = withBridges(
                    hs.vswitch.config(),
                    new BridgeConfig(
                            "br0",
                            60,
                            8192,
                            List.of(
                                    PortConfig.of("a", a.device),
                                    PortConfig.of("b", b.device),
                                    new PortConfig("e", e.device, 20, List.of(), null, "prefilter,engine=interp"),
                                    new PortConfig("d", d.device, null, List.of(10, 20), 30, null))));
            ConfigDiff diff;
            try {
                dev.panda.dataplane.testing.Frames.sleep(100);
                diff = hs.vswitch.apply(next, false);
            } finally {
                tx.join();
                rx.join();
            }
            assertEquals(
                    List.of(
                            "- port br0 c",
                            "+ port br0 d device '" + d.device + "' trunks 10,20 native-vlan 30",
                            "~ bridge br0 mac-aging 300 -> 60",
                            "~ port br0 e tag 10 -> 20, rx-filter none -> 'prefilter,engine=interp'"),
                    diff.text().lines().toList());
            assertEquals(total, got.get(), "frames between a and b lost during apply: " + hs.vswitch.stats(null));
            Views.Show show = hs.vswitch.show();
            Map<String, Integer> after = ids(show);
            assertEquals(ids.get("a"), after.get("a"));
            assertEquals(ids.get("b"), after.get("b"));
            assertEquals(ids.get("e"), after.get("e"), "a VLAN or rx-filter change must not reopen the port");
            assertFalse(after.containsKey("c"));
            assertEquals(
                    20,
                    show.bridges().get(0).ports().stream()
                            .filter(p -> p.name().equals("e"))
                            .findFirst()
                            .orElseThrow()
                            .tag());
            assertEquals(60, show.bridges().get(0).macAging());
            // counters of the untouched ports went on through the apply
            Views.PortStatsView sa = hs.vswitch.stats("a").ports().get(0);
            assertTrue(sa.rxPackets() >= total, "a's counter restarted: " + sa);
            assertEquals(0L, hs.vswitch.stats("b").ports().get(0).drops().get("tx_full"));
            // VLAN 20 now reaches e, VLAN 10 does not: a broadcast from the trunk d in VLAN 20 only
            d.send(-1L >>> 16, 0x02_00_00_00_00_0dL, 20, 46);
            assertEquals(1, e.receive(200).size(), "e is in VLAN 20 now");
            d.send(-1L >>> 16, 0x02_00_00_00_00_0dL, 10, 46);
            assertEquals(0, e.receive(200).size(), "e left VLAN 10");
            assertEquals(next, hs.vswitch.config());
        }
    }

    @Test
    void theRunningConfigAppliedToItselfChangesNothing() {
        try (Hosts hs = new Hosts(PmdConfig.Mode.RTC)) {
            var a = hs.host();
            var b = hs.host();
            hs.vswitch.addBridge(BridgeConfig.of("br0"));
            hs.vswitch.addBridge(new BridgeConfig("br1", 30, 1024, List.of()));
            hs.vswitch.addPort("br0", PortConfig.of("a", a.device));
            hs.vswitch.addPort("br1", new PortConfig("b", b.device, null, List.of(20, 10), 5, null));
            b.send(A, B, 5, 46);
            a.send(B, A, 0, 46);
            b.receive(100);
            Views.Show show = hs.vswitch.show();
            Views.Stats stats = hs.vswitch.stats(null);
            // as config-show prints it, and with the trunks in another order
            ConfigDiff diff = hs.vswitch.apply(hs.vswitch.config(), false);
            assertTrue(diff.isEmpty(), diff.text());
            assertEquals("no changes", diff.summary());
            VswitchConfig reordered = withBridges(
                    hs.vswitch.config(),
                    new BridgeConfig(
                            "br1", 30, 1024, List.of(new PortConfig("b", b.device, null, List.of(10, 20), 5, null))),
                    BridgeConfig.of("br0").withPorts(List.of(PortConfig.of("a", a.device))));
            assertTrue(hs.vswitch.apply(reordered, false).isEmpty());
            assertEquals(show, hs.vswitch.show());
            assertEquals(stats, hs.vswitch.stats(null));
            // the pmd section: "cores: []" means the vswitch picks, so it matches what runs
            PmdConfig p = hs.vswitch.config().pmd();
            VswitchConfig anyCores = new VswitchConfig(
                    new PmdConfig(List.of(), p.mode(), p.idle(), p.stages(), p.ringSize()),
                    hs.vswitch.config().bridges());
            assertTrue(hs.vswitch.apply(anyCores, false).isEmpty());
        }
    }

    @Test
    void aPortMovesToAnotherBridgeWithoutReopeningAsItsOldBridgeGoes() {
        try (Hosts hs = new Hosts(PmdConfig.Mode.RTC)) {
            var a = hs.host();
            var b = hs.host();
            var c = hs.host();
            hs.vswitch.addBridge(BridgeConfig.of("br0"));
            hs.vswitch.addBridge(BridgeConfig.of("br1"));
            hs.vswitch.addPort("br0", PortConfig.of("a", a.device));
            hs.vswitch.addPort("br0", PortConfig.of("b", b.device));
            hs.vswitch.addPort("br1", PortConfig.of("c", c.device));
            a.send(B, A, 0, 46); // A learned on br0
            b.receive(100);
            int id = ids(hs.vswitch.show()).get("a");
            VswitchConfig desired = withBridges(
                    hs.vswitch.config(),
                    new BridgeConfig(
                            "br1", 300, 8192, List.of(PortConfig.of("c", c.device), PortConfig.of("a", a.device))));
            ConfigDiff d = hs.vswitch.apply(desired, false);
            assertEquals(
                    List.of("- port br0 b", "- bridge br0", "~ port br1 a bridge br0 -> br1"),
                    d.text().lines().toList());
            assertEquals(id, ids(hs.vswitch.show()).get("a"));
            assertEquals(desired, hs.vswitch.config());
            // c's unknown unicast floods to a, its new bridge-mate; then a's answer is known unicast
            c.send(A, 0x02_00_00_00_00_0cL, 0, 46);
            assertEquals(1, a.receive(200).size());
            a.send(0x02_00_00_00_00_0cL, A, 0, 46);
            assertEquals(1, c.receive(200).size());
            Views.Fdb fdb = hs.vswitch.fdb("br1");
            assertTrue(
                    fdb.table().stream()
                            .anyMatch(x -> x.port().equals("c") && x.mac().equals("02:00:00:00:00:0C")),
                    fdb.toString());
            assertTrue(
                    fdb.table().stream()
                            .anyMatch(x -> x.port().equals("a") && x.mac().equals("02:00:00:00:00:0A")),
                    fdb.toString());
            // a bad rx filter is refused before anything changes
            VswitchException e = assertThrows(
                    VswitchException.class,
                    () -> hs.vswitch.apply(
                            withBridges(
                                    desired,
                                    new BridgeConfig(
                                            "br1",
                                            300,
                                            8192,
                                            List.of(
                                                    PortConfig.of("c", c.device),
                                                    new PortConfig(
                                                            "a", a.device, null, List.of(), null, "nosuchfilter")))),
                            false));
            assertEquals(400, e.status());
            assertTrue(e.getMessage().startsWith("port br1/a: rx-filter: "), e.getMessage());
            assertEquals(desired, hs.vswitch.config());
        }
    }

    @Test
    void oneBadPartChangesNothingAndLeavesNoDeviceOpen() throws Exception {
        try (Hosts hs = new Hosts(PmdConfig.Mode.RTC)) {
            var a = hs.host();
            var b = hs.host();
            hs.vswitch.addBridge(BridgeConfig.of("br0"));
            hs.vswitch.addPort("br0", PortConfig.of("a", a.device));
            hs.vswitch.addPort("br0", new PortConfig("b", b.device, 10, List.of(), null, null));
            Path good = dir.resolve("good.sock");
            Path busy = dir.resolve("busy.sock");
            try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                other.bind(UnixDomainSocketAddress.of(busy));
                // each desired state: b removed, a VLAN change on a, a new vhost port that would open
                // (good.sock), and one bad part
                refused(hs, "bad device string", "port br0/bad", 400, "net_bogus0");
                refused(hs, "socket in use", "port br0/bad", 500, "net_vhost7,iface=" + busy);
                refused(hs, "device missing", "port br0/bad", 500, "net_af_packet3,iface=pandanosuch0");
                refused(hs, "device key unknown", "port br0/bad", 400, "net_null3,nosuchkey=1");
                refused(hs, "device of a port that stays", "port br0/bad", 409, a.device);
                assertFalse(Files.exists(good), "the good vhost port's socket was left behind");
            }
            // a device name the removed port b holds cannot be opened by another port in the same apply
            String before = hs.vswitch.show().toString();
            VswitchException reuse = assertThrows(
                    VswitchException.class,
                    () -> hs.vswitch.apply(
                            withPorts(hs.vswitch.config(), PortConfig.of("a", a.device), PortConfig.of("b2", b.device)),
                            false));
            assertEquals(409, reuse.status());
            assertTrue(reuse.getMessage().startsWith("port br0/b2: device "), reuse.getMessage());
            assertEquals(before, hs.vswitch.show().toString());
            // pmd settings cannot change while running: refused, naming the field
            PmdConfig p = hs.vswitch.config().pmd();
            for (PmdConfig other : List.of(
                    new PmdConfig(List.of(0, 1), p.mode(), p.idle(), p.stages(), p.ringSize()),
                    new PmdConfig(p.cores(), PmdConfig.Mode.PIPELINE, p.idle(), p.stages(), p.ringSize()),
                    new PmdConfig(p.cores(), p.mode(), "spin", p.stages(), p.ringSize()))) {
                VswitchException e = assertThrows(
                        VswitchException.class,
                        () -> hs.vswitch.apply(
                                new VswitchConfig(other, hs.vswitch.config().bridges()), true));
                assertEquals(409, e.status());
                assertTrue(e.getMessage().startsWith("pmd."), e.getMessage());
                assertTrue(e.getMessage().contains("cannot change while the vswitch runs"), e.getMessage());
            }
            assertEquals(before, hs.vswitch.show().toString());
            // a dry run reports the difference and changes nothing
            VswitchConfig none = withBridges(hs.vswitch.config());
            ConfigDiff dry = hs.vswitch.apply(none, true);
            assertEquals(
                    List.of("- port br0 a", "- port br0 b", "- bridge br0"),
                    dry.text().lines().toList());
            assertEquals(before, hs.vswitch.show().toString());
            // and the same state then applies
            hs.vswitch.apply(none, false);
            assertTrue(hs.vswitch.show().bridges().isEmpty());
        }
    }

    private void refused(Hosts hs, String why, String part, int status, String badDevice) throws Exception {
        VswitchConfig running = hs.vswitch.config();
        String show = hs.vswitch.show().toString();
        long fds = openFiles();
        PortConfig a = running.bridges().get(0).ports().get(0);
        VswitchConfig desired = withPorts(
                running,
                new PortConfig(a.name(), a.device(), 30, List.of(), null, null),
                PortConfig.of("good", "net_vhost5,iface=" + dir.resolve("good.sock")),
                PortConfig.of("bad", badDevice));
        VswitchException e = assertThrows(VswitchException.class, () -> hs.vswitch.apply(desired, false), why);
        assertEquals(status, e.status(), why + ": " + e.getMessage());
        assertTrue(e.getMessage().startsWith(part + ": "), why + ": " + e.getMessage());
        assertTrue(e.getMessage().endsWith("(nothing changed)"), e.getMessage());
        assertEquals(show, hs.vswitch.show().toString(), why + ": show changed");
        assertEquals(running, hs.vswitch.config(), why + ": config changed");
        assertEquals(fds, openFiles(), why + ": open files changed");
    }

    private static long openFiles() throws Exception {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    private static Map<String, Integer> ids(Views.Show show) {
        return show.bridges().stream()
                .flatMap(b -> b.ports().stream())
                .collect(Collectors.toMap(Views.PortView::name, Views.PortView::id));
    }

    private static VswitchConfig withBridges(VswitchConfig c, BridgeConfig... bridges) {
        return new VswitchConfig(c.pmd(), List.of(bridges));
    }

    /** {@code c} with br0's ports replaced. */
    private static VswitchConfig withPorts(VswitchConfig c, PortConfig... ports) {
        List<BridgeConfig> bs = new ArrayList<>();
        for (BridgeConfig b : c.bridges()) {
            bs.add(b.name().equals("br0") ? b.withPorts(List.of(ports)) : b);
        }
        return new VswitchConfig(c.pmd(), bs);
    }
}
