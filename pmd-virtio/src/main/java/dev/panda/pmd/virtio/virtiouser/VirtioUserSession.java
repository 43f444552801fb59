package dev.panda.pmd.virtio.virtiouser;

import static java.lang.System.Logger.Level.ERROR;
import static java.lang.System.Logger.Level.INFO;
import static java.lang.System.Logger.Level.WARNING;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.QueueCounters;
import dev.panda.jextract.Fd;
import dev.panda.jextract.Posix;
import dev.panda.pmd.virtio.ring.DriverQueue;
import dev.panda.pmd.virtio.ring.PackedDriverQueue;
import dev.panda.pmd.virtio.ring.VirtioFeatures;
import dev.panda.pmd.virtio.ring.VirtioNetDriver;
import dev.panda.pmd.virtio.vhostuser.Backoff;
import dev.panda.pmd.virtio.vhostuser.UnixSocket;
import dev.panda.pmd.virtio.vhostuser.Wakeup;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;

/**
 * The control half of a {@code net_virtio_user} port: its {@link Device} (the rings, their
 * set-up with a back-end and their take-down) and, for vhost-user, the control thread that gets a connection to the back-end
 * (client mode connects to PATH; {@code server=1} listens on PATH and the back-end connects, as
 * DPDK's {@code net_vhost} with {@code client=1} or QEMU's vhost-user-net back-ends do), has the
 * {@link Device} set the rings up over it, then waits for it to end. A back-end that goes away
 * (end of stream or a reset on the socket) has the device taken down: the rings reset and every
 * buffer the back-end held back in the pool; then the session waits for a back-end again
 * (client mode retries with {@link Backoff}) and sets everything up anew.
 *
 * <p>The socket is read only by this thread (the set-up's replies, and the wait for its end).
 * {@link #close()} wakes it through a {@link Wakeup}; the thread then stops the rings while the
 * back-end is still there (GET_VRING_BASE) and closes what it owns.
 */
final class VirtioUserSession implements Runnable, VirtioUserPort.Control {

    private static final System.Logger LOG = System.getLogger(VirtioUserSession.class.getName());
    private static final long JOIN_MILLIS = 20_000;
    /** A connection that lasted this long resets the backoff (a flapping back-end stays paced). */
    private static final long STABLE_NANOS = 200_000_000L;

    /**
     * The control half of a {@code net_virtio_user} port, which the session (or a
     * {@link KernelControl}) drives: the rings' shared memory and eventfds, and per back-end the
     * attach (negotiate, offer the memory, build the queues for the features, fill, start) and
     * the detach (quiesce the pollers, stop the rings, take every buffer back, fresh rings). The
     * data path is the {@link VirtioNetDriver} it installs the queues in.
     */
    static final class Device {
        private static final long PAGE = 4096;

        private final String name;
        private final PacketPool pool;
        private final int queues;
        private final int qsize;
        private final VirtioNetDriver driver;
        private final Fd ringFd;
        private final MemorySegment ringMem;
        private final long ringBytes;
        private final long ringTotal;
        private final long sharedHeader;
        private final Fd[] kicks;
        private final Fd[] calls;
        /** The optional features asked for ({@link VhostTransport#OPTIONAL}, less mrg_rxbuf=0, plus packed_vq=1's). */
        private final long optional;
        /** The pool's and the rings' first byte as the device knows them (the transport's map). */
        private long poolDev;

        private long ringDev;
        private volatile long negotiated;

        /**
         * Rings and eventfds for as many queue pairs as {@code rx} counters (the port's), of
         * {@code qsize}, and the driver for them; nothing runs yet.
         */
        Device(String name, PacketPool pool, int portId, int qsize, QueueCounters[] rx, QueueCounters[] tx) {
            this(name, pool, portId, qsize, rx, tx, VhostTransport.OPTIONAL);
        }

