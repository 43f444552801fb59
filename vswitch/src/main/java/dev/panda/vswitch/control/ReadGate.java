package dev.panda.vswitch.control;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;

/**
 * Ahead of the HTTP codec on a control connection: while {@link ControlHandler} holds more queued
 * request bytes than its budget, every {@code read()} is held here, the aggregator's and the
 * decoder's too (they ask for more while part-way through a request even with auto-read off), so
 * the client's further bytes stay in the kernel and its writes stall. The request timer is paused
 * meanwhile (the wait is the server's, not the client's); {@link #release()} resumes both.
 */
final class ReadGate extends ChannelOutboundHandlerAdapter {

    private final RequestTimer timer;
    private ChannelHandlerContext ctx;
    private boolean holding;
    private boolean heldRead;

    /** @param timer paused while a read is held (null: none) */
    ReadGate(RequestTimer timer) {
        this.timer = timer;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void read(ChannelHandlerContext ctx) {
        if (holding) {
            heldRead = true;
            if (timer != null) {
                timer.pause();
            }
            return;
        }
        ctx.read();
    }

    /** From now on reads are held. */
    void hold() {
        holding = true;
    }

    boolean holding() {
        return holding;
    }

    /** Reads pass again; one that was held is made now. */
    void release() {
        if (!holding) {
            return;
        }
        holding = false;
        if (heldRead) {
            heldRead = false;
            if (timer != null) {
                timer.resume();
            }
            ctx.read();
        }
    }
}
