package dev.panda.vswitch.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.jextract.Posix;
import dev.panda.vswitch.Views;
import dev.panda.vswitch.Vswitch;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * A panda vswitch (in this JVM: bridge br0, run-to-completion, one pmd on the highest CPU, idle
 * yield) serving real Linux virtio-net drivers: two QEMU 7.2 guests (TCG, Debian's kernel, a
 * busybox initramfs) on {@code -netdev vhost-user}. guest1's eth0 is {@code net_vhost0} with panda
 * as the vhost-user server; guest2's eth0 is {@code net_vhost1,client=1} with QEMU as the server
 * ({@code server=on,wait=off}); guest1 also has eth1 on {@code net_vhost2}, a trunk port
 * carrying VLANs 10 and 20 tagged. The guests boot once for the whole class (about 10 s each under
 * TCG) and are driven over their serial consoles; the cases run in order on them, and the last
 * one kills guest2's QEMU and boots it again.
 *
 * <p>Addresses: 198.19.64.0/24 untagged (guest1 .1, guest2 .2, container .3, host TAP .4),
 * 198.19.65.0/24 VLAN 10, 198.19.66.0/24 VLAN 20; all inside the guests, the test's namespaces
 * and its TAP. Needs root (namespaces, TAP, AF_XDP).
 */
