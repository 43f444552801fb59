package dev.panda.pmd.virtio.virtiouser;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.AbstractPort;
import dev.panda.dataplane.port.LinkStatus;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.pmd.virtio.ring.VirtioNetDriver;
import java.nio.file.Path;

/**
 * {@code net_virtio_user}: panda as the virtio-net driver of a vhost-user back-end, the kernel's
 * vhost-net or a vDPA device (the {@link VhostTransport} says which; the queues are the same). Queue pair q
 * is vrings 2q (receiveq: panda posts empty pool buffers) and 2q + 1 (transmitq: panda posts
 * packets), virtio 1.2 §5.1.2. Zero copy: the back-end maps the pool's memfd and reads or writes
 * the pool buffers themselves (descriptors carry the addresses the transport's {@code map} gave
 * the pool and the rings: panda's own for vhost-user and vhost-net, IOVAs for vhost-vdpa); the 12-byte VIRTIO_F_VERSION_1 header (§5.1.6) sits in each
 * buffer's headroom, just in front of the frame (a buffer without 12 bytes of headroom is sent
 * as a two-descriptor chain with a shared zero header).
 *
 * <p>The queue pairs are pmd-virtio's {@link VirtioNetDriver} (the same code as
 * {@code net_virtio_pci}'s), with the transport's device addresses and the kick eventfds as the
 * doorbell; the rings, their set-up and take-down are the {@link VirtioUserSession.Device}'s. A
 * buffer handed to the back-end belongs to the port until it comes back in the used ring;
 * {@link #close()} stops the rings (GET_VRING_BASE) and frees every buffer still out. The
 * connection is the {@link VirtioUserSession}'s: when the back-end goes away the link goes down,
 * the pollers leave the rings, the buffers it held return to the pool (counted in
 * {@link #buffersReclaimed()}), and the rings start from zero with the next back-end.
 *
 * <p>The features are negotiated with each back-end, and the queues built for them, before the
 * rings are offered: VIRTIO_RING_F_EVENT_IDX (the queues' notification scheme),
 * VIRTIO_RING_F_INDIRECT_DESC (a headerless packet goes as a two-entry indirect table rather than
 * a two-descriptor chain) and VIRTIO_NET_F_MRG_RXBUF (a frame may come in several receive
 * buffers, §5.1.6.4: gathered into the first when it fits a pool buffer, else dropped and
 * counted; the receive path is chosen once per connection). Used buffer notifications are off
 * (panda polls) and a kick goes only when the back-end asks. With {@code packed_vq=1} a vhost-user
 * back-end is asked for VIRTIO_F_RING_PACKED too, and the queues are packed when it agrees.
 */
final class VirtioUserPort extends AbstractPort {

    private static final System.Logger LOG = System.getLogger(VirtioUserPort.class.getName());

    private final int queues;
    private final int qsize;
    private final VirtioNetDriver driver;
    private final VirtioUserSession.Device device;
    private final Control session;
    private volatile boolean closed;

    /**
     * Who owns the device: a {@link VirtioUserSession} (vhost-user: its own thread, reconnects)
     * or a {@link KernelControl} (vhost-net, vhost-vdpa: set up once).
     */
    interface Control {
        /** Starts watching the device (after the port is built). */
        void start();

        /** Takes the rings down through the device if it is there, and releases it. */
        void close();

        /** True once nothing runs any more (the rings and eventfds may go). */
        boolean stopped();

        /** Times the device went away while the rings ran. */
        long disconnects();
    }

    /** Builds the port's control over {@code device}; for a kernel device this sets the rings up. */
    interface ControlFactory {
        Control open(VirtioUserSession.Device device);
    }

    /** The MAC panda makes up for a device without one (a locally administered address). */
    static long defaultMac(int portId) {
        return 0x02_70_6e_00_75_00L | (portId & 0xff);
    }

