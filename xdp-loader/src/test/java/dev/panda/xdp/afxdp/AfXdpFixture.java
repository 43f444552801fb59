package dev.panda.xdp.afxdp;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.dataplane.testing.Frames;
import dev.panda.dataplane.testing.VethPair;
import dev.panda.xdp.prefilter.Prefilter;
import java.util.List;

/** An AF_XDP port on the host end of a {@link VethPair}, and frames sent to it from the peer. */
final class AfXdpFixture {

    private AfXdpFixture() {}

    static AfXdpPort open(VethPair veth, PacketPool pool, String extra) {
        return (AfXdpPort) Ports.discover().open("net_af_xdp0,iface=" + veth.hostIf + extra, PortContext.of(pool, 0));
    }

    /**
     * Sends {@code frames} from the peer and waits until the prefilter has counted them all (by
     * its per-action counters), so they sit in the rx ring or were dropped when this returns.
     */
    static void sendAndSettle(VethPair veth, Prefilter pf, List<byte[]> frames) {
        long before = total(pf);
        veth.sendRaw(frames, 1);
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (total(pf) < before + frames.size()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the prefilter saw " + (total(pf) - before) + " of " + frames.size()
                        + " frames sent from " + veth.ns + " within 30 s");
            }
            Frames.sleep(5);
        }
        Frames.sleep(20);
    }

    static long total(Prefilter pf) {
        long t = 0;
        for (Prefilter.Action a : Prefilter.Action.values()) {
            t += pf.actionCount(a);
        }
        return t;
    }
}
