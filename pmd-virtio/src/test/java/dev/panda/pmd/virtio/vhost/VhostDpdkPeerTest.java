package dev.panda.pmd.virtio.vhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortStats;
import dev.panda.dataplane.port.Ports;
import dev.panda.dataplane.testing.DpdkFiles;
import dev.panda.jextract.Posix;
import dev.panda.pmd.virtio.RxSink;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * panda's net_vhost against DPDK 22.11's virtio-user, a front-end nobody here wrote: DPDK testpmd
 * in txonly sends 64-byte frames into panda, which receives in a poll loop on this thread's
 * side; every packet DPDK counts as sent must be received by panda (or counted as a drop).
 * Uses the two CPUs politely: panda's poller on CPU 0, DPDK's lcores both on CPU 1. Each way runs
 * with split rings and with packed ones ({@code packed_vq=1}, virtio 1.2 §2.8).
 */
@Tag("peer")
class VhostDpdkPeerTest {

    private static final Path TESTPMD = Path.of("/usr/bin/dpdk-testpmd");
    private static final Pattern NIC_TX = Pattern.compile(
            "NIC statistics for port 0.*?TX-packets:\\s+(\\d+)\\s+TX-errors:\\s+(\\d+)", Pattern.DOTALL);
    private static final Pattern NIC_RX = Pattern.compile(
            "NIC statistics for port 0.*?RX-packets:\\s+(\\d+)\\s+RX-missed:\\s+(\\d+).*?RX-errors:\\s+(\\d+)",
            Pattern.DOTALL);

    @TempDir
    Path dir;

    @ParameterizedTest(name = "packed_vq={0}")
    @ValueSource(ints = {0, 1})
    void dpdkVirtioUserTxonlyIntoPandaRxonlyEveryPacketAccountedFor(int packed) throws Exception {
        if (!Files.isExecutable(TESTPMD)) {
            fail(TESTPMD + " not found: run scripts/setup (installs Debian's dpdk-dev and hugepages)");
        }
        String prefix = "panda-vh-" + ProcessHandle.current().pid() + "-" + packed;
        Path sock = dir.resolve("vh0.sock");
        Path log = dir.resolve("dpdk-testpmd.log");
        try (PacketPool pool =
                PacketPool.create(PoolConfig.defaults().withCount(8192).withHugepages(PoolConfig.Hugepages.OFF))) {
            Port port = Ports.discover().open("net_vhost0,iface=" + sock, PortContext.of(pool, 0));
            RxSink sink = new RxSink("vhost-peer-poller", port, pool, 64, 0);
            Process dpdk = null;
            try {
                dpdk = new ProcessBuilder(
                                TESTPMD.toString(),
                                "--lcores",
                                "0@1,1@1",
                                "-m",
                                "512",
                                "--no-pci",
                                "--single-file-segments",
                                "--file-prefix",
                                prefix,
                                "--log-level",
                                "user1,info",
                                "--vdev",
                                "net_virtio_user0,path=" + sock + ",packed_vq=" + packed,
                                "--",
                                "-i",
                                "--forward-mode=txonly",
                                "--txpkts=64")
                        .redirectErrorStream(true)
                        .redirectOutput(log.toFile())
                        .start();
                OutputStream cmd = dpdk.getOutputStream();
                awaitLinkUp(port, dpdk, log);
                command(cmd, "start");
                sleep(4000);
                assertTrue(sink.received() > 0, "no packet arrived while DPDK was sending\n" + tail(log));
                command(cmd, "stop");
                // what DPDK put in the ring still drains into panda
                sink.awaitDrained();
                command(cmd, "show port stats all");
                command(cmd, "quit");
                if (!dpdk.waitFor(15, TimeUnit.SECONDS)) {
                    fail("dpdk-testpmd did not quit\n" + tail(log));
                }
                String out = Files.readString(log);
                Matcher m = NIC_TX.matcher(out);
                assertTrue(m.find(), "no NIC statistics in dpdk-testpmd's output\n" + tail(log));
                long dpdkSent = Long.parseLong(m.group(1));
                sink.close();
                PortStats s = port.stats();
                System.out.printf(
                        "DPDK virtio-user TX-packets %d, panda net_vhost0 RX-packets %d (ierrors %d, "
                                + "rx_nombuf %d)%n",
                        dpdkSent, s.ipackets(), s.ierrors(), s.rxNombuf());
                assertTrue(dpdkSent > 0, "DPDK sent nothing\n" + tail(log));
                assertEquals(dpdkSent, s.ipackets() + s.ierrors(), "every packet DPDK sent is received or counted");
                assertEquals(0, s.ierrors());
                assertEquals(dpdkSent, sink.received());
                assertEquals(dpdkSent * 64, s.ibytes());
                assertEquals(0, sink.wrongLength(), "frames that are not 64 bytes");
            } finally {
                sink.close();
                if (dpdk != null && dpdk.isAlive()) {
                    dpdk.destroy(); // SIGTERM: testpmd cleans up and exits
                    if (!dpdk.waitFor(5, TimeUnit.SECONDS)) {
                        dpdk.destroyForcibly().waitFor();
                    }
                }
                port.close();
                DpdkFiles.remove(prefix);
            }
        }
    }

