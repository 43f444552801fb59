package dev.panda.vswitch.datapath;

import dev.panda.dataplane.filter.RxFilterStream;
import dev.panda.dataplane.lcore.IdleStrategy;
import dev.panda.dataplane.lcore.Lcore;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PacketBurst;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntSupplier;

/**
 * Run to completion: each poller, on its own pinned core, receives a burst, switches it and
 * transmits it before the next; no ring between threads. Poller i transmits on tx queue
 * {@code i % txQueueCount} of every port.
 */
final class RtcDatapath extends Datapath {

    private final int[] cores;
    private final String idle;
    private final List<Poller> pollers = new ArrayList<>();
    private final List<Lcore> lcores = new ArrayList<>();

    RtcDatapath(PacketPool pool, int burst, int[] cores, String idle) {
        super(pool, burst, cores.length);
        this.cores = cores.clone();
        this.idle = idle;
        for (int i = 0; i < cores.length; i++) {
            pollers.add(new Poller(i));
        }
    }

    @Override
    public void start() {
        for (int i = 0; i < cores.length; i++) {
            Lcore l = new Lcore(
                    cores[i],
                    new int[] {cores[i]},
                    IdleStrategy.Kind.parse(idle).create(),
                    pollers.get(i),
                    null);
            lcores.add(l.start());
        }
    }

    /** One pmd: its rx queues come from the snapshot, its iterations are timed. */
    private final class Poller implements IntSupplier {
        final int index;
        final Switching sw;
        final PmdCounters perf = new PmdCounters();
        final PacketBurst rx = new PacketBurst(burst);
        volatile long seen;

        Poller(int index) {
            this.index = index;
            this.sw = new Switching(pool, index, burst);
        }

        @Override
        public int getAsInt() {
            long t0 = System.nanoTime();
            Snapshot s = snapshot;
            if (s.generation != seen) {
                seen = s.generation;
            }
            int now = nowSeconds;
            int[] ports = s.rxqPort[index];
            int[] queues = s.rxqQueue[index];
            int moved = 0;
            for (int i = 0; i < ports.length; i++) {
                PortEntry in = s.ports[ports[i]];
                int q = queues[i];
                int n = in.port.rxBurst(q, rx);
                if (n == 0) {
                    continue;
                }
                RxFilterStream f = in.filters == null ? null : in.filters[q];
                if (f != null) {
                    int kept = f.apply(rx, n);
                    sw.counters.add(in.id, DropCounters.FILTER, n - kept);
                    n = kept;
                }
                int[] h = rx.handles;
                for (int k = 0; k < n; k++) {
                    int d = sw.classify(h[k], in, now);
                    sw.emit(h[k], d, in.id, s);
                }
                sw.flush(s);
                moved += n;
            }
            perf.iteration(System.nanoTime() - t0, moved);
            return moved;
        }
    }

    @Override
    public int pollers() {
        return cores.length;
    }

    @Override
    public int transmitters() {
        return cores.length;
    }

    @Override
    public int[] pollerCores() {
        return cores.clone();
    }

    @Override
    public List<Worker> workers() {
        List<Worker> w = new ArrayList<>();
        for (Poller p : pollers) {
            w.add(new Worker("pmd" + p.index, cores[p.index], "rtc", p.index, p.perf, p.sw.counters));
        }
        return w;
    }

    @Override
    protected boolean quiescent(long generation) {
        for (int i = 0; i < pollers.size(); i++) {
            Poller p = pollers.get(i);
            if (p.seen < generation
                    && lcores.size() > i
                    && lcores.get(i).thread().isAlive()) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void close() {
        for (Lcore l : lcores) {
            l.stop();
        }
        for (Lcore l : lcores) {
            l.join();
        }
        lcores.clear();
    }

    /** What ended a poller abnormally, or null. */
    Throwable failure() {
        for (Lcore l : lcores) {
            if (l.failure() != null) {
                return l.failure();
            }
        }
        return null;
    }
}
