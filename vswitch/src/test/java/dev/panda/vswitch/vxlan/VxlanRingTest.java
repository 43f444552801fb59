package dev.panda.vswitch.vxlan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.vswitch.Views;
import dev.panda.vswitch.Vswitch;
import dev.panda.vswitch.VswitchException;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.ConfigDiff;
import dev.panda.vswitch.config.ConfigFiles;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.config.VxlanConfig;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Two vswitches in one process ("host A" and "host B"), joined only by a pair of ring ports as the
 * underlay, each with two tunnel ports on it (VNI 42 on br0, VNI 43 on br1) and a ring "host" on
 * each bridge: until B answers ARP, A's tunnel drops with {@code unresolved}; then frames cross
 * byte for byte, each VNI only into its own bridge, B's FDB learns A's host on the tunnel port,
 * the counters agree, the outer source port stays in 49152-65535; config-show round-trips; a
 * tunnel that duplicates one, or a device port on an underlay, is refused.
 */
class VxlanRingTest {

    private static final AtomicInteger NEXT = new AtomicInteger(700);
    private static final long MAC_A = 0x02_00_00_00_0a_01L;
    private static final long MAC_B = 0x02_00_00_00_0b_01L;

    private final PacketPool pool = PacketPool.create(PoolConfig.defaults().withCount(8192));
    private final Ports ports = Ports.discover();
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
        pool.close();
    }

    private Vswitch vswitch(PmdConfig.Mode mode) {
        PmdConfig pmd = new PmdConfig(List.of(), mode, "yield", null, 256);
        Vswitch v = Vswitch.start(new VswitchConfig(pmd, List.of()), pool, new int[] {0}, false);
        open.add(v);
        return v;
    }

    /** A test-held ring port and the device string of its peer, for the vswitch. */
    private record Host(Port port, String device) {}

    private Host host() {
        int n = NEXT.getAndIncrement();
        Port p = ports.open("net_ring" + n, PortContext.of(pool, 0));
        open.add(p);
        return new Host(p, "net_ring" + (n + 1000) + ",peer=net_ring" + n);
    }

    @ParameterizedTest
    @EnumSource(PmdConfig.Mode.class)
    void twoVswitchesFormOneSegmentPerVni(PmdConfig.Mode mode) throws Exception {
        int u = NEXT.getAndAdd(2);
        String underA = "net_ring" + u;
        String underB = "net_ring" + (u + 1) + ",peer=net_ring" + u;
        Host a0 = host(), a1 = host(), b0 = host(), b1 = host();
        Vswitch va = vswitch(mode);
        va.addBridge(BridgeConfig.of("br0"));
        va.addBridge(BridgeConfig.of("br1"));
        va.addPort("br0", PortConfig.of("h0", a0.device()));
        va.addPort("br1", PortConfig.of("h1", a1.device()));
        va.addPort("br0", tunnel("vx42", 42, "198.18.1.1", "198.18.1.2", underA));
        va.addPort("br1", tunnel("vx43", 43, "198.18.1.1", "198.18.1.2", underA));

        // no B yet: A's ARP requests go unanswered, so frames into the tunnel are dropped, counted
        send(a0.port(), MAC_B, MAC_A, 100);
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (drops(va, "vx42", "unresolved") == 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(1, drops(va, "vx42", "unresolved"), "a frame before ARP resolved the remote");
        assertEquals("down", link(va, "vx42"), "an unresolved tunnel's link");

        Vswitch vb = vswitch(mode);
        vb.addBridge(BridgeConfig.of("br0"));
        vb.addBridge(BridgeConfig.of("br1"));
        vb.addPort("br0", PortConfig.of("h0", b0.device()));
        vb.addPort("br1", PortConfig.of("h1", b1.device()));
        vb.addPort("br0", tunnel("vx42", 42, "198.18.1.2", "198.18.1.1", underB));
        vb.addPort("br1", tunnel("vx43", 43, "198.18.1.2", "198.18.1.1", underB));

        // ARP resolves within a retry (1 s); then a frame crosses byte for byte
        byte[] sent = null;
        List<byte[]> got = List.of();
        deadline = System.nanoTime() + 10_000_000_000L;
        while (got.isEmpty() && System.nanoTime() < deadline) {
            sent = send(a0.port(), MAC_B, MAC_A, 200);
            got = receive(b0.port(), 200);
        }
        assertEquals(1, got.size(), "nothing crossed the tunnel");
        assertArrayEquals(sent, got.get(0));
        assertTrue(receive(b1.port(), 300).isEmpty(), "VNI 42's frame reached VNI 43's bridge");

        // vx43 shares vx42's remote: it takes the MAC at its first ARP timer pass (every 100 ms)
        deadline = System.nanoTime() + 2_000_000_000L;
        while (!link(vb, "vx43").equals("up") && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals("up", link(va, "vx42"));
        assertEquals("up", link(vb, "vx43"));
        // B learned A's host on its tunnel port; B's host answers as known unicast
        assertTrue(
                vb.fdb("br0").table().stream()
                        .anyMatch(e -> e.port().equals("vx42") && e.mac().equalsIgnoreCase("02:00:00:00:0a:01")),
                vb.fdb("br0").table().toString());
        byte[] back = send(b0.port(), MAC_A, MAC_B, 1400);
        List<byte[]> atA = receive(a0.port(), 500);
        assertEquals(1, atA.size());
        assertArrayEquals(back, atA.get(0));

        // a burst both ways on VNI 43 only reaches br1
        for (int i = 0; i < 200; i++) {
            send(a1.port(), 0x02_00_00_00_0b_02L, 0x02_00_00_00_0a_02L, 64 + i);
        }
        int n43 = 0;
        deadline = System.nanoTime() + 5_000_000_000L;
        while (n43 < 200 && System.nanoTime() < deadline) {
            n43 += receive(b1.port(), 50).size();
        }
        assertEquals(200, n43, "VNI 43 lost frames");
        assertTrue(receive(b0.port(), 200).isEmpty(), "VNI 43's frames reached VNI 42's bridge");

        Views.PortStatsView txA = stats(va, "vx43");
        Views.PortStatsView rxB = stats(vb, "vx43");
        assertEquals(200, txA.txPackets());
        assertEquals(200, rxB.rxPackets());
        assertEquals(txA.txBytes(), rxB.rxBytes());
        for (String reason : VxlanPort.DROP_NAMES) {
            assertEquals(0, rxB.drops().get(reason), reason);
        }
        assertEquals(0, rxB.drops().get("underlay_unknown_vni"));
        assertEquals(0, rxB.drops().get("underlay_malformed"));
        System.out.println(mode + ": vx43 A " + txA + "\n" + mode + ": vx43 B " + rxB);

        // the tunnel's counters in the Prometheus exposition, like any port's
        String metrics = new String(
                new dev.panda.vswitch.metrics.Exposition(vb, new dev.panda.vswitch.metrics.MetricsServer.Counters())
                        .scrape("text/plain")
                        .body(),
                java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(
                metrics.lines()
                        .anyMatch(l -> l.startsWith("panda_port_rx_packets_total{")
                                && l.contains("port=\"vx43\"")
                                && l.endsWith(" 200.0")),
                metrics);
        assertTrue(
                metrics.lines()
                        .anyMatch(l -> l.startsWith("panda_port_drops_total{")
                                && l.contains("port=\"vx42\"")
                                && l.contains("reason=\"underlay_unknown_vni\"")),
                metrics);

        // config-show round-trips: YAML out, read back, no difference
        VswitchConfig shown = va.config();
        String yaml = ConfigFiles.toYaml(shown);
        assertTrue(yaml.contains("vxlan:") && yaml.contains("underlay: " + underA), yaml);
        VswitchConfig again =
                ConfigFiles.parseYaml(yaml.getBytes(java.nio.charset.StandardCharsets.UTF_8), "shown.yaml");
        assertTrue(
                ConfigDiff.between(shown, again).isEmpty(),
                ConfigDiff.between(shown, again).toString());
        assertTrue(va.apply(again, false).isEmpty());
        // apply: a new tunnel on the shared underlay and a VLAN change in place (same port id)
        int id43 = va.show().bridges().get(1).ports().get(1).id();
        VswitchConfig next = ConfigFiles.parseYaml(
                yaml.replace(
                                "      - name: vx43\n",
                                "      - name: vx44\n        vxlan: {vni: 44, local: 198.18.1.1, remote: 198.18.1.3,"
                                        + " underlay: " + underA + "}\n      - name: vx43\n        tag: 7\n")
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8),
                "next.yaml");
        ConfigDiff d = va.apply(next, false);
        assertEquals(
                List.of(
                        "+ port br1 vx44 device 'vxlan vni=44 local=198.18.1.1 remote=198.18.1.3 underlay='" + underA
                                + "''",
                        "~ port br1 vx43 tag none -> 7"),
                d.changes().stream().map(ConfigDiff.Change::line).toList());
        assertEquals(
                id43,
                va.show().bridges().get(1).ports().stream()
                        .filter(p -> p.name().equals("vx43"))
                        .findFirst()
                        .orElseThrow()
                        .id(),
                "vx43 was reopened");
        assertTrue(va.apply(shown, false).changes().size() == 2, "back to the shown config");

        // refusals: a second tunnel with the same VNI and remote; a device port on the underlay
        VswitchException dup = org.junit.jupiter.api.Assertions.assertThrows(
                VswitchException.class,
                () -> va.addPort("br1", tunnel("vx42b", 42, "198.18.1.1", "198.18.1.2", underA)));
        assertEquals(409, dup.status(), dup.getMessage());
        VswitchException taken = org.junit.jupiter.api.Assertions.assertThrows(
                VswitchException.class, () -> va.addPort("br1", PortConfig.of("raw", underA)));
        assertEquals(409, taken.status(), taken.getMessage());

        // one tunnel leaves: the other still carries traffic over the shared underlay
        va.delPort("br0", "vx42");
        send(a1.port(), 0x02_00_00_00_0b_02L, 0x02_00_00_00_0a_02L, 300);
        assertEquals(1, receive(b1.port(), 500).size(), "the remaining tunnel stopped");
    }

    /**
     * tun_id in flows is the VNI a frame arrived on: B has one bridge with both tunnels (VNI 42 and
     * 43, the same remote) and flows that send tun_id=42 to its host and drop tun_id=43; A sends on
     * each VNI from its own bridge. Only VNI 42's frames reach B's host, and each flow's packet
     * count is what arrived on its VNI.
     */
    @ParameterizedTest
    @EnumSource(PmdConfig.Mode.class)
    void tunIdInFlowsIsTheVniAFrameArrivedOn(PmdConfig.Mode mode) throws Exception {
        int u = NEXT.getAndAdd(2);
        String underA = "net_ring" + u;
        String underB = "net_ring" + (u + 1) + ",peer=net_ring" + u;
        Host a0 = host(), a1 = host(), b0 = host();
        Vswitch va = vswitch(mode);
        va.addBridge(BridgeConfig.of("br0"));
        va.addBridge(BridgeConfig.of("br1"));
        va.addPort("br0", PortConfig.of("h0", a0.device()));
        va.addPort("br1", PortConfig.of("h1", a1.device()));
        va.addPort("br0", tunnel("vx42", 42, "198.18.1.1", "198.18.1.2", underA));
        va.addPort("br1", tunnel("vx43", 43, "198.18.1.1", "198.18.1.2", underA));
        Vswitch vb = vswitch(mode);
        vb.addBridge(BridgeConfig.of("br0"));
        vb.addPort("br0", PortConfig.of("h0", b0.device()));
        vb.addPort("br0", tunnel("vx42", 42, "198.18.1.2", "198.18.1.1", underB));
        vb.addPort("br0", tunnel("vx43", 43, "198.18.1.2", "198.18.1.1", underB));
        int h0 = vb.show().bridges().get(0).ports().stream()
                .filter(p -> p.name().equals("h0"))
                .findFirst()
                .orElseThrow()
                .id();
        dev.panda.vswitch.flow.BridgeFlows flows = vb.flows("br0");
        for (String f : List.of("priority=10,tun_id=42,actions=output:" + h0, "priority=10,tun_id=43,actions=drop")) {
            dev.panda.vswitch.flow.FlowModResult r =
                    flows.apply(dev.panda.vswitch.flow.FlowText.parse(f, dev.panda.vswitch.flow.FlowMod.Command.ADD));
            assertTrue(r.isOk(), f + ": " + r.message());
        }
        // both tunnels up on both sides (ARP resolved)
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!(link(va, "vx42").equals("up") && link(va, "vx43").equals("up")) && System.nanoTime() < deadline) {
            send(a0.port(), MAC_B, MAC_A, 60); // a frame into the tunnel makes A ask for B's MAC
            Thread.sleep(100);
        }
        assertEquals("up", link(va, "vx43"), "A's VNI 43 tunnel never resolved B");
        receive(b0.port(), 300); // what crossed while ARP resolved
        long before42 = packets(flows, 42);
        long before43 = packets(flows, 43);
        for (int i = 0; i < 50; i++) {
            send(a0.port(), MAC_B, MAC_A, 100 + i);
            send(a1.port(), MAC_B, MAC_A, 100 + i);
        }
        int at = 0;
        deadline = System.nanoTime() + 5_000_000_000L;
        while (at < 50 && System.nanoTime() < deadline) {
            at += receive(b0.port(), 50).size();
        }
        at += receive(b0.port(), 200).size();
        assertEquals(50, at, "B's host got VNI 42's frames only (tun_id=43 drops)");
        deadline = System.nanoTime() + 2_000_000_000L;
        while (packets(flows, 43) - before43 < 50 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(50, packets(flows, 42) - before42, "tun_id=42's packet count");
        assertEquals(50, packets(flows, 43) - before43, "tun_id=43's packet count");
    }

    private static long packets(dev.panda.vswitch.flow.BridgeFlows flows, long vni) {
        return flows.flows(dev.panda.vswitch.flow.FlowFilter.ALL).stream()
                .filter(f -> f.match().toString().contains("tun_id=" + vni)
                        || f.match().toString().contains("tun_id=0x" + Long.toHexString(vni)))
                .mapToLong(dev.panda.vswitch.flow.FlowStats::packets)
                .sum();
    }

    static PortConfig tunnel(String name, int vni, String local, String remote, String underlay) {
        return new PortConfig(name, null, null, List.of(), null, null, new VxlanConfig(vni, local, remote, underlay));
    }

    private static String link(Vswitch v, String port) {
        for (Views.BridgeView b : v.show().bridges()) {
            for (Views.PortView p : b.ports()) {
                if (p.name().equals(port)) {
                    return p.link();
                }
            }
        }
        throw new AssertionError("no port " + port);
    }

    private static long drops(Vswitch v, String port, String reason) {
        return stats(v, port).drops().get(reason);
    }

    private static Views.PortStatsView stats(Vswitch v, String port) {
        return v.stats(port).ports().get(0);
    }

    private byte[] send(Port p, long dst, long src, int payload) {
        ByteBuffer b = ByteBuffer.allocate(14 + payload);
        b.putShort((short) (dst >>> 32)).putInt((int) dst);
        b.putShort((short) (src >>> 32)).putInt((int) src);
        b.putShort((short) 0x88b5); // local experimental EtherType
        for (int i = 0; i < payload; i++) {
            b.put((byte) (i * 7));
        }
        byte[] f = b.array();
        int h = pool.alloc();
        MemorySegment.copy(f, 0, pool.segment(), ValueLayout.JAVA_BYTE, pool.dataOffset(h), f.length);
        pool.setLength(h, f.length);
        PacketBurst burst = new PacketBurst(1);
        burst.handles[0] = h;
        while (p.txBurst(0, burst, 1) != 1) {
            Thread.yield();
        }
        return f;
    }

    private List<byte[]> receive(Port p, long ms) throws InterruptedException {
        List<byte[]> out = new ArrayList<>();
        PacketBurst burst = new PacketBurst(32);
        long end = System.currentTimeMillis() + ms;
        do {
            int n = p.rxBurst(0, burst);
            for (int i = 0; i < n; i++) {
                int h = burst.handles[i];
                byte[] b = new byte[pool.length(h)];
                MemorySegment.copy(pool.segment(), ValueLayout.JAVA_BYTE, pool.dataOffset(h), b, 0, b.length);
                out.add(b);
                pool.free(h);
            }
            if (n == 0) {
                Thread.sleep(1);
            }
        } while (System.currentTimeMillis() < end);
        return out;
    }
}
