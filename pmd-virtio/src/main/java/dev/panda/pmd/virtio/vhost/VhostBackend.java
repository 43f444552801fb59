package dev.panda.pmd.virtio.vhost;

import dev.panda.jextract.Fd;
import dev.panda.pmd.virtio.ring.DeviceQueue;
import dev.panda.pmd.virtio.ring.GuestMemory;
import dev.panda.pmd.virtio.ring.SplitRing;
import dev.panda.pmd.virtio.vhostuser.DecodeResult;
import dev.panda.pmd.virtio.vhostuser.MemoryTable;
import dev.panda.pmd.virtio.vhostuser.UnixSocket;
import dev.panda.pmd.virtio.vhostuser.VhostUserChannel;
import dev.panda.pmd.virtio.vhostuser.VhostUserException;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MemTable;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.U64;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringAddr;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringFd;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringState;
import dev.panda.pmd.virtio.vhostuser.VhostUserRequest;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

import static java.lang.System.Logger.Level.DEBUG;
import static java.lang.System.Logger.Level.ERROR;
import static java.lang.System.Logger.Level.INFO;
import static java.lang.System.Logger.Level.WARNING;

/**
 * The vhost-user back-end's control thread (QEMU docs/interop/vhost-user.rst): listens on the
 * socket path (server mode), serves one front-end connection at a time, answers its requests,
 * maps its memory and, when a vring is complete (size, addresses, base, kick, enabled), builds a
 * {@link DeviceQueue} and publishes it to the poller through the vring's {@link VringSlot}.
 * Every request that changes a vring, the memory table, or the features first takes the vring
 * back from the poller ({@link VringSlot#quiesce}); a disconnect takes back all of them before
 * anything is unmapped.
 *
 * <p>Offered: VIRTIO_F_VERSION_1 and VHOST_USER_F_PROTOCOL_FEATURES, and VIRTIO_NET_F_MQ when the
 * port has more than one queue pair; protocol features REPLY_ACK, and MQ likewise. Not offered (not implemented):
 * VIRTIO_NET_F_MRG_RXBUF, VIRTIO_F_EVENT_IDX, indirect descriptors, dirty logging, STATUS.
 * The front-end is untrusted: a bad request is logged, refused (a REPLY_ACK failure when one was
 * asked for) and the connection goes on; an out-of-step stream ends the connection only.
 */
final class VhostBackend implements Runnable {

    private static final System.Logger LOG = System.getLogger(VhostBackend.class.getName());

    /** virtio 1.2 §6: VIRTIO_F_VERSION_1. */
    static final long F_VERSION_1 = 1L << 32;
    /** vhost-user: VHOST_USER_F_PROTOCOL_FEATURES (bit 30 of the virtio features). */
    static final long F_PROTOCOL_FEATURES = 1L << 30;
    /**
     * virtio 1.2 §5.1.3: VIRTIO_NET_F_MQ. QEMU's vhost-user netdev clears it from the guest's
     * device unless the back-end offers it, and the guest driver then uses one queue pair.
     */
    static final long F_NET_MQ = 1L << 22;
    /** vhost-user protocol features: VHOST_USER_PROTOCOL_F_MQ, _REPLY_ACK. */
    static final long P_MQ = 1L << 0;
    static final long P_REPLY_ACK = 1L << 3;
    /** How long a vring hand-back may wait for the poller to leave a burst. */
    private static final long QUIESCE_MILLIS = 2000;

    private final String name;
    private final Path path;
    private final int queues;
    private final Vring[] vrings;
    private final VringSlot[] slots;
    private final long offeredFeatures;
    private final long offeredProtocol;
    private final UnixSocket listener;
    private final Thread thread;
    private volatile boolean closing;
    private volatile UnixSocket connection;
    private volatile boolean ready;

    // connection state, control thread only
    private MemoryTable memory;
    private long features;
    private long protocolFeatures;
    private long status;
    /** A poller never left a burst: memory it may touch is never unmapped again. */
    private boolean stuck;

