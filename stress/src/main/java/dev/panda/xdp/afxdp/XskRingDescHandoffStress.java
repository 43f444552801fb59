package dev.panda.xdp.afxdp;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

/**
 * A tx (or rx) ring of {@code struct xdp_desc}: {@link XskRing#putDesc} writes address, length
 * and options, {@link XskRing#submit} releases the producer index, and the consumer's
 * {@link XskRing#available} acquires it before {@link XskRing#descAddr}/{@link XskRing#descLen}.
 * Indices start at 0xffffffff (the burst wraps the array and the u32 indices).
 */
@JCStressTest
@Description("XskRing xdp_desc entries (tx/rx): published descriptors are read whole, never stale")
@Outcome(id = "0, -1, -1, -1", expect = ACCEPTABLE, desc = "consumer looked before the producer published")
@Outcome(id = "2, 12288, 60, 1514", expect = ACCEPTABLE, desc = "consumer got both descriptors")
@Outcome(
        expect = FORBIDDEN,
        desc = "part of a burst, a stale (0x5a5a...) or half-written descriptor: the index passed its entries")
@State
public class XskRingDescHandoffStress {

    private final XskRingPair ring = new XskRingPair(4, 16, -1, (byte) 0x5a, 0);

    @Actor
    public void producer() {
        XskRing p = ring.producer;
        int n = p.free(2);
        if (n == 2) {
            p.putDesc(0, 12288, 60);
            p.putDesc(1, 16384, 1514);
        }
        p.submit(n);
    }

    @Actor
    public void consumer(IIII_Result r) {
        XskRing c = ring.consumer;
        int n = c.available(2);
        r.r1 = n;
        r.r2 = n > 0 ? (int) c.descAddr(0) : -1;
        r.r3 = n > 0 ? c.descLen(0) : -1;
        r.r4 = n > 1 ? c.descLen(1) : -1;
        c.release(n);
    }
}
