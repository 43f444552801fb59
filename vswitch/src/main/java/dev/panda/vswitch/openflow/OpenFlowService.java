package dev.panda.vswitch.openflow;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The OpenFlow channels of every bridge: passive listeners ({@code ptcp:}) for tools such as
 * ovs-ofctl, and active connections to controllers ({@code tcp:}) kept up with an echo inactivity
 * probe and reconnected with exponential backoff. One Netty event loop (thread {@code panda-of-1})
 * runs every connection, drains the bridges' PACKET_IN/FLOW_REMOVED queues every
 * {@value #PUMP_MS} ms, and sends PORT_STATUS when a bridge's ports change.
 */
public final class OpenFlowService implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(OpenFlowService.class.getName());

    public static final int PUMP_MS = 2;
    public static final int PORT_POLL_MS = 250;
    /** How long removing a listener waits for Netty to close it. */
    private static final long CLOSE_WAIT_MS = 5_000;

    /** Most connections at once on one listener; more are closed at once and counted. */
    public static final int MAX_CONNECTIONS_PER_LISTENER = 64;

    /**
     * A connection whose unsent bytes pass the high mark is not reading: the switch stops reading
     * from it and working on its requests until they fall under the low mark.
     */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(64 * 1024, 1024 * 1024);

    private final EventLoopGroup group;
    /**
     * Netty's epoll transport where it loads: its close releases the port before the close future
     * completes, where NIO's waits for the selector's next pass. NIO otherwise.
     */
    private final boolean epoll = Epoll.isAvailable();

    private final Class<? extends ServerChannel> serverChannel =
            epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    private final Class<? extends Channel> clientChannel = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    /** Runs every message and every call into the bridge: the event loop only moves bytes. */
    private final java.util.concurrent.ScheduledExecutorService exec;

    private final OfChannelCounters counters = new OfChannelCounters();
    private final Map<String, BridgeChannels> bridges = new LinkedHashMap<>();
    private final long probeMs;
    private final long minBackoffMs;
    private final long maxBackoffMs;

    /** Probe after 5 s of silence, reconnect after 1 s doubling up to 8 s, as OVS by default. */
    public OpenFlowService() {
        this(5000, 1000, 8000);
    }

    public OpenFlowService(long probeMs, long minBackoffMs, long maxBackoffMs) {
        this.probeMs = probeMs;
        this.minBackoffMs = minBackoffMs;
        this.maxBackoffMs = maxBackoffMs;
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        this.group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("panda-of", true), io);
        this.exec = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name("panda-of-exec").daemon(true).factory());
    }

    public OfChannelCounters counters() {
        return counters;
    }

    /** A target as configured, and what it is doing now. */
    public record ControllerStatus(String target, String state, String bound, int connections, boolean connected) {}

    /**
     * Makes {@code bridge}'s controllers {@code targets}: new listeners are bound first (a port in
     * use refuses the whole call with {@link IllegalStateException}, nothing changed), then removed
     * targets are closed and new active ones started. Unchanged targets keep their connections.
     */
    public synchronized void configure(OfDatapath dp, List<ControllerTarget> targets) {
        BridgeChannels b = bridges.get(dp.bridge());
        if (b != null && b.dp != dp) {
            remove(dp.bridge());
            b = null;
        }
        if (targets.isEmpty()) {
            remove(dp.bridge());
            return;
        }
        if (b == null) {
            b = new BridgeChannels(dp);
        }
        Map<ControllerTarget, Channel> bound = new HashMap<>();
        for (ControllerTarget t : targets) {
            if (t.passive() && !b.listeners.containsKey(t)) {
                try {
                    bound.put(t, b.listen(t));
                } catch (RuntimeException e) {
                    BridgeChannels bc = b;
                    bound.forEach(bc::closeListener);
                    if (!bridges.containsKey(dp.bridge())) {
                        b.close();
                    }
                    throw new IllegalStateException(t + ": cannot listen: " + e.getMessage(), e);
                }
            }
        }
        for (ControllerTarget t : new ArrayList<>(b.listeners.keySet())) {
            if (!targets.contains(t)) {
                b.closeListener(t, b.listeners.remove(t));
            }
        }
        for (ControllerTarget t : new ArrayList<>(b.actives.keySet())) {
            if (!targets.contains(t)) {
                b.actives.remove(t).stop();
            }
        }
        b.listeners.putAll(bound);
        for (ControllerTarget t : targets) {
            if (!t.passive() && !b.actives.containsKey(t)) {
                Active a = new Active(b, t);
                b.actives.put(t, a);
                a.connect();
            }
        }
        b.targets = List.copyOf(targets);
        bridges.put(dp.bridge(), b);
    }

    /**
     * Closes a listening channel and waits until its port is free, so a target removed (or a bridge
     * deleted) can be bound again as soon as the call that removed it returns. Netty closes on the
     * channel's event loop; the wait is bounded and skipped on that loop itself.
     */
    private static void closeListener(Channel ch) {
        ChannelFuture f = ch.close();
        if (!ch.eventLoop().inEventLoop()) {
            f.awaitUninterruptibly(CLOSE_WAIT_MS);
        }
    }

    /** Closes every channel of {@code bridge}. */
    public synchronized void remove(String bridge) {
        BridgeChannels b = bridges.remove(bridge);
        if (b != null) {
            b.close();
        }
    }

    public synchronized List<ControllerStatus> status(String bridge) {
        BridgeChannels b = bridges.get(bridge);
        if (b == null) {
            return List.of();
        }
        List<ControllerStatus> out = new ArrayList<>();
        for (ControllerTarget t : b.targets) {
            if (t.passive()) {
                Channel ch = b.listeners.get(t);
                String addr = ch == null ? "-" : ch.localAddress().toString().replaceFirst("^.*/", "");
                out.add(new ControllerStatus(
                        t.toString(),
                        ch != null && ch.isActive() ? "listening" : "closed",
                        addr,
                        b.passiveCount(t),
                        false));
            } else {
                Active a = b.actives.get(t);
                boolean up = a != null && a.session != null && a.session.ready();
                out.add(new ControllerStatus(
                        t.toString(), a == null ? "stopped" : a.state, t.host() + ":" + t.port(), up ? 1 : 0, up));
            }
        }
        return out;
    }

    /** The bound port of a passive target (for {@code ptcp:0}), or -1. */
    public synchronized int boundPort(String bridge, ControllerTarget t) {
        BridgeChannels b = bridges.get(bridge);
        Channel ch = b == null ? null : b.listeners.get(t);
        return ch == null ? -1 : ((java.net.InetSocketAddress) ch.localAddress()).getPort();
    }

    @Override
    public synchronized void close() {
        for (String name : new ArrayList<>(bridges.keySet())) {
            remove(name);
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        exec.shutdownNow(); // not awaited: it may be waiting for a lock the caller holds
    }

    /**
     * The handlers of one connection: the length-field framer (the header's 16-bit length at
     * offset 2 counts the whole message; a length under 4 is a framing error that closes the
     * connection, one under 8 too, in the session), the inactivity probe's timer, which only
     * whole messages reset (a peer that trickles bytes of one it never finishes is probed and
     * closed), and the session.
     */
    static void handlers(Channel c, OfSession s, long probeMs) {
        c.config().setWriteBufferWaterMark(WATER_MARK);
        c.pipeline()
                .addLast("frame", new LengthFieldBasedFrameDecoder(Of.MAX_MESSAGE, 2, 2, -4, 0, true))
                .addLast("idle", new IdleStateHandler(probeMs, 0, 0, TimeUnit.MILLISECONDS))
                .addLast("of", s);
    }

    // ---- one bridge ----------------------------------------------------------------------

    private final class BridgeChannels {
        final OfDatapath dp;
        final Map<ControllerTarget, Channel> listeners = new ConcurrentHashMap<>();
        final Map<ControllerTarget, Active> actives = new ConcurrentHashMap<>();
        final Set<OfSession> sessions = ConcurrentHashMap.newKeySet();
        final Map<ControllerTarget, AtomicInteger> passiveCounts = new ConcurrentHashMap<>();
        final java.util.concurrent.ScheduledFuture<?> pump;
        final java.util.concurrent.ScheduledFuture<?> portPoll;
        final AtomicInteger controllers = new AtomicInteger();
        volatile List<ControllerTarget> targets = List.of();
        Map<Integer, OfDatapath.PortInfo> lastPorts;
        volatile boolean closed;

        BridgeChannels(OfDatapath dp) {
            this.dp = dp;
            this.pump = exec.scheduleWithFixedDelay(this::pump, PUMP_MS, PUMP_MS, TimeUnit.MILLISECONDS);
            this.portPoll = exec.scheduleWithFixedDelay(this::pollPorts, 0, PORT_POLL_MS, TimeUnit.MILLISECONDS);
        }

        /**
         * Closes a listener and then every connection it accepted (Netty leaves those open). One
         * event loop accepts and closes, so none is accepted after the listener's close is done.
         */
        void closeListener(ControllerTarget t, Channel ch) {
            OpenFlowService.closeListener(ch);
            for (OfSession s : sessions) {
                if (s.acceptedBy(t)) {
                    s.close();
                }
            }
        }

        int passiveCount(ControllerTarget t) {
            AtomicInteger n = passiveCounts.get(t);
            return n == null ? 0 : n.get();
        }

        Channel listen(ControllerTarget t) {
            AtomicInteger open = passiveCounts.computeIfAbsent(t, k -> new AtomicInteger());
            ChannelFuture f = new ServerBootstrap()
                    .group(group)
                    .channel(serverChannel)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            counters.accepted.increment();
                            if (closed || open.incrementAndGet() > MAX_CONNECTIONS_PER_LISTENER) {
                                open.decrementAndGet();
                                counters.tooManyConnections.increment();
                                c.close();
                                return;
                            }
                            c.closeFuture().addListener(x -> open.decrementAndGet());
                            pipeline(c, t, null);
                        }
                    })
                    .bind(t.address())
                    .awaitUninterruptibly();
            if (!f.isSuccess()) {
                throw new IllegalStateException(String.valueOf(f.cause().getMessage()));
            }
            return f.channel();
        }

        /**
         * The session of connection {@code c}: one a listener accepted ({@code listener}), or one
         * to a controller ({@code active}).
         */
        OfSession pipeline(Channel c, ControllerTarget listener, Active active) {
            boolean controller = active != null;
            OfSession[] self = new OfSession[1];
            OfSession s = new OfSession(
                    dp,
                    counters,
                    controller,
                    listener,
                    exec,
                    () -> {
                        if (controller) {
                            counters.connected.increment();
                            active.ready();
                            if (controllers.incrementAndGet() == 1) {
                                dp.controllerConnected(true);
                            }
                        }
                    },
                    () -> {
                        if (controller && controllers.decrementAndGet() == 0 && !closed) {
                            dp.controllerConnected(false);
                        }
                    });
            self[0] = s;
            sessions.add(s);
            c.closeFuture().addListener(x -> sessions.remove(self[0]));
            handlers(c, s, probeMs);
            return s;
        }

        /** PACKET_IN and FLOW_REMOVED from the data path to every peer that wants them. */
        void pump() {
            if (closed) {
                return;
            }
            try {
                dp.drainEvents(new OfDatapath.EventSink() {
                    @Override
                    public void packetIn(
                            int reason,
                            int tableId,
                            long cookie,
                            int inPort,
                            long tunnelId,
                            byte[] frame,
                            int frameLen,
                            int maxLen) {
                        for (OfSession s : sessions) {
                            if (s.wantsAsync()) {
                                s.packetIn(reason, tableId, cookie, inPort, tunnelId, frame, frameLen, maxLen);
                            }
                        }
                    }

                    @Override
                    public void flowRemoved(OfDatapath.FlowStats flow, int reason) {
                        for (OfSession s : sessions) {
                            if (s.wantsAsync()) {
                                s.flowRemoved(flow, reason);
                            }
                        }
                    }
                });
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, dp.bridge() + ": draining the controller queue failed", e);
            }
        }

        /** PORT_STATUS: ports added, deleted, or whose link (or name, MAC) changed. */
        void pollPorts() {
            if (closed) {
                return;
            }
            Map<Integer, OfDatapath.PortInfo> now = new LinkedHashMap<>();
            try {
                for (OfDatapath.PortInfo p : dp.ports()) {
                    now.put(p.ofport(), p);
                }
            } catch (RuntimeException e) {
                return; // the bridge is going away
            }
            Map<Integer, OfDatapath.PortInfo> before = lastPorts;
            lastPorts = now;
            if (before == null) {
                return;
            }
            for (OfDatapath.PortInfo p : now.values()) {
                OfDatapath.PortInfo old = before.get(p.ofport());
                if (old == null) {
                    portStatus(Of.PR_ADD, p);
                } else if (old.linkUp() != p.linkUp()
                        || !old.name().equals(p.name())
                        || !java.util.Arrays.equals(old.mac(), p.mac())) {
                    portStatus(Of.PR_MODIFY, p);
                }
            }
            for (OfDatapath.PortInfo p : before.values()) {
                if (!now.containsKey(p.ofport())) {
                    portStatus(Of.PR_DELETE, p);
                }
            }
        }

        private void portStatus(int reason, OfDatapath.PortInfo p) {
            for (OfSession s : sessions) {
                if (s.wantsAsync()) {
                    s.portStatus(reason, p);
                }
            }
        }

        void close() {
            closed = true;
            pump.cancel(false);
            portPoll.cancel(false);
            listeners.forEach(this::closeListener);
            listeners.clear();
            actives.values().forEach(Active::stop);
            actives.clear();
            sessions.forEach(OfSession::close); // accepted ones too: Netty leaves them open
            if (controllers.getAndSet(0) > 0) {
                exec.execute(() -> dp.controllerConnected(false));
            }
        }
    }

    /** An active connection to a controller, reconnected with backoff while configured. */
    private final class Active {
        final BridgeChannels b;
        final ControllerTarget t;
        volatile boolean stopped;
        volatile String state = "connecting";
        volatile OfSession session;
        volatile Channel channel;
        long backoffMs = minBackoffMs;

        Active(BridgeChannels b, ControllerTarget t) {
            this.b = b;
            this.t = t;
        }

        void connect() {
            if (stopped) {
                return;
            }
            state = "connecting";
            new Bootstrap()
                    .group(group)
                    .channel(clientChannel)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5000)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            session = b.pipeline(c, null, Active.this);
                        }
                    })
                    .connect(t.address())
                    .addListener((ChannelFuture f) -> {
                        if (!f.isSuccess()) {
                            counters.connectFailures.increment();
                            retry("connect failed: " + f.cause().getMessage());
                            return;
                        }
                        channel = f.channel();
                        if (stopped) {
                            channel.close();
                            return;
                        }
                        state = "connected, hello sent";
                        channel.closeFuture().addListener(x -> retry("connection closed"));
                    });
        }

        void ready() {
            state = "connected";
            backoffMs = minBackoffMs;
        }

        private void retry(String why) {
            if (stopped) {
                state = "stopped";
                return;
            }
            long wait = backoffMs;
            backoffMs = Math.min(maxBackoffMs, backoffMs * 2);
            state = why + "; retrying in " + wait + " ms";
            LOG.log(System.Logger.Level.INFO, "{0} {1}: {2}", b.dp.bridge(), t, state);
            group.next().schedule(this::connect, wait, TimeUnit.MILLISECONDS);
        }

        void stop() {
            stopped = true;
            state = "stopped";
            Channel c = channel;
            if (c != null) {
                c.close();
            }
        }
    }
}
