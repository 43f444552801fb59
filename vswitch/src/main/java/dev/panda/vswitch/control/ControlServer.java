package dev.panda.vswitch.control;

import dev.panda.vswitch.Control;
import dev.panda.vswitch.VswitchException;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.handler.timeout.WriteTimeoutHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;

/**
 * The control API: HTTP/1.1 with JSON bodies, served by Netty's epoll transport on a unix domain
 * socket (default {@value #DEFAULT_PATH}) and, only when asked, on a TCP listener that wants a
 * bearer token. Requests are decoded on one event loop thread ({@code panda-ctl-1}) and answered by
 * {@link Control} calls made on one control executor thread ({@code panda-ctl-exec}), so calls
 * never overlap and never block the loop. Both threads are pinned to {@code allowedCpus} (the CPUs
 * the pollers leave free).
 *
 * <p>The socket file is mode 0600 (0660 and the given group with {@link Options#withGroup}) from
 * the moment its name appears: it is bound inside a fresh mode-0700 directory next to the final
 * path, given its mode and group there, then hard-linked to the final name (link(2) fails rather
 * than replace a file another process put there meanwhile). A directory the server creates for
 * it is 0700 (0750 with a group); every existing directory above it must be writable by no one
 * but its owner (or sticky, like /tmp) and owned by root or this user, or the server refuses to
 * start: whoever may rename a directory on the way could put their own socket there.
 *
 * <p>Refuses to start when another process answers on the path; removes a stale socket file; and
 * removes its own on {@link #close()}. Each request is bounded by {@link ControlLimits}.
 */
public final class ControlServer implements AutoCloseable {

    public static final String DEFAULT_PATH = "/run/panda/vswitch.ctl";

    /** Larger request bodies are answered 413. */
    public static final int MAX_BODY = 1 << 20;

    private static final System.Logger LOG = System.getLogger(ControlServer.class.getName());

    /**
     * Where and how the server listens.
     *
     * @param path   the unix socket
     * @param group  null, or the group that may use the socket too (mode 0660)
     * @param tcp    null, or the TCP listener's address (then {@code token} is required)
     * @param token  the TCP listener's bearer token
     * @param limits request and connection bounds
     */
    public record Options(Path path, String group, InetSocketAddress tcp, ControlToken token, ControlLimits limits) {

        public Options {
            if (path == null || limits == null) {
                throw new IllegalArgumentException("a control socket path and limits are required");
            }
            if (tcp != null && token == null) {
                throw new IllegalArgumentException("a TCP control listener needs a token");
            }
        }

        public static Options unix(Path path) {
            return new Options(path, null, null, null, ControlLimits.DEFAULT);
        }

        public Options withGroup(String g) {
            return new Options(path, g, tcp, token, limits);
        }

        public Options withTcp(InetSocketAddress address, ControlToken t) {
            return new Options(path, group, address, t, limits);
        }

        public Options withLimits(ControlLimits l) {
            return new Options(path, group, tcp, token, l);
        }
    }

    /** Requests served, error answers (4xx/5xx) and the ways clients were cut off, for metrics. */
    public static final class Counters {
        private final LongAdder requests = new LongAdder();
        private final LongAdder errors = new LongAdder();
        private final LongAdder unauthorized = new LongAdder();
        private final LongAdder timeouts = new LongAdder();
        private final LongAdder refusedConnections = new LongAdder();
        private final LongAdder exceptions = new LongAdder();
        private final LongAdder readsHeld = new LongAdder();

        void request(int status) {
            requests.increment();
            if (status >= 400) {
                errors.increment();
            }
        }

        void countUnauthorized() {
            unauthorized.increment();
        }

        void countTimeout() {
            timeouts.increment();
        }

        void countReadsHeld() {
            readsHeld.increment();
        }

        void refusedConnection() {
            refusedConnections.increment();
        }

        void exception(Throwable t) {
            exceptions.increment();
            LOG.log(System.Logger.Level.WARNING, "control connection failed", t);
        }

        public long requests() {
            return requests.sum();
        }

        public long errors() {
            return errors.sum();
        }

        /** Requests on the TCP listener without the right token (answered 401). */
        public long unauthorized() {
            return unauthorized.sum();
        }

        /** Requests that did not arrive whole in time (408) and answers the client did not take. */
        public long timeouts() {
            return timeouts.sum();
        }

