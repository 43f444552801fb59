package dev.panda.perf.latency;

import dev.panda.dataplane.fwd.FwdConfig;
import dev.panda.dataplane.fwd.FwdStream;
import dev.panda.dataplane.fwd.LatencyRecorder;
import dev.panda.dataplane.fwd.engines.RxOnlyEngine;
import dev.panda.dataplane.fwd.engines.TxOnlyEngine;
import dev.panda.dataplane.lcore.IdleStrategy;
import dev.panda.dataplane.lcore.Lcore;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.jextract.Posix;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import org.HdrHistogram.Histogram;

/**
 * panda's end of a latency loop, in this process: a packet pool and its ports, and one busy-polling
 * lcore that runs txonly on port 0 (paced to the run's rate, every frame stamped with
 * {@code System.nanoTime()}) and rxonly with latency recording on every port. Sender and receiver
 * share the lcore, so what the histogram shows is the path between them plus the wait for the
 * lcore's next receive pass.
 */
final class TrafficSide implements AutoCloseable {

    /** What one run measured. */
    record Run(double achievedPps, long sent, Histogram latency, long negative) {}

    private final PacketPool pool;
    private final List<Port> ports = new ArrayList<>();
    private final int cpu;

    /** Opens the pool and {@code vdevs} (the first one transmits); nothing is left open on failure. */
    TrafficSide(List<String> vdevs, int cpu) {
        this.cpu = cpu;
        this.pool = PacketPool.create(PoolConfig.defaults());
        try {
            Ports drivers = Ports.discover();
            for (String v : vdevs) {
                ports.add(drivers.open(
                        v,
                        new PortContext(
                                pool,
                                ports.size(),
                                1,
                                1,
                                PortContext.DEFAULT_DESCRIPTORS,
                                PortContext.DEFAULT_DESCRIPTORS)));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Waits until every port's link is up (a vhost-user back-end connected and set the rings up). */
    void awaitLinks(long deadlineNanos) throws InterruptedException {
        for (Port p : ports) {
            while (!p.link().up()) {
                if (System.nanoTime() > deadlineNanos) {
                    throw new IllegalStateException("port " + p.name() + " has no link: the switch never connected");
                }
                Thread.sleep(20);
            }
        }
    }

    /**
     * Sends at {@code pps} for {@code warmup} seconds, stops and lets the loop drain, then measures
     * a window of {@code seconds}: the generator starts again (on a fresh schedule), stops at the
     * window's end, and the loop drains once more, so the histogram holds exactly the packets sent
     * in the window that arrived; {@code sent} is what the generator's port took.
     */
    Run run(double pps, int warmup, int seconds) throws InterruptedException {
        FwdConfig cfg = FwdConfig.defaults().withTxRate(pps).withLatency(true);
        LatencyRecorder recorder = new LatencyRecorder();
        Port txPort = ports.getFirst();
        FwdStream tx = new FwdStream(0, txPort, 0, 0, txPort, 0, 0, pool, cfg, null, null);
        List<FwdStream> rx = new ArrayList<>();
        for (int p = 0; p < ports.size(); p++) {
            Port port = ports.get(p);
            rx.add(new FwdStream(1 + p, port, p, 0, port, p, 0, pool, cfg, null, recorder));
        }
        Loop loop = new Loop(tx, rx.toArray(FwdStream[]::new));
        int[] allowed = Posix.getAffinity();
        int[] pin = Arrays.stream(allowed).anyMatch(c -> c == cpu) ? new int[] {cpu} : new int[0];
        Lcore lcore = new Lcore(0, pin, new IdleStrategy.BusySpin(), loop, null).start();
        try {
            loop.generate = true;
            Thread.sleep(TimeUnit.SECONDS.toMillis(warmup));
            loop.generate = false;
            drain(loop, lcore);
            recorder.reset();
            long tx0 = tx.txPackets();
            long t0 = System.nanoTime();
            loop.generate = true;
            Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
            loop.generate = false;
            long t1 = System.nanoTime();
            drain(loop, lcore);
            long tx1 = tx.txPackets();
            lcore.join();
            if (lcore.failure() != null) {
                throw new IllegalStateException("the traffic lcore failed: " + lcore.failure(), lcore.failure());
            }
            Histogram h = LatencyRecorder.newHistogram();
            recorder.addTo(h);
            long sent = tx1 - tx0;
            return new Run(sent / ((t1 - t0) / 1e9), sent, h, recorder.negative());
        } finally {
            lcore.join();
        }
    }

    /** Waits until the receivers got nothing for 100 ms (at most 3 s): the loop is empty. */
    private static void drain(Loop loop, Lcore lcore) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        long last = -1;
        while (System.nanoTime() < deadline && lcore.thread().isAlive()) {
            long now = loop.received();
            if (now == last) {
                return;
            }
            last = now;
            Thread.sleep(100);
        }
    }

    /** The generator (until told to stop) and the receivers, one pass each per call. */
    private static final class Loop implements IntSupplier {
        private final FwdStream tx;
        private final FwdStream[] rx;
        private final TxOnlyEngine txEngine = new TxOnlyEngine();
        private final RxOnlyEngine[] rxEngines;
        private boolean begun;
        private boolean generating;
        volatile boolean generate;

        Loop(FwdStream tx, FwdStream[] rx) {
            this.tx = tx;
            this.rx = rx;
            this.rxEngines = new RxOnlyEngine[rx.length];
            for (int i = 0; i < rx.length; i++) {
                rxEngines[i] = new RxOnlyEngine();
            }
        }

        @Override
        public int getAsInt() {
            if (!begun) {
                begun = true;
                for (int i = 0; i < rx.length; i++) {
                    rxEngines[i].begin(rx[i]);
                }
            }
            boolean g = generate;
            if (g && !generating) {
                txEngine.begin(tx); // a fresh schedule: no backlog from the pause
            }
            generating = g;
            int work = g ? txEngine.forward(tx) : 0;
            for (int i = 0; i < rx.length; i++) {
                work += rxEngines[i].forward(rx[i]);
            }
            return work;
        }

        /** Packets the receivers took so far; any thread. */
        long received() {
            long n = 0;
            for (FwdStream s : rx) {
                n += s.rxPackets();
            }
            return n;
        }
    }

    @Override
    public void close() {
        for (Port p : ports) {
            p.close();
        }
        ports.clear();
        pool.close();
    }
}