        /**
         * As above, asking the back-end for the {@code optional} features only (a subset of
         * {@link VhostTransport#OPTIONAL}, and VIRTIO_F_RING_PACKED for packed rings).
         */
        Device(
                String name,
                PacketPool pool,
                int portId,
                int qsize,
                QueueCounters[] rx,
                QueueCounters[] tx,
                long optional) {
            this.name = name;
            this.optional = optional;
            this.pool = pool;
            this.queues = rx.length;
            this.qsize = qsize;
            this.kicks = new Fd[2 * queues];
            this.calls = new Fd[2 * queues];
            // virtio-user's doorbell: a write to the vring's kick eventfd
            this.driver = new VirtioNetDriver(name, pool, portId, v -> Posix.eventfdSignal(kicks[v]), rx, tx);
            // room for two-entry indirect tables whether or not a back-end takes INDIRECT_DESC
            // (either ring format: the larger of the two)
            long indirect = VirtioFeatures.bit(VirtioFeatures.F_INDIRECT_DESC);
            this.ringBytes = align(Math.max(
                    VirtioNetDriver.queueBytes(qsize, indirect), VirtioNetDriver.packedQueueBytes(qsize, indirect)));
            this.ringTotal = 2 * queues * ringBytes + PAGE; // the last page holds the shared tx header
            this.ringFd = Posix.memfdCreate("panda-virtio-user-rings", Posix.MFD_CLOEXEC);
            MemorySegment rings = null;
            try {
                Posix.ftruncate(ringFd, ringTotal);
                rings = Posix.mmap(ringTotal, Posix.PROT_READ | Posix.PROT_WRITE, Posix.MAP_SHARED, ringFd, 0);
                this.ringMem = rings;
                this.sharedHeader = rings.address() + ringTotal - PAGE; // zero: fresh memfd pages
                createQueues(0);
                for (int v = 0; v < 2 * queues; v++) {
                    kicks[v] = Posix.eventfd(0, Posix.EFD_NONBLOCK | Posix.EFD_CLOEXEC);
                    calls[v] = Posix.eventfd(0, Posix.EFD_NONBLOCK | Posix.EFD_CLOEXEC);
                }
            } catch (RuntimeException e) {
                driver.releaseBuffers();
                closeFds();
                if (rings != null) {
                    Posix.munmap(rings);
                }
                ringFd.close();
                throw e;
            }
        }

        private static long align(long v) {
            return (v + PAGE - 1) / PAGE * PAGE;
        }

        /**
         * Fresh, zeroed rings in the shared block (§2.7: every index starts at 0) of the classes
         * the {@code features} call for, installed in the driver (gate closed).
         */
        private void createQueues(long features) {
            long headerDev = ringDev + (sharedHeader - ringMem.address());
            boolean packed = VirtioFeatures.has(features, VirtioFeatures.F_RING_PACKED);
            for (int q = 0; q < queues; q++) {
                long off = 2L * q * ringBytes;
                if (packed) {
                    PackedDriverQueue rxq = PackedDriverQueue.create(
                            name + "-rxq" + q, ringMem.asSlice(off, ringBytes), ringDev + off, qsize, features, 0);
                    PackedDriverQueue txq = PackedDriverQueue.create(
                            name + "-txq" + q,
                            ringMem.asSlice(off + ringBytes, ringBytes),
                            ringDev + off + ringBytes,
                            qsize,
                            features,
                            VirtioNetDriver.indirectMax(features));
                    driver.installPacked(q, rxq, txq, features, poolDev, headerDev);
                    continue;
                }
                DriverQueue rxq = DriverQueue.create(
                        name + "-rxq" + q, ringMem.asSlice(off, ringBytes), ringDev + off, qsize, features, 0);
                DriverQueue txq = DriverQueue.create(
                        name + "-txq" + q,
                        ringMem.asSlice(off + ringBytes, ringBytes),
                        ringDev + off + ringBytes,
                        qsize,
                        features,
                        VirtioNetDriver.indirectMax(features));
                driver.install(q, rxq, txq, features, poolDev, headerDev);
            }
        }

