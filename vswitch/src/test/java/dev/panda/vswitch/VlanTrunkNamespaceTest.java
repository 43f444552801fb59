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
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * VLANs against the kernel's own stack, in network namespaces on veth pairs whose host ends are
 * br0's ports (AF_XDP): access ports of VLAN 10 reach each other and not VLAN 20's (even with
 * addresses in one subnet); a trunk port carries both VLANs tagged, both ways — a namespace writes
 * raw 802.1Q ARP requests with AF_PACKET (the host kernel has no 8021q devices) and tcpdump -e in
 * that namespace reads the answers with their tags. Needs root.
 */
class VlanTrunkNamespaceTest {

    private static final java.util.concurrent.atomic.AtomicInteger RUN =
            new java.util.concurrent.atomic.AtomicInteger();
    // names unique per run: a deleted namespace's veth ends vanish asynchronously
    private final String tag = Long.toString(ProcessHandle.current().pid() % 100000, 36) + RUN.incrementAndGet();
    private final List<String> namespaces = new ArrayList<>();

    @ParameterizedTest
    @EnumSource(PmdConfig.Mode.class)
    void accessPortsAreIsolatedAndTheTrunkCarriesBothVlansTagged(PmdConfig.Mode mode) throws Exception {
        int[] cpus = Posix.getAffinity();
        try (PacketPool pool = PacketPool.create(PoolConfig.defaults());
                Vswitch v = Vswitch.start(
                        new VswitchConfig(new PmdConfig(List.of(), mode, "yield", null, 256), List.of()),
                        pool,
                        new int[] {cpus[cpus.length - 1]},
                        false)) {
            v.addBridge(BridgeConfig.of("br0"));
            String a = ns(v, 0, "a", "198.18.10.1/24", 10, null);
            String a2 = ns(v, 1, "a2", "198.18.10.2/24", 10, null);
            String c = ns(v, 2, "c", "198.18.10.3/24", 20, null); // VLAN 20, same subnet
            String b = ns(v, 3, "b", "198.18.20.1/24", 20, null);
            String t = ns(v, 4, "t", null, null, List.of(10, 20));
            sh("ip", "netns", "exec", t, "ip", "link", "set", "eth0", "promisc", "on");

            java.nio.file.Path dumpFile = java.nio.file.Files.createTempFile("panda-vlan", ".txt");
            Process dump = new ProcessBuilder(
                            "ip", "netns", "exec", t, "tcpdump", "-e", "-n", "-l", "-i", "eth0", "arp or icmp")
                    .redirectErrorStream(true)
                    .redirectOutput(dumpFile.toFile())
                    .start();
            try {
                Thread.sleep(1500); // tcpdump attaches

                assertEquals(0, ping(a, "198.18.10.2"), "VLAN 10 members reach each other");
                assertTrue(ping(a, "198.18.10.3") != 0, "VLAN 10 reached VLAN 20");
                assertTrue(ping(c, "198.18.10.2") != 0, "VLAN 20 reached VLAN 10");
                // from the trunk: raw 802.1Q ARP requests, VLAN 10 and VLAN 20
                sh("ip", "netns", "exec", t, "python3", "-c", RAW_ARP, "eth0", "10", "198.18.10.1", "198.18.10.9");
                sh("ip", "netns", "exec", t, "python3", "-c", RAW_ARP, "eth0", "20", "198.18.20.1", "198.18.20.9");
                Thread.sleep(1000);
            } finally {
                dump.destroy();
                dump.waitFor(5, TimeUnit.SECONDS);
            }
            String seen = java.nio.file.Files.readString(dumpFile);
            java.nio.file.Files.delete(dumpFile);
            // untagged VLAN 10 traffic of a and a2 leaves the trunk tagged 10
            assertTrue(
                    seen.lines().anyMatch(l -> l.contains("vlan 10") && l.contains("Request who-has 198.18.10.2")),
                    seen);
            // tagged requests in, tagged answers out, each in its own VLAN
            assertTrue(
                    seen.lines().anyMatch(l -> l.contains("vlan 10") && l.contains("Reply 198.18.10.1 is-at")), seen);
            assertTrue(
                    seen.lines().anyMatch(l -> l.contains("vlan 20") && l.contains("Reply 198.18.20.1 is-at")), seen);
            assertTrue(seen.lines().noneMatch(l -> l.contains("vlan 20") && l.contains("Reply 198.18.10.")), seen);
            assertTrue(seen.lines().noneMatch(l -> l.contains("vlan 10") && l.contains("Reply 198.18.20.")), seen);
            long vlanDrops = v.stats(null).ports().stream()
                    .mapToLong(p -> p.drops().get("vlan"))
                    .sum();
            System.out.println(mode + ": tcpdump -e on the trunk saw:\n" + seen + "vlan drops: " + vlanDrops);
        } finally {
            for (String n : namespaces) {
                new ProcessBuilder("ip", "netns", "del", n).start().waitFor();
            }
        }
    }

    /** A namespace whose eth0 is a veth whose host end is port {@code name} of br0. */
    private String ns(Vswitch v, int i, String name, String addr, Integer tagVlan, List<Integer> trunks)
            throws Exception {
        String ns = "pvl" + tag + name;
        String host = "pvh" + tag + i;
        sh("ip", "netns", "add", ns);
        namespaces.add(ns);
        sh("ip", "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", ns);
        sh("sysctl", "-qw", "net.ipv6.conf." + host + ".disable_ipv6=1");
        sh("ip", "link", "set", host, "up");
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=1");
        if (addr != null) {
            sh("ip", "netns", "exec", ns, "ip", "addr", "add", addr, "dev", "eth0");
        }
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up");
        v.addPort(
                "br0",
                new PortConfig(name, "net_af_xdp" + i + ",iface=" + host + ",mode=skb", tagVlan, trunks, null, null));
        return ns;
    }

    private static int ping(String ns, String to) throws Exception {
        Process p = new ProcessBuilder("ip", "netns", "exec", ns, "ping", "-c", "2", "-i", "0.2", "-W", "1", to)
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

    /** argv: IF VID TARGET-IP SENDER-IP; sends one 802.1Q-tagged broadcast ARP request. */
    private static final String RAW_ARP = """
            import socket, sys
            ifname, vid, tip, sip = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            s.bind((ifname, 0))
            mac = open('/sys/class/net/%s/address' % ifname).read().strip()
            src = bytes.fromhex(mac.replace(':', ''))
            arp = bytes.fromhex('0001080006040001') + src + socket.inet_aton(sip) + bytes(6) + socket.inet_aton(tip)
            frame = b'\\xff' * 6 + src + bytes.fromhex('8100') + vid.to_bytes(2, 'big') + bytes.fromhex('0806') + arp
            s.send(frame + bytes(max(0, 64 - len(frame))))
            """;
}
