package dev.panda.pmd.vfio;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.LinkStatus;
import dev.panda.jextract.Fd;
import dev.panda.jextract.Posix;
import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.uapi.Uapi;
import dev.panda.pmd.virtio.ring.DriverQueue;
import dev.panda.pmd.virtio.ring.VirtioFeatures;
import dev.panda.pmd.virtio.ring.VirtioNetDriver;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Brings a virtio-net PCI function up through VFIO (virtio 1.2 §3.1.1 device initialization over
 * the §4.1 PCI transport) and hands its queue pair to a {@link VirtioPciPort}; then, as the port's
 * {@link VirtioPciPort.Device}, rings notify registers, reads link status, waits for MSI-X, and
 * tears everything down in reverse order.
 */
final class VirtioPciNet implements VirtioPciPort.Device {

    private static final System.Logger LOG = System.getLogger(VirtioPciNet.class.getName());
    private static final long PAGE = 4096;
    private static final MethodHandle POLL = Libc.poll$handle();
    private static final int POLLIN = Libc.POLLIN();

    private final VfioDevice dev;
    private final VirtioPciTransport transport;
    private final long features;
    private final Deque<Runnable> undo;
    private final MemorySegment[] notifiers = new MemorySegment[2];
    private final Fd rxIrq;
    private final MemorySegment pollFd;

    private VirtioPciNet(VfioDevice dev, VirtioPciTransport transport, long features, Deque<Runnable> undo, Fd rxIrq) {
        this.dev = dev;
        this.transport = transport;
        this.features = features;
        this.undo = undo;
        this.rxIrq = rxIrq;
        this.pollFd = rxIrq == null ? null : Arena.ofAuto().allocate(8, 8);
        if (rxIrq != null) {
            pollFd.set(ValueLayout.JAVA_INT, 0, rxIrq.value());
            pollFd.set(ValueLayout.JAVA_SHORT, 4, (short) POLLIN);
        }
    }

    /** Opens {@code address} and returns its port; on failure nothing stays open or mapped. */
    static VirtioPciPort open(
            String name,
            String driverName,
            PacketPool pool,
            int portId,
            PciAddress address,
            int queueSize,
            boolean interrupts) {
        Deque<Runnable> undo = new ArrayDeque<>();
        try {
            VfioDevice dev = VfioDevice.open(address);
            undo.push(dev::close);
            byte[] cfg = dev.readConfig(0, 256);
            int vendor = VirtioPciCaps.u16(cfg, 0);
            int device = VirtioPciCaps.u16(cfg, 2);
            if (vendor != VirtioPciCaps.VENDOR
                    || device != VirtioPciCaps.NET_MODERN && device != VirtioPciCaps.NET_TRANSITIONAL) {
                throw new VfioException(String.format(
                        "%s is %04x:%04x, not a virtio-net device (1af4:1041 or " + "1af4:1000)",
                        address, vendor, device));
            }
            VirtioPciCaps caps;
            try {
                caps = VirtioPciCaps.parse(cfg);
            } catch (VirtioPciCaps.Malformed e) {
                throw new VfioException(address + ": " + e.getMessage(), e);
            }
            MemorySegment[] bars = new MemorySegment[6];
            for (VirtioPciCaps.Window w :
                    new VirtioPciCaps.Window[] {caps.commonCfg(), caps.notifyCfg(), caps.isrCfg(), caps.deviceCfg()}) {
                if (w != null && bars[w.bar()] == null) {
                    bars[w.bar()] = dev.mapBar(w.bar());
                }
            }
            VirtioPciTransport t = new VirtioPciTransport(caps, bars);
            // §3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, queues, DRIVER_OK
            t.reset();
            undo.push(t::reset); // whatever fails later, the device stops touching memory first
            t.addStatus(VirtioPciTransport.S_ACKNOWLEDGE);
            t.addStatus(VirtioPciTransport.S_DRIVER);
            long offered = t.deviceFeatures();
            long features;
            try {
                features = VirtioNetFeatures.accept(offered);
            } catch (VfioException e) {
                t.addStatus(VirtioPciTransport.S_FAILED);
                throw new VfioException(address + ": " + e.getMessage());
            }
            t.driverFeatures(features);
            t.addStatus(VirtioPciTransport.S_FEATURES_OK);
            if ((t.status() & VirtioPciTransport.S_FEATURES_OK) == 0) {
                t.addStatus(VirtioPciTransport.S_FAILED);
                throw new VfioException(
                        address + ": the device refused features " + VirtioNetFeatures.describe(features));
            }
            if (t.numQueues() < 2) {
                throw new VfioException(address + " has " + t.numQueues() + " queues; a net device has at least 2");
            }
            int[] sizes = new int[2];
            for (int q = 0; q < 2; q++) {
                int max = t.queueMaxSize(q);
                if (max == 0) {
                    throw new VfioException(address + ": queue " + q + " is not available (queue_size 0)");
                }
                // §2.7: split queue sizes are powers of two; take the largest one within both limits
                sizes[q] = Integer.highestOneBit(Math.min(queueSize, Math.min(max, 32768)));
            }
            // Rings: one shared anonymous mapping, DMA-mapped, plus a page for the shared tx header.
            long ringBytes0 = align(DriverQueue.bytes(sizes[0], 0), PAGE);
            long ringBytes1 = align(VirtioNetDriver.queueBytes(sizes[1], features), PAGE);
            long ringTotal = ringBytes0 + ringBytes1 + PAGE;
            MemorySegment rings = Posix.mmap(
                    ringTotal, Posix.PROT_READ | Posix.PROT_WRITE, Posix.MAP_SHARED | Posix.MAP_ANONYMOUS, null, 0);
            undo.push(() -> Posix.munmap(rings));
            VfioContainer c = dev.container();
            long ringIova = c.map(rings);
            undo.push(() -> c.unmap(rings));
            MemorySegment poolMem = pool.segment();
            long poolIova = c.map(poolMem);
            undo.push(() -> c.unmap(poolMem));
            DriverQueue rxq =
                    DriverQueue.create(name + "-rxq0", rings.asSlice(0, ringBytes0), ringIova, sizes[0], features, 0);
            DriverQueue txq = DriverQueue.create(
                    name + "-txq0",
                    rings.asSlice(ringBytes0, ringBytes1),
                    ringIova + ringBytes0,
                    sizes[1],
                    features,
                    VirtioNetDriver.indirectMax(features));
            Fd rxIrq = null;
            int rxVector = VirtioPciTransport.NO_VECTOR;
            if (interrupts) {
                if (dev.msixVectors() < 2) {
                    throw new VfioException(address + " has " + dev.msixVectors() + " MSI-X vectors; "
                            + "interrupt mode needs 2 (QEMU: vectors=2 or more)");
                }
                Fd config = Posix.eventfd(0, Posix.EFD_NONBLOCK | Posix.EFD_CLOEXEC);
                undo.push(config::close);
                Fd rxFd = Posix.eventfd(0, Posix.EFD_NONBLOCK | Posix.EFD_CLOEXEC);
                undo.push(rxFd::close);
                dev.enableMsix(new Fd[] {config, rxFd});
                undo.push(dev::disableMsix);
                t.configVector(0);
                rxIrq = rxFd;
                rxVector = 1;
            }
            dev.enableBusMaster();
            undo.push(dev::disableBusMaster);
            VirtioPciNet net = new VirtioPciNet(dev, t, features, undo, rxIrq);
            net.notifiers[0] =
                    t.notifier(t.setUpQueue(0, sizes[0], rxq.descAddr(), rxq.availAddr(), rxq.usedAddr(), rxVector));
            net.notifiers[1] = t.notifier(t.setUpQueue(
                    1, sizes[1], txq.descAddr(), txq.availAddr(), txq.usedAddr(), VirtioPciTransport.NO_VECTOR));
            t.addStatus(VirtioPciTransport.S_DRIVER_OK);
            if ((t.status() & (VirtioPciTransport.S_NEEDS_RESET | VirtioPciTransport.S_FAILED)) != 0) {
                throw new VfioException(
                        address + ": device_status 0x" + Integer.toHexString(t.status()) + " after DRIVER_OK");
            }
            long mac = net.readMac(portId);
            LOG.log(
                    System.Logger.Level.INFO,
                    "{0}: {1} virtio-net, features {2}, queues {3}/{4}, pool at IOVA 0x{5}",
                    name,
                    address,
                    VirtioNetFeatures.describe(features),
                    sizes[0],
                    sizes[1],
                    Long.toHexString(poolIova));
            return new VirtioPciPort(
                    name,
                    driverName,
                    pool,
                    portId,
                    mac,
                    rxq,
                    txq,
                    features,
                    poolIova,
                    ringIova + ringBytes0 + ringBytes1,
                    net);
        } catch (RuntimeException e) {
            runAll(undo, e);
            throw e;
        }
    }

