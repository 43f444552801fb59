package dev.panda.perf;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A private OVS-DPDK for one benchmark run: a fresh DB ({@code ovsdb-tool create}) served by its
 * own {@code ovsdb-server} on a unix socket, and Debian's {@code ovs-vswitchd-dpdk} with a private
 * run directory, EAL file prefix, one DPDK lcore on CPU 0 and one PMD on CPU 1. Both daemons are
 * children of this process (no {@code --detach}), stopped by their PIDs; the caller removes the run
 * directory, this class the hugepage files and DPDK's run directory of its file prefix.
 */
final class OvsDpdk implements AutoCloseable {

    /** Debian's openvswitch-switch-dpdk installs it here (an alternative for /usr/sbin/ovs-vswitchd). */
    static final Path VSWITCHD = Path.of("/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk");

    static final Path SCHEMA = Path.of("/usr/share/openvswitch/vswitch.ovsschema");

    private static final Pattern CYCLES = Pattern.compile("avg processing cycles per packet:\\s+([0-9.]+)");

    private final Path dir;
    private final String prefix;
    private final Map<String, String> env;
    private final List<Process> daemons = new ArrayList<>();

    private OvsDpdk(Path dir, String prefix) {
        this.dir = dir;
        this.prefix = prefix;
        this.env = Map.of(
                "OVS_RUNDIR", dir.toString(),
                "OVS_LOGDIR", dir.toString(),
                "OVS_DBDIR", dir.toString());
    }

    static boolean available() {
        return Files.isExecutable(VSWITCHD) && Files.isReadable(SCHEMA);
    }

    /**
     * Starts ovsdb-server and ovs-vswitchd-dpdk in {@code dir} and adds bridge {@code br0}
     * (userspace datapath, the NORMAL action).
     *
     * @param socketMem   MB of hugepages EAL takes at start ({@code dpdk-socket-mem})
     * @param socketLimit MB it may grow to ({@code dpdk-socket-limit})
     */
    static OvsDpdk start(Path dir, String prefix, int socketMem, int socketLimit)
            throws IOException, InterruptedException {
        OvsDpdk ovs = new OvsDpdk(dir, prefix);
        try {
            ovs.run(30, "ovsdb-tool", "create", dir.resolve("conf.db").toString(), SCHEMA.toString());
            ovs.daemon(
                    "ovsdb-server",
                    dir.resolve("conf.db").toString(),
                    "--remote=punix:" + ovs.db(),
                    "--unixctl=" + dir.resolve("ovsdb-server.ctl"),
                    "--no-chdir",
                    "--log-file=" + dir.resolve("ovsdb-server.log"));
            ovs.await(ovs.db(), "ovsdb-server");
            ovs.vsctl(true, "init");
            ovs.vsctl(
                    true,
                    "set",
                    "Open_vSwitch",
                    ".",
                    "other_config:dpdk-init=true",
                    "other_config:dpdk-socket-mem=" + socketMem,
                    "other_config:dpdk-socket-limit=" + socketLimit,
                    "other_config:dpdk-lcore-mask=0x1",
                    "other_config:pmd-cpu-mask=0x2",
                    "other_config:dpdk-extra=--no-pci --single-file-segments --file-prefix=" + prefix);
            ovs.daemon(
                    VSWITCHD.toString(),
                    "unix:" + ovs.db(),
                    "--unixctl=" + ovs.ctl(),
                    "--no-chdir",
                    "--log-file=" + dir.resolve("ovs-vswitchd.log"));
            ovs.await(ovs.ctl(), "ovs-vswitchd-dpdk");
            ovs.vsctl(false, "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev");
            return ovs;
        } catch (IOException | InterruptedException | RuntimeException e) {
            ovs.close();
            throw e;
        }
    }

    /** Adds a {@code dpdkvhostuserclient} port that connects (and reconnects) to {@code server}. */
    void addVhostUserClient(String name, Path server) throws IOException, InterruptedException {
        vsctl(
                false,
                "add-port",
                "br0",
                name,
                "--",
                "set",
                "Interface",
                name,
                "type=dpdkvhostuserclient",
                "options:vhost-server-path=" + server);
    }

    void clearPmdStats() throws IOException, InterruptedException {
        appctl("dpif-netdev/pmd-stats-clear");
    }

    /** The PMD's "avg processing cycles per packet" since the last clear (busy cycles over packets received). */
    double cyclesPerPacket() throws IOException, InterruptedException {
        String s = appctl("dpif-netdev/pmd-stats-show");
        Matcher m = CYCLES.matcher(s);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    String appctl(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("ovs-appctl", "--timeout=20", "-t", ctl().toString()));
        cmd.addAll(List.of(args));
        return run(20, cmd.toArray(String[]::new));
    }

    /** True while ovsdb-server and ovs-vswitchd-dpdk both run. */
    boolean alive() {
        return !daemons.isEmpty() && daemons.stream().allMatch(Process::isAlive);
    }

    /** The tail of ovs-vswitchd's log, for error messages. */
    String log() {
        try {
            String s = Files.readString(dir.resolve("ovs-vswitchd.log"), StandardCharsets.UTF_8);
            return s.substring(Math.max(0, s.length() - 6000));
        } catch (IOException e) {
            return "(no ovs-vswitchd log: " + e.getMessage() + ")";
        }
    }

    private Path db() {
        return dir.resolve("db.sock");
    }

    private Path ctl() {
        return dir.resolve("ovs-vswitchd.ctl");
    }

    private void vsctl(boolean noWait, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("ovs-vsctl", "--db=unix:" + db(), "--timeout=60"));
        if (noWait) {
            cmd.add("--no-wait");
        }
        cmd.addAll(List.of(args));
        run(70, cmd.toArray(String[]::new));
    }

    private String run(int timeoutSeconds, String... cmd) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        byte[] output = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor();
        }
        String s = new String(output, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed (exit " + p.exitValue() + "): " + s.strip()
                    + (cmd[0].equals("ovs-vsctl") || cmd[0].equals("ovs-appctl")
                            ? "\novs-vswitchd log:\n" + log()
                            : ""));
        }
        return s;
    }

    private void daemon(String... cmd) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(
                        dir.resolve(Path.of(cmd[0]).getFileName() + ".out").toFile());
        pb.environment().putAll(env);
        daemons.add(pb.start());
    }

    private void await(Path socket, String what) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        Process p = daemons.getLast();
        while (!Files.exists(socket)) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                throw new IOException(
                        what + (p.isAlive() ? " did not create " + socket : " exited (" + p.exitValue() + ")")
                                + "; its log:\n" + log());
            }
            Thread.sleep(50);
        }
    }

    /**
     * Deletes br0 while ovs-vswitchd still runs, so that its userspace datapath removes the two
     * persistent taps it made for the bridge ({@code br0} and {@code ovs-netdev}: a stopped daemon
     * leaves them on the host), then stops ovs-vswitchd and ovsdb-server (SIGTERM, SIGKILL after
     * 10 s) and removes EAL leftovers.
     */
    @Override
    public void close() throws IOException, InterruptedException {
        if (daemons.size() == 2 && alive()) { // both started and running: vsctl would wait for a missing vswitchd
            try {
                vsctl(false, "--if-exists", "del-br", "br0");
            } catch (IOException e) {
                System.err.println("ovs: del-br br0 at stop failed, its taps may stay: " + e.getMessage());
            }
        }
        for (Process p : daemons.reversed()) {
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor();
            }
        }
        daemons.clear();
        DpdkProcess.removeLeftovers(prefix);
    }
}