        /** Connections closed at once because their listener had {@code maxConnections} open. */
        public long refusedConnections() {
            return refusedConnections.sum();
        }

        /**
         * Times a connection's reads were held because the requests it had sent and not yet been
         * answered held more than {@link ControlLimits#maxQueuedBytes()} bytes.
         */
        public long readsHeld() {
            return readsHeld.sum();
        }

        /** Unexpected exceptions in a connection's handlers (a bug if not zero). */
        public long exceptions() {
            return exceptions.sum();
        }
    }

    private final Path path;
    private final EventLoopGroup group;
    private final ExecutorService executor;
    private final Channel channel;
    private final Channel tcpChannel;
    private final Object fileKey;
    private final Counters counters;
    private volatile boolean closed;

    private ControlServer(
            Path path,
            EventLoopGroup group,
            ExecutorService executor,
            Channel channel,
            Channel tcpChannel,
            Object fileKey,
            Counters counters) {
        this.path = path;
        this.group = group;
        this.executor = executor;
        this.channel = channel;
        this.tcpChannel = tcpChannel;
        this.fileKey = fileKey;
        this.counters = counters;
    }

    /** Serves {@code control} on the unix socket {@code path} only, mode 0600, default limits. */
    public static ControlServer start(Path path, Control control, int[] allowedCpus) {
        return start(Options.unix(path), control, allowedCpus);
    }

    /**
     * Binds the control socket (and the TCP listener if asked) and serves {@code control}.
     *
     * @param allowedCpus CPUs for the control threads (null or empty: not pinned)
     * @throws VswitchException 409 if another process answers on the path or it is not a socket;
     *     400 for an unknown group or an unsafe directory; 500 if the epoll transport is missing
     *     or a bind fails
     */
    public static ControlServer start(Options o, Control control, int[] allowedCpus) {
        if (!Epoll.isAvailable()) {
            throw new VswitchException(500, "Netty's epoll transport is not available: " + Epoll.unavailabilityCause());
        }
        GroupPrincipal unixGroup = claim(o);
        Path path = o.path();
        Counters counters = new Counters();
        ExecutorService executor =
                Executors.newSingleThreadExecutor(ControlThreads.factory("panda-ctl-exec", false, allowedCpus));
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(
                1, ControlThreads.factory("panda-ctl", true, allowedCpus), EpollIoHandler.newFactory());
        ControlRoutes routes = new ControlRoutes(control);
        Channel unix = null;
        Channel tcp = null;
        try {
            unix = bindPrivately(
                    new ServerBootstrap()
                            .group(group)
                            .channel(EpollServerDomainSocketChannel.class)
                            .childHandler(initializer(routes, executor, counters, o.limits(), null)),
                    path,
                    unixGroup);
            Object key = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                    .fileKey();
            if (o.tcp() != null) {
                tcp = new ServerBootstrap()
                        .group(group)
                        .channel(EpollServerSocketChannel.class)
                        .childHandler(initializer(routes, executor, counters, o.limits(), o.token()))
                        .bind(o.tcp())
                        .sync()
                        .channel();
            }
            return new ControlServer(path, group, executor, unix, tcp, key, counters);
        } catch (Exception e) {
            if (unix != null) {
                unix.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
                try {
                    Files.deleteIfExists(path);
                } catch (IOException ignored) {
                    // below: the bind failure is what matters
                }
            }
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            executor.shutdownNow();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            if (e instanceof VswitchException v) {
                throw v;
            }
            String where = unix == null ? "control socket " + path : "control listener tcp:" + hostPort(o.tcp());
            throw new VswitchException(500, where + ": cannot listen: " + e.getMessage(), e);
        }
    }