    /** A vhost-user port: connects to PATH (or, with {@code server}, listens on it). */
    static VirtioUserPort vhostUser(
            String name, PacketPool pool, int portId, int queues, int qsize, Path path, boolean server) {
        return vhostUser(name, pool, portId, queues, qsize, path, server, VhostTransport.OPTIONAL);
    }

    /**
     * As above, asking the back-end for the {@code optional} features only: a subset of
     * {@link VhostTransport#OPTIONAL}, with VIRTIO_F_RING_PACKED for packed rings ({@code packed_vq=1}).
     */
    static VirtioUserPort vhostUser(
            String name, PacketPool pool, int portId, int queues, int qsize, Path path, boolean server, long optional) {
        return new VirtioUserPort(name, pool, portId, queues, qsize, defaultMac(portId), optional, d -> {
            VirtioUserSession s = new VirtioUserSession(name, path, server, d);
            if (!server) {
                try {
                    s.connectFirst(); // a back-end that is not there fails the open, as DPDK's virtio-user
                } catch (RuntimeException e) {
                    s.close();
                    throw e;
                }
            }
            return s;
        });
    }

    /** A port on a kernel device (vhost-net, vhost-vdpa), which it owns from now on (closed on failure too). */
    static VirtioUserPort kernel(
            String name, PacketPool pool, int portId, int qsize, long mac, VhostTransport transport) {
        try {
            return new VirtioUserPort(
                    name,
                    pool,
                    portId,
                    1,
                    qsize,
                    mac,
                    VhostTransport.OPTIONAL,
                    d -> new KernelControl(name, transport, d));
        } catch (RuntimeException e) {
            transport.close();
            throw e;
        }
    }

    VirtioUserPort(
            String name,
            PacketPool pool,
            int portId,
            int queues,
            int qsize,
            long mac,
            long optional,
            ControlFactory control) {
        super(name, VirtioUserDriver.NAME, queues, queues, mac);
        this.queues = queues;
        this.qsize = qsize;
        this.device = new VirtioUserSession.Device(name, pool, portId, qsize, rxCounters, txCounters, optional);
        this.driver = device.driver();
        Control s;
        try {
            s = control.open(device);
        } catch (RuntimeException e) {
            driver.releaseBuffers();
            device.release();
            throw e;
        }
        this.session = s;
        s.start();
    }

    /** The features negotiated with the current (or last) back-end (SET_FEATURES). */
    long features() {
        return device.features();
    }

    /** The pool's and the rings' first byte as the device knows them (from the last set-up). */
    long[] deviceAddresses() {
        return device.deviceAddresses();
    }

    /** The pool's and the rings' first byte in panda's address space. */
    long[] userAddresses() {
        return device.userAddresses();
    }

    /** Buffers returned to the pool because a back-end went away or the port closed while holding them. */
    long buffersReclaimed() {
        return driver.buffersReclaimed();
    }

    /** Times the back-end went away while the rings ran. */
    long disconnects() {
        return session.disconnects();
    }

    @Override
    public int rxBurst(int queue, PacketBurst burst) {
        return driver.rxBurst(queue, burst);
    }

    @Override
    public int txBurst(int queue, PacketBurst burst, int n) {
        return driver.txBurst(queue, burst, n);
    }

    @Override
    public LinkStatus link() {
        return driver.running() ? LinkStatus.VIRTUAL_UP : LinkStatus.DOWN;
    }

    /**
     * Stops the control thread, which takes the rings down (pollers out, GET_VRING_BASE while the
     * back-end is there, every buffer still out back in the pool) and closes the socket; then
     * the rings and eventfds go.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        session.close();
        if (!session.stopped()) {
            LOG.log(
                    System.Logger.Level.ERROR,
                    "{0}: control thread still running; rings and eventfds left in place",
                    name());
            return;
        }
        device.release();
    }

    @Override
    public String toString() {
        return name() + "[" + queues + " queue pair(s) of " + qsize + (closed ? ", closed]" : "]");
    }
}
