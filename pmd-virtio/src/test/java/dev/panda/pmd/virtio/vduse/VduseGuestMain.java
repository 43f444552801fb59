package dev.panda.pmd.virtio.vduse;

import static dev.panda.pmd.virtio.guest.GuestCases.check;
import static dev.panda.pmd.virtio.guest.GuestFrames.frame;
import static dev.panda.pmd.virtio.guest.GuestFrames.macBytes;
import static dev.panda.pmd.virtio.guest.GuestFrames.verify;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortStats;
import dev.panda.dataplane.port.Ports;
import dev.panda.dataplane.testpmd.Testpmd;
import dev.panda.dataplane.testpmd.TestpmdOptions;
import dev.panda.pmd.virtio.guest.GuestCases;
import dev.panda.pmd.virtio.guest.PacketSocket;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.Writer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.stream.Stream;

/**
 * Runs in the vDPA guest for {@code VduseGuestTest}, one JVM for every case: panda's net_vduse
 * with the guest kernel's own virtio_net on it (virtio_vdpa). The kernel's interface appears with
 * panda's MAC; panda's testpmd in icmpecho answers the kernel's ping (56 and 1472 bytes, and
 * {@code ping -A} × 200 without loss); frames of 60 to 1514 bytes go both ways through an AF_PACKET
 * socket, payloads compared; the interface's counters equal panda's; the driver unbound and bound
 * again mid-traffic (a reset) and the device works again; closing the port removes the device.
 */
public final class VduseGuestMain {

    static final int ETH_TO_PANDA = 0x88b5;
    static final int PANDA_TO_ETH = 0x88b6;
    static final int FRAMES = 300;
    static final String PANDA_IP = "198.18.0.1";
    static final String GUEST_IP = "198.18.0.2";

    private final PacketPool pool =
            PacketPool.create(PoolConfig.defaults().withCount(4096).withHugepages(PoolConfig.Hugepages.OFF));
    private final PacketBurst burst = new PacketBurst(32);
    private final GuestCases cases = new GuestCases(System.out);

    public static void main(String[] args) throws Throwable {
        if (args.length > 0 && args[0].equals("child")) {
            child();
            return;
        }
        new VduseGuestMain().run();
    }

    /**
     * A second panda for the kill-and-restart case: testpmd icmpecho on net_vduse0, "CHILD-READY"
     * once started, then runs until it is killed.
     */
    static void child() throws Throwable {
        try (Testpmd app = Testpmd.open(icmpechoOptions(), new PrintStream(new ByteArrayOutputStream(), true))) {
            app.start(0);
            System.out.println("CHILD-READY " + mac(app.port(0).mac()));
            Thread.sleep(Long.MAX_VALUE);
        }
    }

    static TestpmdOptions icmpechoOptions() {
        return TestpmdOptions.parse(
                "-l",
                "0,1",
                "--no-huge",
                "--vdev",
                "net_vduse0",
                "--",
                "--forward-mode=icmpecho",
                "--port-topology=loop",
                "--idle=park",
                "--no-pin",
                "--total-num-mbufs=4096");
    }

    private void run() {
        try {
            // the kernel's own qdisc choice (fq_codel) drops what waits long under TCG: plain FIFO
            sysctl("net/core/default_qdisc", "pfifo_fast");
        } catch (IOException e) {
            System.out.println("PANDA-GUEST default_qdisc not set: " + e);
        }
        cases.run("icmpecho", this::icmpecho);
        cases.run("removed-on-close", () -> {
            check(!Files.exists(Path.of("/dev/vduse/vduse0")), "/dev/vduse/vduse0 still there");
            check(!Files.exists(Path.of("/sys/bus/vdpa/devices/vduse0")), "vduse0 still on the vDPA bus");
            check(findInterface(0x02_70_6e_00_d5_00L) == null, "the interface is still there");
            return "device destroyed, off the bus, interface gone";
        });
        cases.run("frames-and-counters", this::frames);
        cases.run("driver-reset", this::driverReset);
        cases.run("attach-vhost", this::attachVhost);
        cases.run("sigkill-restart", this::killAndRestart);
        System.out.println("PANDA-VDUSE-DONE failures=" + cases.failures());
        pool.close();
        System.exit(cases.failures() == 0 ? 0 : 1);
    }

