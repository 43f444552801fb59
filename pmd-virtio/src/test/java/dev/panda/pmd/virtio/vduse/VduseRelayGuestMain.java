package dev.panda.pmd.virtio.vduse;

import static dev.panda.pmd.virtio.guest.GuestCases.check;
import static dev.panda.pmd.virtio.vduse.VduseGuestMain.awaitInterface;
import static dev.panda.pmd.virtio.vduse.VduseGuestMain.received;
import static dev.panda.pmd.virtio.vduse.VduseGuestMain.run;
import static dev.panda.pmd.virtio.vduse.VduseGuestMain.sysctl;

import dev.panda.dataplane.port.PortStats;
import dev.panda.dataplane.testpmd.Testpmd;
import dev.panda.dataplane.testpmd.TestpmdOptions;
import dev.panda.pmd.virtio.guest.GuestCases;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs in the vDPA guest for {@code VduseRelayGuestTest}: the relay in the shape of a SmartNIC that
 * gives a host kernel a virtio-net device and carries its traffic elsewhere. The guest kernel's
 * virtio_net on panda's {@code net_vduse} (virtio_vdpa) sits in network namespace {@code relA};
 * panda's testpmd forwards (io mode) between that port and a second kernel interface that sits in
 * namespace {@code relB}: a TAP ({@code net_tap}) in one case, the kernel's vhost-net with its TAP
 * ({@code net_virtio_user,path=/dev/vhost-net}) in the other. The two namespaces ping each other
 * (56 and 1472 bytes, both ways) and move a file each way over TCP, SHA-256 compared on both sides.
 */
public final class VduseRelayGuestMain {

    static final String NS_A = "relA";
    static final String NS_B = "relB";
    static final String IP_A = "198.18.1.1";
    static final String IP_B = "198.18.1.2";
    static final int FILE_BYTES = 4 << 20;
    static final int TCP_PORT = 5001;

    private final GuestCases cases = new GuestCases(System.out);

    public static void main(String[] args) {
        new VduseRelayGuestMain().cases();
    }

    private void cases() {
        try {
            sysctl("net/core/default_qdisc", "pfifo_fast"); // as VduseGuestMain: no fq_codel drops under TCG
        } catch (IOException e) {
            System.out.println("PANDA-GUEST default_qdisc not set: " + e);
        }
        cases.run("relay-tap", () -> relay("net_tap1,iface=rtap0", "rtap0"));
        cases.run("relay-vhost-net", () -> relay("net_virtio_user1,path=/dev/vhost-net,iface=rvhost0", "rvhost0"));
        System.out.println("PANDA-RELAY-DONE failures=" + cases.failures());
        System.exit(cases.failures() == 0 ? 0 : 1);
    }

    /**
     * testpmd io between net_vduse0 (port 0, the kernel's interface in relA) and {@code second}
     * (port 1, kernel interface {@code iface} in relB).
     */
    private String relay(String second, String iface) throws Throwable {
        TestpmdOptions o = TestpmdOptions.parse(
                "-l",
                "0,1",
                "--no-huge",
                "--vdev",
                "net_vduse0",
                "--vdev",
                second,
                "--",
                "--forward-mode=io",
                "--idle=park",
                "--no-pin",
                "--total-num-mbufs=4096");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        try (Testpmd app = Testpmd.open(o, new PrintStream(log, true))) {
            long opened = System.nanoTime();
            String eth = awaitInterface(app.port(0).mac(), 20_000);
            long appeared = System.nanoTime();
            namespaces();
            try {
                place(eth, NS_A, IP_A);
                place(iface, NS_B, IP_B);
                long placed = System.nanoTime();
                app.start(0);
                // the first reply: carrier, ARP through the relay both ways
                int tries = 0;
                String first;
                do {
                    first = runRc("ip", "netns", "exec", NS_A, "ping", "-c", "1", "-W", "2", IP_B);
                    tries++;
                } while (received(first) != 1 && tries < 15);
                check(received(first) == 1, "no first reply from " + IP_B + " in " + tries + " tries: " + first);
                long replied = System.nanoTime();
                String pings = pings(NS_A, IP_B) + "; " + pings(NS_B, IP_A);
                String ab = move(NS_A, NS_B, IP_B, 1);
                String ba = move(NS_B, NS_A, IP_A, 2);
                app.stop();
                PortStats p0 = app.portStats(0);
                PortStats p1 = app.portStats(1);
                return String.format(
                        "%s in %s <-> panda io <-> %s in %s; open %d ms, interface %d ms later, namespaces and"
                                + " addresses %d ms, first reply %d ms (%d tries); %s; %s; %s; panda port0 rx %d tx %d,"
                                + " port1 rx %d tx %d",
                        eth,
                        NS_A,
                        iface,
                        NS_B,
                        (opened - t0) / 1_000_000,
                        (appeared - opened) / 1_000_000,
                        (placed - appeared) / 1_000_000,
                        (replied - placed) / 1_000_000,
                        tries,
                        pings,
                        ab,
                        ba,
                        p0.ipackets(),
                        p0.opackets(),
                        p1.ipackets(),
                        p1.opackets());
            } finally {
                run("ip", "netns", "del", NS_A);
                run("ip", "netns", "del", NS_B);
            }
        }
    }

