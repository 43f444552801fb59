package dev.panda.dataplane.ports.ring;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * The other direction: on a full ring the producer may overwrite a slot only after the consumer
 * has read it. {@link SpscIntRing#poll} publishes its head with a release store after copying the
 * slots out, and {@link SpscIntRing#offer} loads the head with acquire before writing: the
 * consumer always reads 1 and 2, never the 3 or 4 the producer writes into the freed slots.
 */
@JCStressTest
@Description("SpscIntRing on a full ring: slots are reused only after the consumer has read them")
@Outcome(id = "0, 1, 2", expect = ACCEPTABLE, desc = "producer found the ring still full")
@Outcome(id = "2, 1, 2", expect = ACCEPTABLE, desc = "producer refilled the slots the consumer had read")
@Outcome(
        expect = FORBIDDEN,
        desc = "the consumer read a handle written after its head was published (slot overwritten before read)")
@State
public class SpscIntRingSlotReuseStress {

    private final SpscIntRing ring = new SpscIntRing("stress", 2);
    private final int[] next = {3, 4};
    private final int[] got = {-1, -1};

    public SpscIntRingSlotReuseStress() {
        ring.offer(new int[] {1, 2}, 0, 2); // full
    }

    @Actor
    public void producer(III_Result r) {
        r.r1 = ring.offer(next, 0, 2);
    }

    @Actor
    public void consumer(III_Result r) {
        ring.poll(got, 0, 2);
        r.r2 = got[0];
        r.r3 = got[1];
    }
}