    private static void runAll(Deque<Runnable> undo, RuntimeException failure) {
        while (!undo.isEmpty()) {
            try {
                undo.pop().run();
            } catch (RuntimeException e) {
                if (failure != null) {
                    failure.addSuppressed(e);
                } else {
                    LOG.log(System.Logger.Level.WARNING, "releasing a virtio-pci device: {0}", e.getMessage());
                }
            }
        }
    }

    private static long align(long v, long to) {
        return (v + to - 1) / to * to;
    }

    /** The MAC from the device configuration (§5.1.4, read with config_generation, §2.5.1), or a local one. */
    private long readMac(int portId) {
        MemorySegment cfg = transport.deviceConfig();
        if (!VirtioFeatures.has(features, VirtioFeatures.F_MAC) || cfg.byteSize() < 6) {
            return 0x02_70_6e_00_70_00L | (portId & 0xff); // locally administered
        }
        for (int attempt = 0; ; attempt++) {
            int gen = transport.generation();
            long mac = 0;
            for (int i = 0; i < 6; i++) {
                mac = mac << 8 | transport.read8(cfg, i);
            }
            if (gen == transport.generation() || attempt == 10) {
                return mac;
            }
        }
    }

    @Override
    public void kick(int q) {
        VirtioPciTransport.kick(notifiers[q], q);
    }

    @Override
    public LinkStatus link() {
        MemorySegment cfg = transport.deviceConfig();
        if (!VirtioFeatures.has(features, VirtioFeatures.F_STATUS) || cfg.byteSize() < 8) {
            return LinkStatus.VIRTUAL_UP; // §5.1.4: without STATUS the link is assumed up
        }
        boolean up = (transport.read16(cfg, 6) & Uapi.VIRTIO_NET_S_LINK_UP()) != 0;
        return up ? LinkStatus.VIRTUAL_UP : LinkStatus.DOWN;
    }

    @Override
    public boolean awaitRxInterrupt(long timeoutMillis) {
        if (rxIrq == null) {
            return false;
        }
        int rc;
        try {
            rc = (int) POLL.invokeExact(pollFd, 1L, (int) Math.min(timeoutMillis, Integer.MAX_VALUE));
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        return rc > 0 && Posix.eventfdRead(rxIrq) > 0;
    }

    @Override
    public void stop() {
        transport.reset(); // §4.1.4.3.2: after reset the device uses no queue and no buffer
    }

    @Override
    public void release() {
        runAll(undo, null);
    }
}