    @ParameterizedTest(name = "packed_vq={0}")
    @ValueSource(ints = {0, 1})
    void pandaTxIntoDpdkVirtioUserRxonlyEveryPacketAccountedFor(int packed) throws Exception {
        if (!Files.isExecutable(TESTPMD)) {
            fail(TESTPMD + " not found: run scripts/setup (installs Debian's dpdk-dev and hugepages)");
        }
        String prefix = "panda-vh-" + ProcessHandle.current().pid() + "-rx" + packed;
        Path sock = dir.resolve("vh1.sock");
        Path log = dir.resolve("dpdk-testpmd-rx.log");
        try (PacketPool pool =
                PacketPool.create(PoolConfig.defaults().withCount(8192).withHugepages(PoolConfig.Hugepages.OFF))) {
            Port port = Ports.discover().open("net_vhost1,iface=" + sock, PortContext.of(pool, 1));
            AtomicBoolean stop = new AtomicBoolean();
            Thread poller = Thread.ofPlatform().name("vhost-peer-tx").unstarted(() -> {
                try {
                    Posix.setAffinity(0);
                } catch (RuntimeException ignored) {
                    // not fatal: only politeness
                }
                PacketBurst burst = new PacketBurst(32);
                while (!stop.get()) {
                    int n = pool.allocBulk(burst.handles, 0, 32);
                    for (int i = 0; i < n; i++) {
                        int h = burst.handles[i];
                        pool.setLength(h, 64);
                        // broadcast destination, locally administered source, IPv4 ethertype
                        pool.segment().asSlice(pool.dataOffset(h), 64).fill((byte) 0);
                        pool.segment().asSlice(pool.dataOffset(h), 6).fill((byte) 0xff);
                        pool.segment()
                                .set(java.lang.foreign.ValueLayout.JAVA_BYTE, pool.dataOffset(h) + 6, (byte) 0x02);
                        pool.segment()
                                .set(java.lang.foreign.ValueLayout.JAVA_BYTE, pool.dataOffset(h) + 12, (byte) 0x08);
                    }
                    int sent = port.txBurst(0, burst, n);
                    pool.freeBulk(burst.handles, sent, n - sent);
                    if (sent == 0) {
                        Thread.yield();
                    }
                }
            });
            Process dpdk = null;
            try {
                dpdk = new ProcessBuilder(
                                TESTPMD.toString(),
                                "--lcores",
                                "0@1,1@1",
                                "-m",
                                "512",
                                "--no-pci",
                                "--single-file-segments",
                                "--file-prefix",
                                prefix,
                                "--vdev",
                                "net_virtio_user0,path=" + sock + ",packed_vq=" + packed,
                                "--",
                                "-i",
                                "--forward-mode=rxonly")
                        .redirectErrorStream(true)
                        .redirectOutput(log.toFile())
                        .start();
                OutputStream cmd = dpdk.getOutputStream();
                awaitLinkUp(port, dpdk, log);
                command(cmd, "start");
                sleep(1000);
                poller.start();
                sleep(3000);
                stop.set(true);
                poller.join();
                sleep(1000); // DPDK's forwarding lcore takes what is still in its ring
                command(cmd, "stop");
                command(cmd, "show port stats all");
                command(cmd, "quit");
                if (!dpdk.waitFor(15, TimeUnit.SECONDS)) {
                    fail("dpdk-testpmd did not quit\n" + tail(log));
                }
                String out = Files.readString(log);
                Matcher m = NIC_RX.matcher(out);
                assertTrue(m.find(), "no NIC statistics in dpdk-testpmd's output\n" + tail(log));
                long dpdkReceived = Long.parseLong(m.group(1));
                PortStats s = port.stats();
                System.out.printf(
                        "panda net_vhost1 TX-packets %d (oerrors %d), DPDK virtio-user RX-packets %d "
                                + "(RX-missed %s, RX-errors %s)%n",
                        s.opackets(), s.oerrors(), dpdkReceived, m.group(2), m.group(3));
                assertTrue(s.opackets() > 0, "panda sent nothing\n" + tail(log));
                assertEquals(0, s.oerrors());
                assertEquals(s.opackets(), dpdkReceived, "every packet panda put in DPDK's ring was received");
                assertEquals(s.opackets() * 64, s.obytes());
            } finally {
                stop.set(true);
                if (poller.isAlive()) {
                    poller.join();
                }
                if (dpdk != null && dpdk.isAlive()) {
                    dpdk.destroy();
                    if (!dpdk.waitFor(5, TimeUnit.SECONDS)) {
                        dpdk.destroyForcibly().waitFor();
                    }
                }
                port.close();
                DpdkFiles.remove(prefix);
            }
        }
    }

    private static void awaitLinkUp(Port port, Process dpdk, Path log) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!port.link().up()) {
            if (!dpdk.isAlive()) {
                fail("dpdk-testpmd exited with " + dpdk.exitValue() + " before connecting\n" + tail(log));
            }
            if (System.nanoTime() > deadline) {
                fail("DPDK's virtio-user never started a vring on panda\n" + tail(log));
            }
            sleep(50);
        }
    }

    private static void command(OutputStream cmd, String line) throws IOException {
        cmd.write((line + "\n").getBytes(StandardCharsets.US_ASCII));
        cmd.flush();
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    private static String tail(Path log) throws IOException {
        if (!Files.exists(log)) {
            return "(no dpdk-testpmd output)";
        }
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }
}
