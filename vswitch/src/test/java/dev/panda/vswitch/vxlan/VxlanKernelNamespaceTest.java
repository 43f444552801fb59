package dev.panda.vswitch.vxlan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.jextract.Posix;
import dev.panda.vswitch.Vswitch;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.control.ControlServer;
import dev.panda.vswitch.control.Json;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * panda's VXLAN tunnel against the kernel's (root): namespace K holds a kernel vxlan device ({@code
 * ip link add vx0 type vxlan id 42 remote R local L dstport 4789 dev eth0}) on a veth whose other
 * end is panda's underlay (AF_PACKET); namespace H sits on panda's bridge through another veth
 * (AF_PACKET, overlay MTU 1450). The kernel's eth0 keeps checksum offload on, so its outer UDP
 * checksums arrive unfinished and must be accepted (then, offload off, finished ones too). H and the kernel's overlay address ping each
 * other both ways with no loss once ARP has resolved; the tunnel port's counters agree and count
 * no drop.
 */
class VxlanKernelNamespaceTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(PmdConfig.Mode.class)
    void kernelVtepAndBridgedNamespacePingBothWays(PmdConfig.Mode mode) throws Exception {
        int[] cpus = Posix.getAffinity();
        try (Net net = new Net();
                PacketPool pool = PacketPool.create(PoolConfig.defaults());
                Vswitch v = Vswitch.start(
                        new VswitchConfig(new PmdConfig(List.of(), mode, "yield", null, 256), List.of()),
                        pool,
                        new int[] {cpus[cpus.length - 1]},
                        false);
                ControlServer server = ControlServer.start(dir.resolve("v.ctl"), v, null)) {
            Path sock = dir.resolve("v.ctl");
            String k = net.ns("k");
            String h = net.ns("h");
            String under = "pvu" + net.tag;
            String hostEnd = "pvh" + net.tag;
            net.veth(under, k, "eth0", "198.18.40.2/24", 1500);
            net.in(
                    k,
                    "ip",
                    "link",
                    "add",
                    "vx0",
                    "type",
                    "vxlan",
                    "id",
                    "42",
                    "remote",
                    "198.18.40.1",
                    "local",
                    "198.18.40.2",
                    "dstport",
                    "4789",
                    "dev",
                    "eth0");
            net.in(k, "sysctl", "-qw", "net.ipv6.conf.vx0.disable_ipv6=1");
            net.in(k, "ip", "link", "set", "vx0", "mtu", "1450");
            net.in(k, "ip", "addr", "add", "198.18.41.2/24", "dev", "vx0");
            net.in(k, "ip", "link", "set", "vx0", "up");
            net.veth(hostEnd, h, "eth0", "198.18.41.1/24", 1450);
            net.in(h, "ethtool", "-K", "eth0", "tx", "off");

            Net.ctl(sock, "add-br", "br0");
            Net.ctl(sock, "add-port", "br0", "h", "net_af_packet41,iface=" + hostEnd);
            Net.ctl(
                    sock,
                    "add-port",
                    "br0",
                    "vx42",
                    "vxlan",
                    "vni=42",
                    "local=198.18.40.1",
                    "remote=198.18.40.2",
                    "underlay=net_af_packet40,iface=" + under);
            assertTrue(Net.ctl(sock, "show").contains("vxlan vni=42"), Net.ctl(sock, "show"));

            assertTrue(Net.pingsWithin(h, "198.18.41.2", 15), "H never reached the kernel's overlay address");
            Net.Result there = Net.run(h, "ping", "-c", "20", "-i", "0.05", "-W", "2", "198.18.41.2");
            Net.Result back = Net.run(k, "ping", "-c", "20", "-i", "0.05", "-W", "2", "-s", "1400", "198.18.41.1");
            System.out.println(
                    mode + ": H -> kernel: " + last(there.out()) + "; kernel -> H (1400 B): " + last(back.out()));
            assertEquals(0, there.status(), there.out());
            assertTrue(there.out().contains(" 0% packet loss"), there.out());
            assertEquals(0, back.status(), back.out());
            assertTrue(back.out().contains(" 0% packet loss"), back.out());

            JsonNode stats = Json.MAPPER.readTree(Net.ctl(sock, "--json", "port-stats", "vx42"));
            JsonNode vx = stats.get("ports").get(0);
            System.out.println(mode + ": vx42 " + vx);
            assertTrue(vx.get("rx-packets").asLong() >= 40, vx.toString());
            assertTrue(vx.get("tx-packets").asLong() >= 40, vx.toString());
            for (String reason : List.of(
                    "underlay_bad_ip_checksum",
                    "underlay_malformed",
                    "underlay_bad_vxlan",
                    "underlay_unknown_vni",
                    "inbox_full",
                    "too_big",
                    "underlay_full")) {
                assertEquals(0, vx.get("drops").get(reason).asLong(), reason + " in " + vx);
            }
            JsonNode tunnel = vx.get("tunnel");
            assertEquals(1, tunnel.get("resolved").asLong(), vx.toString());
            assertTrue(tunnel.get("arp_requests").asLong() >= 1, tunnel.toString());
            String text = Net.ctl(sock, "port-stats", "vx42");
            assertTrue(text.contains("           tunnel resolved=1, arp_requests="), text);
            assertTrue(Net.ctl(sock, "show").contains("link: up"), Net.ctl(sock, "show"));

            // with offload off the kernel finishes its outer UDP checksums: accepted as well
            net.in(k, "ethtool", "-K", "eth0", "tx", "off");
            Net.Result done = Net.run(k, "ping", "-c", "10", "-i", "0.05", "-W", "2", "198.18.41.1");
            assertTrue(done.status() == 0 && done.out().contains(" 0% packet loss"), done.out());

            // the kernel forgets panda's VTEP MAC (it had it from panda's own request), asks by ARP,
            // panda answers for 198.18.40.1 and traffic flows again
            net.in(k, "ip", "neigh", "flush", "dev", "eth0");
            Net.Result again = Net.run(k, "ping", "-c", "5", "-i", "0.1", "-W", "2", "198.18.41.1");
            assertTrue(again.status() == 0 && again.out().contains(" 0% packet loss"), again.out());
            String neigh = Net.run(k, "ip", "neigh", "show", "198.18.40.1").out();
            assertTrue(neigh.contains("lladdr"), neigh);
            JsonNode after = Json.MAPPER
                    .readTree(Net.ctl(sock, "--json", "port-stats", "vx42"))
                    .get("ports")
                    .get(0);
            assertTrue(
                    after.get("tunnel").get("arp_answered").asLong() >= 1,
                    "panda never answered the kernel's ARP: " + after.get("tunnel"));
        }
    }

    private static String last(String out) {
        String[] l = out.strip().split("\n");
        return l.length < 2 ? out : l[l.length - 2] + " " + l[l.length - 1];
    }
}
