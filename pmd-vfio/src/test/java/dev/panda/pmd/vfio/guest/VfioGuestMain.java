package dev.panda.pmd.vfio.guest;

import static dev.panda.pmd.virtio.guest.GuestFrames.frame;
import static dev.panda.pmd.virtio.guest.GuestFrames.macBytes;
import static dev.panda.pmd.virtio.guest.GuestFrames.parseMac;
import static dev.panda.pmd.virtio.guest.GuestFrames.verify;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortStats;
import dev.panda.dataplane.port.Ports;
import dev.panda.dataplane.testpmd.Testpmd;
import dev.panda.dataplane.testpmd.TestpmdOptions;
import dev.panda.pmd.vfio.DevBind;
import dev.panda.pmd.vfio.PciAddress;
import dev.panda.pmd.vfio.PciSysfs;
import dev.panda.pmd.vfio.Vfio;
import dev.panda.pmd.vfio.VfioContainer;
import dev.panda.pmd.vfio.VirtioNetFeatures;
import dev.panda.pmd.vfio.VirtioPciPort;
import dev.panda.pmd.virtio.guest.PacketSocket;
import dev.panda.pmd.virtio.ring.VirtioFeatures;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;

/**
 * Runs inside the QEMU guest, one JVM for every case: binds the device under test to vfio-pci,
 * opens it as net_virtio_pci, exchanges frames with the guest kernel's own virtio-net interface
 * (the other device on the same hub) through an AF_PACKET socket, answers the kernel's ping in
 * icmpecho mode, closes and reopens, waits for an MSI-X interrupt, and checks that nothing stays
 * DMA-mapped or pinned. Prints {@code PANDA-CASE name ok|FAIL ms detail} per case and
 * {@code PANDA-VFIO-DONE} at the end; the host test reads them off the console.
 *
 * <p>Arguments: the kernel's interface name, the PCI address of the device under test.
 */
public final class VfioGuestMain {

    static final int ETH_TO_PANDA = 0x88b5;
    static final int PANDA_TO_ETH = 0x88b6;
    static final int FRAMES = 300;

    private final String ifname;
    private final PciAddress dut;
    private final PacketPool pool =
            PacketPool.create(PoolConfig.defaults().withCount(4096).withHugepages(PoolConfig.Hugepages.OFF));
    private final PacketBurst burst = new PacketBurst(32);
    private byte[] ifMac;
    private int failures;

    private VfioGuestMain(String ifname, PciAddress dut) {
        this.ifname = ifname;
        this.dut = dut;
    }

    public static void main(String[] args) throws Throwable {
        VfioGuestMain m = new VfioGuestMain(args[0], PciAddress.parse(args[1]));
        m.ifMac = parseMac(
                Files.readString(Path.of("/sys/class/net", args[0], "address")).trim());
        long pinned0 = lockedKb();
        m.run("probe", m::probe);
        m.run("devbind", m::devbind);
        m.run("kernel-to-panda", () -> m.withPort("", m::kernelToPanda));
        m.run("panda-to-kernel", () -> m.withPort("", m::pandaToKernel));
        m.run("icmpecho", m::icmpecho);
        for (String mode : List.of("io", "mac", "macswap", "rxonly", "txonly", "flowgen")) {
            m.run("fwd-" + mode, () -> m.forward(mode));
        }
        m.run("reopen-after-reset", () -> m.withPort("", p -> m.kernelToPanda(p) + "; " + m.pandaToKernel(p)));
        m.run("interrupt", () -> m.withPort(",intr=1", m::interrupt));
        m.run("dma-unmapped", () -> {
            check(VfioContainer.liveMappings() == 0, "DMA mappings left: " + VfioContainer.liveMappings());
            long pinned = lockedKb();
            check(pinned == pinned0, "VmLck " + pinned + " kB after close, " + pinned0 + " kB before open");
            check(
                    m.pool.available() == m.pool.capacity(),
                    "pool buffers lost: " + (m.pool.capacity() - m.pool.available()));
            return "no container, VmLck back to " + pinned + " kB, every pool buffer back";
        });
        m.pool.close();
        System.out.println("PANDA-VFIO-DONE failures=" + m.failures);
        System.exit(m.failures == 0 ? 0 : 1);
    }

    interface Case {
        String run() throws Throwable;
    }

    interface PortCase {
        String run(VirtioPciPort p) throws Throwable;
    }