    private static void namespaces() throws Exception {
        run("ip", "netns", "add", NS_A);
        run("ip", "netns", "add", NS_B);
        for (String ns : new String[] {NS_A, NS_B}) {
            run("ip", "-n", ns, "link", "set", "lo", "up");
            // no ND or MLD frames of the namespace's own
            run("ip", "netns", "exec", ns, "sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6");
        }
    }

    /** Moves {@code ifname} into {@code ns} with address {@code ip}/24 and sets it up. */
    private static void place(String ifname, String ns, String ip) throws Exception {
        run("ip", "link", "set", ifname, "netns", ns);
        run("ip", "netns", "exec", ns, "sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/" + ifname + "/disable_ipv6");
        run("ip", "-n", ns, "addr", "add", ip + "/24", "dev", ifname);
        run("ip", "-n", ns, "link", "set", ifname, "up");
    }

    /** 5 x 56 and 5 x 1472 bytes from namespace {@code ns} to {@code ip}, none lost. */
    private static String pings(String ns, String ip) throws Exception {
        String small = run("ip", "netns", "exec", ns, "ping", "-c", "5", "-s", "56", ip);
        check(received(small) == 5, ns + " 56-byte pings: " + small);
        String large = run("ip", "netns", "exec", ns, "ping", "-c", "5", "-s", "1472", ip);
        check(received(large) == 5, ns + " 1472-byte pings: " + large);
        return ns + "->" + ip + " 5x56 5x1472 ok (" + rtt(large) + ")";
    }

    /**
     * Moves {@link #FILE_BYTES} of seeded random bytes over TCP from a thread in namespace {@code from}
     * to a thread in namespace {@code to} listening on {@code ip}; both sides hash what they wrote
     * or read (SHA-256) and the hashes and lengths must agree.
     */
    private static String move(String from, String to, String ip, long seed) throws Exception {
        CompletableFuture<Integer> bound = new CompletableFuture<>();
        CompletableFuture<String> receiver = new CompletableFuture<>();
        Thread rx = Thread.ofPlatform().name("relay-rx").start(() -> {
            try {
                Netns.enter(to);
                try (ServerSocket ss = new ServerSocket()) {
                    ss.bind(new InetSocketAddress(InetAddress.getByName(ip), TCP_PORT), 1);
                    ss.setSoTimeout(120_000);
                    bound.complete(TCP_PORT);
                    try (Socket s = ss.accept()) {
                        s.setSoTimeout(120_000);
                        MessageDigest d = MessageDigest.getInstance("SHA-256");
                        long n = 0;
                        byte[] buf = new byte[65536];
                        InputStream in = s.getInputStream();
                        for (int r; (r = in.read(buf)) > 0; ) {
                            d.update(buf, 0, r);
                            n += r;
                        }
                        receiver.complete(n + " " + HexFormat.of().formatHex(d.digest()));
                    }
                }
            } catch (Throwable t) {
                bound.completeExceptionally(t);
                receiver.completeExceptionally(t);
            }
        });
        bound.get(30, TimeUnit.SECONDS);
        CompletableFuture<String> sender = new CompletableFuture<>();
        long t0 = System.nanoTime();
        Thread tx = Thread.ofPlatform().name("relay-tx").start(() -> {
            try {
                Netns.enter(from);
                MessageDigest d = MessageDigest.getInstance("SHA-256");
                SplittableRandom r = new SplittableRandom(seed);
                byte[] buf = new byte[65536];
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress(InetAddress.getByName(ip), TCP_PORT), 30_000);
                    OutputStream out = s.getOutputStream();
                    for (int done = 0; done < FILE_BYTES; done += buf.length) {
                        r.nextBytes(buf);
                        d.update(buf);
                        out.write(buf);
                    }
                    s.shutdownOutput();
                }
                sender.complete(FILE_BYTES + " " + HexFormat.of().formatHex(d.digest()));
            } catch (Throwable t) {
                sender.completeExceptionally(t);
            }
        });
        String sent = sender.get(180, TimeUnit.SECONDS);
        String got = receiver.get(180, TimeUnit.SECONDS);
        long ms = Math.max(1, (System.nanoTime() - t0) / 1_000_000);
        tx.join();
        rx.join();
        check(sent.equals(got), from + "->" + to + ": sent " + sent + ", received " + got);
        return String.format(
                "%s->%s file %d bytes in %d ms (%.2f MB/s), sha256 %s... both sides",
                from, to, FILE_BYTES, ms, FILE_BYTES / 1e3 / ms, got.split(" ")[1].substring(0, 16));
    }

    /** {@link VduseGuestMain#run} that returns the output whatever the exit code. */
    private static String runRc(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }

    private static String rtt(String out) {
        return out.lines().filter(l -> l.contains("rtt")).findFirst().orElse("").trim();
    }
}
