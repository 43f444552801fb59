package dev.panda.perf;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.jextract.Posix;
import dev.panda.perf.report.ComparisonResult;
import dev.panda.perf.report.PairFigure;
import dev.panda.perf.report.RunFigure;
import dev.panda.perf.report.RunObserver;
import dev.panda.xdp.bpf.BpfObject;
import dev.panda.xdp.bpf.LiveFrames;
import dev.panda.xdp.bpf.Xdp;
import dev.panda.xdp.bpf.XdpMode;
import dev.panda.xdp.prefilter.Prefilter;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * {@code panda perf xdp-rxdrop}: 64-byte UDP frames into one end of a veth pair, received and
 * dropped two ways on the other end, interleaved (A B A B): A is panda's {@code net_af_xdp}
 * (the prefilter redirects into the AF_XDP socket, a Java poller on the last CPU receives and
 * frees), B is the same prefilter in C dropping the same frames in the kernel by a source-prefix
 * rule (same parsing, no AF_XDP copy, no userspace). Figures are medians of per-second rates.
 *
 * <p>The source is xdp-trafficgen's technique done from Java: {@code xdp_gen_tx} (XDP_TX) run by
 * BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES on the peer end, inside the peer's network
 * namespace (the generator thread joins it with setns), on CPU 0. xdp-bench and xdp-trafficgen
 * 1.3 themselves are tried first only to explain why they are not used when they fail.
 */
final class XdpRxDropComparison {

    private XdpRxDropComparison() {}

