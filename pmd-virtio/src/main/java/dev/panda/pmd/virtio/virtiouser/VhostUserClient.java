package dev.panda.pmd.virtio.virtiouser;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_MQ;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_PROTOCOL_FEATURES;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_VERSION_1;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.bit;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.has;
import static dev.panda.pmd.virtio.vhostuser.VhostUserMessage.requestFlags;

import dev.panda.jextract.Fd;
import dev.panda.pmd.virtio.ring.DriverQueue;
import dev.panda.pmd.virtio.ring.PackedDriverQueue;
import dev.panda.pmd.virtio.ring.VirtioFeatures;
import dev.panda.pmd.virtio.vhostuser.DecodeResult;
import dev.panda.pmd.virtio.vhostuser.UnixSocket;
import dev.panda.pmd.virtio.vhostuser.VhostUserChannel;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.Bare;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MemTable;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MemoryRegion;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.U64;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringAddr;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringFd;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringState;
import dev.panda.pmd.virtio.vhostuser.VhostUserRequest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The front-end half of the vhost-user control socket (QEMU docs/interop/vhost-user.rst), as
 * DPDK's virtio-user speaks it in client mode: connect, SET_OWNER, feature and protocol feature
 * negotiation, SET_MEM_TABLE, then per vring SET_VRING_CALL/NUM/BASE/ADDR/KICK and
 * SET_VRING_ENABLE. Control path only, one thread at a time. The feature bits it shares with the
 * kernel transports are {@link VhostTransport}'s.
 *
 * <p>The back-end is untrusted: a reply that does not decode, or one that does not come within
 * {@link #REPLY_TIMEOUT_MILLIS}, fails the call with a {@link VhostUserClientException} (a
 * watchdog shuts the socket down to wake the blocked read), never hangs the caller.
 */
final class VhostUserClient implements VhostTransport {

    /** VHOST_USER_PROTOCOL_F_MQ, VHOST_USER_PROTOCOL_F_REPLY_ACK. */
    static final long P_MQ = 1L << 0;

    static final long P_REPLY_ACK = 1L << 3;
    static final long REPLY_TIMEOUT_MILLIS = 10_000;

    /** Thrown when the back-end refuses, misbehaves or goes away during set-up. */
    static final class VhostUserClientException extends RuntimeException {
        VhostUserClientException(String message) {
            super(message);
        }
    }

    private final String name;
    private final VhostUserChannel channel;
    private long features;
    private long protocol;

    private VhostUserClient(String name, VhostUserChannel channel) {
        this.name = name;
        this.channel = channel;
    }

    /** Connects to the back-end listening at {@code path}. */
    static VhostUserClient connect(String name, Path path) {
        return over(name, UnixSocket.connect(path));
    }

    /** Speaks the front-end's side over {@code socket} (connected either way round), which it now owns. */
    static VhostUserClient over(String name, UnixSocket socket) {
        return new VhostUserClient(name, new VhostUserChannel(socket));
    }

    UnixSocket socket() {
        return channel.socket();
    }

    /**
     * SET_OWNER, GET_FEATURES, GET/SET_PROTOCOL_FEATURES (if offered), GET_QUEUE_NUM (for more
     * than one queue pair) and SET_FEATURES with what panda implements: VERSION_1, and
     * PROTOCOL_FEATURES, NET_MQ, MRG_RXBUF, INDIRECT_DESC and EVENT_IDX when offered. Returns the
     * negotiated features.
     */
    @Override
    public long negotiate(int queuePairs) {
        return negotiate(queuePairs, OPTIONAL);
    }

