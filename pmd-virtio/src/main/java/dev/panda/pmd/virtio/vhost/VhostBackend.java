package dev.panda.pmd.virtio.vhost;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_EVENT_IDX;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_INDIRECT_DESC;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_IN_ORDER;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_LOG_ALL;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_MQ;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_MRG_RXBUF;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_PROTOCOL_FEATURES;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_RING_PACKED;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_VERSION_1;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.bit;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.has;
import static java.lang.System.Logger.Level.DEBUG;
import static java.lang.System.Logger.Level.ERROR;
import static java.lang.System.Logger.Level.INFO;
import static java.lang.System.Logger.Level.WARNING;

import dev.panda.pmd.virtio.ring.DeviceQueue;
import dev.panda.pmd.virtio.ring.GuestMemory;
import dev.panda.pmd.virtio.ring.PackedDeviceQueue;
import dev.panda.pmd.virtio.ring.PackedRing;
import dev.panda.pmd.virtio.ring.SplitRing;
import dev.panda.pmd.virtio.vhostuser.DecodeResult;
import dev.panda.pmd.virtio.vhostuser.MemoryTable;
import dev.panda.pmd.virtio.vhostuser.UnixSocket;
import dev.panda.pmd.virtio.vhostuser.VhostUserChannel;
import dev.panda.pmd.virtio.vhostuser.VhostUserException;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.LogBase;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MemTable;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.U64;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringAddr;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringFd;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringState;
import dev.panda.pmd.virtio.vhostuser.VhostUserRequest;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The vhost-user back-end's control thread (QEMU docs/interop/vhost-user.rst): gets a front-end
 * connection from its {@link VhostConnector} (server mode listens on the socket path, client mode
 * connects to it and reconnects with backoff), serves one at a time, answers its requests,
 * maps its memory and, when a vring is complete (size, addresses, base, kick, enabled), builds a
 * {@link DeviceQueue} and publishes it to the poller through the vring's {@link VringSlot}.
 * Every request that changes a vring, the memory table, or the features first takes the vring
 * back from the poller ({@link VringSlot#quiesce}); a disconnect takes back all of them before
 * anything is unmapped.
 *
 * <p>Offered: VIRTIO_F_VERSION_1, VHOST_USER_F_PROTOCOL_FEATURES, VIRTIO_NET_F_MRG_RXBUF,
 * VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_RING_F_EVENT_IDX and VHOST_F_LOG_ALL; protocol features
 * REPLY_ACK, LOG_SHMFD, STATUS, and MQ when the port has more than one queue pair, with
 * VIRTIO_NET_F_MQ (without it DPDK's virtio-user uses one pair only). What a vring
 * does per packet is chosen when it is published (the {@link DeviceQueue} class for EVENT_IDX,
 * the {@link GuestRxWriter} for MRG_RXBUF, the {@link DirtyLog} for LOG_ALL).
 * The front-end is untrusted: a bad or unknown request is logged, counted, refused (a REPLY_ACK
 * failure when one was asked for) and the connection goes on; an out-of-step stream ends the
 * connection only, and so does a fault in its memory met by a poller ({@link #fault}).
 */
final class VhostBackend implements Runnable, VirtioDevicePort.Backend {

    private static final System.Logger LOG = System.getLogger(VhostBackend.class.getName());

    /** vhost-user protocol features: VHOST_USER_PROTOCOL_F_MQ, _REPLY_ACK. */
    static final long P_MQ = 1L << 0;

    static final long P_REPLY_ACK = 1L << 3;
    /** VHOST_USER_PROTOCOL_F_LOG_SHMFD (the log comes as a shared memory fd), _STATUS. */
    static final long P_LOG_SHMFD = 1L << 1;

    static final long P_STATUS = 1L << 16;
    /** virtio 1.2 §2.1: FEATURES_OK in the device status. */
    static final long S_FEATURES_OK = 8;

    private final String name;
    private final Path path;
    private final int queues;
    private final Vring[] vrings;
    private final VringHandOff handOff;
    private final long offeredFeatures;
    private final long offeredProtocol;
    private final VhostConnector connector;
    private final Thread thread;
    private volatile boolean closing;
    private volatile UnixSocket connection;
    /** Requests refused or not known (control thread writes, anyone reads). */
    private volatile long protocolErrors;
    /** Set by the first poller that faults in this connection's memory. */
    private final AtomicBoolean faulted = new AtomicBoolean();

    // connection state, control thread only
    private MemoryTable memory;
    private volatile long features;
    private long protocolFeatures;
    private volatile long status;
    /** SET_LOG_BASE's log and SET_LOG_FD's eventfd. */
    private final LogArea log = new LogArea();

    VhostBackend(String name, Path path, boolean client, int queues, VringSlot[] slots, long withheld) {
        this.name = name;
        this.path = path;
        this.queues = queues;
        this.handOff = new VringHandOff(name, slots);
        this.vrings = new Vring[2 * queues];
        for (int i = 0; i < vrings.length; i++) {
            vrings[i] = new Vring(i);
        }
        long optional =
                (bit(F_MRG_RXBUF) | bit(F_INDIRECT_DESC) | bit(F_EVENT_IDX) | bit(F_RING_PACKED) | bit(F_IN_ORDER))
                        & ~withheld;
        // VIRTIO_NET_F_MQ only with more than one queue pair: the front-end serves the control
        // virtqueue it implies (panda sees only the SET_VRING_ENABLE it leads to); without it
        // DPDK's virtio-user and QEMU's guests use one pair
        this.offeredFeatures =
                bit(F_VERSION_1) | bit(F_PROTOCOL_FEATURES) | bit(F_LOG_ALL) | optional | (queues > 1 ? bit(F_MQ) : 0);
        this.offeredProtocol = P_REPLY_ACK | P_LOG_SHMFD | P_STATUS | (queues > 1 ? P_MQ : 0);
        this.connector = client ? new VhostConnector.Dialing(name, path) : new VhostConnector.Listening(name, path);
        this.thread = Thread.ofPlatform().daemon().name("vhost-" + name).unstarted(this);
    }

    void start() {
        thread.start();
    }

    /** Requests the control thread refused or did not know, over every connection. */
    long protocolErrors() {
        return protocolErrors;
    }

    /** The device status the front-end last set (SET_STATUS, virtio 1.2 §2.1); 0 between connections. */
    long status() {
        return status;
    }

    /** Features the current front-end accepted (SET_FEATURES); 0 between connections. */
    long negotiatedFeatures() {
        return features;
    }

    /**
     * Poller, on the error path: the front-end's memory faulted (SIGBUS, as FFM's InternalError: a
     * shared file was shrunk). Logged once per connection, which is shut down: the control thread
     * takes every vring back, unmaps, and waits for the next front-end.
     */
    @Override
    public void fault(InternalError e) {
        if (faulted.compareAndSet(false, true)) {
            LOG.log(
                    ERROR,
                    "{0}: the front-end''s memory faulted under the poller ({1}); resetting the device",
                    name,
                    e.toString());
            UnixSocket c = connection;
            if (c != null) {
                try {
                    c.shutdown();
                } catch (RuntimeException ignored) {
                    // closed meanwhile: the device is going down anyway
                }
            }
        }
    }

    /** Whether a front-end is connected and at least one vring is running (the link is up). */
    @Override
    public boolean ready() {
        return handOff.ready();
    }

    @Override
    public void run() {
        try {
            while (!closing) {
                UnixSocket c = connector.next();
                if (c == null) {
                    return;
                }
                faulted.set(false);
                connection = c;
                if (closing) {
                    c.close();
                    return;
                }
                LOG.log(INFO, "{0}: front-end connected on {1}", name, path);
                try (VhostUserChannel channel = new VhostUserChannel(c)) {
                    serve(channel);
                } catch (RuntimeException | InternalError e) {
                    // InternalError: the front-end's memory faulted on this thread (SIGBUS)
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
            connector.close();
        }
    }

    /** Stops the control thread: wakes it from accept or read, waits, releases everything. */
    @Override
    public void close() {
        closing = true;
        connector.wake();
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
                    LOG.log(ERROR, "{0}: {1}", name, bad);
                    protocolErrors++;
                    if (bad.fatal()) {
                        return;
                    }
                    VhostUserRequest r = bad.knownRequest();
                    if (r == VhostUserRequest.SET_LOG_BASE) {
                        channel.send(U64.reply(r, 1)); // its u64 reply says refused
                        continue;
                    }
                    if (r != null && r.alwaysReplies()) {
                        // the front-end now waits for an answer panda cannot give: end the connection
                        // rather than leave it hanging
                        return;
                    }
                    if (bad.needReply() && replyAck()) {
                        // a known request that was malformed, or one panda does not know: a failed ACK
                        channel.sendAck(bad.request(), 1);
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
                    return refuse(
                            m,
                            "features 0x" + Long.toHexString(f) + " beyond the offered 0x"
                                    + Long.toHexString(offeredFeatures));
                }
                if (!has(f, F_VERSION_1)) {
                    return refuse(m, "VIRTIO_F_VERSION_1 not accepted: legacy virtio-net headers are not implemented");
                }
                takeBackAll();
                for (Vring v : vrings) {
                    v.dropQueue(); // EVENT_IDX may have changed: the queues are rebuilt
                }
                if (f != features) {
                    LOG.log(INFO, "{0}: features 0x{1} ({2})", name, Long.toHexString(f), featureNames(f));
                }
                features = f;
                return publishAll();
            }
            case SET_PROTOCOL_FEATURES -> {
                long p = ((U64) m).value();
                protocolFeatures = p & offeredProtocol;
                if ((p & ~offeredProtocol) != 0) {
                    return refuse(
                            m,
                            "protocol features 0x" + Long.toHexString(p) + " beyond the offered 0x"
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
                return setStatus(((U64) m).value());
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
            case SET_VRING_ERR -> {
                m.close(); // panda reports no ring errors to the front-end this way
                return true;
            }
            case SET_LOG_BASE -> {
                boolean ok = setLogBase((LogBase) m);
                // "Reply payload: u64": the log is in use (0) or refused
                channel.send(U64.reply(r, ok ? 0 : 1));
                return ok;
            }
            case SET_LOG_FD -> {
                log.setEventFd(m.fds().getFirst());
                return true;
            }
        }
        return true;
    }

    private boolean refuse(VhostUserMessage m, String why) {
        LOG.log(WARNING, "{0}: {1} refused: {2}", name, m.request(), why);
        protocolErrors++;
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
                if (has(features, F_RING_PACKED) ? !PackedRing.isValidSize(s.num()) : !SplitRing.isValidSize(s.num())) {
                    v.num = 0;
                    return refuse(
                            s,
                            "vring " + v.index + " size " + s.num()
                                    + (has(features, F_RING_PACKED)
                                            ? " is not between 1 and 32768"
                                            : " is not a power of two up to 32768"));
                }
                v.num = s.num();
            }
            case SET_VRING_BASE -> {
                v.queue = null;
                v.packed = null;
                // split: the next avail index; packed: avail and used off_wrap halves (see Vring.base)
                v.base = s.num();
                v.baseSet = true;
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
        v.logUsed = (a.addrFlags() & 1) != 0; // VHOST_VRING_F_LOG: log used ring writes at logAddr
        v.logAddr = a.logAddr();
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
        return has(features, F_RING_PACKED) ? v.base : v.base & 0xFFFF;
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
        handOff.takeBack(v.index);
    }

    private void takeBackAll() {
        handOff.takeBackAll();
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
        boolean enabled = v.enabled || !has(features, F_PROTOCOL_FEATURES);
        if (memory == null || !has(features, F_VERSION_1) || v.num == 0 || !v.addrSet || !v.started || !enabled) {
            return true;
        }
        boolean packed = has(features, F_RING_PACKED);
        if (packed ? v.packed == null : v.queue == null) {
            try {
                if (packed) {
                    v.packed = buildPacked(v);
                } else {
                    v.queue = build(v);
                }
                handOff.newQueue(v.index);
            } catch (IllegalArgumentException e) {
                LOG.log(WARNING, "{0}: vring {1} not started: {2}", name, v.index, e.getMessage());
                return false;
            }
        }
        // packed: log_guest_addr names the Device Area (QEMU logs the "used" part there); the used
        // descriptors themselves land in the descriptor ring, logged at its guest address
        DirtyLog dirty = DirtyLog.OFF;
        if (logging()) {
            long ringBytes = packed ? PackedRing.descRingBytes(v.num) : 0;
            long ringGpa = packed ? guestAddress(v.descAddr, ringBytes) : 0;
            dirty = new DirtyLog.Bitmap(
                    log.segment(),
                    memory,
                    v.logUsed,
                    v.logAddr,
                    packed ? PackedRing.EVENT_BYTES : SplitRing.usedRingBytes(v.num),
                    ringGpa,
                    ringGpa < 0 ? 0 : ringBytes);
        }
        VringSlot.Interrupt call = v.call == null ? null : VringSlot.Interrupt.eventfd(v.call);
        VringSlot.Live live;
        if (packed) {
            PackedRxWriter writer = v.index % 2 == 0 ? PackedRxWriter.of(v.packed, features, dirty) : null;
            live = new VringSlot.Live(v.packed, call, writer, dirty);
        } else {
            GuestRxWriter writer = v.index % 2 == 0 ? GuestRxWriter.of(v.queue, features, dirty) : null;
            live = new VringSlot.Live(v.queue, call, writer, dirty);
        }
        handOff.publish(v.index, live);
        LOG.log(DEBUG, "{0}: vring {1} running ({2} entries, from avail {3})", name, v.index, v.num, v.base);
        return true;
    }

    /**
     * The guest address of {@code len} bytes at front-end user address {@code user}, or -1 if no
     * region holds them (the queue's build has refused such a ring already).
     */
    private long guestAddress(long user, long len) {
        int i = memory.userAddresses().find(user, len);
        if (i < 0) {
            return -1;
        }
        VhostUserMessage.MemoryRegion r = memory.region(i);
        return r.guestPhysAddr() + (user - r.userspaceAddr());
    }

    private DeviceQueue build(Vring v) {
        // SET_VRING_ADDR carries front-end user addresses; descriptors carry guest addresses
        GuestMemory user = memory.userAddresses();
        MemorySegment desc = part(user, v, "descriptor table", v.descAddr, SplitRing.descTableBytes(v.num));
        MemorySegment avail = part(user, v, "available ring", v.availAddr, SplitRing.availRingBytes(v.num));
        MemorySegment used = part(user, v, "used ring", v.usedAddr, SplitRing.usedRingBytes(v.num));
        DeviceQueue q = DeviceQueue.create(
                name + ":vring" + v.index, memory, v.num, desc, avail, used, features, v.base & 0xFFFF);
        q.disableKicks(); // the poller busy-polls: kicks would only cost the front-end syscalls
        return q;
    }

    /**
     * A packed ring (virtio 1.2 §2.8): SET_VRING_ADDR's desc is the descriptor ring, avail the
     * Driver Area (the driver's event suppression), used the Device Area (the device's).
     */
    private PackedDeviceQueue buildPacked(Vring v) {
        GuestMemory user = memory.userAddresses();
        MemorySegment ring = part(user, v, "descriptor ring", v.descAddr, PackedRing.descRingBytes(v.num));
        MemorySegment driver = part(user, v, "driver event area", v.availAddr, PackedRing.EVENT_BYTES);
        MemorySegment device = part(user, v, "device event area", v.usedAddr, PackedRing.EVENT_BYTES);
        PackedDeviceQueue q = PackedDeviceQueue.create(
                name + ":vring" + v.index,
                memory,
                v.num,
                ring,
                driver,
                device,
                features,
                // no SET_VRING_BASE: a fresh ring, both wrap counters at 1 (§2.8.1)
                v.baseSet ? v.base : PackedRing.offWrap(0, true));
        q.disableKicks();
        // odd vrings are the driver's transmit queues: panda only reads them (see deviceReadsOnly)
        return v.index % 2 == 1 ? q.deviceReadsOnly() : q;
    }

    private static MemorySegment part(GuestMemory user, Vring v, String what, long addr, long bytes) {
        int r = user.find(addr, bytes);
        if (r < 0) {
            throw new IllegalArgumentException("vring " + v.index + " " + what + " at 0x" + Long.toHexString(addr)
                    + " (" + bytes + " bytes) is not inside one memory region");
        }
        return user.segment(r).asSlice(user.offset(r, addr), bytes);
    }

    /** The connection ended: every vring back from its poller, then descriptors and memory released. */
    private void disconnect() {
        takeBackAll();
        for (Vring v : vrings) {
            v.reset();
        }
        release(memory);
        memory = null;
        log.release(handOff.stuck());
        features = 0;
        protocolFeatures = 0;
        status = 0;
    }

    /** Whether writes are being logged: VHOST_F_LOG_ALL accepted and a log set. */
    private boolean logging() {
        return has(features, F_LOG_ALL) && log.segment() != null;
    }

    /**
     * SET_STATUS (PROTOCOL_F_STATUS), the device status of §2.1: FEATURES_OK is kept only with
     * VERSION_1 accepted, so GET_STATUS shows a refusal the way §3.1.1 step 6 reads it back.
     */
    private boolean setStatus(long s) {
        if ((s & S_FEATURES_OK) != 0 && !has(features, F_VERSION_1)) {
            s &= ~S_FEATURES_OK;
            LOG.log(
                    WARNING,
                    "{0}: FEATURES_OK not kept: features 0x{1} lack VIRTIO_F_VERSION_1",
                    name,
                    Long.toHexString(features));
        }
        status = s & 0xff;
        return true;
    }

    /** SET_LOG_BASE: maps the log and republishes every vring with it (logged while LOG_ALL is on). */
    private boolean setLogBase(LogBase m) {
        MemorySegment mapping;
        try {
            mapping = LogArea.map(m);
        } catch (VhostUserException e) {
            return refuse(m, e.getMessage());
        }
        takeBackAll();
        log.replace(mapping, handOff.stuck());
        LOG.log(
                INFO,
                "{0}: dirty log of {1} bytes set{2}",
                name,
                m.size(),
                has(features, F_LOG_ALL) ? ", logging" : "");
        return publishAll();
    }

    private void release(MemoryTable table) {
        if (table == null) {
            return;
        }
        if (handOff.stuck()) {
            LOG.log(ERROR, "{0}: leaving {1} mapped (a poller may still use it)", name, table);
            return;
        }
        try {
            table.close();
        } catch (IllegalStateException e) {
            LOG.log(ERROR, "{0}: could not unmap {1}: {2}", name, table, e.toString());
        }
    }

    /** The negotiated features an operator cares about, by name, for the log. */
    static String featureNames(long f) {
        StringBuilder b = new StringBuilder();
        if (has(f, F_MQ)) {
            b.append("MQ ");
        }
        if (has(f, F_MRG_RXBUF)) {
            b.append("MRG_RXBUF ");
        }
        if (has(f, F_INDIRECT_DESC)) {
            b.append("INDIRECT_DESC ");
        }
        if (has(f, F_EVENT_IDX)) {
            b.append("EVENT_IDX ");
        }
        if (has(f, F_LOG_ALL)) {
            b.append("LOG_ALL ");
        }
        if (has(f, F_RING_PACKED)) {
            b.append("RING_PACKED ");
        }
        if (has(f, F_IN_ORDER)) {
            b.append("IN_ORDER ");
        }
        return b.isEmpty()
                ? "none of MQ, MRG_RXBUF, INDIRECT_DESC, EVENT_IDX, LOG_ALL, RING_PACKED, IN_ORDER"
                : b.toString().trim();
    }
}