    /** testpmd icmpecho on net_vduse0; the guest kernel pings it. */
    private String icmpecho() throws Throwable {
        TestpmdOptions o = icmpechoOptions();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        try (Testpmd app = Testpmd.open(o, new PrintStream(log, true))) {
            long created = System.nanoTime();
            long mac = app.port(0).mac();
            String ifname = awaitInterface(mac, 20_000);
            long appeared = System.nanoTime();
            up(ifname);
            long up = System.nanoTime();
            app.start(0);
            String first = ping(ifname, "-c", "1", "-W", "10", PANDA_IP);
            long replied = System.nanoTime();
            String small = ping(ifname, "-c", "5", "-s", "56", PANDA_IP);
            check(received(small) == 5, "56-byte pings: " + small);
            String large = ping(ifname, "-c", "5", "-s", "1472", PANDA_IP);
            check(received(large) == 5, "1472-byte pings: " + large);
            String flood = ping(ifname, "-A", "-c", "200", "-s", "56", PANDA_IP);
            check(received(flood) == 200, "ping -A: " + flood);
            app.stop();
            PortStats st = app.portStats(0);
            return String.format(
                    "%s mac %s; open %d ms, interface %d ms later, up %d ms, first reply %d ms (%s); 5x56 5x1472 200x-A ok (%s); panda rx %d tx %d",
                    ifname,
                    mac(mac),
                    (created - t0) / 1_000_000,
                    (appeared - created) / 1_000_000,
                    (up - appeared) / 1_000_000,
                    (replied - up) / 1_000_000,
                    line(first, "time="),
                    line(flood, "rtt"),
                    st.ipackets(),
                    st.opackets());
        }
    }

    /**
     * net_vduse0 opened directly (the default offer, with EVENT_IDX and MRG_RXBUF; its interrupt
     * work placed on CPU 0 with {@code irq_cpumask=1}): frames both ways, payloads compared,
     * counters equal the interface's.
     */
    private String frames() throws Throwable {
        var port = (VdusePort) Ports.discover().open("net_vduse0,irq_cpumask=1", PortContext.of(pool, 0));
        try {
            String ifname = awaitInterface(port.mac(), 20_000);
            for (int vq = 0; vq < 2; vq++) {
                Path aff = Path.of("/sys/class/vduse/vduse0/vq" + vq + "/irq_cb_affinity");
                String mask = Files.readString(aff).trim();
                check(Long.parseLong(mask.replace(",", ""), 16) == 1, aff + " reads " + mask + ", not 1");
            }
            long f = port.negotiatedFeatures();
            check(
                    (f & (1L << 29)) != 0 && (f & (1L << 15)) != 0,
                    "virtio_net took EVENT_IDX and MRG_RXBUF: 0x" + Long.toHexString(f));
            sysctl("net/ipv6/conf/" + ifname + "/disable_ipv6", "1"); // no ND or MLD frames of its own
            up(ifname);
            byte[] ifMac = macBytes(Long.parseLong(
                    Files.readString(Path.of("/sys/class/net", ifname, "address"))
                            .trim()
                            .replace(":", ""),
                    16));
            String in = kernelToPanda(port, ifname, ifMac);
            String out = pandaToKernel(port, ifname, ifMac);
            // link state in the config space: the config interrupt makes the kernel read it again
            port.linkState(false);
            awaitCarrier(ifname, "0");
            port.linkState(true);
            awaitCarrier(ifname, "1");
            // drain, then compare with the interface's own counters
            long quiet = System.nanoTime() + 500_000_000L;
            while (System.nanoTime() < quiet) {
                pool.freeBulk(burst.handles, 0, port.rxBurst(0, burst));
                Thread.sleep(5);
            }
            PortStats st = port.stats();
            long kTx = counter(ifname, "tx_packets");
            long kRx = counter(ifname, "rx_packets");
            check(kTx == st.ipackets(), "kernel tx_packets " + kTx + ", panda ipackets " + st.ipackets());
            check(kRx == st.opackets(), "kernel rx_packets " + kRx + ", panda opackets " + st.opackets());
            check(port.badRequests() == 0, "bad requests " + port.badRequests());
            check(port.interrupts(0) > 0, "no interrupt injected for the driver's rx vring");
            return in + "; " + out + "; carrier followed link down and up; interrupts injected rx "
                    + port.interrupts(0) + ", tx " + port.interrupts(1) + "; counters: kernel tx " + kTx
                    + " = panda rx, kernel rx " + kRx
                    + " = panda tx; requests " + port.requests() + ", features 0x"
                    + Long.toHexString(port.negotiatedFeatures());
        } finally {
            port.close();
        }
    }

