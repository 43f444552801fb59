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
 * {@link SpscIntRing#offer} publishes its tail with a release store after writing the slots, and
 * {@link SpscIntRing#poll} loads the tail with acquire before reading them: a consumer that sees
 * the burst sees all of it, never the stale handles (7) the slots held before. The burst wraps
 * (slots 3 and 0 of a ring of 4) so both halves of the copy are covered.
 */
@JCStressTest
@Description("SpscIntRing offer/poll: a published burst is read whole, never a stale slot")
@Outcome(id = "0, -1, -1", expect = ACCEPTABLE, desc = "consumer polled before the producer published")
@Outcome(id = "2, 42, 43", expect = ACCEPTABLE, desc = "consumer got the whole burst")
@Outcome(
        expect = FORBIDDEN,
        desc = "part of a burst, or a stale or torn slot: the tail became visible before the slots")
@State
public class SpscIntRingHandoffStress {

    private final SpscIntRing ring = new SpscIntRing("stress", 4);
    private final int[] burst = {42, 43};
    private final int[] got = {-1, -1};

    public SpscIntRingHandoffStress() {
        // head = tail = 7: every slot holds a stale 7 and the next burst wraps (slots 3, 0)
        int[] stale = {7, 7, 7, 7};
        ring.offer(stale, 0, 4);
        ring.poll(new int[4], 0, 4);
        ring.offer(stale, 0, 3);
        ring.poll(new int[3], 0, 3);
    }

    @Actor
    public void producer() {
        ring.offer(burst, 0, 2);
    }

    @Actor
    public void consumer(III_Result r) {
        r.r1 = ring.poll(got, 0, 2);
        r.r2 = got[0];
        r.r3 = got[1];
    }
}
