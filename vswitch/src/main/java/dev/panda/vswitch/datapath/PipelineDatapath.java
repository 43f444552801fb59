package dev.panda.vswitch.datapath;

import com.lmax.disruptor.BlockingWaitStrategy;
import com.lmax.disruptor.BusySpinWaitStrategy;
import com.lmax.disruptor.EventHandler;
import com.lmax.disruptor.InsufficientCapacityException;
import com.lmax.disruptor.RingBuffer;
import com.lmax.disruptor.SleepingWaitStrategy;
import com.lmax.disruptor.WaitStrategy;
import com.lmax.disruptor.YieldingWaitStrategy;
import com.lmax.disruptor.dsl.Disruptor;
import com.lmax.disruptor.dsl.ProducerType;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.jextract.Posix;
import dev.panda.vswitch.config.PmdConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * The pipeline: pollers on the pmd cores receive bursts and publish them into one LMAX Disruptor
 * ring of preallocated {@link BurstEvent}s (multi-producer); a classify stage (parse, VLAN, learn,
 * look up) and then a tx stage (replicate floods, retag, transmit) handle every event in order,
 * each on the core the config gives. Only the tx stage transmits, so every port is sent to on
 * tx queue 0 by one thread and no tx lock exists. A poller that finds no free slot leaves its
 * packets in the port's ring (it does not poll), so the ring's back-pressure reaches the ports.
 */
final class PipelineDatapath extends Datapath {

    /** A burst in flight: handles and the classify stage's decision for each. */
    static final class BurstEvent {
        final int[] handles;
        final int[] decisions;
        int count;
        int inPort;
        /** Asks the tx stage to send the queued PACKET_OUTs (count is then 0). */
        boolean packetOuts;

        BurstEvent(int burst) {
            handles = new int[burst];
            decisions = new int[burst];
        }
    }

    private final int[] cores;
    private final String idle;
    private final int classifyCore;
    private final int txCore;
    private final Disruptor<BurstEvent> disruptor;
    private final RingBuffer<BurstEvent> ring;
    private final List<PipelinePoller> pollers = new ArrayList<>();
    private final ClassifyStage classify;
    private final TxStage tx;

    PipelineDatapath(PacketPool pool, int burst, int[] cores, PmdConfig config) {
        super(pool, burst, cores.length);
        this.cores = cores.clone();
        this.idle = config.idle();
        int last = cores[cores.length - 1];
        this.classifyCore = config.stages().classify() != null ? config.stages().classify() : last;
        this.txCore = config.stages().tx() != null ? config.stages().tx() : last;
        int size = config.ringSize();
        if (Integer.bitCount(size) != 1) {
            throw new IllegalArgumentException("ring-size must be a power of two, got " + size);
        }
        this.disruptor = new Disruptor<>(
                () -> new BurstEvent(burst), size, new StageThreads(), ProducerType.MULTI, waitStrategy(idle));
        this.classify = new ClassifyStage();
        this.tx = new TxStage();
        disruptor.handleEventsWith(classify).then(tx);
        this.ring = disruptor.getRingBuffer();
        for (int i = 0; i < cores.length; i++) {
            pollers.add(new PipelinePoller(i));
        }
    }

    private static WaitStrategy waitStrategy(String idle) {
        return switch (idle) {
            case "spin" -> new BusySpinWaitStrategy();
            case "park" -> new SleepingWaitStrategy();
            case "block" -> new BlockingWaitStrategy();
            default -> new YieldingWaitStrategy();
        };
    }

    /** Names the stage threads and pins each to its core. */
    private final class StageThreads implements ThreadFactory {
        private int made;

        @Override
        public Thread newThread(Runnable r) {
            String role = made++ == 0 ? "classify" : "tx";
            int cpu = role.equals("classify") ? classifyCore : txCore;
            return Thread.ofPlatform().name("pmd-" + role).daemon(true).unstarted(() -> {
                try {
                    Posix.setAffinity(cpu);
                } catch (RuntimeException e) {
                    System.err.println(
                            "panda vswitch: cannot pin the " + role + " stage to CPU " + cpu + ": " + e.getMessage());
                }
                r.run();
            });
        }
    }

    @Override
    public void start() {
        disruptor.start();
        startPollers(cores, idle, pollers);
    }

    /** A pmd in pipeline mode: receive, filter, publish. */
    private final class PipelinePoller extends Poller {
        final DropCounters drops = new DropCounters();

        PipelinePoller(int index) {
            super(index);
        }

