package dev.panda.xdp.afxdp;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * The way back: on a full ring (addresses 1 and 2 published, none consumed) the producer reuses a
 * slot only after the consumer's store-release of the consumer index ({@link XskRing#release}),
 * which {@link XskRing#free} loads with acquire; the consumer read its entries before releasing
 * them, so it always reads 1 and 2, never the 3 or 4 written into the freed slots.
 */
@JCStressTest
@Description("XskRing on a full ring: slots are reused only after the consumer has read them")
@Outcome(id = "0, 1, 2", expect = ACCEPTABLE, desc = "producer found the ring still full")
@Outcome(id = "2, 1, 2", expect = ACCEPTABLE, desc = "producer refilled the slots the consumer had read")
@Outcome(expect = FORBIDDEN, desc = "the consumer read an entry written after it released it (slot reused early)")
@State
public class XskRingSlotReuseStress {

    private final XskRingPair ring = new XskRingPair(2, 8, -2, (byte) 0x5a, 2);

    @Actor
    public void producer(III_Result r) {
        XskRing p = ring.producer;
        int n = p.free(2);
        for (int i = 0; i < n; i++) {
            p.putAddr(i, 3 + i);
        }
        p.submit(n);
        r.r1 = n;
    }

    @Actor
    public void consumer(III_Result r) {
        XskRing c = ring.consumer;
        int n = c.available(2);
        r.r2 = n > 0 ? (int) c.addrAt(0) : -1;
        r.r3 = n > 1 ? (int) c.addrAt(1) : -1;
        c.release(n);
    }
}
