package dev.panda.vswitch.metrics;

import dev.panda.vswitch.Control;
import dev.panda.vswitch.VswitchException;
import dev.panda.vswitch.control.ControlServer;
import dev.panda.vswitch.control.ControlThreads;
import dev.panda.vswitch.control.ExpectContinue;
import dev.panda.vswitch.control.RequestTimer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.IdleStateHandler;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * The Prometheus listener: {@code GET /metrics} over HTTP/1.1 on a TCP address of its own (Netty,
 * epoll where available, NIO otherwise), nothing else: it shares no route with the control API
 * and cannot change anything. Requests are decoded on one event loop thread ({@code
 * panda-metrics-1}); each scrape runs on one executor thread ({@code panda-metrics-exec}), which
 * reads the vswitch through {@link Control} (waiting at most for the control call in flight, never
 * queued behind the control socket's requests). Both threads are pinned to {@code allowedCpus}
 * (the CPUs the pollers leave free). Requests are bounded: request line 4 KiB, headers 8 KiB, body
 * 8 KiB (413, then the connection closes); a request must arrive whole within 10 s of its first byte,
 * and a new connection's first request within 10 s of connecting (else 408, then the connection
 * closes); at most {@value #MAX_CONNECTIONS} connections (one more is closed at once), an idle one
 * closed after {@value #IDLE_SECONDS} s.
 */
public final class MetricsServer implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(MetricsServer.class.getName());

    static final int MAX_INITIAL_LINE = 4096;
    static final int MAX_HEADERS = 8192;
    static final int MAX_BODY = 8192;
    static final int MAX_CONNECTIONS = 16;
    static final int IDLE_SECONDS = 60;
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

    /**
     * Answers by HTTP status, for {@code panda_metrics_requests_total}, and the ways clients were
     * cut off.
     */
    public static final class Counters {
        /** The statuses counted; anything else counts as the last (500). */
        static final int[] STATUSES = {200, 400, 404, 405, 408, 413, 417, 429, 503, 500};

        private final LongAdder[] byStatus = new LongAdder[STATUSES.length];
        private final LongAdder timeouts = new LongAdder();
        private final LongAdder refusedConnections = new LongAdder();
        private final LongAdder exceptions = new LongAdder();

        public Counters() {
            for (int i = 0; i < byStatus.length; i++) {
                byStatus[i] = new LongAdder();
            }
        }

        void answered(int status) {
            for (int i = 0; i < STATUSES.length; i++) {
                if (STATUSES[i] == status || i == STATUSES.length - 1) {
                    byStatus[i].increment();
                    return;
                }
            }
        }

        void countTimeout() {
            timeouts.increment();
        }

        void refusedConnection() {
            refusedConnections.increment();
        }

        void exception(Throwable t) {
            exceptions.increment();
            LOG.log(System.Logger.Level.WARNING, "metrics connection failed", t);
        }

        /** Requests not received whole within the request timeout (answered 408). */
        public long timeouts() {
            return timeouts.sum();
        }

        /** Connections closed at once because {@value #MAX_CONNECTIONS} were open. */
        public long refusedConnections() {
            return refusedConnections.sum();
        }

        /** Unexpected exceptions in a connection's handlers (a bug if not zero). */
        public long exceptions() {
            return exceptions.sum();
        }

        long countAt(int index) {
            return byStatus[index].sum();
        }

        /** Answers with this status so far. */
        public long answers(int status) {
            for (int i = 0; i < STATUSES.length; i++) {
                if (STATUSES[i] == status) {
                    return byStatus[i].sum();
                }
            }
            return 0;
        }
    }

    private final EventLoopGroup group;
    private final ExecutorService executor;
    private final Channel channel;
    private final Counters counters;

    private MetricsServer(EventLoopGroup group, ExecutorService executor, Channel channel, Counters counters) {
        this.group = group;
        this.executor = executor;
        this.channel = channel;
        this.counters = counters;
    }

    /**
     * Listens on {@code address} and serves {@code control}'s metrics.
     *
     * @param allowedCpus CPUs for the listener's threads (null or empty: not pinned)
     * @throws VswitchException 409 if the address is in use; 500 if it cannot listen otherwise
     */
    public static MetricsServer start(InetSocketAddress address, Control control, int[] allowedCpus) {
        return start(address, control, allowedCpus, null);
    }

    /**
     * {@link #start(InetSocketAddress, Control, int[])}, exposing the control API's counters too
     * ({@code panda_control_*}).
     *
     * @param controlApi the control server's counters (null: none)
     */
    public static MetricsServer start(
            InetSocketAddress address, Control control, int[] allowedCpus, ControlServer.Counters controlApi) {
        return start(address, control, allowedCpus, controlApi, REQUEST_TIMEOUT);
    }

    /** {@link #start(InetSocketAddress, Control, int[], ControlServer.Counters)} with another request timeout. */
    static MetricsServer start(
            InetSocketAddress address,
            Control control,
            int[] allowedCpus,
            ControlServer.Counters controlApi,
            Duration requestTimeout) {
        Counters counters = new Counters();
        Exposition exposition = new Exposition(control, counters, controlApi);
        // one scrape at a time; the queue is bounded by the connections (each has one request in flight)
        ExecutorService executor = new ThreadPoolExecutor(
                1,
                1,
                0,
                TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(MAX_CONNECTIONS),
                ControlThreads.factory("panda-metrics-exec", false, allowedCpus));
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        Class<? extends ServerChannel> type = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        EventLoopGroup group =
                new MultiThreadIoEventLoopGroup(1, ControlThreads.factory("panda-metrics", true, allowedCpus), io);
        AtomicInteger connections = new AtomicInteger();
        try {
            Channel ch = new ServerBootstrap()
                    .group(group)
                    .channel(type)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            if (connections.incrementAndGet() > MAX_CONNECTIONS) {
                                connections.decrementAndGet();
                                counters.refusedConnection();
                                c.close();
                                return;
                            }
                            c.closeFuture().addListener(f -> connections.decrementAndGet());
                            pipeline(c.pipeline(), exposition::scrape, executor, counters, requestTimeout);
                        }
                    })
                    .bind(address)
                    .sync()
                    .channel();
            return new MetricsServer(group, executor, ch, counters);
        } catch (Exception e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            executor.shutdownNow();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            String where = "metrics " + address.getAddress().getHostAddress() + ":" + address.getPort();
            if (e instanceof java.net.BindException
                    || String.valueOf(e.getMessage()).contains("in use")) {
                throw VswitchException.conflict(where + ": cannot listen: address already in use");
            }
            throw new VswitchException(500, where + ": cannot listen: " + e.getMessage(), e);
        }
    }

    /** The handlers of one connection (the fuzz test builds the same on an embedded channel). */
    static void pipeline(
            ChannelPipeline p, Function<String, Exposition.Scrape> scrape, Executor executor, Counters counters) {
        pipeline(p, scrape, executor, counters, REQUEST_TIMEOUT);
    }

    static void pipeline(
            ChannelPipeline p,
            Function<String, Exposition.Scrape> scrape,
            Executor executor,
            Counters counters,
            Duration requestTimeout) {
        RequestTimer timer = new RequestTimer(requestTimeout);
        MetricsHandler handler = new MetricsHandler(scrape, executor, counters, timer);
        p.addLast(timer)
                .addLast(new IdleStateHandler(0, 0, IDLE_SECONDS))
                .addLast(new HttpServerCodec(new HttpDecoderConfig()
                        .setMaxInitialLineLength(MAX_INITIAL_LINE)
                        .setMaxHeaderSize(MAX_HEADERS)))
                .addLast(new Aggregator(counters, handler::idle))
                .addLast(handler);
    }

    /** Where it listens (the port the system picked when asked for port 0). */
    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    public Counters counters() {
        return counters;
    }

    /** Stops listening; a scrape in flight may finish (up to 5 s). */
    @Override
    public void close() {
        channel.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        executor.shutdown();
        try {
            if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
    }

    /**
     * Aggregates a request up to {@link #MAX_BODY}; a larger one gets 413 and the connection
     * closes, also when it asked {@code Expect: 100-continue}. An {@code Expect} other than {@code
     * 100-continue} reaches the handler as a failed request (417, then the connection closes).
     * {@code 100 Continue} is sent only while the connection has no request in flight or queued;
     * otherwise it is left out (the client sends its body after its own wait).
     */
    private static final class Aggregator extends HttpObjectAggregator {
        private final Counters counters;
        private final BooleanSupplier idle;

        Aggregator(Counters counters, BooleanSupplier idle) {
            super(MAX_BODY);
            this.counters = counters;
            this.idle = idle;
        }

        @Override
        protected Object newContinueResponse(HttpMessage start, int maxContentLength, ChannelPipeline pipeline) {
            return ExpectContinue.answer(start, maxContentLength, idle, MetricsHandler.ExpectationFailed::new);
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            counters.answered(413);
            byte[] body = ("request larger than " + MAX_BODY + " bytes\n").getBytes(StandardCharsets.UTF_8);
            FullHttpResponse res = new DefaultFullHttpResponse(
                    HttpVersion.HTTP_1_1, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, Unpooled.wrappedBuffer(body));
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, MetricsHandler.TEXT);
            res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            HttpUtil.setContentLength(res, body.length);
            ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
