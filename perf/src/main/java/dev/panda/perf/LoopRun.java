package dev.panda.perf;

import dev.panda.perf.LoopSwitches.LoopSwitch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * One run of the vswitch loop at a time: a private directory for the sockets (and OVS's run
 * directory and DB), the traffic side started first (its virtio-user servers create the sockets),
 * then the switch, traffic kicked off, a warm-up, and the measured window. Everything it started is
 * stopped by PID and removed when the run ends; a shutdown hook does the same if the JVM is stopped
 * in the middle.
 */
final class LoopRun implements AutoCloseable {

    private final int warmup;
    private final int seconds;
    private final Path base;
    private final String prefix = "panda-loop-" + ProcessHandle.current().pid();
    private final Thread hook;
    private int runs;
    /** Set by the shutdown hook: no run starts any more. */
    private volatile boolean stopping;

    LoopRun(int warmup, int seconds) throws IOException {
        this.warmup = warmup;
        this.seconds = seconds;
        this.base = Files.createTempDirectory("panda-vswitch-loop");
        this.hook = new Thread(this::emergencyCleanup, "vswitch-loop-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /**
     * Runs the loop through the switch {@code starter} makes; returns {loop Mpps, the switch's busy
     * cycles per packet, the traffic side's busy cycles per packet}. The traffic side does the same
     * work in every run, so its figure moves only with the placement the host gave the run (and a
     * little with the switch's cache traffic): a reader can tell a slow switch from a slow run.
     */
    double[] measure(String name, LoopSwitches.Starter starter) throws Exception {
        if (stopping) {
            throw new IOException("stopping");
        }
        Path dir = Files.createDirectory(base.resolve("run" + ++runs + "-" + name));
        Path sock0 = dir.resolve("vm0.sock");
        Path sock1 = dir.resolve("vm1.sock");
        try (InteractiveTestpmd traffic = LoopSwitches.traffic(sock0, sock1, prefix + "-gen");
                LoopSwitch sw = starter.start(dir, sock0, sock1, prefix + "-sw")) {
            try {
                traffic.awaitPrompt(System.nanoTime() + TimeUnit.SECONDS.toNanos(60));
                kickOff(traffic);
                Thread.sleep(TimeUnit.SECONDS.toMillis(warmup));
                sw.clearStats();
                traffic.command("clear fwd stats all", 10);
                long t0 = System.nanoTime();
                long rx0 = sum(traffic.rxPackets());
                long t0b = System.nanoTime();
                Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
                long t1 = System.nanoTime();
                long rx1 = sum(traffic.rxPackets());
                long t1b = System.nanoTime();
                double cycles = sw.cyclesPerPacket();
                double trafficCycles = traffic.cyclesPerPacket();
                if (!sw.alive()) {
                    throw new IOException(name + " died during the run; its output:\n" + sw.log());
                }
                double window = ((t1 + t1b) / 2.0 - (t0 + t0b) / 2.0) / 1e9;
                return new double[] {(rx1 - rx0) / window / 1e6, cycles, trafficCycles};
            } catch (IOException e) {
                throw new IOException(
                        e.getMessage() + "\n" + name + "'s output:\n" + VswitchLoopComparison.tail(sw.log(), 30), e);
            }
        } finally {
            LoopSwitches.deleteTree(dir);
        }
    }

    /**
     * {@code start tx_first 32}, and again if nothing came back: a switch whose queues were not yet
     * ready when the first bursts left has dropped them.
     */
    private static void kickOff(InteractiveTestpmd traffic) throws IOException, InterruptedException {
        for (int attempt = 0; attempt < 10; attempt++) {
            traffic.command("start tx_first 32", 10);
            Thread.sleep(500);
            long a = sum(traffic.rxPackets());
            Thread.sleep(500);
            long b = sum(traffic.rxPackets());
            if (b > a) {
                return;
            }
            traffic.command("stop", 10);
            Thread.sleep(1000);
        }
        throw new IOException("no packet came back through the switch after 10 times tx_first 32");
    }

    private static long sum(long[] v) {
        long s = 0;
        for (long x : v) {
            s += x;
        }
        return s;
    }

    private void emergencyCleanup() {
        stopping = true;
        ProcessHandle.current().descendants().forEach(ProcessHandle::destroy);
        try {
            Thread.sleep(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        ProcessHandle.current().descendants().forEach(ProcessHandle::destroyForcibly);
        removeAll();
    }

    private void removeAll() {
        try {
            for (String p : new String[] {prefix + "-gen", prefix + "-sw"}) {
                DpdkProcess.removeLeftovers(p);
            }
            LoopSwitches.deleteTree(base);
        } catch (IOException e) {
            System.err.println("vswitch-loop: cleanup: " + e.getMessage());
        }
    }

    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // shutting down: the hook runs
        }
        removeAll();
    }
}