    /**
     * As {@link #negotiate(int)} with the optional features limited to {@code optional}: a subset
     * of {@link #OPTIONAL} (mrg_rxbuf=0 leaves MRG_RXBUF out), VIRTIO_F_RING_PACKED (packed_vq=1)
     * and VIRTIO_F_IN_ORDER (in_order=1, only together with packed rings), each taken only when
     * the back-end offers it.
     */
    @Override
    public long negotiate(int queuePairs, long optional) {
        long allowed = OPTIONAL | bit(VirtioFeatures.F_RING_PACKED) | bit(VirtioFeatures.F_IN_ORDER);
        if ((optional & ~allowed) != 0) {
            throw new IllegalArgumentException(
                    name + ": cannot negotiate features 0x" + Long.toHexString(optional & ~allowed));
        }
        send(new Bare(VhostUserRequest.SET_OWNER, requestFlags(false)));
        long offered = query(VhostUserRequest.GET_FEATURES);
        if (!has(offered, F_VERSION_1)) {
            throw new VhostUserClientException(name + ": the back-end does not offer VIRTIO_F_VERSION_1 "
                    + "(features 0x" + Long.toHexString(offered) + "); legacy devices are not supported");
        }
        long want = bit(F_VERSION_1) | (offered & optional);
        if (!has(want, VirtioFeatures.F_RING_PACKED)) {
            want &= ~bit(VirtioFeatures.F_IN_ORDER); // panda's split queues do not run in order
        }
        if (has(offered, F_PROTOCOL_FEATURES)) {
            want |= bit(F_PROTOCOL_FEATURES);
            long p = query(VhostUserRequest.GET_PROTOCOL_FEATURES);
            protocol = p & (P_REPLY_ACK | (queuePairs > 1 ? P_MQ : 0));
            send(new U64(VhostUserRequest.SET_PROTOCOL_FEATURES, requestFlags(false), protocol));
        }
        if (queuePairs > 1) {
            if ((protocol & P_MQ) == 0) {
                throw new VhostUserClientException(name + ": " + queuePairs
                        + " queue pairs asked for, but the back-end does not offer VHOST_USER_PROTOCOL_F_MQ");
            }
            long max = query(VhostUserRequest.GET_QUEUE_NUM);
            if (max < queuePairs) {
                throw new VhostUserClientException(
                        name + ": " + queuePairs + " queue pairs asked for, the back-end has " + max);
            }
            want |= offered & bit(F_MQ);
        }
        features = want;
        request(new U64(VhostUserRequest.SET_FEATURES, flags(), want));
        return want;
    }

    /**
     * SET_MEM_TABLE: every region at guest address = user address (panda's own mapping), with its
     * fd (the fds stay the caller's); the device addresses are the user addresses.
     */
    @Override
    public long[] map(List<Region> regions) {
        List<MemoryRegion> table = new ArrayList<>();
        List<Fd> fds = new ArrayList<>();
        long[] device = new long[regions.size()];
        for (int i = 0; i < regions.size(); i++) {
            Region r = regions.get(i);
            table.add(new MemoryRegion(r.userAddr(), r.size(), r.userAddr(), 0));
            fds.add(r.fd());
            device[i] = r.userAddr();
        }
        request(new MemTable(flags(), table, fds));
        return device;
    }

    /** The vring messages for ring {@code index}, driven by {@code q}; it starts at avail index 0. */
    @Override
    public void setVring(int index, DriverQueue q, Fd kick, Fd call) {
        request(new VringFd(VhostUserRequest.SET_VRING_CALL, flags(), index, call));
        request(new VringState(VhostUserRequest.SET_VRING_NUM, flags(), index, q.size()));
        request(new VringState(VhostUserRequest.SET_VRING_BASE, flags(), index, 0));
        // gpa == uva: the rings' device addresses are the mapping's native addresses (see map)
        request(new VringAddr(flags(), index, 0, q.descAddr(), q.usedAddr(), q.availAddr(), 0));
        request(new VringFd(VhostUserRequest.SET_VRING_KICK, flags(), index, kick));
    }

