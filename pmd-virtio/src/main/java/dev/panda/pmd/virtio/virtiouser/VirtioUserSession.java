package dev.panda.pmd.virtio.virtiouser;

import static java.lang.System.Logger.Level.ERROR;
import static java.lang.System.Logger.Level.INFO;
import static java.lang.System.Logger.Level.WARNING;

import dev.panda.jextract.Fd;
import dev.panda.pmd.virtio.vhostuser.Backoff;
import dev.panda.pmd.virtio.vhostuser.UnixSocket;
import dev.panda.pmd.virtio.vhostuser.Wakeup;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * The control thread of a {@code net_virtio_user} port: gets a connection to the back-end
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

    /** What the session (or a {@link KernelControl}) drives: the port's rings and buffers. */
    interface Device {
        /** Negotiates over {@code transport} and starts the rings; throws if the device refuses or fails. */
        void attach(VhostTransport transport);

        /**
         * Stops the rings and takes every buffer back; {@code transport} is the live device to
         * stop them through (GET_VRING_BASE, a reset), or null when it is gone.
         */
        void detach(VhostTransport transport);
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