    /**
     * The driver resets the device mid-traffic: virtio_vdpa unbound while panda transmits (the
     * kernel's virtio_net goes, the device gets status 0: every vring back, every mapping dropped),
     * then bound again: a new interface, and frames flow again.
     */
    private String driverReset() throws Throwable {
        // the base offer (no EVENT_IDX, no MRG_RXBUF): the flag-based suppression and one buffer per frame
        var port = (VdusePort) Ports.discover().open("net_vduse0,event_idx=0,mrg_rxbuf=0", PortContext.of(pool, 0));
        try {
            String ifname = awaitInterface(port.mac(), 20_000);
            up(ifname);
            long resets0 = port.resets();
            Thread sender = Thread.ofPlatform().start(() -> {
                long end = System.nanoTime() + 3_000_000_000L;
                byte[] ifMac = new byte[6];
                int seq = 0;
                while (System.nanoTime() < end) {
                    int[] h = new int[8];
                    int n = pool.allocBulk(h, 0, 8);
                    for (int i = 0; i < n; i++) {
                        byte[] f = frame(ifMac, macBytes(port.mac()), PANDA_TO_ETH, seq++ & 0xff);
                        MemorySegment.copy(
                                f, 0, pool.segment(), ValueLayout.JAVA_BYTE, pool.dataOffset(h[i]), f.length);
                        pool.setLength(h[i], f.length);
                    }
                    PacketBurst b = new PacketBurst(8);
                    System.arraycopy(h, 0, b.handles, 0, n);
                    int k = port.txBurst(0, b, n);
                    pool.freeBulk(b.handles, k, n - k);
                    Thread.onSpinWait();
                }
            });
            Thread.sleep(500);
            Files.writeString(Path.of("/sys/bus/vdpa/drivers/virtio_vdpa/unbind"), port.device());
            long t0 = System.nanoTime();
            while (port.resets() == resets0 && System.nanoTime() - t0 < 10_000_000_000L) {
                Thread.sleep(10);
            }
            check(port.resets() > resets0, "no reset after unbinding virtio_vdpa");
            check(findInterface(port.mac()) == null, "the interface stayed after the unbind");
            sender.join();
            check(!port.link().up(), "link up with no driver");
            Files.writeString(Path.of("/sys/bus/vdpa/drivers/virtio_vdpa/bind"), port.device());
            String again = awaitInterface(port.mac(), 20_000);
            sysctl("net/ipv6/conf/" + again + "/disable_ipv6", "1");
            up(again);
            byte[] ifMac = macBytes(Long.parseLong(
                    Files.readString(Path.of("/sys/class/net", again, "address"))
                            .trim()
                            .replace(":", ""),
                    16));
            String in = kernelToPanda(port, again, ifMac);
            long f = port.negotiatedFeatures();
            check((f & ((1L << 29) | (1L << 15))) == 0, "event_idx=0,mrg_rxbuf=0 negotiated 0x" + Long.toHexString(f));
            return "reset by unbind in " + (System.nanoTime() - t0) / 1_000_000 + " ms (resets " + port.resets()
                    + "), bound again as " + again + "; " + in + "; features 0x" + Long.toHexString(f);
        } finally {
            port.close();
        }
    }

    /** attach=vhost: vhost_vdpa binds instead, /dev/vhost-vdpa-N appears, no kernel interface. */
    private String attachVhost() throws Throwable {
        var port = (VdusePort) Ports.discover().open("net_vduse0,attach=vhost", PortContext.of(pool, 0));
        String node;
        try {
            Path driver = Path.of("/sys/bus/vdpa/devices/vduse0/driver");
            check(Files.isSymbolicLink(driver), "vduse0 bound to no driver");
            String bound = Files.readSymbolicLink(driver).getFileName().toString();
            check(bound.equals("vhost_vdpa"), "vduse0 bound to " + bound);
            try (Stream<Path> s = Files.list(Path.of("/dev"))) {
                node = s.map(p -> p.getFileName().toString())
                        .filter(n -> n.startsWith("vhost-vdpa-"))
                        .findFirst()
                        .orElse(null);
            }
            check(node != null, "no /dev/vhost-vdpa-N");
            check(findInterface(port.mac()) == null, "a kernel interface appeared with attach=vhost");
        } finally {
            port.close();
        }
        check(!Files.exists(Path.of("/dev", node)), "/dev/" + node + " still there after close");
        return "bound to vhost_vdpa, /dev/" + node + " while open, gone after close; no kernel interface";
    }