        @Override
        public int getAsInt() {
            long t0 = System.nanoTime();
            Snapshot s = begin();
            int[] ports = s.rxqPort[index];
            int[] queues = s.rxqQueue[index];
            var t = taps;
            int moved = 0;
            for (int i = 0; i < ports.length; i++) {
                if (!ring.hasAvailableCapacity(1)) {
                    break; // back-pressure: leave the packets in the ports' rings
                }
                PortEntry in = s.ports[ports[i]];
                int q = queues[i];
                int n = in.receive(q, rx, drops);
                if (n == 0) {
                    continue;
                }
                t.received(in.id, in.port, pool, pool.segment(), rx.handles, n, index);
                long seq;
                try {
                    seq = ring.tryNext();
                } catch (InsufficientCapacityException e) {
                    drops.add(in.id, DropCounters.PIPELINE_FULL, n);
                    pool.freeBulk(rx.handles, 0, n);
                    continue;
                }
                BurstEvent ev = ring.get(seq);
                System.arraycopy(rx.handles, 0, ev.handles, 0, n);
                ev.count = n;
                ev.inPort = in.id;
                ev.packetOuts = false;
                ring.publish(seq);
                moved += n;
            }
            if (index == 0 && !packetOutPosted && Switching.hasPacketOuts(s)) {
                postPacketOuts();
            }
            perf.iteration(System.nanoTime() - t0, moved);
            return moved;
        }
    }

    /** Set while an event asking the tx stage to send PACKET_OUTs is in the ring. */
    private volatile boolean packetOutPosted;

    private void postPacketOuts() {
        long seq;
        try {
            seq = ring.tryNext();
        } catch (InsufficientCapacityException e) {
            return; // the next pass tries again
        }
        BurstEvent ev = ring.get(seq);
        ev.count = 0;
        ev.inPort = 0;
        ev.packetOuts = true;
        packetOutPosted = true;
        ring.publish(seq);
    }

    /** Parse, VLAN, learn, look up: writes a decision per packet into the event. */
    private final class ClassifyStage implements EventHandler<BurstEvent> {
        final Switching sw = new Switching(pool, 0, burst);
        final PmdCounters perf = new PmdCounters();

        @Override
        public void onEvent(BurstEvent ev, long sequence, boolean endOfBatch) {
            long t0 = System.nanoTime();
            Snapshot s = snapshot;
            PortEntry in = s.ports[ev.inPort];
            int n = ev.count;
            int now = nowSeconds;
            sw.beginBurst();
            for (int k = 0; k < n; k++) {
                ev.decisions[k] = in == null ? Switching.DROP : sw.classify(ev.handles[k], in, now);
            }
            perf.iteration(System.nanoTime() - t0, n);
        }
    }

    /** Replicate, retag, transmit; the only thread that sends. */
    private final class TxStage implements EventHandler<BurstEvent> {
        final Switching sw = new Switching(pool, 0, burst);
        final PmdCounters perf = new PmdCounters();

        @Override
        public void onEvent(BurstEvent ev, long sequence, boolean endOfBatch) {
            long t0 = System.nanoTime();
            Snapshot s = snapshot;
            sw.taps = taps;
            sw.tapSlot = pollers.size();
            int n = ev.count;
            sw.tick(nowSeconds);
            sw.beginBurst();
            boolean outs = ev.packetOuts;
            if (outs) {
                ev.packetOuts = false;
                packetOutPosted = false;
                n += sw.packetOuts(s);
            }
            for (int k = 0; k < ev.count; k++) {
                sw.emit(ev.handles[k], ev.decisions[k], ev.inPort, s);
            }
            sw.flush(s);
            if (outs) {
                Switching.packetOutsFlushed(s);
            }
            perf.iteration(System.nanoTime() - t0, n);
        }
    }

    @Override
    public java.util.Map<String, dev.panda.vswitch.flow.FlowEngine> flowEngines() {
        return java.util.Map.of("tx", tx.sw.flowEngine());
    }

    @Override
    public int pollers() {
        return cores.length;
    }

    @Override
    public int transmitters() {
        return 1;
    }

    @Override
    public int[] pollerCores() {
        return cores.clone();
    }

    @Override
    public List<Worker> workers() {
        List<Worker> w = new ArrayList<>();
        for (PipelinePoller p : pollers) {
            w.add(new Worker("pmd" + p.index, cores[p.index], "poller", p.index, p.perf, p.drops));
        }
        int size = ring.getBufferSize();
        w.add(new Worker(
                "classify",
                classifyCore,
                "classify",
                -1,
                classify.perf,
                classify.sw.counters,
                () -> Math.max(0, ring.getCursor() - disruptor.getSequenceValueFor(classify)),
                size));
        w.add(new Worker(
                "tx",
                txCore,
                "tx",
                -1,
                tx.perf,
                tx.sw.counters,
                () -> Math.max(0, disruptor.getSequenceValueFor(classify) - disruptor.getSequenceValueFor(tx)),
                size));
        return w;
    }

    @Override
    protected boolean quiescent(long generation) {
        if (!pollersOn(generation, pollers)) {
            return false;
        }
        // every burst a poller published on the old snapshot has left the tx stage
        long cursor = ring.getCursor();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (disruptor.getSequenceValueFor(tx) < cursor) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.yield();
        }
        return true;
    }

    @Override
    public void close() {
        stopPollers();
        try {
            disruptor.shutdown(5, TimeUnit.SECONDS);
        } catch (com.lmax.disruptor.TimeoutException e) {
            disruptor.halt();
        }
    }
}
