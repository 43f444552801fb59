package dev.panda.dataplane.port;

/**
 * A snapshot of a port's counters, named as DPDK's {@code rte_eth_stats} so users read them the
 * way they always have.
 */
public record PortStats(
        long ipackets,
        long opackets,
        long ibytes,
        long obytes,
        long imissed,
        long ierrors,
        long oerrors,
        long rxNombuf) {

    public static final PortStats ZERO = new PortStats(0, 0, 0, 0, 0, 0, 0, 0);

    /** This snapshot minus an earlier one. */
    public PortStats minus(PortStats base) {
        return new PortStats(
                ipackets - base.ipackets,
                opackets - base.opackets,
                ibytes - base.ibytes,
                obytes - base.obytes,
                imissed - base.imissed,
                ierrors - base.ierrors,
                oerrors - base.oerrors,
                rxNombuf - base.rxNombuf);
    }

    public PortStats plus(PortStats o) {
        return new PortStats(
                ipackets + o.ipackets,
                opackets + o.opackets,
                ibytes + o.ibytes,
                obytes + o.obytes,
                imissed + o.imissed,
                ierrors + o.ierrors,
                oerrors + o.oerrors,
                rxNombuf + o.rxNombuf);
    }
}
