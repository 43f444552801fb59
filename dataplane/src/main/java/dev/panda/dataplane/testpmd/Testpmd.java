package dev.panda.dataplane.testpmd;

import dev.panda.dataplane.filter.RxFilter;
import dev.panda.dataplane.filter.RxFilterStream;
import dev.panda.dataplane.filter.RxFilters;
import dev.panda.dataplane.fwd.ForwardEngine;
import dev.panda.dataplane.fwd.ForwardEngines;
import dev.panda.dataplane.fwd.FwdConfig;
import dev.panda.dataplane.fwd.FwdStream;
import dev.panda.dataplane.fwd.LatencyRecorder;
import dev.panda.dataplane.fwd.Packets;
import dev.panda.dataplane.lcore.Lcore;
import dev.panda.dataplane.lcore.LcoreList;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.LinkStatus;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortStats;
import dev.panda.dataplane.port.Ports;
import dev.panda.jextract.Posix;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * The testpmd application: a pool, the ports, a forwarding mode, and the lcores that run the
 * streams. The control thread (CLI) calls these methods; pollers only ever see immutable stream
 * sets built at {@link #start}.
 */
public final class Testpmd implements AutoCloseable {

    private final PrintStream out;
    private final TestpmdOptions options;
    private final PacketPool pool;
    private final List<Port> ports;
    private final LcoreList lcores;
    private final int[] fwdLcoreIds;
    private final RxFilter rxFilter;
    private ForwardEngines.Mode mode;
    private FwdConfig fwd;
    private int nbCores;

    private final List<Lcore> running = new ArrayList<>();
    private final List<ForwardingLoop> loops = new ArrayList<>();
    private List<ForwardingLoop> lastLoops = List.of();

    /** Forward statistics of the current (or last) run; null before the first start. */
    private FwdRunStats runStats;

    private final PortStats[] cleared;
    private final PortStats[] lastShown;
    private final long[] lastShownNanos;

    private Testpmd(
            PrintStream out, TestpmdOptions o, PacketPool pool, List<Port> ports, LcoreList lcores, RxFilter rxFilter) {
        this.out = out;
        this.rxFilter = rxFilter;
        this.options = o;
        this.pool = pool;
        this.ports = ports;
        this.lcores = lcores;
        int[] ids = lcores.ids();
        this.fwdLcoreIds = Arrays.copyOfRange(ids, 1, ids.length);
        this.mode = ForwardEngines.byName(o.forwardMode);
        this.fwd = o.fwd;
        this.nbCores = o.nbCores;
        int n = ports.size();
        this.cleared = filled(n);
        this.lastShown = filled(n);
        this.lastShownNanos = new long[n];
        Arrays.fill(lastShownNanos, System.nanoTime());
    }

    private static PortStats[] filled(int n) {
        PortStats[] a = new PortStats[n];
        Arrays.fill(a, PortStats.ZERO);
        return a;
    }

    /**
     * Creates the pool and opens every port; a bad device string closes what was opened and
     * throws {@link UsageException}.
     */
    public static Testpmd open(TestpmdOptions o, PrintStream out) {
        LcoreList lcores = o.lcores != null ? o.lcores : defaultLcores();
        if (lcores.size() < 2) {
            throw new UsageException(
                    "lcore list " + lcores + " has no forwarding lcore: give at least two, e.g. -l 0,1");
        }
        if (o.pin) {
            int[] allowed = Posix.getAffinity();
            int bad = lcores.firstCpuNotIn(allowed);
            if (bad >= 0) {
                throw new UsageException("lcore list " + lcores + " uses CPU " + bad + ", which this process may not"
                        + " run on (allowed: " + cpuList(allowed) + "); use --no-pin to run unpinned");
            }
        }
        if (o.nbCores > lcores.size() - 1) {
            throw new UsageException("--nb-cores " + o.nbCores + " is more than the " + (lcores.size() - 1)
                    + " forwarding lcore(s) of the lcore list " + lcores);
        }
        if (o.vdevs.size() > FwdConfig.MAX_PORTS) {
            throw new UsageException("at most " + FwdConfig.MAX_PORTS + " ports, got " + o.vdevs.size());
        }
        Ports drivers = Ports.discover();
        PacketPool pool;
        try {
            pool = PacketPool.create(o.pool);
        } catch (RuntimeException e) {
            throw new UsageException("cannot create the packet pool: " + e.getMessage());
        }
        List<Port> opened = new ArrayList<>();
        RxFilter filter = null;
        try {
            out.printf("Set %s packet forwarding mode%n", o.forwardMode);
            out.printf("panda: packet pool %s%n", pool);
            int limit = o.nbPorts > 0 ? Math.min(o.nbPorts, o.vdevs.size()) : o.vdevs.size();
            for (int i = 0; i < limit; i++) {
                out.printf("Configuring Port %d (socket 0)%n", i);
                PortContext ctx = new PortContext(pool, i, o.rxq, o.txq, o.rxd, o.txd);
                Port p = drivers.open(o.vdevs.get(i), ctx);
                opened.add(p);
                if (p.rxQueueCount() < o.rxq || p.txQueueCount() < o.txq) {
                    throw new DeviceException("device '" + p.name() + "' has " + p.rxQueueCount() + " rx / "
                            + p.txQueueCount() + " tx queues, fewer than --rxq " + o.rxq + " / --txq " + o.txq);
                }
                out.printf("Port %d: %s%n", i, Packets.macToString(p.mac()));
            }
            out.println("Checking link statuses...");
            for (int i = 0; i < opened.size(); i++) {
                LinkStatus l = opened.get(i).link();
                out.printf("Port %d Link %s%n", i, l.up() ? "up at " + speed(l) + " FDX Fixed" : "down");
            }
            out.println("Done");
            filter = openFilter(o, opened.size());
            return new Testpmd(out, o, pool, opened, lcores, filter);
        } catch (RuntimeException e) {
            if (filter != null) {
                filter.close();
            }
            for (Port p : opened) {
                p.close();
            }
            pool.close();
            if (e instanceof UsageException) {
                throw e;
            }
            if (e instanceof DeviceException || e instanceof IllegalArgumentException) {
                throw new UsageException("invalid --vdev: " + e.getMessage());
            }
            throw e;
        }
    }

    /** Opens {@code --rx-filter} for every stream the ports can have; a bad value is a usage error. */
    private static RxFilter openFilter(TestpmdOptions o, int ports) {
        if (o.rxFilter == null) {
            return null;
        }
        try {
            return RxFilters.discover().open(o.rxFilter, Math.max(1, ports * o.rxq));
        } catch (IllegalArgumentException | IllegalStateException | java.io.UncheckedIOException e) {
            throw new UsageException("invalid --rx-filter '" + o.rxFilter + "': " + e.getMessage());
        }
    }

    /** The receive filter every stream applies, or null. */
    public RxFilter rxFilter() {
        return rxFilter;
    }

    private static String cpuList(int[] cpus) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < cpus.length; i++) {
            int j = i;
            while (j + 1 < cpus.length && cpus[j + 1] == cpus[j] + 1) {
                j++;
            }
            b.append(b.isEmpty() ? "" : ",").append(cpus[i]).append(j > i ? "-" + cpus[j] : "");
            i = j;
        }
        return b.toString();
    }

    private static LcoreList defaultLcores() {
        int cpus = Math.max(1, Posix.onlineCpus());
        // Like EAL without -l: every CPU is an lcore, the first is the main one. On one CPU the
        // forwarding lcore shares CPU 0.
        return cpus >= 2 ? LcoreList.parseCoreList("0-" + (cpus - 1)) : LcoreList.parseLcores("0@0,1@0");
    }

    private static String speed(LinkStatus l) {
        return l.speedMbps() >= 1000 ? (l.speedMbps() / 1000) + " Gbps" : l.speedMbps() + " Mbps";
    }

    // ---- forwarding ----------------------------------------------------------------------

    public boolean forwarding() {
        return !running.isEmpty();
    }

    /** {@code start} / {@code start tx_first [n]}. */
    public void start(int txFirstBursts) {
        if (forwarding()) {
            out.println("Packet forwarding already started");
            return;
        }
        int cores = Math.min(nbCores, streamCount());
        List<LatencyRecorder> rec = new ArrayList<>();
        for (int c = 0; fwd.latency() && c < cores; c++) {
            rec.add(new LatencyRecorder());
        }
        List<List<FwdStream>> perCore = streamsPerCore(rec);
        printFwdConfig(perCore);
        runStats = new FwdRunStats(ports, streamCount(), rec);
        for (int c = 0; c < cores; c++) {
            FwdStream[] s = perCore.get(c).toArray(FwdStream[]::new);
            ForwardEngine[] engines = new ForwardEngine[s.length];
            for (int i = 0; i < s.length; i++) {
                engines[i] = mode.factory().get();
            }
            ForwardingLoop loop = new ForwardingLoop(s, engines, txFirstBursts, options.recordCoreCycles);
            int id = fwdLcoreIds[c];
            Lcore l = new Lcore(id, options.pin ? lcores.cpus(id) : new int[0], options.idle.create(), loop, loop::end);
            loops.add(loop);
            running.add(l);
        }
        for (Lcore l : running) {
            l.start();
        }
        awaitLcores();
    }

    /**
     * Returns once every lcore is forwarding (tx_first bursts sent, engines begun), so a command
     * that follows {@code start} sees traffic. An lcore that fails or hangs is reported, not waited on.
     */
    private void awaitLcores() {
        for (int i = 0; i < loops.size(); i++) {
            try {
                if (!loops.get(i).awaitStarted(10, TimeUnit.SECONDS)) {
                    out.printf(
                            "panda: lcore %d has not started forwarding after 10 s%n",
                            running.get(i).id());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            Lcore l = running.get(i);
            if (l.pinError() != null) {
                out.println("panda: " + l.pinError() + "; it runs unpinned");
            }
            if (l.failure() != null) {
                out.printf("panda: lcore %d failed while starting: %s%n", l.id(), l.failure());
            }
        }
    }

    /** One stream per (port, rx queue). */
    private int streamCount() {
        return ports.size() * options.rxq;
    }

    /**
     * The streams of the current configuration, in contiguous blocks per forwarding lcore; the
     * streams of lcore c record latency into {@code recorders.get(c)} when there are recorders.
     */
    private List<List<FwdStream>> streamsPerCore(List<LatencyRecorder> recorders) {
        int total = streamCount();
        int cores = Math.min(nbCores, total);
        List<FwdStream> streams = buildStreams(i -> recorders.isEmpty() ? null : recorders.get(i * cores / total));
        List<List<FwdStream>> perCore = new ArrayList<>();
        for (int c = 0; c < cores; c++) {
            perCore.add(new ArrayList<>());
        }
        for (int i = 0; i < streams.size(); i++) {
            perCore.get(i * cores / streams.size()).add(streams.get(i));
        }
        return perCore;
    }

    private List<FwdStream> buildStreams(java.util.function.IntFunction<LatencyRecorder> recorderOf) {
        List<FwdStream> streams = new ArrayList<>();
        int n = ports.size();
        // --tx-rate is the rate of the whole generator: each stream sends its share
        FwdConfig cfg = fwd.txRate() > 0 ? fwd.withTxRate(fwd.txRate() / streamCount()) : fwd;
        for (int p = 0; p < n; p++) {
            int peer = peerPort(p, n);
            for (int q = 0; q < options.rxq; q++) {
                int txq = q % options.txq;
                RxFilterStream f = rxFilter == null
                        ? null
                        // XDP_TX goes back out the rx port only where this stream owns that tx queue
                        : rxFilter.newStream(streams.size(), pool, ports.get(p), p, q, peer == p ? txq : -1);
                int id = streams.size();
                FwdStream fs = new FwdStream(
                        id, ports.get(p), p, q, ports.get(peer), peer, txq, pool, cfg, f, recorderOf.apply(id));
                if (options.recordBurstStats) {
                    fs.recordBurstStats();
                }
                streams.add(fs);
            }
        }
        return streams;
    }

    private int peerPort(int p, int n) {
        return switch (options.portTopology) {
            case "chained" -> (p + 1) % n;
            case "loop" -> p;
            default -> (p ^ 1) < n ? p ^ 1 : p;
        };
    }

    private void printFwdConfig(List<List<FwdStream>> perCore) {
        int streams = perCore.stream().mapToInt(List::size).sum();
        if (rxFilter != null) {
            out.printf("Rx filter: %s%n", rxFilter.description());
        }
        out.printf(
                "%s packet forwarding - ports=%d - cores=%d - streams=%d - NUMA support disabled, "
                        + "MP allocation mode: native%n",
                mode.name(), ports.size(), perCore.size(), streams);
        for (int c = 0; c < perCore.size(); c++) {
            List<FwdStream> s = perCore.get(c);
            out.printf("Logical Core %d (socket 0) forwards packets on %d streams:%n", fwdLcoreIds[c], s.size());
            for (FwdStream fs : s) {
                out.printf(
                        "  RX P=%d/Q=%d (socket 0) -> TX P=%d/Q=%d (socket 0) peer=%s%n",
                        fs.rxPortId,
                        fs.rxQueue,
                        fs.txPortId,
                        fs.txQueue,
                        Packets.macToString(fwd.peerMac(fs.txPortId)));
            }
        }
        out.println();
    }

    /** {@code stop}: ends the lcores and prints forward statistics. */
    public void stop() {
        if (!forwarding()) {
            out.println("Packet forwarding not started");
            return;
        }
        out.println("Telling cores to stop...");
        out.println("Waiting for lcores to finish...");
        Throwable failure = null;
        for (Lcore l : running) {
            l.join();
            if (l.failure() != null) {
                failure = l.failure();
            }
        }
        printForwardStats();
        out.println();
        running.clear();
        lastLoops = List.copyOf(loops);
        loops.clear();
        if (failure != null) {
            out.println("panda: a forwarding lcore failed: " + failure);
        }
        out.println("Done.");
    }

    /**
     * Per-stream, per-port and accumulated forward statistics since {@code start} (or the last
     * {@code clear fwd stats all}); then, as asked, busy cycles per packet and the latency.
     */
    private void printForwardStats() {
        runStats.print(out, streams(), mode.name(), options.recordCoreCycles, rxFilter != null);
    }

    /**
     * {@code clear fwd stats all}: forward statistics (streams, ports, cycles, latency) start from
     * zero again, without stopping the lcores; prints nothing, as dpdk-testpmd.
     */
    public void clearForwardStats() {
        if (runStats == null) {
            out.println("Packet forwarding not started");
            return;
        }
        runStats.clear(streams());
    }

    /**
     * The one-way latency recorded by every lcore of the current (or last) run since start or the
     * last clear, merged; empty without {@code --latency}.
     */
    public Histogram latency() {
        return runStats == null ? LatencyRecorder.newHistogram() : runStats.latency();
    }

    /** {@code show fwd stats all}: forward statistics of the current (or last) run, without stopping. */
    public void showForwardStats() {
        if (runStats == null) {
            out.println("Packet forwarding not started");
            return;
        }
        printForwardStats();
    }

    /** Streams of the current or, when stopped, the last forwarding run. */
    public List<FwdStream> streams() {
        List<FwdStream> all = new ArrayList<>();
        for (ForwardingLoop l : running.isEmpty() ? lastLoops : loops) {
            all.addAll(List.of(l.streams()));
        }
        return all;
    }

    // ---- show / set ----------------------------------------------------------------------

    /** Port stats since the last {@code clear port stats}. */
    public PortStats portStats(int port) {
        return ports.get(port).stats().minus(cleared[port]);
    }

    public void showPortStats(int port) {
        PortStats s = portStats(port);
        long now = System.nanoTime();
        double secs = (now - lastShownNanos[port]) / 1e9;
        PortStats prev = lastShown[port];
        // after a clear, rates restart from zero rather than going negative
        if (prev.ipackets() > s.ipackets() || prev.opackets() > s.opackets()) {
            prev = PortStats.ZERO;
        }
        StatsFormat.nicStats(out, port, s, prev, secs, rxFilter != null ? filteredOn(port) : -1);
        lastShown[port] = s;
        lastShownNanos[port] = now;
    }

    /** Packets the rx filter took out of port {@code port}'s streams in the current (or last) run. */
    public long filteredOn(int port) {
        long n = 0;
        for (FwdStream fs : streams()) {
            if (fs.rxPortId == port) {
                n += fs.filtered();
            }
        }
        return n;
    }

    public void clearPortStats(int port) {
        cleared[port] = ports.get(port).stats();
        lastShown[port] = PortStats.ZERO;
        lastShownNanos[port] = System.nanoTime();
        out.printf("%n  NIC statistics for port %d cleared%n", port);
    }

    public void showPortInfo(int port) {
        Port p = ports.get(port);
        LinkStatus l = p.link();
        out.printf("%n********************* Infos for port %-2d *********************%n", port);
        out.printf("MAC address: %s%n", Packets.macToString(p.mac()));
        out.printf("Device name: %s%n", p.name());
        out.printf("Driver name: %s%n", p.driverName());
        out.printf("Devargs: %s%n", devargs(options.vdevs.get(port)));
        out.printf("Connect to socket: 0%n");
        out.printf("Link status: %s%n", l.up() ? "up" : "down");
        out.printf("Link speed: %s%n", speed(l));
        out.printf("Link duplex: %s%n", l.fullDuplex() ? "full-duplex" : "half-duplex");
        out.printf("Current number of RX queues: %d%n", p.rxQueueCount());
        out.printf("Current number of TX queues: %d%n", p.txQueueCount());
        out.printf(
                "Packet pool: %d buffers of %d bytes (%d free)%n", pool.capacity(), pool.dataRoom(), pool.available());
    }

    private static String devargs(String vdev) {
        int comma = vdev.indexOf(',');
        return comma < 0 ? "" : vdev.substring(comma + 1);
    }

    public void showConfigFwd() {
        printFwdConfig(streamsPerCore(List.of()));
    }

    /** {@code set fwd MODE}; takes effect at the next start. */
    public void setForwardMode(String name) {
        requireStopped();
        mode = ForwardEngines.byName(name);
        out.printf("Set %s packet forwarding mode%n", name);
    }

    public void setBurst(int burst) {
        requireStopped();
        fwd = fwd.withBurst(burst);
        out.printf("Number of packets per burst set to %d%n", burst);
    }

    public void setTxPackets(int len) {
        requireStopped();
        if (len > pool.dataRoom()) {
            throw new IllegalArgumentException(
                    "txpkts " + len + " does not fit a buffer of " + pool.dataRoom() + " bytes");
        }
        fwd = fwd.withTxPacketLen(len);
    }

    public void setNbCores(int n) {
        requireStopped();
        if (n < 1 || n > fwdLcoreIds.length) {
            throw new IllegalArgumentException("nb-cores must be 1.." + fwdLcoreIds.length);
        }
        nbCores = n;
        out.printf("Number of forwarding cores set to %d%n", n);
    }

    /** Configuration changes apply at the next start, so they are refused while forwarding (as in testpmd). */
    private void requireStopped() {
        if (forwarding()) {
            throw new IllegalArgumentException("Please stop forwarding first");
        }
    }

    public String forwardMode() {
        return mode.name();
    }

    public int portCount() {
        return ports.size();
    }

    public Port port(int i) {
        return ports.get(i);
    }

    public PacketPool pool() {
        return pool;
    }

    public List<Lcore> lcores() {
        return List.copyOf(running);
    }

    /** Stops forwarding if needed, closes the ports and frees the pool. */
    @Override
    public void close() {
        if (forwarding()) {
            stop();
        }
        for (int i = 0; i < ports.size(); i++) {
            out.printf("%nStopping port %d...%nStopping ports...%nDone%n", i);
        }
        for (int i = 0; i < ports.size(); i++) {
            out.printf("%nShutting down port %d...%nClosing ports...%n", i);
            ports.get(i).close();
            out.printf("Port %d is closed%nDone%n", i);
        }
        if (pool.doubleFrees() > 0) {
            out.printf("panda: %d buffers were freed twice (a port bug)%n", pool.doubleFrees());
        }
        if (rxFilter != null) {
            rxFilter.close();
        }
        pool.close();
        out.printf("%nBye...%n");
    }
}
