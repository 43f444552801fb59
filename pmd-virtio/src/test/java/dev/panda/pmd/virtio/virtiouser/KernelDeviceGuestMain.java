package dev.panda.pmd.virtio.virtiouser;

import static dev.panda.pmd.virtio.guest.GuestFrames.frame;
import static dev.panda.pmd.virtio.guest.GuestFrames.macBytes;
import static dev.panda.pmd.virtio.guest.GuestFrames.parseMac;
import static dev.panda.pmd.virtio.guest.GuestFrames.verify;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortStats;
import dev.panda.dataplane.port.Ports;
import dev.panda.dataplane.testpmd.Testpmd;
import dev.panda.dataplane.testpmd.TestpmdOptions;
import dev.panda.jextract.NativeException;
import dev.panda.pmd.virtio.guest.GuestCases;
import dev.panda.pmd.virtio.guest.PacketSocket;
import dev.panda.pmd.virtio.ring.VirtioFeatures;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.stream.Stream;

/**
 * Runs inside a QEMU guest, one JVM for every case: panda's {@code net_virtio_user} driving a
 * kernel device. {@code vhost-net TAP}: the guest kernel's vhost-net with the TAP panda creates as
 * its backend, frames both ways with the kernel's interface (an AF_PACKET socket on the TAP),
 * the TAP's counters equal to panda's, everything released on close, and ioctl and open errors
 * as one line. {@code vdpa MAC}: panda's own VDUSE device ({@code net_vduse}, bound to
 * vhost_vdpa) driven by panda's {@code net_virtio_user} on the /dev/vhost-vdpa-N it gets, through
 * the kernel's vDPA bus, with memory at IOVAs that differ from panda's addresses: frames both
 * ways, intact, counters equal, everything released. Prints {@code PANDA-CASE name
 * ok|FAIL ms detail} per case and {@code PANDA-KDEV-DONE failures=N} at the end.
 */
public final class KernelDeviceGuestMain {

    static final int ETH_TO_PANDA = 0x88b5;
    static final int PANDA_TO_ETH = 0x88b6;
    static final int FRAMES = 300;

    private final PacketPool pool =
            PacketPool.create(PoolConfig.defaults().withCount(4096).withHugepages(PoolConfig.Hugepages.OFF));
    private final PacketBurst burst = new PacketBurst(32);
    private final GuestCases cases = new GuestCases(System.out);
    private Port port;

    public static void main(String[] args) throws Throwable {
        KernelDeviceGuestMain m = new KernelDeviceGuestMain();
        switch (args[0]) {
            case "vhost-net" -> m.vhostNet(args[1]);
            case "vdpa" -> m.vdpa(args[1]);
            default -> throw new IllegalArgumentException("mode " + args[0]);
        }
        m.pool.close();
        System.out.println("PANDA-KDEV-DONE failures=" + m.cases.failures());
        System.exit(m.cases.failures() == 0 ? 0 : 1);
    }

    private void run(String name, GuestCases.Case c) {
        cases.run(name, c);
    }

    static void check(boolean ok, String what) {
        GuestCases.check(ok, what);
    }

    // ---- vhost-net ------------------------------------------------------------------------------