    /**
     * panda killed with SIGKILL while the kernel drives its device: the kernel keeps the device (the
     * interface stays, nothing answers); a new panda finds the name taken (EEXIST), removes the old
     * device from the bus, destroys it and creates its own: the interface comes back and answers.
     */
    private String killAndRestart() throws Throwable {
        Process first = startChild();
        String ifname = awaitInterface(0x02_70_6e_00_d5_00L, 20_000);
        up(ifname);
        String before = ping(ifname, "-c", "3", PANDA_IP);
        check(received(before) == 3, "before the kill: " + before);
        first.destroyForcibly(); // SIGKILL
        first.waitFor();
        check(Files.exists(Path.of("/dev/vduse/vduse0")), "the kernel dropped the device of a killed panda");
        boolean stays = findInterface(0x02_70_6e_00_d5_00L) != null;
        long t0 = System.nanoTime();
        Process second = startChild();
        long ready = System.nanoTime();
        try {
            String again = awaitInterface(0x02_70_6e_00_d5_00L, 60_000);
            up(again);
            String after = ping(again, "-c", "3", "-W", "5", PANDA_IP);
            check(received(after) == 3, "after the restart: " + after);
            return "after SIGKILL: /dev/vduse/vduse0 kept, interface " + (stays ? "kept" : "gone")
                    + "; the new panda removed and recreated the device (JVM start and open " + (ready - t0) / 1_000_000
                    + " ms), " + again + " answered again " + (System.nanoTime() - ready) / 1_000_000 + " ms later";
        } finally {
            second.destroy();
            second.waitFor();
            // a panda ended by SIGTERM runs no close(): remove what it left as the next one would
            try (VdpaNetlink nl = new VdpaNetlink()) {
                nl.delete("vduse0");
            } catch (RuntimeException ignored) {
                // gone already
            }
        }
    }

    private static Process startChild() throws Exception {
        String javaBin = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(
                        javaBin,
                        "-XX:TieredStopAtLevel=1",
                        "-XX:+UseSerialGC",
                        "-Xmx192m",
                        "-XX:-UsePerfData",
                        "--enable-native-access=ALL-UNNAMED",
                        "-cp",
                        System.getProperty("java.class.path"),
                        VduseGuestMain.class.getName(),
                        "child")
                .redirectErrorStream(true)
                .start();
        var in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String l;
        StringBuilder seen = new StringBuilder();
        while ((l = in.readLine()) != null) {
            if (l.startsWith("CHILD-READY")) {
                Thread.ofPlatform().daemon().start(() -> {
                    try {
                        in.transferTo(Writer.nullWriter());
                    } catch (IOException ignored) {
                        // the child ended
                    }
                });
                return p;
            }
            seen.append(l).append('|');
        }
        throw new AssertionError("the child panda ended before it was ready: " + seen);
    }

