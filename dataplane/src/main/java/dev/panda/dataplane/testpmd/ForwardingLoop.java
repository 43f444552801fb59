package dev.panda.dataplane.testpmd;

import dev.panda.dataplane.fwd.ForwardEngine;
import dev.panda.dataplane.fwd.FwdStream;
import dev.panda.dataplane.fwd.engines.TxOnlyEngine;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;

/**
 * What one forwarding lcore runs: its streams, one engine instance per stream. The first pass
 * calls each engine's begin and, for {@code start tx_first}, sends the requested number of
 * txonly bursts on every stream before forwarding. With {@code --record-core-cycles} each
 * engine call is timed with {@code System.nanoTime()} and the time of the calls that moved packets
 * is added to the stream's busy time (as dpdk-testpmd adds TSC cycles of the bursts that moved
 * packets to the stream's core cycles).
 */
final class ForwardingLoop implements IntSupplier {

    private final FwdStream[] streams;
    private final ForwardEngine[] engines;
    private int txFirstBursts;
    private final boolean recordCycles;
    private boolean begun;
    /** The clock reading that ended the last pass, and whether the next pass starts from it. */
    private long carried;

    private boolean carry;
    private final CountDownLatch started = new CountDownLatch(1);

    ForwardingLoop(FwdStream[] streams, ForwardEngine[] engines, int txFirstBursts, boolean recordCycles) {
        this.streams = streams;
        this.engines = engines;
        this.txFirstBursts = txFirstBursts;
        this.recordCycles = recordCycles;
    }

    @Override
    public int getAsInt() {
        if (!begun) {
            begin();
        }
        if (recordCycles) {
            return timedPass();
        }
        int work = 0;
        for (int i = 0; i < streams.length; i++) {
            work += engines[i].forward(streams[i]);
        }
        return work;
    }

    /**
     * One pass that charges each busy engine call to its stream; one clock read per call. A pass
     * that moved packets hands its last reading to the next pass as its start (the loop between
     * two passes is charged to the next call, as a busy loop's own cost); after an idle pass the
     * poller may have backed off, so the next pass reads the clock afresh.
     */
    private int timedPass() {
        int work = 0;
        long t0 = carry ? carried : System.nanoTime();
        for (int i = 0; i < streams.length; i++) {
            int n = engines[i].forward(streams[i]);
            long t1 = System.nanoTime();
            if (n > 0) {
                streams[i].countBusyNanos(t1 - t0);
                work += n;
            }
            t0 = t1;
        }
        carried = t0;
        carry = work > 0;
        return work;
    }

    private void begin() {
        begun = true;
        if (txFirstBursts > 0) {
            for (FwdStream s : streams) {
                TxOnlyEngine tx = new TxOnlyEngine(false); // tx_first: whole bursts, never paced
                tx.begin(s);
                for (int b = 0; b < txFirstBursts; b++) {
                    tx.forward(s);
                }
            }
            txFirstBursts = 0;
        }
        for (int i = 0; i < streams.length; i++) {
            engines[i].begin(streams[i]);
        }
        started.countDown();
    }

    /** Waits until the lcore has sent its tx_first bursts and begun every engine. */
    boolean awaitStarted(long timeout, TimeUnit unit) throws InterruptedException {
        return started.await(timeout, unit);
    }

    /** Runs the engines' end hooks on the lcore thread. */
    void end() {
        if (begun) {
            for (int i = 0; i < streams.length; i++) {
                engines[i].end(streams[i]);
            }
        }
    }

    FwdStream[] streams() {
        return streams;
    }
}