    private void vhostNet(String tap) {
        java.util.List<String> fds0 = fds();
        long[] tap0 = new long[2];
        byte[][] tapMac = new byte[1][];
        run("vhost-net-open", () -> {
            long t0 = System.nanoTime();
            port = Ports.discover().open("net_virtio_user0,path=/dev/vhost-net,iface=" + tap, PortContext.of(pool, 0));
            long opened = System.nanoTime() - t0;
            VirtioUserPort p = (VirtioUserPort) port;
            check(p.link().up(), "link down");
            check(
                    VirtioFeatures.has(p.features(), VirtioFeatures.F_VERSION_1),
                    "features 0x" + Long.toHexString(p.features()));
            check(Files.isDirectory(Path.of("/sys/class/net", tap)), "no interface " + tap);
            sh("ip", "link", "set", tap, "up");
            tapMac[0] = parseMac(
                    Files.readString(Path.of("/sys/class/net", tap, "address")).trim());
            tap0[0] = tapCounter(tap, "tx_packets");
            tap0[1] = tapCounter(tap, "rx_packets");
            return String.format("open %d ms, features 0x%x, TAP %s up", opened / 1_000_000, p.features(), tap);
        });
        if (port == null) {
            return;
        }
        run("kernel-to-panda", () -> kernelToPanda(tap, tapMac[0]));
        run("panda-to-kernel", () -> pandaToKernel(tap, tapMac[0]));
        run("counters", () -> {
            PortStats st = port.stats();
            long tx = tapCounter(tap, "tx_packets") - tap0[0];
            long rx = tapCounter(tap, "rx_packets") - tap0[1];
            check(tx == st.ipackets(), "the TAP sent " + tx + ", panda received " + st.ipackets());
            check(rx == st.opackets(), "panda sent " + st.opackets() + ", the TAP received " + rx);
            check(st.ierrors() == 0 && st.oerrors() == 0, "errors in " + st);
            return "TAP tx " + tx + " = panda ipackets, TAP rx " + rx + " = panda opackets";
        });
        run("close", () -> {
            port.close();
            check(pool.available() == pool.capacity(), "pool buffers lost: " + (pool.capacity() - pool.available()));
            check(!Files.exists(Path.of("/sys/class/net", tap)), "the TAP is still there after close");
            check(fds().equals(fds0), "open after close " + fds() + ", before open " + fds0);
            return "every buffer back, TAP gone, the " + fds0.size() + " fds open before (jars aside) and no others";
        });
        run("errors", () -> {
            String a = "";
            try (VhostVdpaTransport t = new VhostVdpaTransport("err", "/dev/vhost-net")) {
                throw new AssertionError("a vhost-vdpa set-up on vhost-net succeeded: " + t);
            } catch (NativeException e) {
                check(
                        e.getMessage().startsWith("VHOST_VDPA_GET_DEVICE_ID on /dev/vhost-net failed: ENOTTY"),
                        e.getMessage());
                a = e.getMessage();
            }
            String b = "";
            try {
                Ports.discover().open("net_virtio_user1,path=/dev/vhost-vdpa-9", PortContext.of(pool, 1));
                throw new AssertionError("opened a missing vhost-vdpa device");
            } catch (DeviceException e) {
                check(
                        e.getMessage().contains("open(/dev/vhost-vdpa-9) failed: ENOENT")
                                && e.getMessage().contains("vhost_vdpa module"),
                        e.getMessage());
                b = e.getMessage();
            }
            check(fds().equals(fds0), "open after the failures " + fds() + ", before " + fds0);
            check(pool.available() == pool.capacity(), "pool buffers lost");
            return a + " | " + b;
        });
        run("testpmd-icmpecho", () -> icmpecho(tap + "e"));
    }

    /**
     * panda's testpmd in icmpecho on {@code --vdev net_virtio_user0,path=/dev/vhost-net,iface=TAP2}:
     * the guest kernel pings 198.18.0.1 through the TAP (ARP first) and panda answers.
     */
    private String icmpecho(String tap) throws Throwable {
        TestpmdOptions o = TestpmdOptions.parse(
                "-l",
                "0,1",
                "--no-huge",
                "--vdev",
                "net_virtio_user0,path=/dev/vhost-net,iface=" + tap,
                "--",
                "--forward-mode=icmpecho",
                "--port-topology=loop",
                "--idle=park",
                "--no-pin",
                "--total-num-mbufs=4096");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        try (Testpmd app = Testpmd.open(o, new PrintStream(log, true))) {
            sh("ip", "addr", "add", "198.18.0.2/24", "dev", tap);
            sh("ip", "link", "set", tap, "up");
            app.start(0);
            Process ping = new ProcessBuilder("ping", "-c", "5", "-W", "5", "198.18.0.1")
                    .redirectErrorStream(true)
                    .start();
            ping.getOutputStream().close();
            String out;
            try (var in = ping.getInputStream()) {
                out = new String(in.readAllBytes());
            }
            int rc = ping.waitFor();
            ping.getErrorStream().close();
            app.stop();
            PortStats st = app.portStats(0);
            check(rc == 0 && out.contains("5 packets received"), "ping rc " + rc + ": " + out.replace('\n', '|'));
            check(st.opackets() >= 6, "panda sent " + st.opackets() + " (5 replies and an ARP reply)");
            return "5/5 echo replies through vhost-net; panda rx " + st.ipackets() + " tx " + st.opackets() + "; "
                    + out.lines()
                            .filter(l -> l.contains("round-trip"))
                            .findFirst()
                            .orElse("");
        }
    }

    /** The kernel sends FRAMES frames of 60..1514 bytes through the TAP; panda must get each once, intact. */
    private String kernelToPanda(String ifname, byte[] ifMac) throws Throwable {
        BitSet seen = new BitSet();
        int sent = 0;
        int other = 0;
        long deadline = System.nanoTime() + 60_000_000_000L;
        try (PacketSocket s = new PacketSocket(ifname)) {
            while (seen.cardinality() < FRAMES && System.nanoTime() < deadline) {
                for (int k = 0; k < 8 && sent < FRAMES && sent - seen.cardinality() < 64; k++, sent++) {
                    s.send(frame(port.mac(), ifMac, ETH_TO_PANDA, sent));
                }
                int n = port.rxBurst(0, burst);
                for (int i = 0; i < n; i++) {
                    int seq = verify(bytes(burst.handles[i]), ETH_TO_PANDA);
                    if (seq < 0) {
                        other++;
                    } else {
                        check(!seen.get(seq), "frame " + seq + " received twice");
                        seen.set(seq);
                    }
                }
                pool.freeBulk(burst.handles, 0, n);
                if (n == 0) {
                    Thread.sleep(1);
                }
            }
        }
        PortStats st = port.stats();
        check(
                seen.cardinality() == FRAMES,
                "received " + seen.cardinality() + " of " + FRAMES + " (first missing " + seen.nextClearBit(0)
                        + "), stats " + st);
        return "kernel sent " + FRAMES + ", panda received all intact (+" + other + " other frames)";
    }

