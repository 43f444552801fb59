package dev.panda.dataplane.fwd;

import dev.panda.dataplane.port.PacketBurst;

/**
 * What the forwarding engines read, fixed while forwarding runs (a {@code set} command builds a
 * new one that takes effect at the next {@code start}).
 *
 * @param burst         packets per rx/tx call
 * @param txPacketLen   frame length txonly and flowgen generate (without FCS), as --txpkts
 * @param ipSrc         IPv4 source of generated packets
 * @param ipDst         IPv4 destination of generated packets (first one, for flowgen)
 * @param udpSrc        UDP source port of generated packets
 * @param udpDst        UDP destination port of generated packets
 * @param flows         number of flows flowgen cycles through
 * @param peerMacs      per port: the destination MAC mac-mode and generators write (--eth-peer)
 * @param verifyPayload whether rxonly checks the payload stamp generators write
 * @param txRate        packets per second each generating stream sends (txonly, flowgen); 0: as
 *                      fast as it can. testpmd divides {@code --tx-rate} over its streams
 * @param latency       generators write timed stamps and every stream records the one-way latency
 *                      of the timed packets it receives ({@code --latency})
 */
public record FwdConfig(
        int burst,
        int txPacketLen,
        int ipSrc,
        int ipDst,
        int udpSrc,
        int udpDst,
        int flows,
        long[] peerMacs,
        boolean verifyPayload,
        double txRate,
        boolean latency) {

    /** 198.18.0.1 and 198.18.0.2, from the benchmarking range (RFC 2544). */
    public static final int DEFAULT_IP_SRC = (198 << 24) | (18 << 16) | 1;

    public static final int DEFAULT_IP_DST = (198 << 24) | (18 << 16) | 2;
    public static final int DEFAULT_TXPKTS = 64;
    public static final int MIN_TXPKTS = Packets.PAYLOAD + PayloadStamp.SIZE;
    public static final int DEFAULT_FLOWS = 1024;
    public static final int MAX_PORTS = 64;
    /** 1e9 packets per second: one per nanosecond, far above what any port here moves. */
    public static final double MAX_TX_RATE = 1e9;

    public FwdConfig {
        if (burst < 1 || burst > PacketBurst.MAX_BURST) {
            throw new IllegalArgumentException("burst must be 1.." + PacketBurst.MAX_BURST + ", got " + burst);
        }
        if (txPacketLen < MIN_TXPKTS) {
            throw new IllegalArgumentException("txpkts must be at least " + MIN_TXPKTS
                    + " (Ethernet, IPv4, UDP and a 16-byte payload stamp), got " + txPacketLen);
        }
        if (flows < 1 || flows > 65536) {
            throw new IllegalArgumentException("flows must be 1..65536, got " + flows);
        }
        if (!(txRate >= 0 && txRate <= MAX_TX_RATE)) {
            throw new IllegalArgumentException("tx rate must be 0.." + (long) MAX_TX_RATE + " pps, got " + txRate);
        }
        peerMacs = peerMacs.clone();
    }

    public static FwdConfig defaults() {
        long[] peers = new long[MAX_PORTS];
        for (int i = 0; i < peers.length; i++) {
            peers[i] = defaultPeerMac(i);
        }
        return new FwdConfig(
                PacketBurst.DEFAULT_BURST,
                DEFAULT_TXPKTS,
                DEFAULT_IP_SRC,
                DEFAULT_IP_DST,
                9,
                9,
                DEFAULT_FLOWS,
                peers,
                false,
                0,
                false);
    }

    /** 02:00:00:00:00:NN, the locally administered peer address testpmd assumes for port NN. */
    public static long defaultPeerMac(int port) {
        return 0x02_00_00_00_00_00L | (port & 0xff);
    }

    public long peerMac(int port) {
        return peerMacs[port];
    }

    @Override
    public long[] peerMacs() {
        return peerMacs.clone();
    }

    public FwdConfig withBurst(int b) {
        return new FwdConfig(
                b, txPacketLen, ipSrc, ipDst, udpSrc, udpDst, flows, peerMacs, verifyPayload, txRate, latency);
    }

    public FwdConfig withTxPacketLen(int len) {
        return new FwdConfig(burst, len, ipSrc, ipDst, udpSrc, udpDst, flows, peerMacs, verifyPayload, txRate, latency);
    }

    public FwdConfig withFlows(int n) {
        return new FwdConfig(
                burst, txPacketLen, ipSrc, ipDst, udpSrc, udpDst, n, peerMacs, verifyPayload, txRate, latency);
    }

    public FwdConfig withVerifyPayload(boolean v) {
        return new FwdConfig(burst, txPacketLen, ipSrc, ipDst, udpSrc, udpDst, flows, peerMacs, v, txRate, latency);
    }

    public FwdConfig withPeerMac(int port, long mac) {
        long[] p = peerMacs.clone();
        p[port] = mac;
        return new FwdConfig(
                burst, txPacketLen, ipSrc, ipDst, udpSrc, udpDst, flows, p, verifyPayload, txRate, latency);
    }

    public FwdConfig withTxRate(double pps) {
        return new FwdConfig(
                burst, txPacketLen, ipSrc, ipDst, udpSrc, udpDst, flows, peerMacs, verifyPayload, pps, latency);
    }

    public FwdConfig withLatency(boolean on) {
        return new FwdConfig(
                burst, txPacketLen, ipSrc, ipDst, udpSrc, udpDst, flows, peerMacs, verifyPayload, txRate, on);
    }
}
