package dev.panda.vswitch.guest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The host side of the peer tests: network namespaces ("containers") each with a veth pair whose
 * host end becomes a bridge port, commands run in them or in the root namespace, and removal of
 * everything made (a namespace takes its veth pair with it). Names carry the test JVM's pid so
 * concurrent runs do not meet; addresses come from 198.18.0.0/15 and stay inside the namespaces
 * and on the test's own TAP.
 */
final class HostNet implements AutoCloseable {

    private final String tag = Long.toString(ProcessHandle.current().pid() % 100000, 36);
    private final List<String> namespaces = new ArrayList<>();

    /** What a command printed and its exit status. */
    record Result(int rc, String output) {}

    /** A namespace's name for {@code suffix}. */
    String ns(String suffix) {
        return "pg" + tag + suffix;
    }

    /** The host end of {@code suffix}'s veth pair (at most 15 characters). */
    String hostIf(String suffix) {
        return "pgh" + tag + suffix;
    }

    /**
     * Creates namespace {@code ns(suffix)} with eth0 (addresses {@code addrs}, "A/LEN") whose peer
     * {@code hostIf(suffix)} stays in the root namespace, up, IPv6 off (no stray solicitations).
     */
    void container(String suffix, String... addrs) {
        String ns = ns(suffix);
        String h = hostIf(suffix);
        sh("ip", "netns", "add", ns);
        namespaces.add(ns);
        sh("ip", "link", "add", h, "type", "veth", "peer", "name", "eth0", "netns", ns);
        sh("sysctl", "-qw", "net.ipv6.conf." + h + ".disable_ipv6=1");
        sh("ip", "link", "set", h, "up");
        inNs(ns, "sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=1");
        for (String a : addrs) {
            inNs(ns, "ip", "addr", "add", a, "dev", "eth0");
        }
        inNs(ns, "ip", "link", "set", "eth0", "up");
        inNs(ns, "ip", "link", "set", "lo", "up");
    }

    /** Runs {@code cmd} in namespace {@code ns(suffix)}. */
    Result inContainer(String suffix, String... cmd) {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", ns(suffix)));
        c.addAll(List.of(cmd));
        return exec(c);
    }

    static Result exec(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String o = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, o + "\n[timed out]");
            }
            return new Result(p.exitValue(), o);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + cmd, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** Runs {@code cmd}, failing with its output unless it exits 0. */
    static String sh(String... cmd) {
        Result r = exec(List.of(cmd));
        if (r.rc() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed (" + r.rc() + "): "
                    + r.output().strip()
                    + (r.output().contains("Operation not permitted") ? " (the test needs root)" : ""));
        }
        return r.output();
    }

    private static void inNs(String ns, String... cmd) {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        c.addAll(List.of(cmd));
        sh(c.toArray(String[]::new));
    }

    @Override
    public void close() {
        for (String ns : namespaces) {
            exec(List.of("ip", "netns", "del", ns));
        }
        namespaces.clear();
    }
}
