package dev.panda.vswitch.openflow;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.timeout.IdleStateEvent;
import java.util.ArrayList;
import java.util.List;

/**
 * One OpenFlow connection on the switch side, after the length-field framer: sends HELLO,
 * negotiates 1.3 from the peer's version bitmap, then answers each message in order (so a
 * BARRIER_REPLY follows everything before it). A refused message gets an OFPT_ERROR with its xid
 * and first 64 bytes, and the connection stays; bad framing or a failed hello closes it.
 *
 * <p>What a peer can make the switch hold is bounded both ways. Messages wait in this
 * connection's own inbox until the shared executor takes them; past {@link #INBOX_BYTES} of them
 * the connection stops reading. While the peer does not read what it is sent (the channel is over
 * its write high-water mark) the inbox is not worked on and nothing more is read, so a request
 * that asks for a large answer cannot be repeated into unbounded memory; asynchronous messages
 * (PACKET_IN, FLOW_REMOVED, PORT_STATUS) meant for it are dropped and counted instead, as OVS
 * drops packet-ins for a backlogged controller. Such a peer stops answering the inactivity probe
 * too, and is closed.
 */
final class OfSession extends ChannelInboundHandlerAdapter {

    private static final System.Logger LOG = System.getLogger(OfSession.class.getName());

    /** Bytes of received messages a connection may have waiting before it stops reading. */
    static final int INBOX_BYTES = 256 * 1024;

    /** Messages one turn of the executor takes from one connection before it lets others go. */
    private static final int TURN = 64;

    /**
     * Longest a BARRIER_REPLY waits for the data path to send the PACKET_OUTs before it; past it
     * the reply goes and {@code barriers_late} counts it (a data path that does not turn round).
     */
    static final long BARRIER_WAIT_NANOS = 1_000_000_000L;

    private final OfDatapath dp;
    private final OfChannelCounters counters;
    private final boolean controller;
    private final Runnable onReady;
    private final Runnable onClose;
    /** The listener that accepted this connection; null for an active one to a controller. */
    private final ControllerTarget listener;

    private final java.util.concurrent.Executor exec;
    private volatile OfEncoder enc;
    private volatile ChannelHandlerContext ctx;
    private volatile boolean helloDone;
    private volatile boolean echoOutstanding;
    private volatile boolean async;
    private volatile int missSendLen = 128;
    private int configFlags;
    private int nextXid = 1;

    /** Received messages not yet handled, in order; guarded by {@code this}, as are the two below. */
    private final java.util.ArrayDeque<byte[]> inbox = new java.util.ArrayDeque<>();

    private long inboxBytes;
    /** A drain of the inbox is queued on the executor or running there. */
    private boolean draining;
    /** The close was handled (onClose run if the hello had been done); executor only. */
    private boolean closeHandled;

    /** {@link OfDatapath#packetOutMark()} after this connection's last PACKET_OUT; executor only. */
    private long packetOutMark;
    /**
     * A BARRIER_REQUEST whose PACKET_OUTs before it are not sent yet: its reply and every message
     * after it wait (OpenFlow 1.3 §6.2). Executor only, as are the two below.
     */
    private boolean barrierWaiting;

    private int barrierXid;
    private long barrierSince;
    /** A flush of this connection's FLOW_MODs is scheduled ({@link #flushWhenDue}). */
    private volatile boolean flushScheduled;

    /** A look at the waiting barrier is scheduled on the event loop. */
    private volatile boolean recheckScheduled;

    private int recheckMicros;

    /**
     * @param controller an active connection to a controller: it gets asynchronous messages from
     *                   the start and counts for the fail mode
     * @param listener   the listener that accepted it (closed with it), or null
     */
    OfSession(
            OfDatapath dp,
            OfChannelCounters counters,
            boolean controller,
            ControllerTarget listener,
            java.util.concurrent.Executor exec,
            Runnable onReady,
            Runnable onClose) {
        this.listener = listener;
        this.exec = exec;
        this.dp = dp;
        this.counters = counters;
        this.controller = controller;
        this.async = controller;
        this.onReady = onReady;
        this.onClose = onClose;
    }

    boolean ready() {
        return helloDone && ctx != null && ctx.channel().isActive();
    }

    /** Whether asynchronous messages (PACKET_IN, FLOW_REMOVED, PORT_STATUS) go to this peer. */
    boolean wantsAsync() {
        return async && ready();
    }

    int missSendLen() {
        return missSendLen;
    }