    VhostBackend(String name, Path path, int queues, VringSlot[] slots) {
        this.name = name;
        this.path = path;
        this.queues = queues;
        this.slots = slots;
        this.vrings = new Vring[2 * queues];
        for (int i = 0; i < vrings.length; i++) {
            vrings[i] = new Vring(i);
        }
        this.offeredFeatures = F_VERSION_1 | F_PROTOCOL_FEATURES | (queues > 1 ? F_NET_MQ : 0);
        this.offeredProtocol = P_REPLY_ACK | (queues > 1 ? P_MQ : 0);
        this.listener = UnixSocket.listen(path, 1);
        this.thread = Thread.ofPlatform().daemon().name("vhost-" + name).unstarted(this);
    }

    void start() {
        thread.start();
    }

    /** Whether a front-end is connected and at least one vring is running (the link is up). */
    boolean ready() {
        return ready;
    }

    @Override
    public void run() {
        try {
            while (!closing) {
                UnixSocket c;
                try {
                    c = listener.accept();
                } catch (RuntimeException e) {
                    if (!closing) {
                        LOG.log(ERROR, "{0}: accept on {1} failed, the port stops listening: {2}", name, path, e.toString());
                    }
                    return;
                }
                connection = c;
                if (closing) {
                    c.close();
                    return;
                }
                LOG.log(INFO, "{0}: front-end connected on {1}", name, path);
                try (VhostUserChannel channel = new VhostUserChannel(c)) {
                    serve(channel);
                } catch (RuntimeException e) {
                    if (!closing) {
                        LOG.log(WARNING, "{0}: connection ended: {1}", name, e.toString());
                    }
                } finally {
                    disconnect();
                    connection = null;
                }
                LOG.log(INFO, "{0}: front-end disconnected", name);
            }
        } finally {
            disconnect();
            listener.close();
        }
    }

