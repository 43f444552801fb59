package dev.panda.vswitch.vxlan;

import dev.panda.vswitch.ctl.CtlMain;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** Namespaces and veths a test makes (and removes), commands in them, and {@code panda ctl}. */
final class Net implements AutoCloseable {

    private static final AtomicInteger RUN = new AtomicInteger();

    /** Unique per run: a deleted namespace's veth ends vanish asynchronously. */
    final String tag = Long.toString(ProcessHandle.current().pid() % 100000, 36) + RUN.incrementAndGet();

    private final List<String> namespaces = new ArrayList<>();
    private final List<String> links = new ArrayList<>();

    /** A namespace {@code pvx<tag><name>}; returns its name. */
    String ns(String name) throws Exception {
        String ns = "pvx" + tag + name;
        sh("ip", "netns", "add", ns);
        namespaces.add(ns);
        in(ns, "ip", "link", "set", "lo", "up");
        return ns;
    }

    /**
     * A veth pair: {@code host} stays here (up, no address, no IPv6), {@code inside} goes into
     * {@code ns} (up, with {@code addr} and {@code mtu}, checksums completed in software so
     * AF_PACKET forwards finished frames).
     */
    void veth(String host, String ns, String inside, String addr, int mtu) throws Exception {
        sh("ip", "link", "add", host, "type", "veth", "peer", "name", inside, "netns", ns);
        links.add(host);
        sh("sysctl", "-qw", "net.ipv6.conf." + host + ".disable_ipv6=1");
        sh("ip", "link", "set", host, "up");
        in(ns, "sysctl", "-qw", "net.ipv6.conf." + inside + ".disable_ipv6=1");
        in(ns, "ip", "link", "set", inside, "mtu", Integer.toString(mtu));
        in(ns, "ip", "addr", "add", addr, "dev", inside);
        in(ns, "ip", "link", "set", inside, "up");
    }

    /** A veth pair with both ends here, up, no addresses (an underlay between two vswitches). */
    void wire(String a, String b) throws Exception {
        sh("ip", "link", "add", a, "type", "veth", "peer", "name", b);
        links.add(a);
        for (String l : List.of(a, b)) {
            sh("sysctl", "-qw", "net.ipv6.conf." + l + ".disable_ipv6=1");
            sh("ip", "link", "set", l, "up");
        }
    }

    void in(String ns, String... cmd) throws IOException, InterruptedException {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        all.addAll(List.of(cmd));
        sh(all.toArray(String[]::new));
    }

    /** Runs a command in {@code ns}; its exit status and output. */
    static Result run(String ns, String... cmd) throws IOException, InterruptedException {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        all.addAll(List.of(cmd));
        Process p = new ProcessBuilder(all).redirectErrorStream(true).start();
        String o = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Result(p.waitFor(), o);
    }

    record Result(int status, String out) {}

    /** Pings until one answer comes (ARP and the VTEPs resolving), at most {@code seconds}. */
    static boolean pingsWithin(String ns, String to, int seconds) throws Exception {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < end) {
            if (run(ns, "ping", "-c", "1", "-W", "1", to).status() == 0) {
                return true;
            }
        }
        return false;
    }

    static void sh(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String o = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + o);
        }
    }

    /** {@code panda ctl --control sock ARGS}: status and output, failing on a non-zero status. */
    static String ctl(Path sock, String... args) {
        List<String> all = new ArrayList<>(List.of("--control", sock.toString()));
        all.addAll(List.of(args));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = CtlMain.run(
                all.toArray(String[]::new),
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        if (rc != 0) {
            throw new AssertionError(
                    "panda ctl " + String.join(" ", args) + ": " + err.toString(StandardCharsets.UTF_8));
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws Exception {
        for (String n : namespaces) {
            new ProcessBuilder("ip", "netns", "del", n).start().waitFor();
        }
        for (String l : links) {
            new ProcessBuilder("ip", "link", "del", l)
                    .redirectErrorStream(true)
                    .start()
                    .waitFor();
        }
    }
}