    /**
     * The vring messages for packed ring {@code index} (vhost-user.rst): SET_VRING_ADDR carries the
     * descriptor ring as {@code desc}, the driver event suppression area as {@code avail} and the
     * device's as {@code used}; SET_VRING_BASE the avail index in bits 0-14 and the driver's wrap
     * counter in bit 15 ({@code q.base()}: 0x8000 for a fresh ring, as DPDK's virtio-user sends).
     */
    @Override
    public void setPackedVring(int index, PackedDriverQueue q, Fd kick, Fd call) {
        request(new VringFd(VhostUserRequest.SET_VRING_CALL, flags(), index, call));
        request(new VringState(VhostUserRequest.SET_VRING_NUM, flags(), index, q.size()));
        request(new VringState(VhostUserRequest.SET_VRING_BASE, flags(), index, q.base()));
        request(new VringAddr(flags(), index, 0, q.descAddr(), q.deviceEventAddr(), q.driverEventAddr(), 0));
        request(new VringFd(VhostUserRequest.SET_VRING_KICK, flags(), index, kick));
    }

    /** SET_VRING_ENABLE, meaningful only when PROTOCOL_FEATURES was negotiated (rings start disabled). */
    @Override
    public void enable(int index) {
        if (has(features, F_PROTOCOL_FEATURES)) {
            request(new VringState(VhostUserRequest.SET_VRING_ENABLE, flags(), index, 1));
        }
    }

    /** Nothing more: a vhost-user back-end starts a vring once it has its kick fd and is enabled. */
    @Override
    public void start() {}

    /** GET_VRING_BASE for every vring: the back-end stops them. */
    @Override
    public void stop(int vrings) {
        for (int v = 0; v < vrings; v++) {
            getVringBase(v);
        }
    }

    @Override
    public String describe() {
        return "vhost-user back-end";
    }

    /** GET_VRING_BASE: stops ring {@code index}; returns the back-end's next avail index. */
    int getVringBase(int index) {
        send(new VringState(VhostUserRequest.GET_VRING_BASE, requestFlags(false), index, 0));
        return ((VringState) reply(VhostUserRequest.GET_VRING_BASE)).num();
    }

    private int flags() {
        return requestFlags((protocol & P_REPLY_ACK) != 0);
    }

    private long query(VhostUserRequest r) {
        send(new Bare(r, requestFlags(false)));
        return ((U64) reply(r)).value();
    }

    /** Sends a request that has no reply of its own; with REPLY_ACK waits for the status. */
    private void request(VhostUserMessage m) {
        send(m);
        if (m.needReply()) {
            long status = ((U64) reply(m.request())).value();
            if (status != 0) {
                throw new VhostUserClientException(
                        name + ": the back-end refused " + m.request() + " (status " + status + ")");
            }
        }
    }

    private void send(VhostUserMessage m) {
        channel.send(m);
    }

    private VhostUserMessage reply(VhostUserRequest r) {
        // a watchdog: a back-end that never answers must not hang the caller
        Thread watchdog = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(REPLY_TIMEOUT_MILLIS);
                channel.socket().shutdown();
            } catch (InterruptedException ignored) {
                // answered in time
            } catch (RuntimeException ignored) {
                // closed meanwhile
            }
        });
        DecodeResult d;
        try {
            d = channel.readReply(r);
        } finally {
            watchdog.interrupt();
            try {
                watchdog.join(TimeUnit.SECONDS.toMillis(1));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return switch (d) {
            case DecodeResult.Ok ok -> ok.message();
            case DecodeResult.Closed _ ->
                throw new VhostUserClientException(
                        name + ": the back-end closed the " + "connection (or did not answer within "
                                + REPLY_TIMEOUT_MILLIS + " ms) instead of replying to " + r);
            case DecodeResult.Invalid bad ->
                throw new VhostUserClientException(name + ": bad reply to " + r + ": " + bad);
        };
    }

    /** Closes the socket: the back-end tears the device down. */
    @Override
    public void close() {
        channel.close();
    }
}
