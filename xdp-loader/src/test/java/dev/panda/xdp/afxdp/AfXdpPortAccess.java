package dev.panda.xdp.afxdp;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.testing.Frames;
import dev.panda.dataplane.testing.VethPair;
import dev.panda.xdp.bpf.XdpAttachment;
import dev.panda.xdp.bpf.XdpMode;

/** Test access to the AF_XDP fixture from other packages. */
public final class AfXdpPortAccess {

    private AfXdpPortAccess() {}

    public static AfXdpPort open(VethPair veth, PacketPool pool) {
        return AfXdpFixture.open(veth, pool, "");
    }

    /** Sends {@code n} UDP frames from the peer and returns how many the port received. */
    public static int sendAndReceive(VethPair veth, AfXdpPort port, PacketPool pool, int n) {
        AfXdpFixture.sendAndSettle(veth, port.prefilter(), veth.udpFramesToHost(n, 7200, 32));
        dev.panda.dataplane.port.PacketBurst b = new dev.panda.dataplane.port.PacketBurst(32);
        int got = 0;
        for (int idle = 0; idle < 100; ) {
            int k = port.rxBurst(0, b);
            if (k == 0) {
                idle++;
                Frames.sleep(1);
                continue;
            }
            got += k;
            pool.freeBulk(b.handles, 0, k);
        }
        return got;
    }

    /** The id of the program attached to {@code iface} in native or skb mode, 0 if none. */
    public static int attachedProgramId(String iface) {
        int idx = XdpAttachment.ifindex(iface);
        int id = XdpAttachment.attachedId(idx, XdpMode.NATIVE);
        return id != 0 ? id : XdpAttachment.attachedId(idx, XdpMode.SKB);
    }
}