    /** Stops the control thread: wakes it from accept or read, waits, releases everything. */
    void close() {
        closing = true;
        listener.shutdown();
        UnixSocket c = connection;
        if (c != null) {
            try {
                c.shutdown();
            } catch (RuntimeException ignored) {
                // closed meanwhile
            }
        }
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            LOG.log(ERROR, "{0}: control thread did not stop", name);
        }
    }

    private void serve(VhostUserChannel channel) {
        while (!closing) {
            switch (channel.readRequest()) {
                case DecodeResult.Closed _ -> {
                    return;
                }
                case DecodeResult.Invalid bad -> {
                    LOG.log(WARNING, "{0}: {1}", name, bad);
                    if (bad.fatal()) {
                        return;
                    }
                    VhostUserRequest r = bad.knownRequest();
                    if (r != null && r.alwaysReplies()) {
                        // the front-end now waits for an answer panda cannot give: end the connection
                        // rather than leave it hanging
                        return;
                    }
                    if (r != null && bad.needReply() && replyAck()) {
                        channel.send(U64.reply(r, 1));
                    }
                }
                case DecodeResult.Ok ok -> {
                    VhostUserMessage m = ok.message();
                    LOG.log(DEBUG, "{0}: {1}", name, m);
                    boolean done = handle(channel, m);
                    if (!m.request().alwaysReplies() && m.needReply() && replyAck()) {
                        channel.send(U64.reply(m.request(), done ? 0 : 1));
                    }
                }
            }
        }
    }

    private boolean replyAck() {
        return (protocolFeatures & P_REPLY_ACK) != 0;
    }

    /** Acts on one request; sends its reply if it has one of its own. False: refused. */
    private boolean handle(VhostUserChannel channel, VhostUserMessage m) {
        VhostUserRequest r = m.request();
        switch (r) {
            case GET_FEATURES -> channel.send(U64.reply(r, offeredFeatures));
            case GET_PROTOCOL_FEATURES -> channel.send(U64.reply(r, offeredProtocol));
            case GET_QUEUE_NUM -> channel.send(U64.reply(r, queues));
            case GET_STATUS -> channel.send(U64.reply(r, status));
            case GET_VRING_BASE -> {
                VringState s = (VringState) m;
                Vring v = vring(s.index());
                int base = v == null ? 0 : stop(v);
                channel.send(VringState.reply(r, s.index(), base));
                return v != null;
            }
            case SET_FEATURES -> {
                long f = ((U64) m).value();
                if ((f & ~offeredFeatures) != 0) {
                    return refuse(m, "features 0x" + Long.toHexString(f) + " beyond the offered 0x"
                            + Long.toHexString(offeredFeatures));
                }
                if ((f & F_VERSION_1) == 0) {
                    return refuse(m, "VIRTIO_F_VERSION_1 not accepted: legacy virtio-net headers are not implemented");
                }
                takeBackAll();
                features = f;
                return publishAll();
            }
            case SET_PROTOCOL_FEATURES -> {
                long p = ((U64) m).value();
                protocolFeatures = p & offeredProtocol;
                if ((p & ~offeredProtocol) != 0) {
                    return refuse(m, "protocol features 0x" + Long.toHexString(p) + " beyond the offered 0x"
                            + Long.toHexString(offeredProtocol));
                }
                return true;
            }
            case SET_OWNER -> {
                return true;
            }
            case RESET_OWNER -> {
                // deprecated; "may ignore it or disable all rings": disable them
                takeBackAll();
                for (Vring v : vrings) {
                    v.reset();
                }
                features = 0;
                return true;
            }
            case SET_STATUS -> {
                status = ((U64) m).value();
                return true;
            }
            case SET_MEM_TABLE -> {
                return setMemTable((MemTable) m);
            }
            case SET_VRING_NUM, SET_VRING_BASE, SET_VRING_ENABLE -> {
                return setVringState((VringState) m);
            }
            case SET_VRING_ADDR -> {
                return setVringAddr((VringAddr) m);
            }
            case SET_VRING_KICK, SET_VRING_CALL -> {
                return setVringFd((VringFd) m);
            }
            case SET_VRING_ERR, SET_LOG_BASE, SET_LOG_FD -> {
                m.close();
                return r == VhostUserRequest.SET_VRING_ERR || refuse(m, "dirty logging is not offered");
            }
        }
        return true;
    }

    private boolean refuse(VhostUserMessage m, String why) {
        LOG.log(WARNING, "{0}: {1} refused: {2}", name, m.request(), why);
        return false;
    }

    private Vring vring(int index) {
        if (index < 0 || index >= vrings.length) {
            LOG.log(WARNING, "{0}: vring {1} does not exist ({2} queue pair(s))", name, index, queues);
            return null;
        }
        return vrings[index];
    }

    private boolean setVringState(VringState s) {
        Vring v = vring(s.index());
        if (v == null) {
            return false;
        }
        takeBack(v);
        switch (s.request()) {
            case SET_VRING_NUM -> {
                v.dropQueue();
                if (!SplitRing.isValidSize(s.num())) {
                    v.num = 0;
                    return refuse(s, "vring " + v.index + " size " + s.num() + " is not a power of two up to 32768");
                }
                v.num = s.num();
            }
            case SET_VRING_BASE -> {
                v.queue = null;
                v.base = s.num() & 0xFFFF;
            }
            default -> v.enabled = s.num() != 0;
        }
        return publish(v);
    }

    private boolean setVringAddr(VringAddr a) {
        Vring v = vring(a.index());
        if (v == null) {
            return false;
        }
        takeBack(v);
        v.dropQueue();
        if ((a.addrFlags() & 1) != 0) {
            LOG.log(WARNING, "{0}: vring {1} asks for dirty logging, which is not offered; ignored", name, v.index);
        }
        v.descAddr = a.descAddr();
        v.availAddr = a.availAddr();
        v.usedAddr = a.usedAddr();
        v.addrSet = true;
        return publish(v);
    }

    private boolean setVringFd(VringFd f) {
        Vring v = vring(f.index());
        if (v == null) {
            f.close();
            return false;
        }
        takeBack(v);
        if (f.request() == VhostUserRequest.SET_VRING_KICK) {
            // "start ring upon receiving a kick" fd; panda polls, so the fd is only kept (and
            // NOFD, polling, is fine)
            Vring.close(v.kick);
            v.kick = f.fd();
            v.started = true;
        } else {
            Vring.close(v.call);
            v.call = f.fd();
        }
        return publish(v);
    }

    /** GET_VRING_BASE: stops the ring and says where it stopped in the available ring. */
    private int stop(Vring v) {
        takeBack(v);
        v.dropQueue();
        v.started = false;
        v.kick = Vring.close(v.kick);
        updateReady();
        return v.base;
    }

    private boolean setMemTable(MemTable m) {
        MemoryTable next;
        try {
            next = MemoryTable.map(m);
        } catch (VhostUserException | RuntimeException e) {
            return refuse(m, e.getMessage());
        }
        takeBackAll();
        for (Vring v : vrings) {
            v.dropQueue();
        }
        MemoryTable old = memory;
        memory = next;
        release(old);
        LOG.log(INFO, "{0}: {1}", name, next);
        return publishAll();
    }

    /** Takes vring {@code v} back from its poller. */
    private void takeBack(Vring v) {
        VringSlot slot = slots[v.index];
        VringSlot.Live old = slot.current();
        if (old == null) {
            return;
        }
        if (slot.quiesce(QUIESCE_MILLIS)) {
            v.errorsSeen = old.errorsSeen;   // the poller has left: its last count is visible now
        } else {
            LOG.log(ERROR, "{0}: the poller of vring {1} did not leave its burst in {2} ms; guest memory will "
                    + "not be unmapped", name, v.index, QUIESCE_MILLIS);
            stuck = true;
        }
    }

    private void takeBackAll() {
        for (Vring v : vrings) {
            takeBack(v);
        }
    }

    private boolean publishAll() {
        boolean ok = true;
        for (Vring v : vrings) {
            ok &= publish(v);
        }
        return ok;
    }

    /**
     * Publishes vring {@code v} to its poller if it is complete; builds its queue if needed.
     * The caller has taken it back already. False if the front-end's addresses are unusable.
     */
    private boolean publish(Vring v) {
        try {
            boolean enabled = v.enabled || (features & F_PROTOCOL_FEATURES) == 0;
            if (memory == null || (features & F_VERSION_1) == 0 || v.num == 0 || !v.addrSet || !v.started
                    || !enabled) {
                return true;
            }
            if (v.queue == null) {
                try {
                    v.queue = build(v);
                    v.errorsSeen = 0;
                } catch (IllegalArgumentException e) {
                    LOG.log(WARNING, "{0}: vring {1} not started: {2}", name, v.index, e.getMessage());
                    return false;
                }
            }
            VringSlot.Live live = new VringSlot.Live(v.queue, v.call);
            live.errorsSeen = v.errorsSeen;
            slots[v.index].publish(live);
            LOG.log(DEBUG, "{0}: vring {1} running ({2} entries, from avail {3})", name, v.index, v.num, v.base);
            return true;
        } finally {
            updateReady();
        }
    }

    private DeviceQueue build(Vring v) {
        // SET_VRING_ADDR carries front-end user addresses; descriptors carry guest addresses
        GuestMemory user = memory.userAddresses();
        MemorySegment desc = part(user, v, "descriptor table", v.descAddr, SplitRing.descTableBytes(v.num));
        MemorySegment avail = part(user, v, "available ring", v.availAddr, SplitRing.availRingBytes(v.num));
        MemorySegment used = part(user, v, "used ring", v.usedAddr, SplitRing.usedRingBytes(v.num));
        DeviceQueue q = DeviceQueue.create(name + ":vring" + v.index, memory, v.num, desc, avail, used, features, v.base);
        q.disableKicks();   // the poller busy-polls: kicks would only cost the front-end syscalls
        return q;
    }

    private static MemorySegment part(GuestMemory user, Vring v, String what, long addr, long bytes) {
        int r = user.find(addr, bytes);
        if (r < 0) {
            throw new IllegalArgumentException("vring " + v.index + " " + what + " at 0x" + Long.toHexString(addr)
                    + " (" + bytes + " bytes) is not inside one memory region");
        }
        return user.segment(r).asSlice(user.offset(r, addr), bytes);
    }

    private void updateReady() {
        boolean any = false;
        for (VringSlot s : slots) {
            any |= s.current() != null;
        }
        ready = any;
    }

    /** The connection ended: every vring back from its poller, then descriptors and memory released. */
    private void disconnect() {
        takeBackAll();
        for (Vring v : vrings) {
            v.reset();
        }
        release(memory);
        memory = null;
        features = 0;
        protocolFeatures = 0;
        status = 0;
        updateReady();
    }

    private void release(MemoryTable table) {
        if (table == null) {
            return;
        }
        if (stuck) {
            LOG.log(ERROR, "{0}: leaving {1} mapped (a poller may still use it)", name, table);
            return;
        }
        try {
            table.close();
        } catch (IllegalStateException e) {
            LOG.log(ERROR, "{0}: could not unmap {1}: {2}", name, table, e.toString());
        }
    }
}