    /** panda sends FRAMES frames; the kernel's AF_PACKET socket on the TAP must get each once, intact. */
    private String pandaToKernel(String ifname, byte[] ifMac) throws Throwable {
        BitSet seen = new BitSet();
        try (PacketSocket s = new PacketSocket(ifname)) {
            int sent = 0;
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (seen.cardinality() < FRAMES && System.nanoTime() < deadline) {
                boolean more = sent < FRAMES && sent - seen.cardinality() < 32;
                if (more) {
                    int want = Math.min(8, FRAMES - sent);
                    int got = pool.allocBulk(burst.handles, 0, want);
                    for (int i = 0; i < got; i++) {
                        write(burst.handles[i], frame(ifMac, macBytes(port.mac()), PANDA_TO_ETH, sent + i));
                    }
                    int k = port.txBurst(0, burst, got);
                    pool.freeBulk(burst.handles, k, got - k);
                    sent += k;
                }
                byte[] f;
                while ((f = s.receive(more ? 0 : 100)) != null) {
                    int seq = verify(f, PANDA_TO_ETH);
                    if (seq >= 0) {
                        check(!seen.get(seq), "frame " + seq + " received twice by the kernel");
                        seen.set(seq);
                    }
                }
            }
            port.txBurst(0, burst, 0);
        }
        check(
                seen.cardinality() == FRAMES,
                "kernel received " + seen.cardinality() + " of " + FRAMES + " (first missing " + seen.nextClearBit(0)
                        + "), stats " + port.stats());
        return "panda sent " + FRAMES + ", kernel received all intact";
    }

    // ---- vhost-vdpa on panda's VDUSE device ------------------------------------------------------

