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
 * {@link XskRingAddrHandoffStress}'s actors and outcomes with a producer that gets the protocol
 * wrong on purpose: it publishes the producer index ({@link XskRing#submit}) before writing the
 * entries. Expected to FAIL (a stale 0x5a5a5a5a entry, or a half-seen burst): the proof that the
 * forbidden outcomes of the ring tests catch a producer index that runs ahead of its entries.
 * scripts/stress leaves tests named {@code Broken*} out unless selected with -t.
 */
@JCStressTest
@Description("BROKEN on purpose (XskRing producer submits before writing): must show a forbidden outcome")
@Outcome(id = "0, -1, -1", expect = ACCEPTABLE, desc = "consumer looked before the producer published")
@Outcome(id = "2, 4096, 8192", expect = ACCEPTABLE, desc = "consumer got both addresses")
@Outcome(
        expect = FORBIDDEN,
        desc = "part of a burst or a stale entry (0x5a5a...): the producer index became visible before the entries")
@State
public class BrokenEarlySubmitXskRingStress {

    private final XskRingPair ring = new XskRingPair(4, 8, -1, (byte) 0x5a, 0);

    @Actor
    public void producer() {
        XskRing p = ring.producer;
        int n = p.free(2);
        // the bug: submit advances the cached producer, so write relative to where it was
        p.submit(n);
        for (int i = 0; i < n; i++) {
            p.putAddr(i - n, 4096L * (i + 1));
        }
    }

    @Actor
    public void consumer(III_Result r) {
        XskRing c = ring.consumer;
        int n = c.available(2);
        r.r1 = n;
        r.r2 = n > 0 ? (int) c.addrAt(0) : -1;
        r.r3 = n > 1 ? (int) c.addrAt(1) : -1;
        c.release(n);
    }
}
