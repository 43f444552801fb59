package dev.panda.vswitch.datapath;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.vswitch.config.PmdConfig;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The threads that move packets, in one of the two execution models, and the snapshot they read.
 *
 * <p>The control thread calls {@link #publish} with a new {@link Snapshot}; it returns once no
 * data-path thread uses the previous one any more (every poller has begun an iteration on the new
 * one, and in the pipeline every burst published before has left the tx stage), so the caller may
 * then close a port that the new snapshot no longer has.
 */
public abstract class Datapath implements AutoCloseable {

    /** One data-path thread, for pmd-stats and port counters. */
    /**
     * One thread of the data path.
     *
     * @param backlog  for a pipeline stage: the bursts in its ring waiting for it (read at any time,
     *                 approximate); null for a poller
     * @param ringSize the pipeline ring's size in bursts; 0 for a poller
     */
    public record Worker(
            String name,
            int core,
            String role,
            int index,
            PmdCounters perf,
            DropCounters drops,
            java.util.function.LongSupplier backlog,
            int ringSize) {

        public Worker(String name, int core, String role, int index, PmdCounters perf, DropCounters drops) {
            this(name, core, role, index, perf, drops, null, 0);
        }
    }

    protected final PacketPool pool;
    protected final int burst;
    protected volatile Snapshot snapshot;
    /** The running packet captures, read once per pass (see {@link #setTaps}). */
    protected volatile dev.panda.vswitch.capture.Taps taps = dev.panda.vswitch.capture.Taps.NONE;
    /** Seconds since start, for the FDB (advanced by the housekeeping thread). */
    protected volatile int nowSeconds;

    protected Datapath(PacketPool pool, int burst, int pollers) {
        this.pool = pool;
        this.burst = burst;
        this.snapshot = Snapshot.empty(pollers);
    }

    public static Datapath create(PacketPool pool, PmdConfig config, int[] cores) {
        return switch (config.mode()) {
            case RTC -> new RtcDatapath(pool, config.burst(), cores, config.idle());
            case PIPELINE -> new PipelineDatapath(pool, config.burst(), cores, config);
        };
    }

    public abstract void start();

    private final java.util.List<dev.panda.dataplane.lcore.Lcore> lcores = new java.util.ArrayList<>();

    /** A pmd thread's pass: it notes the snapshot it works on, and times itself. */
    protected abstract class Poller implements java.util.function.IntSupplier {
        final int index;
        final PmdCounters perf = new PmdCounters();
        final dev.panda.dataplane.port.PacketBurst rx;
        volatile long seen;

        protected Poller(int index) {
            this.index = index;
            this.rx = new dev.panda.dataplane.port.PacketBurst(burst);
        }

        /** The snapshot this pass works on; the previous pass, on an older one, has ended. */
        final Snapshot begin() {
            Snapshot s = snapshot;
            if (s.generation != seen) {
                seen = s.generation;
            }
            return s;
        }
    }

    /** Starts one pinned lcore per poller, poller i on {@code cores[i]}. */
    protected final void startPollers(int[] cores, String idle, List<? extends Poller> pollers) {
        for (int i = 0; i < cores.length; i++) {
            var l = new dev.panda.dataplane.lcore.Lcore(
                    cores[i],
                    new int[] {cores[i]},
                    dev.panda.dataplane.lcore.IdleStrategy.Kind.parse(idle).create(),
                    pollers.get(i),
                    null);
            lcores.add(l.start());
        }
    }

    /** True once every running poller has begun a pass on snapshot {@code generation} or later. */
    protected final boolean pollersOn(long generation, List<? extends Poller> pollers) {
        for (int i = 0; i < pollers.size(); i++) {
            if (pollers.get(i).seen < generation
                    && lcores.size() > i
                    && lcores.get(i).thread().isAlive()) {
                return false;
            }
        }
        return true;
    }

    /** Stops and joins the pollers. */
    protected final void stopPollers() {
        for (var l : lcores) {
            l.stop();
        }
        for (var l : lcores) {
            l.join();
        }
        lcores.clear();
    }

    /** How many rx pollers there are (rx queues are spread over them). */
    public abstract int pollers();

    /** How many threads transmit (tx queues beyond this count are not used; fewer are shared). */
    public abstract int transmitters();

    public abstract List<Worker> workers();

    /** The flow-table engine of each thread that runs flows, by worker name (pmd-stats, metrics). */
    public java.util.Map<String, dev.panda.vswitch.flow.FlowEngine> flowEngines() {
        return java.util.Map.of();
    }

    /** The pmd cores, by poller index. */
    public abstract int[] pollerCores();

    public Snapshot snapshot() {
        return snapshot;
    }

    /**
     * Publishes the running captures; the data path offers frames to them from its next pass on.
     * A capture taken out is stopped by its tap's close, which waits for threads inside it.
     */
    public void setTaps(dev.panda.vswitch.capture.Taps t) {
        taps = t;
    }

    /**
     * Data-path threads that may offer frames to a capture, each with its own index below this:
     * pollers 0..pollers-1 and, in the pipeline, the tx stage (index pollers).
     */
    public int captureSlots() {
        return pollers() + 1;
    }

    public void tick(int seconds) {
        nowSeconds = seconds;
    }

    /** Installs {@code s} and waits (up to 5 s) until the old snapshot is out of use. */
    public void publish(Snapshot s) {
        snapshot = s;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!quiescent(s.generation)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("data path did not take up snapshot " + s.generation + " within 5 s");
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    /** True once no thread can still be working on a snapshot older than {@code generation}. */
    protected abstract boolean quiescent(long generation);

    @Override
    public abstract void close();
}
