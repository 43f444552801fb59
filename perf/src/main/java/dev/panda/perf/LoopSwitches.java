package dev.panda.perf;

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
import java.io.PrintStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The two ends of {@code panda perf vswitch-loop}: the traffic side (dpdk-testpmd on CPU 0 with two
 * virtio-user servers in mac forwarding, each port sending to the other's MAC) and the switch
 * under test on CPU 1, between two vhost-user client ports: panda's vswitch (rtc or pipeline,
 * in-process), OVS-DPDK's NORMAL bridge, or dpdk-testpmd io forwarding.
 */
public final class LoopSwitches {

    static final String MAC0 = "02:00:00:00:00:01";
    static final String MAC1 = "02:00:00:00:00:02";
    /** The traffic side's CPU and the switch's (PMD) CPU. */
    public static final int TRAFFIC_CPU = 0;

    public static final int SWITCH_CPU = 1;
    /** MB of hugepages each testpmd (traffic side, testpmd as switch) preallocates ({@code -m}). */
    static final int TESTPMD_MEM = 256;
    /** mbufs in each testpmd's pool (2176 B each: about 70 MB). */
    static final int TESTPMD_MBUFS = 32768;
    /** OVS's {@code dpdk-socket-mem} and {@code dpdk-socket-limit}, MB. */
    static final int OVS_SOCKET_MEM = 256;

    static final int OVS_SOCKET_LIMIT = 512;

    /** The switch in a run: cleared before the window, read after it. */
    public interface LoopSwitch extends AutoCloseable {
        void clearStats() throws Exception;

        /** Busy cycles per packet received since {@link #clearStats}. */
        double cyclesPerPacket() throws Exception;

        /** False if the switch has died (a process that exited). */
        boolean alive();

        /** What it printed, for error messages. */
        String log();
    }

    public interface Starter {
        LoopSwitch start(Path dir, Path sock0, Path sock1, String prefix) throws Exception;
    }

    private LoopSwitches() {}

    /** The traffic side; its init waits until a client has connected to each socket. */
    static InteractiveTestpmd traffic(Path sock0, Path sock1, String prefix) throws IOException {
        return new InteractiveTestpmd(
                prefix,
                List.of(
                        "--lcores",
                        "0@" + TRAFFIC_CPU + ",1@" + TRAFFIC_CPU,
                        "-m",
                        String.valueOf(TESTPMD_MEM),
                        "--no-pci",
                        "--single-file-segments",
                        "--vdev",
                        "net_virtio_user0,path=" + sock0 + ",server=1,mac=" + MAC0,
                        "--vdev",
                        "net_virtio_user1,path=" + sock1 + ",server=1,mac=" + MAC1),
                List.of(
                        "--forward-mode=mac",
                        "--eth-peer=0," + MAC1,
                        "--eth-peer=1," + MAC0,
                        "--burst=32",
                        // its own busy cycles per packet: the same work in every run, so it shows
                        // the placement the host gave the run (LoopRun reads it over the window)
                        "--record-core-cycles",
                        "--total-num-mbufs=" + TESTPMD_MBUFS));
    }

    /** dpdk-testpmd io forwarding between two net_vhost client ports, both lcores on the switch CPU. */
    public static LoopSwitch testpmd(Path dir, Path sock0, Path sock1, String prefix) throws Exception {
        InteractiveTestpmd sw = new InteractiveTestpmd(
                prefix,
                List.of(
                        "--lcores",
                        "0@" + SWITCH_CPU + ",1@" + SWITCH_CPU,
                        "-m",
                        String.valueOf(TESTPMD_MEM),
                        "--no-pci",
                        "--single-file-segments",
                        "--vdev",
                        "net_vhost0,iface=" + sock0 + ",client=1",
                        "--vdev",
                        "net_vhost1,iface=" + sock1 + ",client=1"),
                List.of(
                        "--forward-mode=io",
                        "--burst=32",
                        "--record-core-cycles",
                        "--total-num-mbufs=" + TESTPMD_MBUFS));
        try {
            sw.awaitPrompt(System.nanoTime() + 60_000_000_000L);
            sw.command("start", 10);
        } catch (Exception e) {
            sw.close();
            throw e;
        }
        return new LoopSwitch() {
            @Override
            public void clearStats() throws Exception {
                sw.command("clear fwd stats all", 10);
            }

            @Override
            public double cyclesPerPacket() throws Exception {
                return sw.cyclesPerPacket();
            }

            @Override
            public boolean alive() {
                return sw.alive();
            }

            @Override
            public String log() {
                return sw.log();
            }

            @Override
            public void close() throws Exception {
                sw.close();
            }
        };
    }