    private void run(String name, Case c) {
        long t0 = System.nanoTime();
        try {
            String detail = c.run();
            System.out.printf("PANDA-CASE %s ok %d ms %s%n", name, (System.nanoTime() - t0) / 1_000_000, detail);
        } catch (Throwable t) {
            failures++;
            System.out.printf(
                    "PANDA-CASE %s FAIL %d ms %s%n",
                    name,
                    (System.nanoTime() - t0) / 1_000_000,
                    String.valueOf(t).replace('\n', ' '));
            t.printStackTrace(System.out);
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    private String probe() {
        check(Vfio.isAvailable(), "VFIO unavailable: " + Vfio.unavailabilityCause());
        String cause = Vfio.unavailabilityCause(PciSysfs.system(), dut);
        check(
                cause != null && cause.contains("not vfio-pci: run panda devbind --bind=vfio-pci " + dut),
                "cause: " + cause);
        return "before binding: " + cause;
    }

    private String devbind() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int rc = DevBind.run(
                new String[] {"--bind=vfio-pci", dut.toString()},
                PciSysfs.system(),
                new PrintStream(out, true),
                System.out);
        check(rc == 0, "devbind exit " + rc + ": " + out);
        check(Vfio.unavailabilityCause(PciSysfs.system(), dut) == null, "still unavailable after bind");
        return out.toString().lines().findFirst().orElse("");
    }

    private String withPort(String extra, PortCase c) throws Throwable {
        long t0 = System.nanoTime();
        Port port = Ports.discover()
                .open(extra.isEmpty() ? dut.toString() : "net_virtio_pci0,dev=" + dut + extra, PortContext.of(pool, 0));
        long opened = System.nanoTime() - t0;
        try {
            check(port instanceof VirtioPciPort, "opened " + port.getClass());
            check(port.link().up(), "link down");
            check(VfioContainer.liveMappings() == 2, "mappings while open: " + VfioContainer.liveMappings());
            long f = ((VirtioPciPort) port).features();
            // QEMU's virtio-net-pci offers both: the shared driver queue pair's paths run here
            check(
                    VirtioFeatures.has(f, VirtioFeatures.F_MRG_RXBUF)
                            && VirtioFeatures.has(f, VirtioFeatures.F_INDIRECT_DESC),
                    "features " + VirtioNetFeatures.describe(f));
            return String.format(
                            "open %d ms, mac %012x, VmLck %d kB, %s; ",
                            opened / 1_000_000, port.mac(), lockedKb(), VirtioNetFeatures.describe(f))
                    + c.run((VirtioPciPort) port);
        } finally {
            port.close();
        }
    }

    /** The kernel sends FRAMES frames of 60..1514 bytes through its driver; panda must get each once, intact. */
    private String kernelToPanda(VirtioPciPort port) throws Throwable {
        BitSet seen = new BitSet();
        int sent = 0;
        int other = 0;
        long deadline = System.nanoTime() + 60_000_000_000L;
        try (PacketSocket s = new PacketSocket(ifname)) {
            while (seen.cardinality() < FRAMES && System.nanoTime() < deadline) {
                for (int k = 0; k < 8 && sent < FRAMES; k++, sent++) {
                    s.send(frame(port.mac(), ifMac, ETH_TO_PANDA, sent));
                }
                int n = port.rxBurst(0, burst);
                for (int i = 0; i < n; i++) {
                    int h = burst.handles[i];
                    int seq = verifyHandle(h, ETH_TO_PANDA);
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
        check(st.ierrors() == 0, "ierrors " + st.ierrors());
        return "kernel sent " + FRAMES + ", panda received all intact (+" + other + " other frames), ipackets "
                + st.ipackets();
    }

    /** panda sends FRAMES frames; the kernel's AF_PACKET socket must get each once, intact. */
    private String pandaToKernel(VirtioPciPort port) throws Throwable {
        BitSet seen = new BitSet();
        try (PacketSocket s = new PacketSocket(ifname)) {
            int sent = 0;
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (seen.cardinality() < FRAMES && System.nanoTime() < deadline) {
                // at most 32 frames unseen by the kernel at a time: a guest kernel slowed down by
                // TCG and a busy host otherwise drops what overflows its rx ring
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

    private String interrupt(VirtioPciPort port) throws Throwable {
        long t0 = System.nanoTime();
        boolean early = port.awaitRx(200);
        long idle = System.nanoTime() - t0;
        if (early) {
            pool.freeBulk(burst.handles, 0, port.rxBurst(0, burst)); // a stray frame of the kernel's (IPv6 ND)
        }
        try (PacketSocket s = new PacketSocket(ifname)) {
            Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(300);
                    s.send(frame(port.mac(), ifMac, ETH_TO_PANDA, 7));
                } catch (Throwable e) {
                    throw new RuntimeException(e);
                }
            });
            long t1 = System.nanoTime();
            int got = 0;
            while (got == 0 && System.nanoTime() - t1 < 20_000_000_000L) {
                if (port.awaitRx(5000)) {
                    got = port.rxBurst(0, burst);
                    for (int i = 0; i < got; i++) {
                        verifyHandle(burst.handles[i], ETH_TO_PANDA);
                    }
                    pool.freeBulk(burst.handles, 0, got);
                }
            }
            long woke = System.nanoTime() - t1;
            check(got > 0, "no frame after waiting for the MSI-X eventfd");
            return String.format(
                    "idle wait %d ms (woke early: %b), woke by MSI-X %d ms after waiting (frame sent at 300 ms)",
                    idle / 1_000_000, early, woke / 1_000_000);
        }
    }

    private String icmpecho() throws Throwable {
        TestpmdOptions o = TestpmdOptions.parse(
                "-l",
                "0,1",
                "--no-huge",
                "-a",
                dut.toString(),
                "--",
                "--forward-mode=icmpecho",
                "--port-topology=loop",
                "--idle=park",
                "--no-pin",
                "--total-num-mbufs=4096");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        try (Testpmd app = Testpmd.open(o, new PrintStream(log, true))) {
            app.start(0);
            Process ping = new ProcessBuilder("ping", "-c", "5", "-W", "5", "-I", ifname, "198.18.0.1")
                    .redirectErrorStream(true)
                    .start();
            String out = new String(ping.getInputStream().readAllBytes());
            int rc = ping.waitFor();
            app.stop();
            PortStats st = app.portStats(0);
            check(rc == 0 && out.contains("5 packets received"), "ping rc " + rc + ": " + out.replace('\n', '|'));
            check(st.opackets() >= 6, "panda sent " + st.opackets() + " (5 replies and an ARP reply)");
            return "5/5 echo replies; panda rx " + st.ipackets() + " tx " + st.opackets() + "; "
                    + out.lines()
                            .filter(l -> l.contains("round-trip"))
                            .findFirst()
                            .orElse("");
        }
    }

    /**
     * testpmd's other forwarding modes on the port (loop topology): io, mac and macswap send
     * every frame the kernel sent back to it, payload intact; rxonly counts them; txonly and
     * flowgen send frames the kernel receives.
     */
    private String forward(String mode) throws Throwable {
        TestpmdOptions o = TestpmdOptions.parse(
                "-l",
                "0,1",
                "--no-huge",
                "-a",
                dut.toString(),
                "--",
                "--forward-mode=" + mode,
                "--port-topology=loop",
                "--idle=park",
                "--no-pin",
                "--total-num-mbufs=4096");
        int n = 100;
        try (Testpmd app = Testpmd.open(o, new PrintStream(new ByteArrayOutputStream(), true));
                PacketSocket s = new PacketSocket(ifname)) {
            app.start(0);
            String result;
            long deadline = System.nanoTime() + 30_000_000_000L;
            switch (mode) {
                case "rxonly" -> {
                    for (int i = 0; i < n; i++) {
                        s.send(frame(app.port(0).mac(), ifMac, ETH_TO_PANDA, i));
                    }
                    while (app.portStats(0).ipackets() < n && System.nanoTime() < deadline) {
                        Thread.sleep(10);
                    }
                    check(
                            app.portStats(0).ipackets() >= n,
                            "rxonly counted " + app.portStats(0).ipackets() + " of " + n);
                    result = "panda received " + app.portStats(0).ipackets() + " (" + n + " sent by the kernel)";
                }
                case "txonly", "flowgen" -> {
                    int got = 0;
                    while (got < n && System.nanoTime() < deadline) {
                        byte[] f = s.receive(100);
                        if (f != null && f.length >= 42 && (f[12] & 0xff) == 0x08 && f[13] == 0x00) {
                            got++; // IPv4 (UDP) frames panda generated
                        }
                    }
                    check(got >= n, "kernel received " + got + " of " + n + " generated frames");
                    result = "kernel received " + got + " generated IPv4 frames";
                }
                default -> {
                    BitSet seen = new BitSet();
                    int sent = 0;
                    while (seen.cardinality() < n && System.nanoTime() < deadline) {
                        for (int k = 0; k < 4 && sent < n; k++, sent++) {
                            s.send(frame(app.port(0).mac(), ifMac, ETH_TO_PANDA, sent));
                        }
                        byte[] f;
                        while ((f = s.receive(sent < n ? 1 : 100)) != null) {
                            int seq = verify(f, ETH_TO_PANDA);
                            if (seq >= 0) {
                                seen.set(seq);
                            }
                        }
                    }
                    check(
                            seen.cardinality() == n,
                            mode + " returned " + seen.cardinality() + " of " + n + " frames (first missing "
                                    + seen.nextClearBit(0) + ")");
                    result = "all " + n + " frames came back intact";
                }
            }
            app.stop();
            PortStats st = app.portStats(0);
            return result + "; panda rx " + st.ipackets() + " tx " + st.opackets();
        }
    }

    // ---- frames ----------------------------------------------------------------------------------

    private int verifyHandle(int h, int type) {
        MemorySegment mem = pool.segment();
        byte[] f = mem.asSlice(pool.dataOffset(h), pool.length(h)).toArray(ValueLayout.JAVA_BYTE);
        return verify(f, type);
    }

    private void write(int h, byte[] f) {
        MemorySegment.copy(f, 0, pool.segment(), ValueLayout.JAVA_BYTE, pool.dataOffset(h), f.length);
        pool.setLength(h, f.length);
    }

    /** VmLck from /proc/self/status: VFIO type1 accounts pinned DMA pages there. */
    static long lockedKb() throws Exception {
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith("VmLck:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }
}
