package dev.panda.dataplane.fwd.engines;

import dev.panda.dataplane.fwd.ForwardEngine;
import dev.panda.dataplane.fwd.FwdStream;
import dev.panda.dataplane.fwd.Packets;
import dev.panda.dataplane.port.PacketBurst;
import java.lang.foreign.MemorySegment;

/**
 * icmpecho: answer ARP requests (with the tx port's MAC, for any target address) and ICMP echo
 * requests to IPv4 (swapping addresses, type 8 to 0 with the ICMP checksum adjusted per RFC 1624);
 * everything else is dropped and counted. Up to two VLAN tags are kept. Replies leave on the
 * stream's tx port, as in testpmd (use --port-topology=loop to answer on the receiving port).
 */
public final class IcmpEchoEngine implements ForwardEngine {

    private static final int ARP_REQUEST = 1;
    private static final int ARP_REPLY = 2;
    private static final int ICMP_ECHO_REQUEST = 8;
    private static final int ICMP_ECHO_REPLY = 0;

    private long mac;
    private final int[] drop = new int[PacketBurst.MAX_BURST];

    @Override
    public void begin(FwdStream s) {
        mac = s.txPort.mac();
    }

    @Override
    public int forward(FwdStream s) {
        int n = s.receive();
        if (n == 0) {
            return 0;
        }
        MemorySegment mem = s.pool.segment();
        int[] h = s.burst.handles;
        int keep = 0;
        int dropped = 0;
        for (int i = 0; i < n; i++) {
            int p = h[i];
            if (answer(mem, s.pool.dataOffset(p), s.pool.length(p))) {
                h[keep++] = p;
            } else {
                drop[dropped++] = p;
            }
        }
        if (dropped > 0) {
            s.pool.freeBulk(drop, 0, dropped);
            s.countDropped(dropped);
        }
        s.transmit(keep);
        return n;
    }

    /** Turns a request into its reply in place; false if the frame is not one we answer. */
    private boolean answer(MemorySegment m, long f, int len) {
        if (len < Packets.ETH_HLEN) {
            return false;
        }
        int l3 = Packets.l3Offset(m, f, len);
        if (l3 > len) { // the ethertype (or a VLAN tag) runs past the frame
            return false;
        }
        int type = Packets.u16(m, f + l3 - 2);
        if (type == Packets.ETHERTYPE_ARP) {
            return arp(m, f, f + l3, len - l3);
        }
        if (type == Packets.ETHERTYPE_IPV4) {
            return icmp(m, f, f + l3, len - l3);
        }
        return false;
    }

    private boolean arp(MemorySegment m, long f, long a, int avail) {
        // htype 1 (Ethernet), ptype 0x0800, hlen 6, plen 4, op; then sha, spa, tha, tpa
        if (avail < 28
                || Packets.u16(m, a) != 1
                || Packets.u16(m, a + 2) != Packets.ETHERTYPE_IPV4
                || Packets.u8(m, a + 4) != 6
                || Packets.u8(m, a + 5) != 4
                || Packets.u16(m, a + 6) != ARP_REQUEST) {
            return false;
        }
        long senderMac = Packets.mac(m, a + 8);
        int senderIp = Packets.u32(m, a + 14);
        int targetIp = Packets.u32(m, a + 24);
        Packets.u16(m, a + 6, ARP_REPLY);
        Packets.mac(m, a + 8, mac);
        Packets.u32(m, a + 14, targetIp);
        Packets.mac(m, a + 18, senderMac);
        Packets.u32(m, a + 24, senderIp);
        Packets.mac(m, f, senderMac);
        Packets.mac(m, f + 6, mac);
        return true;
    }

    private boolean icmp(MemorySegment m, long f, long ip, int avail) {
        if (avail < 20 || (Packets.u8(m, ip) >>> 4) != 4) {
            return false;
        }
        int ihl = (Packets.u8(m, ip) & 0x0f) * 4;
        int total = Packets.u16(m, ip + 2);
        if (ihl < 20
                || total < ihl + 8
                || total > avail
                || Packets.u8(m, ip + 9) != Packets.PROTO_ICMP
                || (Packets.u16(m, ip + 6) & 0x3fff) != 0) { // fragments are not answered
            return false;
        }
        long icmp = ip + ihl;
        if (Packets.u8(m, icmp) != ICMP_ECHO_REQUEST || Packets.u8(m, icmp + 1) != 0) {
            return false;
        }
        long dstMac = Packets.mac(m, f);
        Packets.mac(m, f, Packets.mac(m, f + 6));
        Packets.mac(m, f + 6, dstMac);
        int src = Packets.u32(m, ip + 12);
        Packets.u32(m, ip + 12, Packets.u32(m, ip + 16));
        Packets.u32(m, ip + 16, src);
        // swapping the addresses leaves the IPv4 header sum as it was: no checksum work
        Packets.u8(m, icmp, ICMP_ECHO_REPLY);
        int csum = Packets.u16(m, icmp + 2);
        Packets.u16(m, icmp + 2, Packets.checksumAdjust(csum, ICMP_ECHO_REQUEST << 8, ICMP_ECHO_REPLY << 8));
        return true;
    }
}
