package dev.panda.pmd.vfio;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.AbstractPort;
import dev.panda.dataplane.port.LinkStatus;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.pmd.virtio.ring.DriverQueue;
import dev.panda.pmd.virtio.ring.VirtioNetDriver;

/**
 * {@code net_virtio_pci}'s data path: one queue pair of a virtio-net device, receiveq 0 and
 * transmitq 1 (virtio 1.2 §5.1.2), polled from the caller's thread. The queue pair itself is
 * pmd-virtio's {@link VirtioNetDriver}, the same code as {@code net_virtio_user}'s, here with the
 * device reaching the pool at {@code poolIova + offset} (its DMA mapping) and a notify register
 * write as the doorbell; mergeable receive buffers and indirect descriptors are used when the
 * device offered them.
 *
 * <p>Everything device-specific (VFIO, registers, DMA) is behind {@link Device}; this class is
 * the same code whether the rings are read by a device behind an IOMMU or, in the benchmark, by
 * a software device in ordinary memory. No allocation per packet; one poller per direction.
 */
public final class VirtioPciPort extends AbstractPort {

    /** What the port needs from the device besides its rings; {@link #kick} rings the notify register of queue q (§4.1.5.2). */
    public interface Device extends VirtioNetDriver.Doorbell {
        /** Link state from the device configuration (§5.1.4), read from any thread. */
        LinkStatus link();

        /** Waits up to {@code timeoutMillis} for an rx interrupt; false if there is no interrupt mode. */
        boolean awaitRxInterrupt(long timeoutMillis);

        /** Stops the device: after this it touches no ring and no buffer (reset, §4.1.4.3.2). */
        void stop();

        /** Releases what set-up took (DMA mappings, BARs, fds), after every buffer is back. */
        void release();
    }

    static final int RXQ = 0;
    static final int TXQ = 1;

    private final VirtioNetDriver driver;
    private final DriverQueue rxq;
    private final DriverQueue txq;
    private final Device device;
    private final long features;
    private volatile boolean closed;

    /**
     * @param rxq        receiveq 0 and {@code txq} transmitq 1, already known to the device
     * @param features   what the device accepted (MRG_RXBUF picks the receive path)
     * @param poolIova   where the device sees the pool's first byte
     * @param headerIova 12 zero bytes the device can read (the shared tx header)
     */
    public VirtioPciPort(
            String name,
            String driverName,
            PacketPool pool,
            int portId,
            long mac,
            DriverQueue rxq,
            DriverQueue txq,
            long features,
            long poolIova,
            long headerIova,
            Device device) {
        super(name, driverName, 1, 1, mac);
        this.rxq = rxq;
        this.txq = txq;
        this.device = device;
        this.features = features;
        this.driver = new VirtioNetDriver(name, pool, portId, device, rxCounters, txCounters);
        driver.install(0, rxq, txq, features, poolIova, headerIova);
        driver.fill(0);
        driver.open();
    }

    @Override
    public int rxBurst(int queue, PacketBurst burst) {
        return driver.rxBurst(queue, burst);
    }

    @Override
    public int txBurst(int queue, PacketBurst burst, int n) {
        return driver.txBurst(queue, burst, n);
    }

    /**
     * Interrupt mode: asks for a used buffer notification on the receive queue (§2.7.7) and waits
     * up to {@code timeoutMillis} for its MSI-X eventfd. Returns true when frames are (or may
     * be) waiting; then poll with {@link #rxBurst}. Call from the rx poller only.
     */
    public boolean awaitRx(long timeoutMillis) {
        if (rxq.enableInterrupts()) {
            rxq.disableInterrupts();
            return true; // frames arrived meanwhile (§2.7.14: re-check after enabling)
        }
        boolean woke = device.awaitRxInterrupt(timeoutMillis);
        rxq.disableInterrupts();
        return woke || rxq.pendingUsed() != 0;
    }

    @Override
    public LinkStatus link() {
        return closed ? LinkStatus.DOWN : device.link();
    }

    /** The features the device accepted (FEATURES_OK). */
    public long features() {
        return features;
    }

    /** Buffers the device holds now (posted for rx or queued for tx). */
    public int buffersHeld() {
        return rxq.inFlight() + txq.inFlight();
    }

    /**
     * Waits for running bursts, stops the device (after which it touches no buffer), returns every
     * buffer it held to the pool and releases the device.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        driver.close();
        try {
            device.stop();
        } finally {
            driver.releaseBuffers();
            device.release();
        }
    }

    @Override
    public String toString() {
        return name() + "[1 queue pair of " + rxq.size() + (closed ? ", closed]" : "]");
    }
}
