package dev.panda.xdp.rxfilter;

import dev.panda.dataplane.filter.RxFilterStream;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.Port;
import dev.panda.xdp.ebpf.XdpContext;
import dev.panda.xdp.ebpf.XdpProgram;
import java.lang.foreign.MemorySegment;

/**
 * One stream's run of an XDP program in the userspace engine: its own {@link XdpContext} (its
 * "CPU" for per-CPU maps is the stream index), the packet handed to the program in place in the
 * pool (no copy). XDP actions map to stream verdicts: PASS and REDIRECT (the stream is the
 * AF_XDP-like receiver in userspace) pass, DROP drops, TX bounces, ABORTED and anything unknown
 * abort (kernel docs "XDP actions"; linux/bpf.h enum xdp_action).
 */
final class EbpfFilterStream extends RxFilterStream {

    private final XdpProgram program;
    private final XdpContext ctx;
    private final MemorySegment region;

    EbpfFilterStream(XdpProgram program, XdpContext ctx, PacketPool pool, Port rxPort, int txQueue) {
        super(pool, rxPort, txQueue);
        this.program = program;
        this.ctx = ctx;
        this.region = pool.segment();
    }

    @Override
    protected int verdict(int h) {
        long data = pool.dataOffset(h);
        long end = data + pool.length(h);
        ctx.setPacket(region, pool.bufferOffset(h), data, end);
        int action = program.run(ctx);
        long newData = ctx.data();
        if (newData != data) {
            // bpf_xdp_adjust_head moved the start within the buffer (the context checked the bounds)
            pool.adjust(h, (int) (newData - data));
        }
        long newLen = ctx.dataEnd() - newData;
        if (newLen != pool.length(h)) {
            pool.setLength(h, (int) newLen);
        }
        return switch (action) {
            case XdpContext.XDP_PASS, XdpContext.XDP_REDIRECT -> PASS;
            case XdpContext.XDP_DROP -> DROP;
            case XdpContext.XDP_TX -> TX;
            default -> ABORTED;
        };
    }

    /** Program runs that faulted (out-of-bounds access and the like) on this stream. */
    long faults() {
        return ctx.faults();
    }
}
