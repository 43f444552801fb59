package dev.panda.vswitch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.jextract.Posix;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.flow.BridgeFlows;
import dev.panda.vswitch.flow.FlowFilter;
import dev.panda.vswitch.flow.FlowFormat;
import dev.panda.vswitch.flow.FlowMod;
import dev.panda.vswitch.flow.FlowStats;
import dev.panda.vswitch.flow.FlowText;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Flows steer the kernel's real traffic: three network namespaces on veth pairs whose host ends
 * are br0's ports (AF_XDP), br0 in fail-mode secure with flows that flood ARP, send IPv4 by
 * destination address to a and b only, and drop a's echo requests to b at a higher priority. b
 * pings a (requests and replies pass), a's pings to b and to c fail (dropped by the flow, and by
 * the secure table-miss), and each flow's packet counter moved by exactly what crossed it; after a
 * strict delete of the drop flow a reaches b. Needs root.
 */
class FlowNamespaceTest {

    private static final java.util.concurrent.atomic.AtomicInteger RUN =
            new java.util.concurrent.atomic.AtomicInteger();
    private final String tag = Long.toString(ProcessHandle.current().pid() % 100000, 36) + RUN.incrementAndGet();
    private final List<String> namespaces = new ArrayList<>();

    private static final String DROP =
            "priority=300,icmp,nw_src=198.18.30.1,nw_dst=198.18.30.2,icmp_type=8,actions=drop";

    @ParameterizedTest
    @EnumSource(PmdConfig.Mode.class)
    void flowsSteerRealTrafficExactlyAndCount(PmdConfig.Mode mode) throws Exception {
        int[] cpus = Posix.getAffinity();
        try (PacketPool pool = PacketPool.create(PoolConfig.defaults());
                Vswitch v = Vswitch.start(
                        new VswitchConfig(new PmdConfig(List.of(), mode, "yield", null, 256), List.of()),
                        pool,
                        new int[] {cpus[cpus.length - 1]},
                        false)) {
            v.addBridge(BridgeConfig.of("br0").withFailMode("secure"));
            String a = ns(v, 0, "a", "198.18.30.1/24"); // port 1
            String b = ns(v, 1, "b", "198.18.30.2/24"); // port 2
            String c = ns(v, 2, "c", "198.18.30.3/24"); // port 3
            BridgeFlows f = v.flows("br0");
            for (String flow : List.of(
                    "priority=100,arp,actions=FLOOD",
                    "priority=200,ip,nw_dst=198.18.30.1,actions=output:1",
                    "priority=200,ip,nw_dst=198.18.30.2,actions=output:2",
                    DROP)) {
                var r = f.apply(FlowText.parse(flow, FlowMod.Command.ADD));
                assertTrue(r.isOk(), flow + ": " + r.message());
            }

            assertEquals(0, ping(b, "198.18.30.1", 3), "b reaches a: requests to port 1, replies to port 2");
            assertTrue(ping(a, "198.18.30.2", 2) != 0, "a's echo requests to b are dropped by the priority-300 flow");
            assertTrue(ping(a, "198.18.30.3", 2) != 0, "no flow outputs to c: the secure table-miss drops");

            List<FlowStats> flows = f.flows(FlowFilter.ALL);
            StringBuilder dump = new StringBuilder();
            flows.forEach(s -> dump.append(FlowFormat.flow(s)).append('\n'));
            System.out.println(mode + ": dump-flows\n" + dump);
            assertEquals(300, flows.get(0).priority(), dump.toString());
            assertEquals(2, flows.get(0).packets(), "a's two echo requests to b: " + dump);
            long toA = count(flows, "ip,nw_dst=198.18.30.1");
            long toB = count(flows, "ip,nw_dst=198.18.30.2");
            assertEquals(3, toA, "b's three echo requests: " + dump);
            assertEquals(3, toB, "a's three echo replies: " + dump);
            assertTrue(count(flows, "arp") >= 2, dump.toString());
            long misses =
                    f.tableStats().get(0).lookups() - f.tableStats().get(0).matched();
            assertTrue(misses >= 2, "a's pings to c missed every flow: " + misses);

            var r = f.apply(FlowText.parse(DROP, FlowMod.Command.DELETE_STRICT));
            assertEquals(1, r.affected());
            assertEquals(0, ping(a, "198.18.30.2", 2), "without the drop flow a reaches b");
            List<FlowStats> after = f.flows(FlowFilter.ALL);
            assertEquals(5, count(after, "ip,nw_dst=198.18.30.2"), "two more echo requests");
            assertEquals(5, count(after, "ip,nw_dst=198.18.30.1"), "two more echo replies");
        } finally {
            for (String n : namespaces) {
                new ProcessBuilder("ip", "netns", "del", n).start().waitFor();
            }
        }
    }

    private static long count(List<FlowStats> flows, String match) {
        return flows.stream()
                .filter(s -> FlowFormat.match(s.match()).equals(match))
                .mapToLong(FlowStats::packets)
                .sum();
    }

    /** A namespace whose eth0 is a veth whose host end is port {@code name} of br0. */
    private String ns(Vswitch v, int i, String name, String addr) throws Exception {
        String ns = "pfl" + tag + name;
        String host = "pfh" + tag + i;
        sh("ip", "netns", "add", ns);
        namespaces.add(ns);
        sh("ip", "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", ns);
        sh("sysctl", "-qw", "net.ipv6.conf." + host + ".disable_ipv6=1");
        sh("ip", "link", "set", host, "up");
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=1");
        sh("ip", "netns", "exec", ns, "ip", "addr", "add", addr, "dev", "eth0");
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up");
        v.addPort("br0", PortConfig.of(name, "net_af_xdp" + (20 + i) + ",iface=" + host + ",mode=skb"));
        return ns;
    }

    private static int ping(String ns, String to, int count) throws Exception {
        Process p = new ProcessBuilder(
                        "ip", "netns", "exec", ns, "ping", "-c", String.valueOf(count), "-i", "0.2", "-W", "1", to)
                .redirectErrorStream(true)
                .start();
        p.getInputStream().readAllBytes();
        return p.waitFor();
    }

    private static void sh(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String o = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + o);
        }
    }
}
