package dev.panda.pmd.virtio.vduse;

import static dev.panda.pmd.virtio.guest.GuestFrames.macBytes;
import static dev.panda.pmd.virtio.vduse.VduseGuestMain.awaitInterface;
import static dev.panda.pmd.virtio.vduse.VduseGuestMain.counter;
import static dev.panda.pmd.virtio.vduse.VduseGuestMain.sysctl;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.pmd.virtio.guest.FrameBlaster;
import dev.panda.pmd.virtio.guest.GuestRates;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs in the vDPA guest for {@code VduseTapRateGuestBench}: how fast frames move between the guest
 * kernel and panda through a {@code net_vduse} port (the kernel's virtio_net on virtio_vdpa) and
 * through a {@code net_tap} port (the kernel's tun), both open at once, in interleaved rounds of
 * three runs each: net_vduse, net_tap, net_vduse again (A, B, A/A), after one run of each that
 * is not counted (warm-up).
 *
 * <ul>
 *   <li>{@code k2p}: the kernel sends (an AF_PACKET socket on the interface, one write per frame,
 *       as fast as it goes); panda's poller counts what its port receives.
 *   <li>{@code p2k}: panda transmits bursts of 32 (txonly); the interface's {@code rx_packets}
 *       counts what the kernel received.
 * </ul>
 *
 * Each at 60-byte (64 on the wire) and 1514-byte (1500-byte MTU) frames. Prints one {@code
 * PANDA-RATE} line per run and a {@code PANDA-RATE-SUMMARY} line per direction and size: the median
 * pps of each, the median of the per-round ratios vduse/tap and the A/A ratio (vduse again / vduse:
 * its median and range, the noise the ratio stands against). Printed, not asserted: under TCG the
 * absolute rates mean little.
 */
public final class VduseTapRateGuestMain {

    static final int TYPE = 0x88b5;
    static final String TAP = "ptap0";
    static final int[] LENGTHS = {60, 1514};

    private final PacketPool pool =
            PacketPool.create(PoolConfig.defaults().withCount(8192).withHugepages(PoolConfig.Hugepages.OFF));
    private final int pairs;
    /** Devargs appended to {@code net_vduse0} (e.g. {@code ,event_idx=0,mrg_rxbuf=0}), from the bench. */
    private final String vduseArgs;

    private final long runNanos;

    private VduseTapRateGuestMain(int pairs, double seconds, String vduseArgs) {
        this.pairs = pairs;
        this.vduseArgs = vduseArgs;
        this.runNanos = (long) (seconds * 1e9);
    }

    public static void main(String[] args) throws Throwable {
        int pairs = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 3;
        String vduseArgs = args.length > 2 ? args[2] : "";
        int rc = new VduseTapRateGuestMain(pairs, seconds, vduseArgs).measure();
        System.exit(rc);
    }

    /** One kernel interface and the panda port behind it. */
    private record Side(String label, Port port, String ifname, byte[] ifMac) {}

    private int measure() throws Throwable {
        sysctl("net/core/default_qdisc", "pfifo_fast");
        Port vduse = Ports.discover().open("net_vduse0" + vduseArgs, PortContext.of(pool, 0));
        Port tap = Ports.discover().open("net_tap1,iface=" + TAP, PortContext.of(pool, 1));
        try {
            Side a = side("vduse", vduse, awaitInterface(vduse.mac(), 20_000));
            Side b = side("tap", tap, TAP);
            System.out.printf(
                    "PANDA-RATE-SETUP %s (net_vduse0%s) and %s (net_tap1), %d rounds of vduse, tap, vduse again,"
                            + " %.1f s each%n",
                    a.ifname, vduseArgs, b.ifname, pairs, runNanos / 1e9);
            for (String dir : List.of("k2p", "p2k")) {
                for (int len : LENGTHS) {
                    // one run of each first, not counted: the JIT (C1 only in the guest) and the rings warm up
                    for (Side w : new Side[] {a, b}) {
                        double pps = dir.equals("k2p") ? kernelToPanda(w, len) : pandaToKernel(w, len);
                        System.out.printf(
                                Locale.ROOT,
                                "PANDA-RATE %s %d warm-up %s %.0f pps (not counted)%n",
                                dir,
                                len,
                                w.label,
                                pps);
                    }
                    double[][] r = new double[3][pairs];
                    for (int i = 0; i < pairs; i++) {
                        Side[] order = {a, b, a};
                        for (int j = 0; j < 3; j++) {
                            r[j][i] = dir.equals("k2p") ? kernelToPanda(order[j], len) : pandaToKernel(order[j], len);
                            System.out.printf(
                                    Locale.ROOT,
                                    "PANDA-RATE %s %d round %d %s %.0f pps%n",
                                    dir,
                                    len,
                                    i + 1,
                                    j == 2 ? "vduse-again" : order[j].label,
                                    r[j][i]);
                        }
                    }
                    GuestRates.summary(dir, len, r);
                }
            }
            return 0;
        } finally {
            tap.close();
            vduse.close();
            pool.close();
        }
    }

    private static Side side(String label, Port port, String ifname) throws Exception {
        return new Side(label, port, ifname, GuestRates.up(ifname));
    }

    /**
     * The kernel sends {@code len}-byte frames to panda's port through an AF_PACKET socket for one
     * run; a poller thread counts what the port receives. Returns frames received per second.
     */
    private double kernelToPanda(Side s, int len) throws Throwable {
        byte[] f = new byte[len];
        System.arraycopy(macBytes(s.port.mac()), 0, f, 0, 6);
        System.arraycopy(s.ifMac, 0, f, 6, 6);
        f[12] = (byte) (TYPE >> 8);
        f[13] = (byte) TYPE;
        drain(s.port);
        long[] irq0 = irqs(s.port);
        AtomicLong got = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        Thread poller = Thread.ofPlatform().name("rate-rx").start(() -> {
            PacketBurst burst = new PacketBurst(32);
            long n = 0;
            while (!stop.get()) {
                int k = s.port.rxBurst(0, burst);
                if (k > 0) {
                    pool.freeBulk(burst.handles, 0, k);
                    n += k;
                    got.lazySet(n);
                } else {
                    Thread.onSpinWait();
                }
            }
        });
        long sent = 0;
        long failed = 0;
        try (FrameBlaster b = new FrameBlaster(s.ifname, f, TYPE)) {
            long t0 = System.nanoTime();
            long end = t0 + runNanos;
            long c0 = got.get();
            while (System.nanoTime() < end) {
                for (int i = 0; i < 16; i++) {
                    if (b.send()) {
                        sent++;
                    } else {
                        failed++;
                    }
                }
            }
            long t1 = System.nanoTime();
            Thread.sleep(200); // what is still in the rings
            long c1 = got.get();
            stop.set(true);
            poller.join();
            double pps = (c1 - c0) / ((t1 - t0) / 1e9);
            System.out.printf(
                    Locale.ROOT,
                    "PANDA-RATE-DETAIL k2p %d %s: sent %d (%d refused), panda received %d%s%n",
                    len,
                    s.label,
                    sent,
                    failed,
                    c1 - c0,
                    irqDelta(irq0, irqs(s.port)));
            return pps;
        } finally {
            stop.set(true);
            poller.join();
        }
    }

    /**
     * panda transmits {@code len}-byte frames to the kernel's interface in bursts of 32 for one run;
     * returns the frames per second the interface's {@code rx_packets} grew by.
     */
    private double pandaToKernel(Side s, int len) throws Throwable {
        MemorySegment header = Arena.global().allocate(14);
        MemorySegment.copy(s.ifMac, 0, header, ValueLayout.JAVA_BYTE, 0, 6);
        MemorySegment.copy(macBytes(s.port.mac()), 0, header, ValueLayout.JAVA_BYTE, 6, 6);
        header.set(ValueLayout.JAVA_BYTE, 12, (byte) (TYPE >> 8));
        header.set(ValueLayout.JAVA_BYTE, 13, (byte) TYPE);
        MemorySegment mem = pool.segment();
        PacketBurst burst = new PacketBurst(32);
        long k0 = counter(s.ifname, "rx_packets");
        long[] irq0 = irqs(s.port);
        long sent = 0;
        long t0 = System.nanoTime();
        long end = t0 + runNanos;
        while (System.nanoTime() < end) {
            int n = pool.allocBulk(burst.handles, 0, 32);
            for (int i = 0; i < n; i++) {
                int h = burst.handles[i];
                MemorySegment.copy(header, 0, mem, pool.dataOffset(h), 14);
                pool.setLength(h, len);
            }
            int k = s.port.txBurst(0, burst, n);
            pool.freeBulk(burst.handles, k, n - k);
            sent += k;
            if (k == 0) {
                Thread.onSpinWait();
            }
        }
        long t1 = System.nanoTime();
        Thread.sleep(200); // the kernel takes what is still in the ring
        long k1 = counter(s.ifname, "rx_packets");
        System.out.printf(
                Locale.ROOT,
                "PANDA-RATE-DETAIL p2k %d %s: panda sent %d, kernel rx_packets +%d%s%n",
                len,
                s.label,
                sent,
                k1 - k0,
                irqDelta(irq0, irqs(s.port)));
        return (k1 - k0) / ((t1 - t0) / 1e9);
    }

    /** net_vduse's interrupts injected so far: vring 0 (the guest's rx), vring 1 (its tx). */
    private static long[] irqs(Port p) {
        return p instanceof VdusePort v ? new long[] {v.interrupts(0), v.interrupts(1)} : null;
    }

    private static String irqDelta(long[] a, long[] b) {
        if (a == null || b == null) {
            return "";
        }
        return String.format(Locale.ROOT, "; interrupts injected: rx vring %d, tx vring %d", b[0] - a[0], b[1] - a[1]);
    }

    private void drain(Port p) throws InterruptedException {
        PacketBurst burst = new PacketBurst(32);
        for (int i = 0; i < 20; i++) {
            int k;
            while ((k = p.rxBurst(0, burst)) > 0) {
                pool.freeBulk(burst.handles, 0, k);
            }
            Thread.sleep(5);
        }
    }
}