@Tag("peer")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GuestsOnBridgeTest {

    private static final Path LOGS = Path.of("target", "guest-logs");
    private static final String MAC1 = "52:54:00:19:64:01";
    private static final String MAC1T = "52:54:00:19:65:01";
    private static final String MAC2 = "52:54:00:19:64:02";
    private static final String IP1 = "198.19.64.1";
    private static final String IP2 = "198.19.64.2";
    private static final String IP_C = "198.19.64.3";
    private static final String IP_HOST = "198.19.64.4";
    private static final Duration PING = Duration.ofSeconds(90);
    private static final Pattern PING_STATS =
            Pattern.compile("(\\d+) packets transmitted, (\\d+) (?:packets )?received");
    private static final int FILE_MB = 20;

    private Path dir;
    private Path sock1;
    private Path sock2;
    private Path sock3;
    private Path initramfs;
    private PacketPool pool;
    private Vswitch vswitch;
    private Guest guest1;
    private Guest guest2;
    private final HostNet net = new HostNet();
    private String tap;

    @BeforeAll
    void bootTwoGuests() throws IOException {
        long t0 = System.nanoTime();
        initramfs = Guest.initramfs(); // fails with the reason if QEMU, the kernel or busybox is missing
        Files.createDirectories(LOGS);
        dir = Files.createTempDirectory("pgst");
        sock1 = dir.resolve("vm1.sock");
        sock2 = dir.resolve("vm2.sock");
        sock3 = dir.resolve("vm1t.sock");
        int[] cpus = Posix.getAffinity();
        pool = PacketPool.create(PoolConfig.defaults());
        vswitch = Vswitch.start(
                new VswitchConfig(
                        new PmdConfig(List.of(), mode(), "yield", null, PmdConfig.DEFAULT_RING_SIZE), List.of()),
                pool,
                new int[] {cpus[cpus.length - 1]},
                true);
        vswitch.addBridge(BridgeConfig.of("br0"));
        vswitch.addPort("br0", PortConfig.of("vm1", "net_vhost0,iface=" + sock1));
        vswitch.addPort("br0", new PortConfig("vm1t", "net_vhost2,iface=" + sock3, null, List.of(10, 20), null, null));
        vswitch.addPort("br0", PortConfig.of("vm2", "net_vhost1,iface=" + sock2 + ",client=1"));
        guest1 = Guest.start(
                "guest1",
                initramfs,
                IP1 + "/24",
                log("guest1.log"),
                List.of(new Guest.Nic("path=" + sock1, MAC1), new Guest.Nic("path=" + sock3, MAC1T)));
        guest2 = startGuest2("guest2.log");
        String r1 = guest1.awaitReady().group();
        String r2 = guest2.awaitReady().group();
        assertTrue(r1.contains(MAC1.toLowerCase()), "guest1's eth0 is the NIC on net_vhost0: " + r1);
        assertTrue(r2.contains(MAC2.toLowerCase()), r2);
        System.out.printf(
                "guests: both up %d ms after the test started (initramfs, vswitch, two TCG boots in parallel)%n",
                ms(System.nanoTime() - t0));
    }

    /** The vswitch's execution mode (run-to-completion here; the pipeline in a subclass). */
    PmdConfig.Mode mode() {
        return PmdConfig.Mode.RTC;
    }

    private Path log(String name) {
        return LOGS.resolve(getClass().getSimpleName() + "-" + name);
    }

    private Guest startGuest2(String log) {
        return Guest.start(
                "guest2",
                initramfs,
                IP2 + "/24",
                log(log),
                List.of(new Guest.Nic("path=" + sock2 + ",server=on,wait=off", MAC2)));
    }

    @AfterAll
    void stopEverything() throws IOException {
        for (Guest g : new Guest[] {guest1, guest2}) {
            if (g != null) {
                g.close();
            }
        }
        if (vswitch != null) {
            vswitch.close(); // closes the pool too, and the TAP (non-persistent) with its port
        }
        net.close();
        if (dir != null) {
            try (var s = Files.list(dir)) {
                for (Path p : (Iterable<Path>) s::iterator) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    @Test
    @Order(1)
    void guestsPingEachOtherBothWaysWithSmallAndLargePayloads() {
        long t0 = System.nanoTime();
        for (int size : new int[] {56, 1400}) {
            ping(guest1, IP2, size);
            ping(guest2, IP1, size);
        }
        Views.Stats st = vswitch.stats(null);
        for (String p : List.of("vm1", "vm2")) {
            Views.PortStatsView v = port(st, p);
            assertTrue(v.rxPackets() >= 12 && v.txPackets() >= 12, "panda's counters of " + p + ": " + v);
        }
        System.out.printf(
                "guests ping: 4 x 3 echoes both ways, 56 and 1400 bytes, %d ms%n", ms(System.nanoTime() - t0));
    }

    @Test
    @Order(2)
    void fdbListsEachGuestOnItsPort() {
        guest1.run("ping -c 1 -w 30 " + IP2, PING); // both MACs fresh in the table
        Views.Fdb fdb = vswitch.fdb("br0");
        assertOnlyOn(fdb, MAC1, "vm1");
        assertOnlyOn(fdb, MAC2, "vm2");
        System.out.println("fdb-show br0: " + fdb.table());
    }

    @Test
    @Order(3)
    void twentyMegabytesCrossWithTheSameSha256() {
        transfer(guest1, guest2, IP2, 5001); // panda reads guest1's tx ring, fills guest2's rx ring
        transfer(guest2, guest1, IP1, 5002); // and the other way
        for (String p : List.of("vm1", "vm2")) {
            Views.PortStatsView v = port(vswitch.stats(p), p);
            System.out.printf(
                    "port %s after the transfers: rx %d tx %d packets, drops %s%n",
                    p, v.rxPackets(), v.txPackets(), v.drops());
            // a descriptor panda could not use would be counted here: the Linux driver sends none
            assertEquals(0L, v.drops().getOrDefault("rx_errors", 0L), p + ": " + v);
            assertEquals(0L, v.drops().getOrDefault("tx_errors", 0L), p + ": " + v);
        }
    }

    /** {@code FILE_MB} MiB from /dev/urandom sent over TCP with busybox nc; the sums must agree. */
    private static void transfer(Guest from, Guest to, String toIp, int tcpPort) {
        long t0 = System.nanoTime();
        // the listener's stdin is a pipe that never ends: busybox nc quits when its stdin does
        to.run("rm -f /tmp/r; sleep 900 | nc -l -p " + tcpPort + " > /tmp/r &", Duration.ofSeconds(30));
        to.run(
                "n=0; until netstat -ltn | grep -q ':" + tcpPort
                        + " '; do n=$((n+1)); [ $n -gt 100 ] && exit 1; sleep 0.1; done",
                Duration.ofSeconds(60));
        String sent = from.run(
                "dd if=/dev/urandom of=/tmp/f bs=1M count=" + FILE_MB + " 2>/dev/null && sha256sum /tmp/f",
                Duration.ofSeconds(120));
        long t1 = System.nanoTime();
        long retrans0 = retransmitted(from);
        from.run("nc " + toIp + " " + tcpPort + " < /tmp/f", Duration.ofSeconds(600));
        long t2 = System.nanoTime();
        long retrans = retransmitted(from) - retrans0;
        // the sender's nc has closed; the listener sees the end of the stream and exits
        String got = to.run(
                "n=0; while pidof nc > /dev/null; do n=$((n+1)); [ $n -gt 600 ] && exit 1; sleep 0.1; done;"
                        + " wc -c < /tmp/r; sha256sum /tmp/r; killall sleep",
                Duration.ofSeconds(180));
        String a = sum(sent, "/tmp/f");
        String b = sum(got, "/tmp/r");
        assertTrue(got.contains(Integer.toString(FILE_MB << 20)), "bytes received by " + to.name() + ": " + got);
        assertEquals(a, b, "sha256 of the file on " + from.name() + " and of what " + to.name() + " received");
        System.out.printf(
                "file: %d MiB %s -> %s through br0 in %d ms (%.1f MB/s, %d TCP segments retransmitted), sha256 %s"
                        + " on both; whole case %d ms%n",
                FILE_MB,
                from.name(),
                to.name(),
                ms(t2 - t1),
                (FILE_MB << 20) / 1e3 / Math.max(1, ms(t2 - t1)),
                retrans,
                a,
                ms(System.nanoTime() - t0));
    }

    @Test
    @Order(4)
    void containerAndHostReachAGuestAndEachOther() {
        long t0 = System.nanoTime();
        net.container("c", IP_C + "/24");
        vswitch.addPort("br0", PortConfig.of("c1", "net_af_xdp0,iface=" + net.hostIf("c") + ",mode=skb"));
        tap = net.hostIf("t");
        vswitch.addPort("br0", PortConfig.of("host", "net_tap0,iface=" + tap));
        HostNet.sh("sysctl", "-qw", "net.ipv6.conf." + tap + ".disable_ipv6=1");
        HostNet.sh("ip", "addr", "add", IP_HOST + "/24", "dev", tap);
        HostNet.sh("ip", "link", "set", tap, "up");
        ping(guest1, IP_C, 56);
        ping(guest1, IP_HOST, 1400);
        hostPing("container", net.inContainer("c", "ping", "-c", "3", "-W", "5", IP1));
        hostPing("container", net.inContainer("c", "ping", "-c", "3", "-W", "5", "-s", "1400", IP_HOST));
        hostPing("host", HostNet.exec(List.of("ping", "-c", "3", "-W", "5", "-I", tap, IP2)));
        hostPing("host", HostNet.exec(List.of("ping", "-c", "3", "-W", "5", "-I", tap, IP_C)));
        Views.Fdb fdb = vswitch.fdb("br0");
        assertOnlyOn(fdb, mac(net.inContainer("c", "cat", "/sys/class/net/eth0/address")), "c1");
        assertOnlyOn(fdb, mac(HostNet.exec(List.of("cat", "/sys/class/net/" + tap + "/address"))), "host");
        System.out.printf(
                "container (AF_XDP on veth) and host (TAP) <-> guests and each other: %d ms%n",
                ms(System.nanoTime() - t0));
    }

    @Test
    @Order(5)
    void vlanTrunkToAGuestReachesBothVlansAndVlansStayApart() {
        long t0 = System.nanoTime();
        // VLAN 10 member; VLAN 20 member, which also holds an address of VLAN 10's subnet: only a
        // leak between the VLANs could reach it
        net.container("v10", "198.19.65.2/24");
        net.container("v20", "198.19.66.2/24", "198.19.65.3/24");
        vswitch.addPort(
                "br0",
                new PortConfig("v10", "net_af_xdp1,iface=" + net.hostIf("v10") + ",mode=skb", 10, null, null, null));
        vswitch.addPort(
                "br0",
                new PortConfig("v20", "net_af_xdp2,iface=" + net.hostIf("v20") + ",mode=skb", 20, null, null, null));
        // guest1's eth1 is the trunk port vm1t: 802.1Q sub-interfaces (the 8021q module)
        guest1.run(
                "ip link set eth1 up && vconfig add eth1 10 && vconfig add eth1 20"
                        + " && ip addr add 198.19.65.1/24 dev eth1.10 && ip addr add 198.19.66.1/24 dev eth1.20"
                        + " && ip link set eth1.10 up && ip link set eth1.20 up",
                Duration.ofSeconds(30));
        ping(guest1, "198.19.65.2", 56);
        ping(guest1, "198.19.66.2", 1400);
        hostPing("v10", net.inContainer("v10", "ping", "-c", "3", "-W", "5", "198.19.65.1"));
        hostPing("v20", net.inContainer("v20", "ping", "-c", "3", "-W", "5", "198.19.66.1"));
        long v20tx = port(vswitch.stats("v20"), "v20").txPackets();
        HostNet.Result leak = net.inContainer("v10", "ping", "-c", "3", "-W", "1", "198.19.65.3");
        assertNotEquals(0, leak.rc(), "VLAN 10 reached VLAN 20's member\n" + leak.output());
        Guest.Result leak2 = guest1.exec("ping -c 2 -w 4 198.19.65.3", PING);
        assertNotEquals(0, leak2.rc(), "guest1's eth1.10 reached VLAN 20's member\n" + leak2.output());
        long v20txAfter = port(vswitch.stats("v20"), "v20").txPackets();
        assertEquals(v20tx, v20txAfter, "frames panda sent to the VLAN 20 port while VLAN 10 looked for 198.19.65.3");
        Views.Fdb fdb = vswitch.fdb("br0");
        List<Views.FdbEntry> trunk = fdb.table().stream()
                .filter(e -> e.mac().equalsIgnoreCase(MAC1T))
                .toList();
        assertTrue(
                trunk.stream().anyMatch(e -> e.port().equals("vm1t") && e.vlan() == 10)
                        && trunk.stream().anyMatch(e -> e.port().equals("vm1t") && e.vlan() == 20),
                "guest1's eth1 learned on vm1t in VLANs 10 and 20: " + fdb.table());
        System.out.printf(
                "VLAN trunk to guest1 (eth1.10, eth1.20) and access ports 10/20: %d ms; frames panda sent to v20"
                        + " while VLAN 10 looked for its address: %d%n",
                ms(System.nanoTime() - t0), v20txAfter - v20tx);
    }

    /**
     * QEMU of the client-mode guest (guest2) killed with SIGKILL and started again on the same
     * socket, twice: panda's client port reconnects, pings go through again both ways, and this
     * process's fds and mappings are what they were before the first kill (baseline taken after
     * the first connection and the traffic of the earlier cases).
     */
    @Test
    @Order(6)
    void clientModeGuestKilledAndRestartedResumesAndLeaksNothing() {
        ping(guest1, IP2, 56); // the connection is up and has carried traffic
        ProcSelf base = ProcSelf.settled();
        System.out.println("baseline: fds " + base.fdKinds() + ", memfd mappings " + base.memfdMapLines());
        for (int round = 1; round <= 2; round++) {
            long t0 = System.nanoTime();
            guest2.kill();
            guest2 = null;
            long t1 = System.nanoTime();
            awaitLink("vm2", "down", Duration.ofSeconds(30));
            long t2 = System.nanoTime();
            // while guest2 is gone panda holds less: its memory table unmapped, its fds closed (so
            // the comparison below sees what a connection holds)
            ProcSelf down = awaitBelow(base, Duration.ofSeconds(10));
            guest2 = startGuest2("guest2-restart" + round + ".log");
            guest2.awaitReady();
            long t3 = System.nanoTime();
            awaitLink("vm2", "up", Duration.ofSeconds(60));
            ping(guest1, IP2, 56);
            ping(guest2, IP1, 1400);
            long t4 = System.nanoTime();
            ProcSelf now = ProcSelf.settled();
            System.out.printf(
                    "restart %d: SIGKILL %d ms, panda saw the link down %d ms later (then fds %d, memfd maps %d),"
                            + " QEMU start to guest up %d ms, pings both ways %d ms; fds %d (baseline %d) %s,"
                            + " maps %d (baseline %d), file/memfd maps %d (baseline %d), memfd maps %d (baseline %d)%n",
                    round,
                    ms(t1 - t0),
                    ms(t2 - t1),
                    down.fds(),
                    down.memfdMaps(),
                    ms(t3 - t2),
                    ms(t4 - t3),
                    now.fds(),
                    base.fds(),
                    now.fdKinds(),
                    now.maps(),
                    base.maps(),
                    now.namedMaps(),
                    base.namedMaps(),
                    now.memfdMaps(),
                    base.memfdMaps());
            assertEquals(base.fdKinds(), now.fdKinds(), "open fds by kind after restart " + round);
            assertEquals(
                    base.memfdMapLines().size(), now.memfdMapLines().size(), "memfd mappings\n" + now.memfdMapLines());
            // every file and memfd mapping exactly as before; the total count of lines is printed
            // only: anonymous mappings (thread stacks of JIT compiler threads, malloc arenas) move
            // by a few lines whatever panda does (seen: -1 and +2 after a restart)
            assertEquals(base.namedMaps(), now.namedMaps(), "file and memfd mappings after restart " + round);
        }
        assertOnlyOn(vswitch.fdb("br0"), MAC2, "vm2");
    }

    // ---- helpers -------------------------------------------------------------------------------

    static void ping(Guest g, String to, int size) {
        String out = g.run("ping -c 3 -s " + size + " -w 60 " + to, PING);
        Matcher m = PING_STATS.matcher(out);
        assertTrue(m.find(), g.name() + ": no ping statistics\n" + out);
        assertTrue(Integer.parseInt(m.group(2)) >= 3, g.name() + " -> " + to + ": " + out);
        assertTrue(
                out.contains((size + 8) + " bytes from " + to), g.name() + ": replies of " + size + " bytes\n" + out);
    }

    private static void hostPing(String who, HostNet.Result r) {
        assertEquals(0, r.rc(), who + ": " + r.output());
        Matcher m = PING_STATS.matcher(r.output());
        assertTrue(m.find() && Integer.parseInt(m.group(2)) >= 3, who + ": " + r.output());
    }

    private static String mac(HostNet.Result r) {
        assertEquals(0, r.rc(), r.output());
        return r.output().strip();
    }

    private void awaitLink(String port, String state, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String now = null;
        while (System.nanoTime() < deadline) {
            now = vswitch.show().bridges().stream()
                    .flatMap(b -> b.ports().stream())
                    .filter(p -> p.name().equals(port))
                    .map(Views.PortView::link)
                    .findFirst()
                    .orElse("absent");
            if (now.equals(state)) {
                return;
            }
            dev.panda.dataplane.testing.Frames.sleep(50);
        }
        throw new AssertionError("port " + port + " link " + now + ", not " + state + ", after " + timeout);
    }

    /** Waits until this process holds fewer memfd mappings and fewer fds than {@code base}. */
    private static ProcSelf awaitBelow(ProcSelf base, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        ProcSelf now = ProcSelf.take();
        while (!(now.memfdMaps() < base.memfdMaps() && now.fds() < base.fds()) && System.nanoTime() < deadline) {
            dev.panda.dataplane.testing.Frames.sleep(50);
            now = ProcSelf.take();
        }
        assertTrue(
                now.memfdMaps() < base.memfdMaps() && now.fds() < base.fds(),
                "panda still holds the killed guest's memory or fds: " + now + " vs baseline " + base);
        return now;
    }

    /** The guest's TCP RetransSegs (/proc/net/snmp), for the report. */
    private static long retransmitted(Guest g) {
        String out = g.run("grep Tcp: /proc/net/snmp", Duration.ofSeconds(30));
        String[] lines = out.lines().filter(l -> l.startsWith("Tcp:")).toArray(String[]::new);
        List<String> names = List.of(lines[0].trim().split("\\s+"));
        String[] values = lines[1].trim().split("\\s+");
        return Long.parseLong(values[names.indexOf("RetransSegs")]);
    }

    private static String sum(String out, String file) {
        Matcher m = Pattern.compile("([0-9a-f]{64})\\s+" + Pattern.quote(file)).matcher(out);
        assertTrue(m.find(), "no sha256 of " + file + " in: " + out);
        return m.group(1);
    }

    private static void assertOnlyOn(Views.Fdb fdb, String mac, String port) {
        List<Views.FdbEntry> es =
                fdb.table().stream().filter(e -> e.mac().equalsIgnoreCase(mac)).toList();
        assertNotEquals(0, es.size(), mac + " not in fdb-show br0: " + fdb.table());
        for (Views.FdbEntry e : es) {
            assertEquals(port, e.port(), mac + " in fdb-show br0: " + fdb.table());
            assertEquals(0, e.vlan(), mac + ": untagged, VLAN 0: " + fdb.table());
        }
    }

    private static Views.PortStatsView port(Views.Stats st, String name) {
        return st.ports().stream()
                .filter(p -> p.port().equals(name))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no port " + name + " in " + st));
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }
}