    /** One connection's pipeline; {@code token} non-null on the TCP listener. */
    private static <C extends Channel> ChannelInitializer<C> initializer(
            ControlRoutes routes,
            ExecutorService executor,
            Counters counters,
            ControlLimits limits,
            ControlToken token) {
        AtomicInteger connections = new AtomicInteger();
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(C c) {
                if (connections.incrementAndGet() > limits.maxConnections()) {
                    connections.decrementAndGet();
                    counters.refusedConnection();
                    c.close();
                    return;
                }
                c.closeFuture().addListener(f -> connections.decrementAndGet());
                pipeline(c, routes, executor, counters, limits, token);
            }
        };
    }

    /** The handlers of one control connection (the fuzz test runs them in an EmbeddedChannel). */
    static void pipeline(
            Channel c,
            ControlRoutes routes,
            java.util.concurrent.Executor executor,
            Counters counters,
            ControlLimits limits,
            ControlToken token) {
        RequestTimer timer = new RequestTimer(limits.requestTimeout());
        ReadGate gate = new ReadGate(timer);
        ControlHandler handler = new ControlHandler(
                routes, executor, counters, limits.maxPipelined(), limits.maxQueuedBytes(), timer, gate);
        c.pipeline()
                .addLast("request-timer", timer)
                .addLast("idle", new IdleStateHandler(0, 0, limits.idleTimeout().toMillis(), TimeUnit.MILLISECONDS))
                .addLast(
                        "write-timeout",
                        new WriteTimeoutHandler(limits.requestTimeout().toMillis(), TimeUnit.MILLISECONDS))
                .addLast("read-gate", gate)
                .addLast(
                        "http",
                        new HttpServerCodec(new HttpDecoderConfig()
                                .setMaxInitialLineLength(limits.maxInitialLine())
                                .setMaxHeaderSize(limits.maxHeaderBytes())
                                .setMaxChunkSize(8192)))
                .addLast("gate", new RequestGate(limits.maxHeaders(), token, counters))
                .addLast("aggregator", new Aggregator(limits.maxBody(), handler::idle))
                .addLast("control", handler);
    }

    /**
     * Binds the socket inside a fresh mode-0700 directory beside {@code path}, sets its mode (and
     * group), then links it to {@code path}: its name never exists with the umask's mode.
     */
    private static Channel bindPrivately(ServerBootstrap b, Path path, GroupPrincipal unixGroup) throws Exception {
        Path dir = path.toAbsolutePath().getParent();
        Path tmpDir = null;
        for (int i = 0; tmpDir == null; i++) {
            Path candidate = dir.resolve(
                    ".pctl" + Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36));
            try {
                tmpDir = Files.createDirectory(
                        candidate, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (FileAlreadyExistsException e) {
                if (i > 8) {
                    throw e;
                }
            }
        }
        Path tmp = tmpDir.resolve("s");
        Channel ch = null;
        try {
            if (tmp.toString().getBytes(StandardCharsets.UTF_8).length > 107) {
                throw new VswitchException(
                        400, "control socket " + path + ": directory path too long for a unix socket");
            }
            ch = b.bind(new DomainSocketAddress(tmp.toString())).sync().channel();
            Files.setPosixFilePermissions(
                    tmp, PosixFilePermissions.fromString(unixGroup == null ? "rw-------" : "rw-rw----"));
            if (unixGroup != null) {
                try {
                    Files.getFileAttributeView(tmp, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                            .setGroup(unixGroup);
                } catch (IOException e) {
                    throw VswitchException.badRequest("--control-group " + unixGroup.getName()
                            + ": cannot give the socket to this group (this user is neither root nor a member): "
                            + e.getMessage());
                }
            }
            try {
                Files.createLink(path, tmp);
            } catch (FileAlreadyExistsException e) {
                throw VswitchException.conflict("control socket " + path + " appeared while binding: another vswitch?");
            }
            return ch;
        } catch (Exception e) {
            if (ch != null) {
                ch.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
            }
            throw e;
        } finally {
            Files.deleteIfExists(tmp);
            Files.deleteIfExists(tmpDir);
        }
    }

    /**
     * Makes {@code path} free to bind: creates its directory (mode 0700), checks the directories
     * above it, refuses if a process answers there or it is not a socket, deletes a stale socket
     * file. Call it early to fail before starting anything else; {@link #start} calls it again.
     */
    public static void claim(Path path) {
        claim(Options.unix(path));
    }

    /**
     * {@link #claim(Path)} for these options: also looks the group up (400 if there is none) and
     * creates a missing directory 0750 with that group.
     *
     * @return the group, or null
     */
    public static GroupPrincipal claim(Options o) {
        Path path = o.path();
        try {
            GroupPrincipal g = o.group() == null ? null : lookupGroup(o.group());
            Path dir = path.toAbsolutePath().getParent();
            if (dir != null) {
                ControlDirectory.prepare(dir, g);
            }
            if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
                return g;
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
            return g;
        } catch (IOException e) {
            throw new VswitchException(500, "control socket " + path + ": " + e.getMessage(), e);
        }
    }

    /** The group named {@code name}; 400 if there is none. */
    public static GroupPrincipal lookupGroup(String name) {
        try {
            return FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByGroupName(name);
        } catch (IOException e) {
            throw VswitchException.badRequest("--control-group: no group named '" + name + "'");
        }
    }

    /**
     * {@code ADDR:PORT}: an IPv4 address, {@code [IPv6]}, or a host name, and a port 0..65535
     * (0: any free port).
     *
     * @throws IllegalArgumentException with a one-line message
     */
    public static InetSocketAddress parseTcp(String s) {
        String bad = "'" + s + "' is not ADDR:PORT (e.g. 127.0.0.1:7001 or [::1]:7001)";
        int colon = s.lastIndexOf(':');
        if (colon <= 0 || colon == s.length() - 1) {
            throw new IllegalArgumentException(bad);
        }
        String host = s.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":")) {
            throw new IllegalArgumentException(bad);
        }
        String portText = s.substring(colon + 1);
        if (host.isEmpty() || portText.length() > 5 || !portText.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException(bad);
        }
        int port = Integer.parseInt(portText);
        if (port > 65535) {
            throw new IllegalArgumentException(bad);
        }
        InetSocketAddress a = new InetSocketAddress(host, port);
        if (a.isUnresolved()) {
            throw new IllegalArgumentException("'" + host + "' is not an address this host can resolve");
        }
        return a;
    }

    public static String hostPort(InetSocketAddress a) {
        String host =
                a.getAddress() == null ? a.getHostString() : a.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    public Path path() {
        return path;
    }

    public Counters counters() {
        return counters;
    }

    /** The TCP listener's bound address (its real port when 0 was asked), or null if none. */
    public InetSocketAddress tcpAddress() {
        return tcpChannel == null ? null : (InetSocketAddress) tcpChannel.localAddress();
    }

    /** Stops listening, lets the control call in flight finish (up to 5 s), removes the socket file. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (tcpChannel != null) {
            tcpChannel.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        }
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

    /**
     * Aggregates a request up to the body limit. Every answer it causes goes through {@link
     * ControlHandler}, so it is JSON, counted and in request order: a body over the limit (by its
     * Content-Length, or as its chunks arrive) is a 413 and the connection closes; an {@code Expect}
     * other than {@code 100-continue} is a 417 and the connection closes. {@code 100 Continue} is
     * sent only while the connection has no request in flight or queued (it must not come before an
     * earlier request's answer); otherwise it is left out and the client sends its body after its
     * own wait, as RFC 9110 lets it.
     */
    private static final class Aggregator extends HttpObjectAggregator {
        private final BooleanSupplier idle;

        /** @param idle whether the connection has no request in flight or queued */
        Aggregator(int maxBody, BooleanSupplier idle) {
            super(maxBody);
            this.idle = idle;
        }

        /**
         * A request the gate refused (no token on the TCP listener, too many headers) or the decoder
         * could not read is answered for that, whatever Content-Length it claims: an unauthenticated
         * client learns nothing from a 413, and its body is never read.
         */
        @Override
        protected boolean isContentLengthInvalid(HttpMessage start, int maxContentLength) {
            return start.decoderResult().isSuccess() && super.isContentLengthInvalid(start, maxContentLength);
        }

        @Override
        protected Object newContinueResponse(HttpMessage start, int maxContentLength, ChannelPipeline pipeline) {
            return ExpectContinue.answer(
                    start,
                    maxContentLength,
                    idle,
                    expect -> new RequestGate.Refusal(
                            417, "unsupported expectation '" + ControlRoutes.oneLine(expect) + "': only 100-continue"));
        }

        /** Passes the request on refused: ControlHandler answers 413 in turn and closes; the rest is not read. */
        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            HttpRequest head = (HttpRequest) oversized;
            FullHttpRequest refused = new DefaultFullHttpRequest(
                    head.protocolVersion(), head.method(), head.uri(), Unpooled.EMPTY_BUFFER);
            refused.setDecoderResult(DecoderResult.failure(
                    new RequestGate.Refusal(413, "request body larger than " + maxContentLength() + " bytes")));
            ctx.fireChannelRead(refused);
        }
    }
}