    boolean controller() {
        return controller;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.enc = new OfEncoder(ctx.alloc());
        ctx.writeAndFlush(enc.hello(nextXid++));
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        // handled on the executor after every message this connection sent before it closed, so
        // a HELLO still in the inbox makes its onReady before this makes its onClose
        scheduleDrain();
        ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf frame = (ByteBuf) msg;
        byte[] bytes;
        try {
            if (frame.readableBytes() < 8) {
                // a length of 4..7: shorter than the header it is part of, as bad as one under 4
                badFraming(ctx, "a message length of " + frame.readableBytes() + " is shorter than its header");
                return;
            }
            bytes = ByteBufUtil.getBytes(frame);
        } finally {
            frame.release();
        }
        echoOutstanding = false; // a whole message: the peer is there
        synchronized (this) {
            inbox.add(bytes);
            inboxBytes += bytes.length;
        }
        updateRead();
        scheduleDrain();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        updateRead();
        if (ctx.channel().isWritable()) {
            scheduleDrain();
        }
        ctx.fireChannelWritabilityChanged();
    }

    /**
     * Reads from the peer only while its inbox is under {@link #INBOX_BYTES} and it takes what it
     * is sent. On the event loop, so the last evaluation wins; called after each change of either.
     */
    private void updateRead() {
        ChannelHandlerContext c = ctx;
        if (c == null) {
            return;
        }
        if (!c.channel().eventLoop().inEventLoop()) {
            c.channel().eventLoop().execute(this::updateRead);
            return;
        }
        boolean want;
        synchronized (this) {
            want = inboxBytes < INBOX_BYTES;
        }
        want &= c.channel().isWritable();
        if (c.channel().config().isAutoRead() != want) {
            c.channel().config().setAutoRead(want);
        }
    }

    /** Queues a drain of the inbox on the executor unless one is queued or running. */
    private void scheduleDrain() {
        synchronized (this) {
            if (draining) {
                return;
            }
            draining = true;
        }
        try {
            exec.execute(this::drain);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            synchronized (this) {
                draining = false;
            }
            if (ctx != null) {
                ctx.close(); // shutting down
            }
        }
    }

    /**
     * On the executor: handles this connection's waiting messages in order, at most {@link #TURN}
     * per turn, and none while the peer is not reading what it was sent; handles the close once
     * the channel is gone.
     */
    private void drain() {
        ChannelHandlerContext c = ctx;
        io.netty.channel.Channel ch = c.channel();
        if (barrierWaiting && !barrierAnswered(c)) {
            synchronized (this) {
                draining = false;
            }
            recheckLater(ch);
            return;
        }
        for (int n = 0; ; n++) {
            byte[] m;
            synchronized (this) {
                // what a peer sent before it closed is still carried out (its answers go nowhere)
                if (barrierWaiting || (ch.isActive() && !ch.isWritable()) || n == TURN) {
                    m = null;
                } else {
                    m = inbox.poll();
                    if (m != null) {
                        inboxBytes -= m.length;
                    }
                }
                if (m == null) {
                    draining = false;
                }
            }
            if (m == null) {
                break;
            }
            received(c, m);
        }
        flushWhenDue(ch);
        if (barrierWaiting) {
            updateRead();
            recheckLater(ch); // the messages after the barrier wait for it
            return;
        }
        boolean more;
        synchronized (this) {
            more = !inbox.isEmpty();
        }
        if (!ch.isActive() && !more && !closeHandled) {
            closeHandled = true;
            if (helloDone) {
                helloDone = false;
                onClose.run();
            }
            return;
        }
        updateRead();
        if (more && (ch.isWritable() || !ch.isActive())) {
            scheduleDrain(); // its next turn (a close that comes after this schedules its own)
        }
    }