    /**
     * panda's testpmd in this JVM doing what {@link #testpmd} does: io forwarding between two
     * net_vhost client ports, its lcore on the switch CPU, {@code --record-core-cycles} (issue 13's
     * "io forwarding across a vhost-user loop").
     */
    public static LoopSwitch pandaIo(Path dir, Path sock0, Path sock1, String prefix) throws Exception {
        int[] all = Posix.getAffinity();
        int[] others = Arrays.stream(all).filter(c -> c != SWITCH_CPU).toArray();
        // the JVM's other threads (JIT, GC) off the switch CPU; this one may use every CPU while
        // testpmd starts (it checks its lcores' CPUs against this thread's), then goes off it too
        pinAllThreads(others.length > 0 ? others : all);
        Posix.setAffinity(all);
        java.io.ByteArrayOutputStream output = new java.io.ByteArrayOutputStream();
        PrintStream print = new PrintStream(output, true, java.nio.charset.StandardCharsets.UTF_8);
        dev.panda.dataplane.testpmd.Testpmd app;
        try {
            app = dev.panda.dataplane.testpmd.Testpmd.open(
                    dev.panda.dataplane.testpmd.TestpmdOptions.parse(
                            "--lcores",
                            "0@" + SWITCH_CPU + ",1@" + SWITCH_CPU,
                            "--vdev",
                            "net_vhost0,iface=" + sock0 + ",client=1",
                            "--vdev",
                            "net_vhost1,iface=" + sock1 + ",client=1",
                            "--forward-mode=io",
                            "--burst=32",
                            "--record-core-cycles"),
                    print);
            app.start(0);
        } catch (RuntimeException e) {
            pinAllThreads(all);
            throw e;
        } finally {
            Posix.setAffinity(others.length > 0 ? others : all);
        }
        return new LoopSwitch() {
            @Override
            public void clearStats() {
                app.clearForwardStats();
            }

            @Override
            public double cyclesPerPacket() {
                synchronized (output) {
                    output.reset();
                }
                app.showForwardStats();
                return Measured.coreCycles(output.toString(java.nio.charset.StandardCharsets.UTF_8));
            }

            @Override
            public boolean alive() {
                return app.forwarding();
            }

            @Override
            public String log() {
                return output.toString(java.nio.charset.StandardCharsets.UTF_8);
            }

            @Override
            public void close() {
                try {
                    app.close();
                } finally {
                    pinAllThreads(all);
                }
            }
        };
    }

    /** OVS-DPDK: a private ovsdb-server and ovs-vswitchd-dpdk, br0 with two dpdkvhostuserclient ports. */
    public static LoopSwitch ovs(Path dir, Path sock0, Path sock1, String prefix) throws Exception {
        Path run = Files.createDirectories(dir.resolve("ovs"));
        OvsDpdk ovs = OvsDpdk.start(run, prefix, OVS_SOCKET_MEM, OVS_SOCKET_LIMIT);
        try {
            ovs.addVhostUserClient("vh0", sock0);
            ovs.addVhostUserClient("vh1", sock1);
        } catch (Exception e) {
            ovs.close();
            throw e;
        }
        return new LoopSwitch() {
            @Override
            public void clearStats() throws Exception {
                ovs.clearPmdStats();
            }

            @Override
            public double cyclesPerPacket() throws Exception {
                return ovs.cyclesPerPacket();
            }

            @Override
            public boolean alive() {
                return ovs.alive();
            }

            @Override
            public String log() {
                return ovs.log();
            }

            @Override
            public void close() throws Exception {
                ovs.close();
            }
        };
    }