        /**
         * Control thread, rings idle (no poller can enter): negotiates, offers the pool and the
         * rings (the transport's map says at which device addresses), builds the queues at those
         * addresses, fills the receive rings, sets every vring up, enables it and starts the
         * device; then the pollers may run.
         */
        void attach(VhostTransport t) {
            // features first: they decide the queues' classes
            long f = t.negotiate(queues, optional);
            negotiated = f;
            long[] dev = t.map(List.of(
                    new VhostTransport.Region(pool.segment().address(), pool.regionBytes(), pool.fd()),
                    new VhostTransport.Region(ringMem.address(), ringTotal, ringFd)));
            poolDev = dev[0];
            ringDev = dev[1];
            createQueues(f);
            for (int q = 0; q < queues; q++) {
                driver.fill(q); // the receive queues start full, before the device sees them
            }
            for (int q = 0; q < queues; q++) {
                if (driver.packed()) {
                    t.setPackedVring(2 * q, driver.packedRxq(q), kicks[2 * q], calls[2 * q]);
                    t.setPackedVring(2 * q + 1, driver.packedTxq(q), kicks[2 * q + 1], calls[2 * q + 1]);
                } else {
                    t.setVring(2 * q, driver.rxq(q), kicks[2 * q], calls[2 * q]);
                    t.setVring(2 * q + 1, driver.txq(q), kicks[2 * q + 1], calls[2 * q + 1]);
                }
            }
            for (int v = 0; v < 2 * queues; v++) {
                t.enable(v);
            }
            t.start();
            for (int q = 0; q < queues; q++) {
                // buffers posted before the device started: tell it (it may be waiting for a kick)
                Posix.eventfdSignal(kicks[2 * q]);
            }
            driver.open();
        }

        /**
         * Control thread: the pollers leave the rings, the device stops them (GET_VRING_BASE, a
         * reset; when {@code t} is a live device), every buffer it held goes back to the pool
         * (counted), and the rings start again from zero for the next back-end.
         */
        void detach(VhostTransport t) {
            driver.close();
            if (t != null) {
                try {
                    t.stop(2 * queues);
                } catch (RuntimeException e) {
                    LOG.log(WARNING, "{0}: stopping the vrings failed ({1}); closing the device", name, e.getMessage());
                }
            }
            int back = driver.releaseBuffers();
            if (back > 0) {
                LOG.log(INFO, "{0}: {1} buffer(s) the device held returned to the pool", name, back);
            }
            createQueues(0);
        }

        VirtioNetDriver driver() {
            return driver;
        }

        /** The features negotiated with the current (or last) back-end (SET_FEATURES). */
        long features() {
            return negotiated;
        }

        /** The pool's and the rings' first byte as the device knows them (from the last set-up). */
        long[] deviceAddresses() {
            return new long[] {poolDev, ringDev};
        }

        /** The pool's and the rings' first byte in panda's address space. */
        long[] userAddresses() {
            return new long[] {pool.segment().address(), ringMem.address()};
        }

        /** Once nothing runs any more: the eventfds and the rings go. */
        void release() {
            closeFds();
            Posix.munmap(ringMem);
            ringFd.close();
        }

        private void closeFds() {
            for (Fd[] fds : new Fd[][] {kicks, calls}) {
                for (Fd fd : fds) {
                    if (fd != null && fd.isOpen()) {
                        fd.close();
                    }
                }
            }
        }
    }

    private final String name;
    private final Path path;
    private final Device device;
    private final UnixSocket listener;
    private final Wakeup wakeup = new Wakeup();
    private final Backoff backoff;
    private final Thread thread;
    /** The connection being set up or running; read by close() only to shut it down. */
    private volatile VhostUserClient client;

    private long connectedAt;
    /** Between connecting and the rings running: close() may cut the socket to end it. */
    private volatile boolean settingUp;

    private volatile long disconnects;

    VirtioUserSession(String name, Path path, boolean server, Device device) {
        this.name = name;
        this.path = path;
        this.device = device;
        this.backoff = new Backoff(name);
        this.listener = server ? UnixSocket.listen(path, 1) : null;
        this.thread = Thread.ofPlatform().daemon().name("virtio-user-" + name).unstarted(this);
    }

    /** Client mode: the first connection and set-up, on the caller's thread; failures are the caller's. */
    void connectFirst() {
        VhostUserClient c = VhostUserClient.connect(name, path);
        client = c;
        try {
            settingUp = true;
            device.attach(c);
        } catch (RuntimeException e) {
            device.detach(null);
            client = null;
            c.close();
            throw e;
        } finally {
            settingUp = false;
        }
        connectedAt = System.nanoTime();
        LOG.log(INFO, "{0}: connected to the back-end on {1}", name, path);
    }

    @Override
    public void start() {
        thread.start();
    }

    /** Times a running connection ended because the back-end went away. */
    @Override
    public long disconnects() {
        return disconnects;
    }