    static int run(String[] args, PrintStream out) throws Exception {
        int pairs = 3;
        int seconds = 4;
        String devargs = "";
        String against = null;
        boolean napiDefer = false;
        int rxd = PortContext.DEFAULT_DESCRIPTORS;
        int againstRxd = -1;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--pairs" -> pairs = RingIoComparison.positive(args, ++i);
                case "--seconds" -> seconds = RingIoComparison.positive(args, ++i);
                case "--devargs" -> devargs = devargs(args, ++i);
                case "--against" -> against = devargs(args, ++i);
                case "--napi-defer" -> napiDefer = true;
                case "--rxd" -> rxd = RingIoComparison.positive(args, ++i);
                case "--against-rxd" -> againstRxd = RingIoComparison.positive(args, ++i);
                case "-h", "--help" -> {
                    out.println("usage: panda perf xdp-rxdrop [--pairs N (3)] [--seconds S (4)] [--devargs ,K=V...]"
                            + " [--against ,K=V...] [--napi-defer] [--rxd N (1024)] [--against-rxd N]   (root)");
                    return 0;
                }
                default ->
                    throw new IllegalArgumentException(
                            "unknown xdp-rxdrop option '" + args[i]
                                    + "'; accepted --pairs N, --seconds S, --devargs ,K=V..., --against ,K=V..., --napi-defer, --rxd N, --against-rxd N");
            }
        }
        if (againstRxd > 0 && against == null) {
            throw new IllegalArgumentException("--against-rxd needs --against (B is the kernel otherwise)");
        }
        ComparisonResult r = measure(
                pairs,
                seconds,
                out,
                RunObserver.NONE,
                new Panda(devargs, rxd),
                against == null ? null : new Panda(against, againstRxd > 0 ? againstRxd : rxd),
                napiDefer);
        out.printf(
                against == null
                        ? "panda median %.3f Mpps, kernel median %.3f Mpps, median ratio panda/kernel: %.2f%n"
                        : "panda A median %.3f Mpps, panda B median %.3f Mpps, median ratio A/B: %.2f%n",
                r.summary().pandaMpps(),
                r.summary().peerMpps(),
                r.summary().ratio());
        return 0;
    }

    /** The value of {@code --devargs}/{@code --against}: extra {@code ,key=value} pairs for net_af_xdp. */
    private static String devargs(String[] args, int i) {
        if (i >= args.length) {
            throw new IllegalArgumentException(args[i - 1] + " needs a value, e.g. ,busy_budget=64");
        }
        String v = args[i];
        if (!v.isEmpty() && !v.startsWith(",")) {
            v = "," + v;
        }
        if (v.contains("iface=") || v.contains("mode=") || v.contains("zerocopy=")) {
            throw new IllegalArgumentException(
                    args[i - 1] + " " + args[i] + ": iface, mode and zerocopy are the comparison's own");
        }
        return v;
    }

    /** Sets up the veth pair, runs the interleaved pairs printing each to {@code out}, removes the pair. */
    static ComparisonResult measure(int pairs, int seconds, PrintStream out, RunObserver obs) throws Exception {
        return measure(pairs, seconds, out, obs, new Panda("", PortContext.DEFAULT_DESCRIPTORS), null, false);
    }

    /** One panda side: the extra net_af_xdp devargs and the rx ring size it asks for (testpmd's --rxd). */
    record Panda(String devargs, int rxd) {
        @Override
        public String toString() {
            return "net_af_xdp" + devargs + (rxd == PortContext.DEFAULT_DESCRIPTORS ? "" : " (rxd " + rxd + ")");
        }
    }

    /**
     * As {@link #measure(int, int, PrintStream, RunObserver)}, with panda's port set by {@code a};
     * {@code against} non-null makes B panda again, set by it, instead of the kernel (an A/B, or
     * an A/A with the same settings, of one binary); {@code napiDefer} sets the
     * receiving veth's napi_defer_hard_irqs=2 and gro_flush_timeout=200000 for the whole run (what
     * preferred busy polling needs to keep its NAPI out of softirq).
     */
    static ComparisonResult measure(
            int pairs, int seconds, PrintStream out, RunObserver obs, Panda a, Panda against, boolean napiDefer)
            throws Exception {
        String tag = Long.toString(ProcessHandle.current().pid() % 100000, 36);
        String ns = "pxperf" + tag;
        String host = "pxrh" + tag;
        String peer = "pxrp" + tag;
        int cpus = Runtime.getRuntime().availableProcessors();
        try {
            sh("ip", "netns", "add", ns);
            sh("ip", "link", "add", host, "type", "veth", "peer", "name", peer, "netns", ns);
            sh("sysctl", "-qw", "net.ipv6.conf." + host + ".disable_ipv6=1");
            sh("ip", "link", "set", host, "up");
            if (napiDefer) {
                Files.writeString(Path.of("/sys/class/net", host, "napi_defer_hard_irqs"), "2");
                Files.writeString(Path.of("/sys/class/net", host, "gro_flush_timeout"), "200000");
            }
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf." + peer + ".disable_ipv6=1");
            sh("ip", "netns", "exec", ns, "ip", "link", "set", peer, "up");
            String nameA = against == null ? "panda AF_XDP" : "panda A";
            String nameB = against == null ? "kernel XDP drop" : "panda B";
            out.printf(
                    "xdp-rxdrop: %d pair(s), %d s each; 64-byte UDP via XDP live frames (CPU 0) into veth %s%s;%n"
                            + "  A = panda %s rxdrop (native XDP, copy mode, poller on CPU %d), B = %s%n",
                    pairs,
                    seconds,
                    host,
                    napiDefer ? " (napi_defer_hard_irqs 2, gro_flush_timeout 200000)" : "",
                    a,
                    cpus - 1,
                    against == null
                            ? "the prefilter dropping in the kernel"
                            : "panda " + against + " rxdrop, same poller");
            String note = noteXdpTools(out, host);
            byte[] frame = frame(mac(Files.readString(Path.of("/sys/class/net", host, "address"))));
            List<PairFigure> figures = new ArrayList<>();
            List<String> notes = new ArrayList<>(List.of(note));
            for (int p = 0; p < pairs; p++) {
                String at = "xdp-rxdrop pair " + (p + 1) + "/" + pairs + ": ";
                obs.starting(at + nameA);
                RunFigure x = Measured.run(nameA, () -> panda(host, ns, peer, frame, seconds, cpus, a));
                String noteA = lastNote;
                obs.starting(at + nameB);
                RunFigure y = Measured.run(
                        nameB,
                        () -> against == null
                                ? kernel(host, ns, peer, frame, seconds)
                                : panda(host, ns, peer, frame, seconds, cpus, against));
                PairFigure f = new PairFigure(p + 1, x, y);
                figures.add(f);
                if (against == null) {
                    out.printf(
                            java.util.Locale.ROOT,
                            "  pair %d  panda AF_XDP %7.3f Mpps (%.1f busy cycles/pkt)   kernel XDP drop %7.3f Mpps"
                                    + "   ratio %.2f%n",
                            p + 1,
                            x.mpps(),
                            x.cyclesPerPacket(),
                            y.mpps(),
                            f.ratio());
                } else {
                    out.printf(
                            java.util.Locale.ROOT,
                            "  pair %d  panda A %7.3f Mpps (%.1f busy cycles/pkt)   panda B %7.3f Mpps (%.1f busy"
                                    + " cycles/pkt)   ratio A/B %.2f%n",
                            p + 1,
                            x.mpps(),
                            x.cyclesPerPacket(),
                            y.mpps(),
                            y.cyclesPerPacket(),
                            f.ratio());
                    out.printf("          panda B run: %s%n", lastNote);
                    notes.add("pair " + (p + 1) + " panda B run: " + lastNote);
                }
                out.printf("          panda%s run: %s%n", against == null ? "" : " A", noteA);
                notes.add("pair " + (p + 1) + " panda" + (against == null ? "" : " A") + " run: " + noteA);
            }
            if (against != null) {
                return ComparisonResult.of(
                        "xdp-rxdrop-ab",
                        "AF_XDP rxdrop, panda A (" + a + ") against panda B (" + against + ")",
                        String.format(
                                "64-byte UDP from XDP live frames (BPF_PROG_TEST_RUN, CPU 0) into a veth; panda"
                                        + " net_af_xdp rxdrop (native XDP, copy mode, Java poller on CPU %d) with two"
                                        + " device argument sets, interleaved. Figure: median of %d per-second rates"
                                        + " after a warm-up second.",
                                cpus - 1, seconds),
                        nameA,
                        nameB,
                        figures,
                        List.of(),
                        notes);
            }
            return ComparisonResult.of(
                    "xdp-rxdrop",
                    "AF_XDP rxdrop against the kernel's XDP drop",
                    String.format(
                            "64-byte UDP from XDP live frames (BPF_PROG_TEST_RUN, CPU 0) into a veth; panda"
                                    + " net_af_xdp rxdrop (native XDP, copy mode, Java poller on CPU %d) against the"
                                    + " same prefilter dropping in the kernel by a source-prefix rule. Figure: median"
                                    + " of %d per-second rates after a warm-up second.",
                            cpus - 1, seconds),
                    "panda AF_XDP",
                    "kernel XDP drop",
                    figures,
                    List.of(),
                    notes);
        } finally {
            run(List.of("ip", "link", "del", host));
            run(List.of("ip", "netns", "del", ns));
        }
    }

    private static double[] panda(String host, String ns, String peer, byte[] frame, int seconds, int cpus, Panda side)
            throws Exception {
        try (PacketPool pool = PacketPool.create(PoolConfig.defaults());
                Port port = Ports.discover()
                        .open(
                                "net_af_xdp0,iface=" + host + ",mode=native,zerocopy=0" + side.devargs(),
                                new PortContext(pool, 0, 1, 1, side.rxd(), side.rxd()))) {
            long[] count = new long[1];
            long[] busy = new long[2]; // busy ns and packets, written by the poller before it ends
            long[] stop = new long[1]; // 1: stop; read with an opaque load, no lock per poll
            Thread poller = new Thread(
                    () -> {
                        if (cpus > 1) {
                            Posix.setAffinity(cpus - 1);
                        }
                        PacketBurst burst = new PacketBurst(64);
                        long n = 0;
                        long busyNs = 0; // as testpmd's --record-core-cycles: polls that received
                        while (!stopped(stop)) {
                            long t0 = System.nanoTime();
                            int k = port.rxBurst(0, burst);
                            if (k > 0) {
                                pool.freeBulk(burst.handles, 0, k);
                                n += k;
                                publish(count, n);
                                busyNs += System.nanoTime() - t0;
                            }
                        }
                        busy[0] = busyNs;
                        busy[1] = n;
                    },
                    "xdp-rxdrop-poller");
            poller.start();
            try (LiveFrames g = LiveFrames.start(ns, peer, frame, 1 << 16, 0)) {
                return sample(() -> read(count), seconds);
            } finally {
                publish(stop, 1);
                poller.join();
                if (busy[1] > 0) {
                    Measured.cycles(busy[0] * (dev.panda.dataplane.stats.TscRate.hz() / 1e9) / busy[1]);
                }
                var x = (dev.panda.xdp.afxdp.AfXdpPort) port;
                long[] xs = x.xdpStatistics(0);
                lastNote = String.format(
                        "redirected %d, received %d, kernel rx_dropped (no fill buffer) %d, rx_ring_full %d%s",
                        x.prefilter().actionCount(Prefilter.Action.REDIRECT),
                        x.stats().ipackets(),
                        xs[0],
                        xs[3],
                        x.busyPolling() ? ", busy polling NAPI id " + x.napiId(0) : "");
            }
        }
    }

    private static double[] kernel(String host, String ns, String peer, byte[] frame, int seconds) throws Exception {
        try (Xdp.Loaded l = Xdp.load(
                () -> BpfObject.openResource(Prefilter.RESOURCE), Prefilter.PROGRAM, host, XdpMode.NATIVE, true)) {
            Prefilter pf = new Prefilter(l.object());
            pf.dropSourcePrefix(InetAddress.getByName("198.18.0.2"), 32, 1);
            try (LiveFrames g = LiveFrames.start(ns, peer, frame, 1 << 16, 0)) {
                return sample(() -> pf.actionCount(Prefilter.Action.DROP_PREFIX), seconds);
            }
        }
    }

    private static String lastNote = "";

    private static boolean stopped(long[] stop) {
        return read(stop) != 0;
    }

    private static final java.lang.invoke.VarHandle LONGS =
            java.lang.invoke.MethodHandles.arrayElementVarHandle(long[].class);

    private static void publish(long[] c, long v) {
        LONGS.setOpaque(c, 0, v);
    }

    private static long read(long[] c) {
        return (long) LONGS.getOpaque(c, 0);
    }

    /** One warm-up second, then {@code seconds} per-second rates of {@code counter}. */
    private static double[] sample(LongSupplier counter, int seconds) throws InterruptedException {
        Thread.sleep(1000);
        List<Double> rates = new ArrayList<>();
        long last = counter.getAsLong();
        long t = System.nanoTime();
        for (int s = 0; s < seconds; s++) {
            Thread.sleep(1000);
            long now = counter.getAsLong();
            long t2 = System.nanoTime();
            rates.add((now - last) * 1e9 / (t2 - t));
            last = now;
            t = t2;
        }
        return Measured.toArray(rates);
    }

    /** Ethernet/IPv4/UDP 198.18.0.2 -> 198.18.0.1, 64 bytes with FCS (60 without). */
    private static byte[] frame(byte[] dstMac) {
        ByteBuffer b = ByteBuffer.allocate(60);
        b.put(dstMac).put(new byte[] {2, 0, 0, 0, 0, 2}).putShort((short) 0x0800);
        b.put((byte) 0x45)
                .put((byte) 0)
                .putShort((short) 46)
                .putShort((short) 0)
                .putShort((short) 0x4000)
                .put((byte) 64)
                .put((byte) 17)
                .putShort((short) 0)
                .put(new byte[] {(byte) 198, 18, 0, 2})
                .put(new byte[] {(byte) 198, 18, 0, 1});
        b.putShort((short) 9).putShort((short) 9).putShort((short) 26).putShort((short) 0);
        return b.array();
    }

    private static byte[] mac(String s) {
        return HexFormat.ofDelimiter(":").parseHex(s.trim());
    }

    /** Says whether xdp-bench (xdp-tools) runs here, and why it is not the baseline when it does not. */
    private static String noteXdpTools(PrintStream out, String host) {
        String note;
        if (!Files.isExecutable(Path.of("/usr/sbin/xdp-bench"))) {
            note = "xdp-bench not installed (xdp-tools); the in-kernel baseline is the prefilter's drop";
            out.println("  note: " + note);
            return note;
        }
        Result r = run(List.of("timeout", "3", "/usr/sbin/xdp-bench", "drop", host));
        String last = r.output.strip();
        last = last.substring(last.lastIndexOf('\n') + 1);
        if (r.status == 124) {
            note = "xdp-bench drop attaches here; the baseline stays the prefilter's own drop (same parsing)";
        } else {
            note = "xdp-bench drop fails on this kernel (\"" + last + "\"); baseline: the prefilter dropping in C";
        }
        out.println("  note: " + note);
        return note;
    }

    private static void sh(String... cmd) {
        Result r = run(List.of(cmd));
        if (r.status != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " exited " + r.status + ": " + r.output.trim());
        }
    }

    private record Result(int status, String output) {}

    private static Result run(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timed out");
            }
            return new Result(p.exitValue(), out);
        } catch (IOException e) {
            return new Result(-1, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "interrupted");
        }
    }
}
