package dev.panda.vswitch.guest;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.pmd.virtio.guest.FrameBlaster;
import dev.panda.pmd.virtio.guest.GuestRates;
import dev.panda.vswitch.Views;
import dev.panda.vswitch.Vswitch;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs in the vDPA guest for {@code VswitchVduseTapGuestBench}: a vswitch (rtc, one poller) whose
 * bridge {@code bv} holds a {@code net_vduse} port (the guest kernel's virtio_net on virtio_vdpa)
 * and whose bridge {@code bt} holds a {@code net_tap} port, measured in interleaved rounds of three
 * runs (vduse, tap, vduse again: A, B, A/A) after one uncounted run of each.
 *
 * <ul>
 *   <li>{@code k2p}: the kernel sends through an AF_PACKET socket on the interface, one write(2)
 *       per frame, as fast as it goes; the vswitch port's rx counter is the rate.
 *   <li>{@code p2k}: a thread of the guest's JVM fills a {@code net_ring} whose peer is a second
 *       port of the same bridge with frames to the interface's MAC, in bursts of 32, as fast as the
 *       ring takes them; the switch forwards them to the port; the interface's {@code rx_packets}
 *       is the rate.
 * </ul>
 */
public final class VswitchVduseTapGuestMain {

    static final int TYPE = 0x88b5;
    static final String VDUSE_MAC = "02:70:6e:00:d5:77";
    static final String TAP = "ptap0";
    static final int[] LENGTHS = {60, 1514};

    private final int pairs;
    /** Devargs appended to the net_vduse port (e.g. {@code ,event_idx=0,mrg_rxbuf=0}), from the bench. */
    private final String vduseArgs;

    private final long runNanos;
    private Vswitch v;
    private PacketPool pool;

    private VswitchVduseTapGuestMain(int pairs, double seconds, String vduseArgs) {
        this.pairs = pairs;
        this.vduseArgs = vduseArgs;
        this.runNanos = (long) (seconds * 1e9);
    }

    public static void main(String[] args) throws Throwable {
        int pairs = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 3;
        String vduseArgs = args.length > 2 ? args[2] : "";
        new VswitchVduseTapGuestMain(pairs, seconds, vduseArgs).measure();
        System.exit(0);
    }

    private record Side(String label, String bridge, String port, String ifname, byte[] ifMac, Port source) {}

    private void measure() throws Throwable {
        Files.writeString(Path.of("/proc/sys/net/core/default_qdisc"), "pfifo_fast");
        pool = PacketPool.create(PoolConfig.defaults().withCount(8192).withHugepages(PoolConfig.Hugepages.OFF));
        PmdConfig pmd = new PmdConfig(List.of(), PmdConfig.Mode.RTC, "spin", null, 256);
        v = Vswitch.start(new VswitchConfig(pmd, List.of()), pool, new int[] {1}, false);
        try {
            v.addBridge(BridgeConfig.of("bv"));
            v.addBridge(BridgeConfig.of("bt"));
            v.addPort("bv", PortConfig.of("vduse", "net_vduse0,mac=" + VDUSE_MAC + vduseArgs));
            v.addPort("bt", PortConfig.of("tap", "net_tap1,iface=" + TAP));
            // the p2k sources: a ring in each bridge, its peer fed by this JVM
            Port srcV = Ports.discover().open("net_ring900", PortContext.of(pool, 0));
            Port srcT = Ports.discover().open("net_ring901", PortContext.of(pool, 0));
            v.addPort("bv", PortConfig.of("srcv", "net_ring1900,peer=net_ring900"));
            v.addPort("bt", PortConfig.of("srct", "net_ring1901,peer=net_ring901"));
            Side a = side("vduse", "bv", "vduse", GuestRates.awaitInterface(VDUSE_MAC), srcV);
            Side b = side("tap", "bt", "tap", TAP, srcT);
            System.out.printf(
                    "PANDA-RATE-SETUP vswitch rtc, one poller on CPU 1; bridge bv: %s (net_vduse0%s), bridge bt: %s"
                            + " (net_tap1); %d rounds of vduse, tap, vduse again, %.1f s each%n",
                    a.ifname, vduseArgs, b.ifname, pairs, runNanos / 1e9);
            for (String dir : List.of("k2p", "p2k")) {
                for (int len : LENGTHS) {
                    for (Side w : new Side[] {a, b}) {
                        System.out.printf(
                                Locale.ROOT,
                                "PANDA-RATE %s %d warm-up %s %.0f pps (not counted)%n",
                                dir,
                                len,
                                w.label,
                                one(dir, w, len));
                    }
                    double[][] r = new double[3][pairs];
                    for (int i = 0; i < pairs; i++) {
                        Side[] order = {a, b, a};
                        for (int j = 0; j < 3; j++) {
                            r[j][i] = one(dir, order[j], len);
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
        } finally {
            v.close();
            pool.close();
        }
    }

    private double one(String dir, Side s, int len) throws Throwable {
        return dir.equals("k2p") ? kernelToSwitch(s, len) : switchToKernel(s, len);
    }

    private static Side side(String label, String bridge, String port, String ifname, Port source) throws Exception {
        return new Side(label, bridge, port, ifname, GuestRates.up(ifname), source);
    }

    /** The kernel sends to the switch's port for one run; returns what the port received per second. */
    private double kernelToSwitch(Side s, int len) throws Throwable {
        byte[] f = new byte[len];
        // to the switch's own port MAC: unknown to the bridge, so it floods it to the source ring
        // (whose peer nobody reads: a full ring's drop is counted and cheap, the same on both sides)
        System.arraycopy(new byte[] {0x02, 0x70, 0x6e, 0x00, 0x00, 0x42}, 0, f, 0, 6);
        System.arraycopy(s.ifMac, 0, f, 6, 6);
        f[12] = (byte) (TYPE >> 8);
        f[13] = (byte) TYPE;
        Thread.sleep(100);
        long sent = 0;
        long refused = 0;
        try (FrameBlaster b = new FrameBlaster(s.ifname, f, TYPE)) {
            long c0 = rx(s.port);
            long t0 = System.nanoTime();
            long end = t0 + runNanos;
            while (System.nanoTime() < end) {
                for (int i = 0; i < 16; i++) {
                    if (b.send()) {
                        sent++;
                    } else {
                        refused++;
                    }
                }
            }
            long t1 = System.nanoTime();
            Thread.sleep(200); // what is still in the rings
            long c1 = rx(s.port);
            System.out.printf(
                    Locale.ROOT,
                    "PANDA-RATE-DETAIL k2p %d %s: sent %d (%d refused), the switch's port received %d%n",
                    len,
                    s.label,
                    sent,
                    refused,
                    c1 - c0);
            return (c1 - c0) / ((t1 - t0) / 1e9);
        }
    }

    /**
     * A thread feeds the bridge's source ring with frames to the interface for one run; the switch
     * forwards them to the port under test; returns the frames per second the interface's
     * rx_packets grew by.
     */
    private double switchToKernel(Side s, int len) throws Throwable {
        MemorySegment header = Arena.global().allocate(14);
        MemorySegment.copy(s.ifMac, 0, header, ValueLayout.JAVA_BYTE, 0, 6);
        MemorySegment.copy(new byte[] {0x02, 0x70, 0x6e, 0x00, 0x00, 0x43}, 0, header, ValueLayout.JAVA_BYTE, 6, 6);
        header.set(ValueLayout.JAVA_BYTE, 12, (byte) (TYPE >> 8));
        header.set(ValueLayout.JAVA_BYTE, 13, (byte) TYPE);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong fed = new AtomicLong();
        Thread feeder = Thread.ofPlatform().name("rate-feed").start(() -> {
            PacketBurst burst = new PacketBurst(32);
            MemorySegment mem = pool.segment();
            long n = 0;
            while (!stop.get()) {
                int got = pool.allocBulk(burst.handles, 0, 32);
                for (int i = 0; i < got; i++) {
                    int h = burst.handles[i];
                    MemorySegment.copy(header, 0, mem, pool.dataOffset(h), 14);
                    pool.setLength(h, len);
                }
                int k = s.source.txBurst(0, burst, got);
                pool.freeBulk(burst.handles, k, got - k);
                n += k;
                fed.lazySet(n);
                if (k == 0) {
                    Thread.onSpinWait();
                }
            }
        });
        long k0;
        long k1;
        long sent0;
        long t0;
        long t1;
        try {
            Thread.sleep(100);
            k0 = GuestRates.rxPackets(s.ifname);
            sent0 = tx(s.port);
            t0 = System.nanoTime();
            Thread.sleep(runNanos / 1_000_000);
            k1 = GuestRates.rxPackets(s.ifname);
            t1 = System.nanoTime();
        } finally {
            stop.set(true);
            feeder.join();
        }
        Thread.sleep(200);
        System.out.printf(
                Locale.ROOT,
                "PANDA-RATE-DETAIL p2k %d %s: kernel rx_packets +%d; fed %d, the switch's port sent %d%n",
                len,
                s.label,
                k1 - k0,
                fed.get(),
                tx(s.port) - sent0);
        return (k1 - k0) / ((t1 - t0) / 1e9);
    }

    private long rx(String port) {
        return stats(port).rxPackets();
    }

    private long tx(String port) {
        return stats(port).txPackets();
    }

    private Views.PortStatsView stats(String port) {
        return v.stats(port).ports().getFirst();
    }
}
