package dev.panda.vswitch;

import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.PortConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code panda vswitch --demo}: a vSwitch that needs no VM and no device. Two network namespaces,
 * each a "container" with a veth pair whose host end is a port of br0 (AF_XDP, or AF_PACKET where
 * AF_XDP is not available), ping each other both ways; then the FDB and the port counters are
 * printed and everything the demo made is removed. Needs root (ip netns). Addresses are
 * 198.18.0.1 and 198.18.0.2, inside the namespaces only.
 */
public final class Demo {

    private final PrintStream out;
    private final String tag = Long.toString(ProcessHandle.current().pid() % 100000, 36);
    private final List<String> namespaces = new ArrayList<>();

    private Demo(PrintStream out) {
        this.out = out;
    }

    /** Runs the demo on {@code vswitch}; returns 0 when both pings got replies. */
    public static int run(Control vswitch, PrintStream out) {
        Demo d = new Demo(out);
        try {
            return d.go(vswitch);
        } catch (RuntimeException e) {
            out.println("panda vswitch --demo: " + e.getMessage());
            return 1;
        } finally {
            d.cleanUp(vswitch);
        }
    }

    private int go(Control v) {
        String[] ns = {"pdemo" + tag + "a", "pdemo" + tag + "b"};
        String[] hostIf = {"pdh" + tag + "a", "pdh" + tag + "b"};
        String[] addr = {"198.18.0.1", "198.18.0.2"};
        v.addBridge(BridgeConfig.of("br0"));
        for (int i = 0; i < 2; i++) {
            sh("ip", "netns", "add", ns[i]);
            namespaces.add(ns[i]);
            sh("ip", "link", "add", hostIf[i], "type", "veth", "peer", "name", "eth0", "netns", ns[i]);
            sh("sysctl", "-qw", "net.ipv6.conf." + hostIf[i] + ".disable_ipv6=1");
            sh("ip", "link", "set", hostIf[i], "up");
            inNs(ns[i], "sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=1");
            inNs(ns[i], "ip", "addr", "add", addr[i] + "/24", "dev", "eth0");
            inNs(ns[i], "ip", "link", "set", "eth0", "up");
            inNs(ns[i], "ip", "link", "set", "lo", "up");
            String name = "c" + (i + 1);
            try {
                v.addPort("br0", PortConfig.of(name, "net_af_xdp" + i + ",iface=" + hostIf[i] + ",mode=skb"));
            } catch (VswitchException e) {
                out.println("AF_XDP on " + hostIf[i] + " is not available (" + e.getMessage() + "); using AF_PACKET");
                v.addPort("br0", PortConfig.of(name, "net_af_packet" + i + ",iface=" + hostIf[i]));
            }
            out.printf(
                    "container %s: namespace %s, eth0 %s, bridge port %s on %s%n",
                    name, ns[i], addr[i], name, hostIf[i]);
        }
        boolean ok = ping(ns[0], addr[1]) & ping(ns[1], addr[0]);
        Views.Fdb fdb = v.fdb("br0");
        out.println();
        out.println("fdb-show br0");
        out.println(" port  VLAN  MAC                Age");
        for (Views.FdbEntry e : fdb.table()) {
            out.printf("%5s  %4d  %s  %4d%n", e.port(), e.vlan(), e.mac(), e.age());
        }
        out.println();
        out.println("port-stats");
        for (Views.PortStatsView p : v.stats(null).ports()) {
            out.printf(
                    "  %s: rx pkts:%d bytes:%d  tx pkts:%d bytes:%d  floods:%d  drops:%s%n",
                    p.port(), p.rxPackets(), p.rxBytes(), p.txPackets(), p.txBytes(), p.floods(), nonZero(p));
        }
        out.println();
        out.println(ok ? "demo ok: the containers reached each other through br0" : "demo FAILED: pings got no reply");
        return ok ? 0 : 1;
    }

    private static String nonZero(Views.PortStatsView p) {
        StringBuilder b = new StringBuilder();
        p.drops().forEach((k, n) -> {
            if (n != 0) {
                b.append(b.isEmpty() ? "" : " ").append(k).append('=').append(n);
            }
        });
        return b.isEmpty() ? "none" : b.toString();
    }

    private boolean ping(String ns, String to) {
        out.printf("%n%s$ ping -c 3 -i 0.2 %s%n", ns, to);
        Result r = exec(List.of("ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.2", "-W", "2", to));
        out.print(r.output);
        return r.status == 0;
    }

    private void cleanUp(Control v) {
        try {
            v.delBridge("br0");
        } catch (RuntimeException e) {
            // not made, or already gone
        }
        for (String ns : namespaces) {
            exec(List.of("ip", "netns", "del", ns)); // the veth pair goes with its namespace
        }
        namespaces.clear();
    }

    private record Result(int status, String output) {}

    private static Result exec(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String o = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, o);
            }
            return new Result(p.exitValue(), o);
        } catch (IOException e) {
            return new Result(-1, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "interrupted");
        }
    }

    private static void sh(String... cmd) {
        Result r = exec(List.of(cmd));
        if (r.status != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed (" + r.status + "): " + r.output.strip()
                    + (r.output.contains("Operation not permitted") ? " (the demo needs root)" : ""));
        }
    }

    private static void inNs(String ns, String... cmd) {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        c.addAll(List.of(cmd));
        sh(c.toArray(String[]::new));
    }
}
