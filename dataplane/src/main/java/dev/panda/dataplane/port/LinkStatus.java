package dev.panda.dataplane.port;

/** Link state as testpmd shows it. */
public record LinkStatus(boolean up, long speedMbps, boolean fullDuplex) {

    public static final LinkStatus VIRTUAL_UP = new LinkStatus(true, 10_000, true);
    public static final LinkStatus DOWN = new LinkStatus(false, 0, true);
}