    /** panda's vswitch in this process: br0 with two net_vhost client ports, one pmd on the switch CPU. */
    public static Starter panda(PmdConfig.Mode mode, String idle) {
        return panda(mode, idle, (v, dir, cpus) -> () -> {});
    }

    /**
     * Something run beside a panda switch once it runs (a metrics listener and a scraper, control API
     * clients), given the switch's run directory and the CPUs off the pmd core; closed before the
     * switch.
     */
    public interface Alongside {
        AutoCloseable start(Vswitch v, Path dir, int[] offPmdCpus) throws Exception;
    }

    /** {@link #panda(PmdConfig.Mode, String)} with {@code alongside} started once the switch runs. */
    public static Starter panda(PmdConfig.Mode mode, String idle, Alongside alongside) {
        return (dir, sock0, sock1, prefix) -> {
            int[] all = Posix.getAffinity();
            int[] others = Arrays.stream(all).filter(c -> c != SWITCH_CPU).toArray();
            // as panda vswitch does: the JVM's other threads (JIT, GC, this one) stay off the pmd core
            pinAllThreads(others.length > 0 ? others : all);
            PmdConfig pmd = new PmdConfig(
                    List.of(SWITCH_CPU),
                    mode,
                    idle,
                    new PmdConfig.Stages(SWITCH_CPU, SWITCH_CPU),
                    PmdConfig.DEFAULT_RING_SIZE);
            BridgeConfig br0 = BridgeConfig.of("br0")
                    .withPorts(List.of(
                            PortConfig.of("vm0", "net_vhost0,iface=" + sock0 + ",client=1"),
                            PortConfig.of("vm1", "net_vhost1,iface=" + sock1 + ",client=1")));
            Vswitch v;
            try {
                PacketPool pool = PacketPool.create(PoolConfig.defaults());
                v = Vswitch.start(new VswitchConfig(pmd, List.of(br0)), pool, new int[] {SWITCH_CPU}, true);
            } catch (RuntimeException e) {
                pinAllThreads(all);
                throw e;
            }
            AutoCloseable beside;
            try {
                beside = alongside.start(v, dir, others.length > 0 ? others : all);
            } catch (Exception e) {
                v.close();
                pinAllThreads(all);
                throw e;
            }
            return new LoopSwitch() {
                @Override
                public void clearStats() {
                    v.clearPmdStats();
                }

                /** Every data-path thread's busy cycles (poller, and classify and tx in a pipeline) over the packets received. */
                @Override
                public double cyclesPerPacket() {
                    double cycles = 0;
                    long received = 0;
                    for (Views.PmdStatsView s : v.pmdStats()) {
                        cycles += s.busyCyclesPerPacket() * s.packets();
                        if (s.role().equals("rtc") || s.role().equals("poller")) {
                            received += s.packets();
                        }
                    }
                    return received == 0 ? Double.NaN : cycles / received;
                }

                @Override
                public boolean alive() {
                    return true;
                }

                @Override
                public String log() {
                    return v.pmdStats().toString();
                }

                @Override
                public void close() throws Exception {
                    try {
                        beside.close();
                    } finally {
                        try {
                            v.close();
                        } finally {
                            pinAllThreads(all);
                        }
                    }
                }
            };
        };
    }

    /** Sets the affinity of every thread this JVM has now; threads made later inherit their creator's. */
    private static void pinAllThreads(int[] cpus) {
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path t : tasks) {
                try {
                    Posix.setThreadAffinity(Integer.parseInt(t.getFileName().toString()), cpus);
                } catch (RuntimeException e) {
                    // a thread that ended meanwhile
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Removes a run directory and what is in it. */
    public static void deleteTree(Path dir) throws java.io.IOException {
        if (!java.nio.file.Files.exists(dir)) {
            return;
        }
        try (var files = java.nio.file.Files.walk(dir)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                java.nio.file.Files.deleteIfExists(p);
            }
        }
    }
}
