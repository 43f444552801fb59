package dev.panda.vswitch.control;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.WriteTimeoutException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * One connection: decodes each aggregated request, runs it on the control executor (never on the
 * event loop: a Control call may open a device), and writes the answers in request order. While a
 * request is in flight the channel stops reading; requests a client pipelined wait in a queue. The
 * codec still asks for reads while part-way through a request, so the bytes received and not yet
 * answered are bounded too: past {@code maxQueuedBytes} the {@link ReadGate} holds every read until
 * answers go out.
 */
final class ControlHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    private final ControlRoutes routes;
    private final Executor executor;
    private final ControlServer.Counters counters;
    private final int maxPending;
    private final int maxQueuedBytes;
    private final RequestTimer timer;
    private final ReadGate gate;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private boolean busy;
    /** Bytes of the requests received and not yet answered (the one in flight included). */
    private long queuedBytes;

    /** @param size the request's body and target bytes, held until its answer is written */
    private record Pending(
            ControlRoutes.Request request, ControlRoutes.Response preset, boolean keepAlive, long size) {}

    /**
     * @param maxPending     requests a client may pipeline before the connection is closed
     * @param maxQueuedBytes request bytes received and not yet answered beyond which reads are held
     * @param timer          told when a whole request arrived (null: none)
     * @param gate           holds reads while over {@code maxQueuedBytes}
     */
    ControlHandler(
            ControlRoutes routes,
            Executor executor,
            ControlServer.Counters counters,
            int maxPending,
            int maxQueuedBytes,
            RequestTimer timer,
            ReadGate gate) {
        this.routes = routes;
        this.executor = executor;
        this.counters = counters;
        this.maxPending = maxPending;
        this.maxQueuedBytes = maxQueuedBytes;
        this.timer = timer;
        this.gate = gate;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest msg) {
        if (timer != null) {
            timer.done();
        }
        boolean keepAlive = HttpUtil.isKeepAlive(msg);
        Pending p;
        if (msg.decoderResult().isFailure()) {
            p = new Pending(null, refusal(msg.decoderResult().cause()), false, 0);
        } else {
            p = decode(msg, keepAlive);
        }
        if (pending.size() >= maxPending) {
            counters.request(429);
            ctx.close();
            return;
        }
        pending.add(p);
        queuedBytes += p.size();
        ctx.channel().config().setAutoRead(false);
        if (queuedBytes > maxQueuedBytes && !gate.holding()) {
            counters.countReadsHeld();
            gate.hold();
        }
        if (!busy) {
            next(ctx);
        }
    }

    /** Whether no request is in flight or queued (a {@code 100 Continue} now comes in turn). */
    boolean idle() {
        return !busy && pending.isEmpty();
    }

    /** The answer to a request the codec, the gate or the aggregator refused: 401, 413, 414, 417, 431 or 400. */
    static ControlRoutes.Response refusal(Throwable cause) {
        if (cause instanceof RequestGate.Refusal r) {
            return ControlRoutes.Response.error(r.status, r.getMessage());
        }
        if (cause instanceof TooLongHttpLineException) {
            return ControlRoutes.Response.error(414, "request line longer than the limit");
        }
        if (cause instanceof TooLongHttpHeaderException) {
            return ControlRoutes.Response.error(431, "request header fields larger than the limit");
        }
        return ControlRoutes.Response.error(
                400, "malformed HTTP request: " + ControlRoutes.oneLine(String.valueOf(cause.getMessage())));
    }

    private static Pending decode(FullHttpRequest msg, boolean keepAlive) {
        Map<String, List<String>> query;
        List<String> path = new ArrayList<>();
        try {
            QueryStringDecoder qs = new QueryStringDecoder(msg.uri());
            for (String seg : qs.rawPath().split("/")) {
                if (!seg.isEmpty()) {
                    path.add(QueryStringDecoder.decodeComponent(seg));
                }
            }
            query = qs.parameters(); // decoded lazily: a bad escape in the query throws here
        } catch (IllegalArgumentException e) {
            return new Pending(
                    null,
                    ControlRoutes.Response.error(400, "malformed URI: " + ControlRoutes.oneLine(e.getMessage())),
                    keepAlive,
                    0);
        }
        byte[] body = ByteBufUtil.getBytes(msg.content());
        return new Pending(
                new ControlRoutes.Request(
                        msg.method().name(),
                        path,
                        query,
                        msg.headers().get(HttpHeaderNames.ACCEPT),
                        body,
                        msg.headers().get(HttpHeaderNames.CONTENT_TYPE)),
                null,
                keepAlive,
                (long) body.length + msg.uri().length());
    }

    private void next(ChannelHandlerContext ctx) {
        Pending p = pending.poll();
        if (p == null) {
            busy = false;
            ctx.channel().config().setAutoRead(true);
            ctx.read();
            return;
        }
        busy = true;
        if (p.preset() != null) {
            write(ctx, p, p.preset());
            return;
        }
        try {
            executor.execute(() -> {
                ControlRoutes.Response r;
                try {
                    r = routes.handle(p.request());
                } catch (RuntimeException e) {
                    r = internalError(e);
                } catch (Throwable e) { // an Error: still answered, so the connection never waits forever
                    counters.exception(e);
                    r = internalError(e);
                }
                ControlRoutes.Response answer = r;
                ctx.channel().eventLoop().execute(() -> write(ctx, p, answer));
            });
        } catch (RejectedExecutionException e) {
            write(
                    ctx,
                    new Pending(p.request(), null, false, p.size()),
                    ControlRoutes.Response.error(503, "shutting down"));
        }
    }

    private static ControlRoutes.Response internalError(Throwable e) {
        return ControlRoutes.Response.error(
                500, "internal error: " + e.getClass().getSimpleName() + ": " + ControlRoutes.oneLine(e.getMessage()));
    }

    private void write(ChannelHandlerContext ctx, Pending p, ControlRoutes.Response r) {
        counters.request(r.status());
        queuedBytes -= p.size();
        if (queuedBytes <= maxQueuedBytes) {
            gate.release();
        }
        FullHttpResponse res = new DefaultFullHttpResponse(
                HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(r.status()), Unpooled.wrappedBuffer(r.body()));
        if (r.contentType() != null) {
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
        }
        if (r.allow() != null) {
            res.headers().set(HttpHeaderNames.ALLOW, r.allow());
        }
        if (r.status() == 401) {
            res.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
        }
        HttpUtil.setContentLength(res, r.body().length);
        if (!p.keepAlive()) {
            res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
            pending.clear();
            return;
        }
        ctx.writeAndFlush(res).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                f.channel().close();
            } else if (f.channel().isActive()) {
                next(ctx);
            }
        });
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent && !busy) {
            ctx.close();
            return;
        }
        if (evt == RequestTimer.EXPIRED) {
            counters.countTimeout();
            if (busy) {
                ctx.close(); // an answer is on its way: a 408 now would come out of order
            } else {
                busy = true;
                pending.clear();
                write(
                        ctx,
                        new Pending(null, null, false, 0),
                        ControlRoutes.Response.error(408, "request not received whole in time"));
            }
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof WriteTimeoutException) {
            counters.countTimeout(); // the client did not take its answer
        } else if (!(cause instanceof java.io.IOException
                || cause instanceof io.netty.handler.codec.PrematureChannelClosureException)) {
            counters.exception(cause); // a bug: counted and logged; the connection goes, the server stays
        }
        ctx.close();
    }
}
