package dev.panda.vswitch.metrics;

import dev.panda.vswitch.control.RequestTimer;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.IdleStateEvent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Function;

/**
 * One connection of the metrics listener. {@code GET} or {@code HEAD /metrics} (any query string)
 * is answered with a scrape, made on the scrape executor (never on the event loop: it waits for
 * the vswitch's lock); another method on {@code /metrics} is 405, any other path 404, a malformed
 * request 400 (then the connection closes). Pipelined requests are answered in order.
 */
final class MetricsHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    static final String PATH = "/metrics";
    static final String TEXT = "text/plain; charset=utf-8";

    /** Most requests a client may pipeline before the connection is closed. */
    static final int MAX_PENDING = 16;

    /** An answer before it is written. */
    record Answer(int status, String contentType, byte[] body, String allow) {
        static Answer text(int status, String line) {
            return new Answer(status, TEXT, (line + "\n").getBytes(StandardCharsets.UTF_8), null);
        }
    }

    private record Pending(boolean head, String accept, Answer preset, boolean keepAlive) {}

    /** A request whose {@code Expect} is not {@code 100-continue} (the aggregator marks it): 417. */
    static final class ExpectationFailed extends Exception {
        ExpectationFailed(String expect) {
            super("unsupported expectation '" + oneLine(expect) + "': only 100-continue", null, false, false);
        }
    }

    private final Function<String, Exposition.Scrape> scrape;
    private final Executor executor;
    private final MetricsServer.Counters counters;
    private final RequestTimer timer;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private boolean busy;

    /**
     * @param scrape   renders the metrics for an {@code Accept} header (runs on {@code executor})
     * @param executor where scrapes run
     * @param timer    told when a whole request arrived (null: none)
     */
    MetricsHandler(
            Function<String, Exposition.Scrape> scrape,
            Executor executor,
            MetricsServer.Counters counters,
            RequestTimer timer) {
        this.scrape = scrape;
        this.executor = executor;
        this.counters = counters;
        this.timer = timer;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest msg) {
        if (timer != null) {
            timer.done();
        }
        if (pending.size() >= MAX_PENDING) {
            counters.answered(429);
            ctx.close();
            return;
        }
        pending.add(decode(msg));
        ctx.channel().config().setAutoRead(false);
        if (!busy) {
            next(ctx);
        }
    }

    /** Whether no request is in flight or queued (a {@code 100 Continue} now comes in turn). */
    boolean idle() {
        return !busy && pending.isEmpty();
    }

    /** What a request asks for; everything but a scrape is answered at once. */
    static Pending decode(FullHttpRequest msg) {
        if (msg.decoderResult().cause() instanceof ExpectationFailed e) {
            return new Pending(false, null, Answer.text(417, e.getMessage()), false);
        }
        if (msg.decoderResult().isFailure()) {
            return new Pending(
                    false,
                    null,
                    Answer.text(
                            400,
                            "malformed HTTP request: "
                                    + oneLine(msg.decoderResult().cause().getMessage())),
                    false);
        }
        boolean keepAlive = HttpUtil.isKeepAlive(msg);
        String path;
        try {
            path = new QueryStringDecoder(msg.uri()).path();
        } catch (IllegalArgumentException e) {
            return new Pending(false, null, Answer.text(400, "malformed URI: " + oneLine(e.getMessage())), keepAlive);
        }
        boolean head = msg.method().equals(HttpMethod.HEAD);
        if (!path.equals(PATH)) {
            return new Pending(
                    head, null, Answer.text(404, "not found: this listener serves only GET " + PATH), keepAlive);
        }
        if (!head && !msg.method().equals(HttpMethod.GET)) {
            return new Pending(
                    false,
                    null,
                    new Answer(
                            405,
                            TEXT,
                            (PATH + " answers GET and HEAD only\n").getBytes(StandardCharsets.UTF_8),
                            "GET, HEAD"),
                    keepAlive);
        }
        return new Pending(head, msg.headers().get(HttpHeaderNames.ACCEPT), null, keepAlive);
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
                Answer a;
                try {
                    Exposition.Scrape s = scrape.apply(p.accept());
                    a = new Answer(200, s.contentType(), s.body(), null);
                } catch (Throwable e) { // an Error too: answered, so the connection never waits forever
                    a = Answer.text(500, "scrape failed: " + oneLine(String.valueOf(e.getMessage())));
                }
                Answer answer = a;
                ctx.channel().eventLoop().execute(() -> write(ctx, p, answer));
            });
        } catch (RejectedExecutionException e) {
            write(ctx, new Pending(p.head(), null, null, false), Answer.text(503, "shutting down"));
        }
    }

    private void write(ChannelHandlerContext ctx, Pending p, Answer a) {
        counters.answered(a.status());
        FullHttpResponse res = new DefaultFullHttpResponse(
                HttpVersion.HTTP_1_1,
                HttpResponseStatus.valueOf(a.status()),
                p.head() ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(a.body()));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, a.contentType());
        if (a.allow() != null) {
            res.headers().set(HttpHeaderNames.ALLOW, a.allow());
        }
        HttpUtil.setContentLength(res, a.body().length);
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
                        new Pending(false, null, null, false),
                        Answer.text(408, "request not received whole in time"));
            }
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!(cause instanceof java.io.IOException
                || cause instanceof io.netty.handler.codec.PrematureChannelClosureException)) {
            counters.exception(cause); // a bug: counted and logged; the connection goes, the server stays
        }
        ctx.close();
    }

    static String oneLine(String s) {
        if (s == null || s.isBlank()) {
            return "malformed";
        }
        String one = s.strip().replaceAll("\\s*\\R\\s*", " ").replaceAll("\\p{Cntrl}", "?");
        return one.length() > 200 ? one.substring(0, 197) + "..." : one;
    }
}
