package dev.panda.vswitch.datapath;

import dev.panda.dataplane.mem.PacketPool;
import java.util.ArrayList;
import java.util.List;

/**
 * Run to completion: each poller, on its own pinned core, receives a burst, switches it and
 * transmits it before the next; no ring between threads. Poller i transmits on tx queue
 * {@code i % txQueueCount} of every port.
 */
final class RtcDatapath extends Datapath {

    private final int[] cores;
    private final String idle;
    private final List<RtcPoller> pollers = new ArrayList<>();

    RtcDatapath(PacketPool pool, int burst, int[] cores, String idle) {
        super(pool, burst, cores.length);
        this.cores = cores.clone();
        this.idle = idle;
        for (int i = 0; i < cores.length; i++) {
            pollers.add(new RtcPoller(i));
        }
    }

    @Override
    public void start() {
        startPollers(cores, idle, pollers);
    }

    /** One pmd: its rx queues come from the snapshot, its iterations are timed. */
    private final class RtcPoller extends Poller {
        final Switching sw;

        RtcPoller(int index) {
            super(index);
            this.sw = new Switching(pool, index, burst);
            sw.tapSlot = index;
        }

        @Override
        public int getAsInt() {
            long t0 = System.nanoTime();
            Snapshot s = begin();
            int now = nowSeconds;
            var t = taps;
            sw.taps = t;
            int[] ports = s.rxqPort[index];
            int[] queues = s.rxqQueue[index];
            int moved = 0;
            for (int i = 0; i < ports.length; i++) {
                PortEntry in = s.ports[ports[i]];
                int q = queues[i];
                int n = in.receive(q, rx, sw.counters);
                if (n == 0) {
                    continue;
                }
                int[] h = rx.handles;
                t.received(in.id, in.port, pool, pool.segment(), h, n, index);
                sw.switchBurst(h, n, in, now, s);
                moved += n;
            }
            if (index == 0 && Switching.hasPacketOuts(s)) {
                moved += sw.packetOuts(s);
                sw.flush(s);
                Switching.packetOutsFlushed(s);
            }
            perf.iteration(System.nanoTime() - t0, moved);
            return moved;
        }
    }

    @Override
    public java.util.Map<String, dev.panda.vswitch.flow.FlowEngine> flowEngines() {
        java.util.Map<String, dev.panda.vswitch.flow.FlowEngine> m = new java.util.LinkedHashMap<>();
        for (RtcPoller p : pollers) {
            m.put("pmd" + p.index, p.sw.flowEngine());
        }
        return m;
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
        for (RtcPoller p : pollers) {
            w.add(new Worker("pmd" + p.index, cores[p.index], "rtc", p.index, p.perf, p.sw.counters));
        }
        return w;
    }

    @Override
    protected boolean quiescent(long generation) {
        return pollersOn(generation, pollers);
    }

    @Override
    public void close() {
        stopPollers();
    }
}
