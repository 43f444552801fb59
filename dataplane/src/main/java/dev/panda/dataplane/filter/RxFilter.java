package dev.panda.dataplane.filter;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.Port;

/**
 * A filter applied to every received burst: one shared object (program, rules, maps) that makes
 * one {@link RxFilterStream} per forwarding stream. The control thread may change rules while
 * streams run; a stream picks them up on its next packet.
 */
public interface RxFilter extends AutoCloseable {

    /** What runs, for the start banner, e.g. {@code prefilter.o:pf_prefilter (jit)}. */
    String description();

    /**
     * The per-stream state for stream {@code streamIndex} (below the {@code maxStreams} given at
     * open) receiving on {@code rxPort}/{@code rxQueue}. {@code txQueue} of {@code rxPort} is
     * where XDP_TX packets go back out, or -1 when this stream does not own a tx queue of its rx
     * port (they are then dropped and counted).
     */
    RxFilterStream newStream(int streamIndex, PacketPool pool, Port rxPort, int rxPortId, int rxQueue, int txQueue);

    @Override
    void close();
}