    private String kernelToPanda(VdusePort port, String ifname, byte[] ifMac) throws Throwable {
        BitSet seen = new BitSet();
        int sent = 0;
        long deadline = System.nanoTime() + 60_000_000_000L;
        try (PacketSocket s = new PacketSocket(ifname)) {
            while (seen.cardinality() < FRAMES && System.nanoTime() < deadline) {
                // at most 32 frames on their way at a time: a queue that grows under TCG is one the
                // kernel may drop from
                for (int k = 0; k < 8 && sent < FRAMES && sent - seen.cardinality() < 32; k++, sent++) {
                    s.send(frame(port.mac(), ifMac, ETH_TO_PANDA, sent));
                }
                int n = port.rxBurst(0, burst);
                for (int i = 0; i < n; i++) {
                    int seq = verify(bytes(burst.handles[i]), ETH_TO_PANDA);
                    if (seq >= 0) {
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
        check(
                seen.cardinality() == FRAMES,
                "panda received " + seen.cardinality() + " of " + FRAMES + ", stats " + port.stats());
        return "kernel sent " + FRAMES + " (60..1514 bytes), panda received all intact";
    }

    private String pandaToKernel(VdusePort port, String ifname, byte[] ifMac) throws Throwable {
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
        }
        check(
                seen.cardinality() == FRAMES,
                "kernel received " + seen.cardinality() + " of " + FRAMES + ", stats " + port.stats());
        return "panda sent " + FRAMES + ", kernel received all intact";
    }

    // ---- helpers ---------------------------------------------------------------------------------

    private byte[] bytes(int h) {
        MemorySegment mem = pool.segment();
        return mem.asSlice(pool.dataOffset(h), pool.length(h)).toArray(ValueLayout.JAVA_BYTE);
    }

    private void write(int h, byte[] f) {
        MemorySegment.copy(f, 0, pool.segment(), ValueLayout.JAVA_BYTE, pool.dataOffset(h), f.length);
        pool.setLength(h, f.length);
    }

    static String mac(long mac) {
        StringBuilder b = new StringBuilder();
        for (byte x : macBytes(mac)) {
            b.append(b.isEmpty() ? "" : ":").append(String.format("%02x", x & 0xff));
        }
        return b.toString();
    }

    /** The interface whose address is {@code mac}, or null. */
    static String findInterface(long mac) throws IOException {
        String want = mac(mac);
        try (Stream<Path> s = Files.list(Path.of("/sys/class/net"))) {
            for (Path p : s.toList()) {
                Path a = p.resolve("address");
                if (Files.isReadable(a) && Files.readString(a).trim().equalsIgnoreCase(want)) {
                    return p.getFileName().toString();
                }
            }
        }
        return null;
    }

    static String awaitInterface(long mac, long millis) throws Exception {
        long deadline = System.nanoTime() + millis * 1_000_000;
        while (System.nanoTime() < deadline) {
            String n = findInterface(mac);
            if (n != null) {
                return n;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no interface with panda's MAC " + mac(mac) + " after " + millis + " ms; vdpa: "
                + run("vdpa", "dev", "show"));
    }

    static void up(String ifname) throws Exception {
        run("ip", "addr", "flush", "dev", ifname);
        run("ip", "addr", "add", GUEST_IP + "/24", "dev", ifname);
        run("ip", "link", "set", ifname, "up");
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!Files.readString(Path.of("/sys/class/net", ifname, "operstate"))
                .trim()
                .equals("up")) {
            check(
                    System.nanoTime() < deadline,
                    ifname + " not up: "
                            + Files.readString(Path.of("/sys/class/net", ifname, "operstate"))
                                    .trim());
            Thread.sleep(10);
        }
    }

    static void awaitCarrier(String ifname, String want) throws Exception {
        Path carrier = Path.of("/sys/class/net", ifname, "carrier");
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!Files.readString(carrier).trim().equals(want)) {
            check(System.nanoTime() < deadline, ifname + " carrier not " + want + " after the config interrupt");
            Thread.sleep(10);
        }
    }

    static void sysctl(String key, String value) throws IOException {
        Files.writeString(Path.of("/proc/sys", key), value);
    }

    static long counter(String ifname, String name) throws IOException {
        return Long.parseLong(Files.readString(Path.of("/sys/class/net", ifname, "statistics", name))
                .trim());
    }

    static String ping(String ifname, String... args) throws Exception {
        String[] cmd = new String[args.length + 3];
        cmd[0] = "ping";
        cmd[1] = "-I";
        cmd[2] = ifname;
        System.arraycopy(args, 0, cmd, 3, args.length);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc = p.waitFor();
        check(rc == 0, String.join(" ", cmd) + " exit " + rc + ": " + out.replace('\n', '|'));
        return out;
    }

    static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc = p.waitFor();
        check(rc == 0, String.join(" ", cmd) + " exit " + rc + ": " + out.replace('\n', '|'));
        return out;
    }

    private static final java.util.regex.Pattern RECEIVED =
            java.util.regex.Pattern.compile("(\\d+) (?:packets )?received");

    /** Echo replies ping counted ("N received", iputils; "N packets received", busybox). */
    static int received(String pingOutput) {
        java.util.regex.Matcher m = RECEIVED.matcher(pingOutput);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    private static String line(String out, String with) {
        return out.lines().filter(l -> l.contains(with)).findFirst().orElse("").trim();
    }
}
