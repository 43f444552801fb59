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
 * A fill (or completion) ring of u64 addresses: {@link XskRing#submit} publishes the producer index
 * with a store-release after {@link XskRing#putAddr}, {@link XskRing#available} loads it with
 * acquire before {@link XskRing#addrAt} (af_xdp.rst, "Rings"). The indices start at 0xffffffff,
 * so the burst crosses both the end of the entry array and the u32 wrap of the indices.
 */
@JCStressTest
@Description("XskRing u64 entries (fill/completion): published addresses are read whole, never stale")
@Outcome(id = "0, -1, -1", expect = ACCEPTABLE, desc = "consumer looked before the producer published")
@Outcome(id = "2, 4096, 8192", expect = ACCEPTABLE, desc = "consumer got both addresses")
@Outcome(
        expect = FORBIDDEN,
        desc = "part of a burst or a stale entry (0x5a5a...): the producer index became visible before the entries")
@State
public class XskRingAddrHandoffStress {

    private final XskRingPair ring = new XskRingPair(4, 8, -1, (byte) 0x5a, 0);

    @Actor
    public void producer() {
        XskRing p = ring.producer;
        int n = p.free(2);
        for (int i = 0; i < n; i++) {
            p.putAddr(i, 4096L * (i + 1));
        }
        p.submit(n);
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
