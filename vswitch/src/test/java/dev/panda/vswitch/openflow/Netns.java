package dev.panda.vswitch.openflow;

import dev.panda.vswitch.Vswitch;
import dev.panda.vswitch.config.PortConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Network namespaces whose eth0 is a veth whose host end is an AF_XDP port of a bridge; addresses
 * from 198.18.0.0/15. {@link #close} deletes every namespace made (and with it its veth pair).
 */
final class Netns implements AutoCloseable {

    private static final java.util.concurrent.atomic.AtomicInteger RUN =
            new java.util.concurrent.atomic.AtomicInteger();
    // names unique per run: a deleted namespace's veth ends vanish asynchronously
    private final String tag = Long.toString(ProcessHandle.current().pid() % 100000, 36) + RUN.incrementAndGet();
    private final List<String> namespaces = new ArrayList<>();

    /** Namespace {@code name} with {@code addr} on eth0, joined to {@code bridge} as port {@code name}. */
    String add(Vswitch v, String bridge, int i, String name, String addr) throws Exception {
        String ns = "pof" + tag + name;
        String host = "pofh" + tag + i;
        sh("ip", "netns", "add", ns);
        namespaces.add(ns);
        sh("ip", "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", ns);
        sh("sysctl", "-qw", "net.ipv6.conf." + host + ".disable_ipv6=1");
        sh("ip", "link", "set", host, "up");
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=1");
        sh("ip", "netns", "exec", ns, "ip", "addr", "add", addr, "dev", "eth0");
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up");
        v.addPort(
                bridge,
                new PortConfig(name, "net_af_xdp" + (20 + i) + ",iface=" + host + ",mode=skb", null, null, null, null));
        return ns;
    }

    /** ping's exit status: 0 when every one of {@code count} echo requests was answered. */
    static int ping(String ns, String to, int count) throws Exception {
        Process p = new ProcessBuilder(
                        "ip", "netns", "exec", ns, "ping", "-c", String.valueOf(count), "-i", "0.2", "-W", "1", to)
                .redirectErrorStream(true)
                .start();
        p.getInputStream().readAllBytes();
        return p.waitFor();
    }

    /**
     * Pings until the first reply or {@code seconds} pass ({@code ping -c 1 -w seconds}): 0 once
     * {@code to} answered. For the first contact through a controller, whose answers to the first
     * ARP and ICMP packet-ins take a Python process's time on a loaded machine.
     */
    static int firstReply(String ns, String to, int seconds) throws Exception {
        Process p = new ProcessBuilder(
                        "ip", "netns", "exec", ns, "ping", "-c", "1", "-i", "0.2", "-w", String.valueOf(seconds), to)
                .redirectErrorStream(true)
                .start();
        p.getInputStream().readAllBytes();
        return p.waitFor();
    }

    static void sh(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String o = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + o);
        }
    }

    @Override
    public void close() throws Exception {
        for (String n : namespaces) {
            new ProcessBuilder("ip", "netns", "del", n).start().waitFor();
        }
    }
}
