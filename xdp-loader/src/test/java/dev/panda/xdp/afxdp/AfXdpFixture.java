package dev.panda.xdp.afxdp;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.xdp.Frames;
import dev.panda.xdp.VethPair;
import dev.panda.xdp.prefilter.Prefilter;

import java.util.ArrayList;
import java.util.List;

/** An AF_XDP port on the host end of a {@link VethPair}, and frames sent to it from the peer. */
final class AfXdpFixture {

    private AfXdpFixture() {
    }

    static AfXdpPort open(VethPair veth, PacketPool pool, String extra) {
        return (AfXdpPort) Ports.discover().open("net_af_xdp0,iface=" + veth.hostIf + extra, PortContext.of(pool, 0));
    }

    /** A UDP frame peer -> host with the right MACs; payload bytes derive from {@code seq}. */
    static byte[] udp(VethPair veth, int sport, int dport, int seq, int payload) {
        byte[] f = Frames.ipv4(ip(veth.peerAddr()), ip(veth.hostAddr()), 17, sport, dport, payload, -1);
        System.arraycopy(veth.hostMac(), 0, f, 0, 6);
        System.arraycopy(veth.peerMac(), 0, f, 6, 6);
        for (int i = 0; i < payload; i++) {
            f[42 + i] = (byte) (seq * 31 + i);
        }
        return f;
    }

    static byte[] ip(String dotted) {
        String[] p = dotted.split("\\.");
        return Frames.v4(Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2]), Integer.parseInt(p[3]));
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
            sleep(5);
        }
        sleep(20);
    }

    static long total(Prefilter pf) {
        long t = 0;
        for (Prefilter.Action a : Prefilter.Action.values()) {
            t += pf.actionCount(a);
        }
        return t;
    }

    static List<byte[]> udpFrames(VethPair veth, int n, int sport, int payload) {
        List<byte[]> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            l.add(udp(veth, sport, 9000, i, payload));
        }
        return l;
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
