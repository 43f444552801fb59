package dev.panda.vswitch.control;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.concurrent.TimeUnit;

/**
 * First in a control (or metrics) connection's pipeline, before the HTTP codec: a request must
 * arrive whole within the request timeout from its first byte, and a new connection must deliver
 * its first request within it. A client that dribbles headers or never finishes a body gets {@link
 * #EXPIRED} (the handler answers 408 and closes). {@link #done()} is called for each whole request.
 */
public final class RequestTimer extends ChannelInboundHandlerAdapter {

    /** The user event fired when a request did not arrive in time. */
    public static final Object EXPIRED = new Object() {
        @Override
        public String toString() {
            return "request timeout";
        }
    };

    private final long nanos;
    private ChannelHandlerContext ctx;
    private io.netty.util.concurrent.Future<?> deadline;
    private boolean paused;

    public RequestTimer(java.time.Duration timeout) {
        this.nanos = timeout.toNanos();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        if (ctx.channel().isActive()) {
            arm();
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        arm();
        super.channelActive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (deadline == null) {
            arm();
        }
        super.channelRead(ctx, msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        done();
        super.channelInactive(ctx);
    }

    /** A whole request arrived: the clock stops until the next byte. */
    public void done() {
        paused = false;
        if (deadline != null) {
            deadline.cancel(false);
            deadline = null;
        }
    }

    /**
     * The server stopped reading ({@link ReadGate}): the clock stops; {@link #resume()} restarts it
     * with the whole timeout if it was running.
     */
    void pause() {
        if (deadline != null) {
            deadline.cancel(false);
            deadline = null;
            paused = true;
        }
    }

    /** Reading again: a clock {@link #pause()} stopped runs again from the start. */
    void resume() {
        if (paused) {
            paused = false;
            arm();
        }
    }

    private void arm() {
        if (deadline != null) {
            return;
        }
        deadline = ctx.executor()
                .schedule(
                        () -> {
                            deadline = null;
                            if (ctx.channel().isActive()) {
                                ctx.fireUserEventTriggered(EXPIRED);
                            }
                        },
                        nanos,
                        TimeUnit.NANOSECONDS);
    }
}
