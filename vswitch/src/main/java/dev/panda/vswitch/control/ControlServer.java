package dev.panda.vswitch.control;

import dev.panda.vswitch.Control;
import dev.panda.vswitch.VswitchException;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.IdleStateHandler;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The control socket: HTTP/1.1 with JSON bodies, served by Netty's epoll transport on a unix
 * domain socket (default {@value #DEFAULT_PATH}, mode 0600). Requests are decoded on one event
 * loop thread ({@code panda-ctl-1}) and answered by {@link Control} calls made on one control
 * executor thread ({@code panda-ctl-exec}), so calls never overlap and never block the loop. Both
 * threads are pinned to {@code allowedCpus} (the CPUs the pollers leave free).
 *
 * <p>Refuses to start when another process answers on the path; removes a stale socket file; and
 * removes its own on {@link #close()}.
 */
public final class ControlServer implements AutoCloseable {

    public static final String DEFAULT_PATH = "/run/panda/vswitch.ctl";

    /** Larger request bodies are answered 413. */
    public static final int MAX_BODY = 1 << 20;

    /** Connections beyond this are closed at once. */
    static final int MAX_CONNECTIONS = 64;

    /** A connection with nothing in flight that sends nothing for this long is closed. */
    static final int IDLE_SECONDS = 60;

    private static final System.Logger LOG = System.getLogger(ControlServer.class.getName());

    /** Requests served and error answers (4xx/5xx), for metrics. */
    public static final class Counters {
        private final LongAdder requests = new LongAdder();
        private final LongAdder errors = new LongAdder();

        void request(int status) {
            requests.increment();
            if (status >= 400) {
                errors.increment();
            }
        }

        public long requests() {
            return requests.sum();
        }

        public long errors() {
            return errors.sum();
        }
    }

    private final Path path;
    private final EventLoopGroup group;
    private final ExecutorService executor;
    private final Channel channel;
    private final Object fileKey;
    private final Counters counters;
    private volatile boolean closed;

    private ControlServer(
            Path path,
            EventLoopGroup group,
            ExecutorService executor,
            Channel channel,
            Object fileKey,
            Counters counters) {
        this.path = path;
        this.group = group;
        this.executor = executor;
        this.channel = channel;
        this.fileKey = fileKey;
        this.counters = counters;
    }

    /**
     * Binds the control socket and serves {@code control}.
     *
     * @param allowedCpus CPUs for the control threads (null or empty: not pinned)
     * @throws VswitchException 409 if another process answers on {@code path} or it is not a
     *     socket; 500 if the epoll transport is missing or the bind fails
     */
    public static ControlServer start(Path path, Control control, int[] allowedCpus) {
        if (!Epoll.isAvailable()) {
            throw new VswitchException(500, "Netty's epoll transport is not available: " + Epoll.unavailabilityCause());
        }
        claim(path);
        Counters counters = new Counters();
        ExecutorService executor =
                Executors.newSingleThreadExecutor(ControlThreads.factory("panda-ctl-exec", false, allowedCpus));
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(
                1, ControlThreads.factory("panda-ctl", true, allowedCpus), EpollIoHandler.newFactory());
        ControlRoutes routes = new ControlRoutes(control);
        AtomicInteger connections = new AtomicInteger();
        try {
            Channel ch = new ServerBootstrap()
                    .group(group)
                    .channel(EpollServerDomainSocketChannel.class)
                    .childHandler(new ChannelInitializer<EpollDomainSocketChannel>() {
                        @Override
                        protected void initChannel(EpollDomainSocketChannel c) {
                            if (connections.incrementAndGet() > MAX_CONNECTIONS) {
                                connections.decrementAndGet();
                                c.close();
                                return;
                            }
                            c.closeFuture().addListener(f -> connections.decrementAndGet());
                            c.pipeline()
                                    .addLast(new IdleStateHandler(0, 0, IDLE_SECONDS))
                                    .addLast(new HttpServerCodec())
                                    .addLast(new Aggregator(counters))
                                    .addLast(new ControlHandler(routes, executor, counters));
                        }
                    })
                    .bind(new DomainSocketAddress(path.toString()))
                    .sync()
                    .channel();
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
            Object key = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                    .fileKey();
            return new ControlServer(path, group, executor, ch, key, counters);
        } catch (Exception e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            executor.shutdownNow();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new VswitchException(500, "control socket " + path + ": cannot listen: " + e.getMessage(), e);
        }
    }

    /**
     * Makes {@code path} free to bind: creates its directory, refuses if a process answers there
     * or it is not a socket, deletes a stale socket file. Call it early to fail before starting
     * anything else; {@link #start} calls it again.
     */
    public static void claim(Path path) {
        try {
            Path dir = path.toAbsolutePath().getParent();
            if (dir != null) {
                Files.createDirectories(dir);
            }
            if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
                return;
            }
            int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            if ((mode & 0170000) != 0140000) {
                throw VswitchException.conflict("control socket " + path + " exists and is not a socket");
            }
            try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                c.connect(UnixDomainSocketAddress.of(path));
                throw VswitchException.conflict("control socket " + path + " is in use: another vswitch answers there");
            } catch (IOException refused) {
                Files.deleteIfExists(path); // nobody listens: a stale file from a vswitch that died
            }
        } catch (IOException e) {
            throw new VswitchException(500, "control socket " + path + ": " + e.getMessage(), e);
        }
    }

    public Path path() {
        return path;
    }

    public Counters counters() {
        return counters;
    }

    /** Stops listening, lets the control call in flight finish (up to 5 s), removes the socket file. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
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
        try {
            Object key = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                    .fileKey();
            if (key != null && key.equals(fileKey)) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "control socket already gone: " + e.getMessage());
        }
    }

    /** Aggregates a request up to {@link #MAX_BODY}; a larger one gets a JSON 413 and the connection closes. */
    private static final class Aggregator extends HttpObjectAggregator {
        private final Counters counters;

        Aggregator(Counters counters) {
            super(MAX_BODY);
            this.counters = counters;
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            counters.request(413);
            byte[] body = Json.error(413, "request body larger than " + MAX_BODY + " bytes");
            FullHttpResponse res = new DefaultFullHttpResponse(
                    HttpVersion.HTTP_1_1, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, Unpooled.wrappedBuffer(body));
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, ControlRoutes.JSON);
            res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            HttpUtil.setContentLength(res, body.length);
            ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