    /**
     * A run of FLOW_MODs takes effect when its turn ends, or, for a big table, once it has waited
     * long enough that rebuilding costs a small share of the run (then a flush is scheduled for
     * when it is due, in case nothing else comes). Before any other message it takes effect at once.
     */
    private void flushWhenDue(io.netty.channel.Channel ch) {
        if (flushScheduled && ch.isActive()) {
            return; // one is coming
        }
        long wait;
        try {
            wait = ch.isActive() ? dp.flushWhenDue() : flushNow();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, dp.bridge() + ": publishing flow changes failed", e);
            return;
        }
        if (wait > 0 && !flushScheduled) {
            flushScheduled = true;
            ch.eventLoop()
                    .schedule(
                            () -> {
                                try {
                                    exec.execute(() -> {
                                        flushScheduled = false;
                                        flushWhenDue(ch);
                                    });
                                } catch (java.util.concurrent.RejectedExecutionException e) {
                                    flushScheduled = false; // shutting down
                                }
                            },
                            wait,
                            java.util.concurrent.TimeUnit.NANOSECONDS);
        }
    }

    private long flushNow() {
        dp.flush(); // the connection is gone: what it changed takes effect now
        return 0;
    }

    /**
     * Answers the waiting barrier if the data path has sent every PACKET_OUT before it (or the
     * connection is gone, or it waited {@link #BARRIER_WAIT_NANOS}); returns whether it did.
     */
    private boolean barrierAnswered(ChannelHandlerContext c) {
        boolean sent = dp.packetOutsSent() >= packetOutMark;
        boolean late = System.nanoTime() - barrierSince > BARRIER_WAIT_NANOS;
        if (!sent && c.channel().isActive() && !late) {
            return false;
        }
        if (!sent && late) {
            counters.barriersLate.increment();
            LOG.log(
                    System.Logger.Level.WARNING,
                    "{0}: the data path has not sent the PACKET_OUTs before barrier {1} in {2} ms; answering it",
                    dp.bridge(),
                    Integer.toUnsignedString(barrierXid),
                    BARRIER_WAIT_NANOS / 1_000_000);
        }
        barrierWaiting = false;
        c.writeAndFlush(enc.barrierReply(barrierXid));
        return true;
    }

    /**
     * Looks at the waiting barrier again soon: after 10 µs, then twice as long each time up to
     * 1 ms (the data path sends PACKET_OUTs in its next iteration, microseconds away).
     */
    private void recheckLater(io.netty.channel.Channel ch) {
        if (recheckScheduled) {
            return;
        }
        recheckScheduled = true;
        int us = recheckMicros;
        recheckMicros = Math.min(1000, us * 2);
        ch.eventLoop()
                .schedule(
                        () -> {
                            recheckScheduled = false;
                            scheduleDrain();
                        },
                        us,
                        java.util.concurrent.TimeUnit.MICROSECONDS);
    }

    /**
     * On the channel's executor (one thread for every connection, so nothing here ever blocks the
     * event loop, and each connection's answers leave in the order its requests came).
     */
    private void received(ChannelHandlerContext ctx, byte[] bytes) {
        int xid = bytes.length >= 8
                ? ((bytes[4] & 0xff) << 24) | ((bytes[5] & 0xff) << 16) | ((bytes[6] & 0xff) << 8) | (bytes[7] & 0xff)
                : 0;
        counters.messagesIn.increment();
        OfMessage m;
        try {
            m = OfDecoder.decode(bytes);
        } catch (OfError e) {
            counters.decodeErrors.increment();
            LOG.log(
                    System.Logger.Level.DEBUG,
                    "{0} {1}: {2}",
                    dp.bridge(),
                    ctx.channel().remoteAddress(),
                    e);
            if (!helloDone) {
                ctx.writeAndFlush(enc.error(xid, Of.ET_HELLO_FAILED, Of.HFC_INCOMPATIBLE, bytes))
                        .addListener(f -> ctx.close());
                return;
            }
            ctx.writeAndFlush(enc.error(xid, e.type(), e.code(), bytes));
            return;
        }
        try {
            if (m instanceof OfMessage.PacketOut) {
                dp.flush(); // its output to TABLE meets every flow sent before it
            } else if (!(m instanceof OfMessage.FlowMod) && dp.flushForBarrier() > 0) {
                // the FLOW_MODs before it are in the tables; a big table's classifier follows soon
                flushWhenDue(ctx.channel());
            }
            handle(ctx, m, bytes);
        } catch (OfError e) {
            counters.refused.increment();
            LOG.log(System.Logger.Level.DEBUG, "{0}: refused: {1}", dp.bridge(), e);
            ctx.writeAndFlush(enc.error(m.xid(), e.type(), e.code(), bytes));
        } catch (RuntimeException e) {
            counters.refused.increment();
            LOG.log(
                    System.Logger.Level.WARNING,
                    dp.bridge() + ": " + m.getClass().getSimpleName() + " failed",
                    e);
            ctx.writeAndFlush(enc.error(m.xid(), Of.ET_BAD_REQUEST, Of.BRC_EPERM, bytes));
        }
    }

    private void handle(ChannelHandlerContext ctx, OfMessage m, byte[] bytes) throws OfError {
        if (!helloDone) {
            if (!(m instanceof OfMessage.Hello h)) {
                counters.helloFailed.increment();
                ctx.writeAndFlush(enc.error(m.xid(), Of.ET_HELLO_FAILED, Of.HFC_INCOMPATIBLE, bytes))
                        .addListener(f -> ctx.close());
                return;
            }
            if ((h.versions() & (1L << Of.VERSION)) == 0) {
                counters.helloFailed.increment();
                ByteBuf err = enc.error(h.xid(), Of.ET_HELLO_FAILED, Of.HFC_INCOMPATIBLE, null);
                err.writeBytes(
                        "panda speaks OpenFlow 1.3 (0x04) only".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                err.setShort(2, err.writerIndex());
                ctx.writeAndFlush(err).addListener(f -> ctx.close());
                return;
            }
            helloDone = true;
            onReady.run();
            return;
        }
        switch (m) {
            case OfMessage.Hello h -> {} // a second hello changes nothing
            case OfMessage.Error e ->
                LOG.log(
                        System.Logger.Level.INFO,
                        "{0}: peer sent error type {1} code {2}",
                        dp.bridge(),
                        e.type(),
                        e.code());
            case OfMessage.EchoRequest e -> ctx.writeAndFlush(enc.echoReply(e.xid(), e.data()));
            case OfMessage.EchoReply e -> {}
            case OfMessage.FeaturesRequest f ->
                ctx.writeAndFlush(enc.featuresReply(f.xid(), dp.datapathId(), dp.tables()));
            case OfMessage.GetConfigRequest g ->
                ctx.writeAndFlush(enc.getConfigReply(g.xid(), configFlags, missSendLen));
            case OfMessage.SetConfig s -> {
                configFlags = s.flags();
                missSendLen = s.missSendLen();
                async = true; // a tool that sets a miss_send_len wants packet-ins (ovs-ofctl monitor)
            }
            case OfMessage.BarrierRequest b -> {
                if (dp.packetOutsSent() >= packetOutMark) {
                    ctx.writeAndFlush(enc.barrierReply(b.xid()));
                } else {
                    // a PACKET_OUT before it is still queued for the data path: the reply, and
                    // everything after the barrier, waits until it is sent
                    barrierWaiting = true;
                    barrierXid = b.xid();
                    barrierSince = System.nanoTime();
                    recheckMicros = 10;
                }
            }
            case OfMessage.RoleRequest r ->
                ctx.writeAndFlush(enc.roleReply(r.xid(), Of.CR_ROLE_EQUAL, r.generationId())); // every peer is equal
            case OfMessage.FlowMod f -> {
                dp.flowMod(f);
                counters.flowMods.increment();
            }
            case OfMessage.PacketOut p -> {
                dp.packetOut(p);
                packetOutMark = dp.packetOutMark();
                counters.packetOuts.increment();
            }
            case OfMessage.DescRequest d -> {
                ByteBuf body =
                        enc.desc("panda", "panda vswitch", "panda " + version(), "None", "bridge " + dp.bridge());
                write(enc.multipart(d.xid(), Of.MP_DESC, List.of(body)));
            }
            case OfMessage.FlowStatsRequest r -> {
                List<OfDatapath.FlowStats> flows = dp.flowStats(r);
                if (r.aggregate()) {
                    long packets = 0, bytesSum = 0;
                    for (OfDatapath.FlowStats f : flows) {
                        packets += f.packets();
                        bytesSum += f.bytes();
                    }
                    write(enc.multipart(
                            r.xid(), Of.MP_AGGREGATE, List.of(enc.aggregate(packets, bytesSum, flows.size()))));
                } else {
                    List<ByteBuf> entries = new ArrayList<>(flows.size());
                    for (OfDatapath.FlowStats f : flows) {
                        entries.add(enc.flowStatsEntry(f));
                    }
                    write(enc.multipart(r.xid(), Of.MP_FLOW, entries));
                }
            }
            case OfMessage.TableStatsRequest t -> {
                List<ByteBuf> entries = new ArrayList<>();
                for (OfDatapath.TableStats s : dp.tableStats()) {
                    entries.add(enc.tableStatsEntry(s));
                }
                write(enc.multipart(t.xid(), Of.MP_TABLE, entries));
            }
            case OfMessage.TableFeaturesRequest t -> {
                List<ByteBuf> entries = new ArrayList<>();
                int n = dp.tables();
                for (int i = 0; i < n; i++) {
                    entries.add(enc.tableFeaturesEntry(i, n, dp.maxFlows())); // shared by all tables
                }
                write(enc.multipart(t.xid(), Of.MP_TABLE_FEATURES, entries));
            }
            case OfMessage.PortStatsRequest p -> {
                List<ByteBuf> entries = new ArrayList<>();
                for (OfDatapath.PortCounters c : dp.portCounters(p.port())) {
                    entries.add(enc.portStatsEntry(c));
                }
                write(enc.multipart(p.xid(), Of.MP_PORT_STATS, entries));
            }
            case OfMessage.PortDescRequest p -> {
                List<ByteBuf> entries = new ArrayList<>();
                for (OfDatapath.PortInfo i : dp.ports()) {
                    entries.add(enc.portDescEntry(i));
                }
                write(enc.multipart(p.xid(), Of.MP_PORT_DESC, entries));
            }
        }
    }

    private void write(List<ByteBuf> msgs) {
        for (ByteBuf b : msgs) {
            ctx.write(b);
        }
        ctx.flush();
    }

    private static String version() {
        String v = OfSession.class.getPackage().getImplementationVersion();
        return v == null ? "0.1.0" : v;
    }

    // ---- asynchronous messages, called on this channel's event loop ----------------------

    void packetIn(
            int reason, int tableId, long cookie, int inPort, long tunnelId, byte[] frame, int frameLen, int maxLen) {
        if (backlogged()) {
            return;
        }
        int limit = maxLen < 0 ? missSendLen : maxLen;
        int len = limit == Of.CML_NO_BUFFER ? frameLen : Math.min(frameLen, limit);
        len = Math.min(Math.min(len, frame.length), Of.MAX_MESSAGE - 128);
        ctx.writeAndFlush(enc.packetIn(reason, tableId, cookie, inPort, tunnelId, frame, frameLen, len));
        counters.packetIns.increment();
    }

    void flowRemoved(OfDatapath.FlowStats f, int reason) {
        if (backlogged()) {
            return;
        }
        ctx.writeAndFlush(enc.flowRemoved(f, reason));
    }

    void portStatus(int reason, OfDatapath.PortInfo p) {
        if (backlogged()) {
            return;
        }
        ctx.writeAndFlush(enc.portStatus(reason, p));
    }

    /** True, counting the message dropped, if the peer has not read what it was sent. */
    private boolean backlogged() {
        if (ctx.channel().isWritable()) {
            return false;
        }
        counters.asyncDropped.increment();
        return true;
    }

    /** Whether listener {@code t} accepted this connection. */
    boolean acceptedBy(ControllerTarget t) {
        return t.equals(listener);
    }

    /** Closes the connection (its listener or bridge went away). */
    void close() {
        ChannelHandlerContext c = ctx;
        if (c != null) {
            c.close();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            boolean waiting;
            synchronized (this) {
                waiting = !inbox.isEmpty();
            }
            if (waiting && ctx.channel().isWritable()) {
                return; // the peer spoke; it is the switch that has not got round to it yet
            }
            if (!helloDone && !waiting) {
                counters.helloFailed.increment();
                LOG.log(
                        System.Logger.Level.INFO,
                        "{0} {1}: no HELLO within the probe interval, closing",
                        dp.bridge(),
                        ctx.channel().remoteAddress());
                ctx.close();
                return;
            }
            if (echoOutstanding) {
                counters.probeTimeouts.increment();
                LOG.log(
                        System.Logger.Level.INFO,
                        "{0} {1}: no answer to the inactivity probe, closing",
                        dp.bridge(),
                        ctx.channel().remoteAddress());
                ctx.close();
                return;
            }
            echoOutstanding = true;
            ctx.writeAndFlush(enc.echoRequest(nextXid++, new byte[0]));
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof TooLongFrameException
                || cause instanceof io.netty.handler.codec.CorruptedFrameException
                || cause instanceof io.netty.handler.codec.DecoderException) {
            badFraming(ctx, cause.getMessage());
            return;
        }
        LOG.log(System.Logger.Level.DEBUG, "{0}: {1}", dp.bridge(), cause.toString());
        ctx.close();
    }

    /**
     * A message the framer could not delimit, or one shorter than its header: counted, BAD_LEN
     * sent (once the hello went out), nothing more read, and the connection closed.
     */
    private void badFraming(ChannelHandlerContext ctx, String why) {
        counters.decodeErrors.increment();
        LOG.log(
                System.Logger.Level.INFO,
                "{0} {1}: bad framing, closing: {2}",
                dp.bridge(),
                ctx.channel().remoteAddress(),
                why);
        ctx.channel().config().setAutoRead(false);
        if (enc == null) {
            ctx.close();
            return;
        }
        ctx.writeAndFlush(enc.error(0, Of.ET_BAD_REQUEST, Of.BRC_BAD_LEN, null)).addListener(f -> ctx.close());
    }
}