    /**
     * panda's {@code net_vduse} as the device (bound to vhost_vdpa, so /dev/vhost-vdpa-N appears),
     * panda's {@code net_virtio_user} as its driver through the kernel's vDPA bus: frames both ways,
     * memory mapped at IOVAs that are not panda's addresses.
     */
    private void vdpa(String mac) {
        java.util.List<String> fds0 = fds();
        Port[] dev = new Port[1];
        String[] node = new String[1];
        run("vdpa-open", () -> {
            long t0 = System.nanoTime();
            dev[0] = Ports.discover().open("net_vduse0,attach=vhost,mac=" + mac, PortContext.of(pool, 0));
            long created = System.nanoTime() - t0;
            try (Stream<Path> s = Files.list(Path.of("/dev"))) {
                java.util.List<String> nodes = s.map(p -> p.getFileName().toString())
                        .filter(n -> n.startsWith("vhost-vdpa-"))
                        .toList();
                check(nodes.size() == 1, "vhost-vdpa nodes: " + nodes);
                node[0] = "/dev/" + nodes.get(0);
            }
            long t1 = System.nanoTime();
            port = Ports.discover().open("net_virtio_user1,path=" + node[0], PortContext.of(pool, 1));
            long opened = System.nanoTime() - t1;
            VirtioUserPort p = (VirtioUserPort) port;
            check(p.link().up(), "virtio-user link down");
            check(
                    p.mac() == java.util.HexFormat.fromHexDigitsToLong(mac.replace(":", "")),
                    "MAC from the config space " + Long.toHexString(p.mac()) + ", the device has " + mac);
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (!dev[0].link().up() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            check(dev[0].link().up(), "net_vduse never saw DRIVER_OK");
            long[] iova = p.deviceAddresses();
            long[] user = p.userAddresses();
            for (int i = 0; i < iova.length; i++) {
                check(iova[i] != user[i], "region " + i + " at IOVA 0x" + Long.toHexString(iova[i]) + " = its address");
            }
            return String.format(
                    "net_vduse0 on the bus %d ms, %s opened %d ms, features 0x%x, MAC %s; pool at IOVA 0x%x"
                            + " (address 0x%x), rings at IOVA 0x%x (address 0x%x)",
                    created / 1_000_000,
                    node[0],
                    opened / 1_000_000,
                    p.features(),
                    mac,
                    iova[0],
                    user[0],
                    iova[1],
                    user[1]);
        });
        if (port == null || dev[0] == null) {
            closeQuietly(dev[0]);
            return;
        }
        run("virtio-user-to-vduse", () -> move(port, dev[0], PANDA_TO_ETH));
        run("vduse-to-virtio-user", () -> move(dev[0], port, ETH_TO_PANDA));
        run("vdpa-counters", () -> {
            PortStats v = port.stats();
            PortStats d = dev[0].stats();
            check(v.opackets() == d.ipackets(), "virtio-user sent " + v.opackets() + ", net_vduse got " + d.ipackets());
            check(d.opackets() == v.ipackets(), "net_vduse sent " + d.opackets() + ", virtio-user got " + v.ipackets());
            check(v.ierrors() == 0 && v.oerrors() == 0, "virtio-user errors in " + v);
            return "virtio-user tx " + v.opackets() + " = vduse rx, vduse tx " + d.opackets() + " = virtio-user rx";
        });
        run("vdpa-close", () -> {
            port.close();
            dev[0].close();
            check(pool.available() == pool.capacity(), "pool buffers lost: " + (pool.capacity() - pool.available()));
            check(fds().equals(fds0), "open after close " + fds() + ", before open " + fds0);
            return "every buffer back, the " + fds0.size() + " fds open before (jars aside) and no others";
        });
    }

    /** {@code from} sends FRAMES frames to {@code to}, at most 32 unreceived at a time; each must arrive once, intact. */
    private String move(Port from, Port to, int type) throws Throwable {
        BitSet seen = new BitSet();
        byte[] src = macBytes(from.mac());
        PacketBurst in = new PacketBurst(32);
        int sent = 0;
        int other = 0;
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (seen.cardinality() < FRAMES && System.nanoTime() < deadline) {
            if (sent < FRAMES && sent - seen.cardinality() < 32) {
                int want = Math.min(8, FRAMES - sent);
                int got = pool.allocBulk(burst.handles, 0, want);
                for (int i = 0; i < got; i++) {
                    write(burst.handles[i], frame(to.mac(), src, type, sent + i));
                }
                int k = from.txBurst(0, burst, got);
                pool.freeBulk(burst.handles, k, got - k);
                sent += k;
            }
            from.rxBurst(0, in); // the other direction stays drained (nothing is expected there)
            pool.freeBulk(in.handles, 0, in.size);
            int n = to.rxBurst(0, in);
            for (int i = 0; i < n; i++) {
                int seq = verify(bytes(in.handles[i]), type);
                if (seq < 0) {
                    other++;
                } else {
                    check(!seen.get(seq), "frame " + seq + " arrived twice");
                    seen.set(seq);
                }
            }
            pool.freeBulk(in.handles, 0, n);
            if (n == 0) {
                Thread.sleep(1);
            }
        }
        from.txBurst(0, burst, 0);
        check(
                seen.cardinality() == FRAMES,
                "got " + seen.cardinality() + " of " + FRAMES + " (first missing " + seen.nextClearBit(0) + "), "
                        + from.name() + " " + from.stats() + ", " + to.name() + " " + to.stats());
        return from.name() + " sent " + FRAMES + " frames of 60..1514 bytes, " + to.name() + " received all intact (+"
                + other + " other)";
    }

    private static void closeQuietly(Port p) {
        if (p != null) {
            p.close();
        }
    }

    // ---- helpers --------------------------------------------------------------------------------

    private byte[] bytes(int h) {
        MemorySegment mem = pool.segment();
        return mem.asSlice(pool.dataOffset(h), pool.length(h)).toArray(ValueLayout.JAVA_BYTE);
    }

    private void write(int h, byte[] f) {
        MemorySegment.copy(f, 0, pool.segment(), ValueLayout.JAVA_BYTE, pool.dataOffset(h), f.length);
        pool.setLength(h, f.length);
    }

    private static long tapCounter(String tap, String name) throws Exception {
        return Long.parseLong(Files.readString(Path.of("/sys/class/net", tap, "statistics", name))
                .trim());
    }

    /**
     * What this process has open ({@code /proc/self/fd} link targets), less the jars the class
     * loader opens on first use: those stay open and are not the port's.
     */
    private static java.util.List<String> fds() {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.map(p -> {
                        try {
                            return Files.readSymbolicLink(p).toString();
                        } catch (Exception e) {
                            return "?"; // the directory stream's own fd, gone by now
                        }
                    })
                    .filter(t -> !t.endsWith(".jar") && !t.equals("?"))
                    .sorted()
                    .toList();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void sh(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out;
        try (var in = p.getInputStream()) {
            out = new String(in.readAllBytes());
        }
        int rc = p.waitFor();
        p.getErrorStream().close();
        check(rc == 0, String.join(" ", cmd) + " exited " + rc + ": " + out);
    }
}
