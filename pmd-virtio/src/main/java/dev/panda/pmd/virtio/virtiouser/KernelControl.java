package dev.panda.pmd.virtio.virtiouser;

import static java.lang.System.Logger.Level.INFO;

/**
 * The control side of a {@code net_virtio_user} port whose device is in the kernel (vhost-net,
 * vhost-vdpa): there is no peer to lose or wait for, so the rings are set up once, on the
 * caller's thread when the port opens (a failure fails the open, and what was set up is undone),
 * and taken down when it closes: the device stops the vrings, every buffer it held goes back to
 * the pool, and the device fd (with its mappings) is closed. No thread of its own.
 */
final class KernelControl implements VirtioUserPort.Control {

    private static final System.Logger LOG = System.getLogger(KernelControl.class.getName());

    private final String name;
    private final VhostTransport transport;
    private final VirtioUserSession.Device device;
    private boolean closed;

    KernelControl(String name, VhostTransport transport, VirtioUserSession.Device device) {
        this.name = name;
        this.transport = transport;
        this.device = device;
        try {
            device.attach(transport);
        } catch (RuntimeException e) {
            device.detach(null); // the rings never ran: take the posted buffers back
            transport.close();
            throw e;
        }
        LOG.log(INFO, "{0}: {1}, rings running", name, transport.describe());
    }

    @Override
    public void start() {}

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            device.detach(transport);
        } finally {
            transport.close();
        }
        LOG.log(INFO, "{0}: {1} stopped and closed", name, transport.describe());
    }

    @Override
    public synchronized boolean stopped() {
        return closed;
    }

    /** A kernel device does not go away under a running port. */
    @Override
    public long disconnects() {
        return 0;
    }
}