    @Override
    public void run() {
        try {
            while (!wakeup.woken()) {
                if (client == null && !connect()) {
                    break;
                }
                if (wakeup.await(client.socket(), -1) == Wakeup.WOKEN) {
                    break;
                }
                String why = ended(client.socket());
                disconnects++;
                LOG.log(WARNING, "{0}: the back-end {1}; resetting the device and waiting for it again", name, why);
                device.detach(null);
                client.close();
                client = null;
            }
        } catch (RuntimeException e) {
            LOG.log(ERROR, "{0}: control thread failed, the port stays down: {1}", name, e.toString());
        } finally {
            VhostUserClient c = client;
            if (c != null) {
                device.detach(c); // GET_VRING_BASE while the back-end is still there
                c.close();
                client = null;
            }
            if (listener != null) {
                listener.close();
            }
            wakeup.close();
        }
    }

    /** Waits for a back-end and sets the device up with it; false once closing. */
    private boolean connect() {
        if (connectedAt != 0) {
            if (System.nanoTime() - connectedAt >= STABLE_NANOS) {
                backoff.stable();
            } else if (!wakeup.sleep(backoff.pace())) {
                return false;
            }
        }
        while (!wakeup.woken()) {
            UnixSocket s = listener != null ? accept() : dial();
            if (s == null) {
                return false;
            }
            VhostUserClient c = VhostUserClient.over(name, s);
            client = c;
            if (wakeup.woken()) {
                break; // close() may have missed this connection: it is closed below
            }
            try {
                settingUp = true;
                device.attach(c);
                settingUp = false;
                backoff.succeeded();
                connectedAt = System.nanoTime();
                LOG.log(
                        INFO,
                        "{0}: back-end {1} on {2}, rings running",
                        name,
                        listener != null ? "connected" : "reached",
                        path);
                return true;
            } catch (RuntimeException e) {
                settingUp = false;
                device.detach(null);
                client = null;
                c.close();
                if (!wakeup.sleep(backoff.failed("set-up with the back-end failed: " + e.getMessage()))) {
                    return false;
                }
            }
        }
        VhostUserClient c = client;
        if (c != null) {
            client = null;
            c.close();
        }
        return false;
    }

    private UnixSocket dial() {
        while (!wakeup.woken()) {
            try {
                return UnixSocket.connect(path);
            } catch (RuntimeException e) {
                if (!wakeup.sleep(backoff.failed("no back-end listening on " + path + " (" + e.getMessage() + ")"))) {
                    return null;
                }
            }
        }
        return null;
    }

    private UnixSocket accept() {
        try {
            return wakeup.await(listener, -1) == Wakeup.READABLE ? listener.accept() : null;
        } catch (RuntimeException e) {
            LOG.log(ERROR, "{0}: accept on {1} failed, the port stops listening: {2}", name, path, e.toString());
            return null;
        }
    }

    /**
     * The socket became readable while the rings run: a back-end sends nothing unasked on this
     * socket, so it either closed it or broke the protocol; either way the connection is over.
     */
    private static String ended(UnixSocket s) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(256);
            UnixSocket.Received r = s.recv(buf, UnixSocket.MAX_FDS);
            r.fds().forEach(Fd::close);
            return r.bytes() == 0
                    ? "closed the connection"
                    : "sent " + r.bytes() + " bytes nobody asked for (a protocol error)";
        } catch (RuntimeException e) {
            return "connection failed (" + e.getMessage() + ")";
        }
    }

    /** Stops the control thread (which stops the rings through the back-end if it is there) and waits for it. */
    @Override
    public void close() {
        wakeup.wake();
        if (listener != null) {
            listener.shutdown(); // an accept already past the poll wakes too
        }
        VhostUserClient c = client;
        if (c != null && settingUp) {
            // a set-up blocked on a silent back-end; a running connection answers the wake-up and
            // still needs its socket to stop the rings
            c.socket().shutdown();
        }
        if (thread.isAlive()) {
            try {
                thread.join(JOIN_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (thread.isAlive()) {
                LOG.log(ERROR, "{0}: control thread did not stop in {1} ms", name, JOIN_MILLIS);
            }
        } else {
            // never started (the first set-up failed) or already gone: release here
            VhostUserClient left = client;
            if (left != null) {
                client = null;
                left.close();
            }
            if (listener != null) {
                listener.close();
            }
            wakeup.close();
        }
    }

    @Override
    public boolean stopped() {
        return !thread.isAlive();
    }
}
