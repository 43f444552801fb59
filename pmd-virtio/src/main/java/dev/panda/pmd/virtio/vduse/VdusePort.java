package dev.panda.pmd.virtio.vduse;

import static java.lang.System.Logger.Level.INFO;
import static java.lang.System.Logger.Level.WARNING;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.pmd.virtio.vhost.VirtioDevicePort;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code net_vduse}: panda as a virtio-net device on the kernel's vDPA bus. The device and its
 * request channel are {@link VduseDevice}'s; packets move in {@link VirtioDevicePort}, the poller
 * half net_vhost uses too. Opening adds the device to the bus ({@link VdpaNetlink}) and binds the
 * driver asked for ({@code virtio_vdpa}: the kernel's own virtio_net drives it; {@code vhost_vdpa}:
 * {@code /dev/vhost-vdpa-N} for a userspace driver); closing tells the driver the link is down,
 * removes the device from the bus (the driver resets it, which the control thread still answers)
 * and destroys it.
 */
final class VdusePort extends VirtioDevicePort {

    private static final System.Logger LOG = System.getLogger(VdusePort.class.getName());

    /** What {@code attach=} names: the vDPA bus driver to bind, or none (the device is only created). */
    enum Attach {
        VIRTIO("virtio_vdpa"),
        VHOST("vhost_vdpa"),
        NONE(null);

        final String driver;

        Attach(String driver) {
            this.driver = driver;
        }
    }

    private final String device;
    private final Attach attach;
    private final VduseDevice vduse;
    private volatile boolean onBus;
    private volatile boolean closed;

    VdusePort(
            String name,
            PacketPool pool,
            int portId,
            String device,
            long mac,
            int queueSize,
            long offered,
            Attach attach,
            long irqCpumask) {
        super(name, VdusePortDriver.NAME, pool, portId, 1, mac);
        this.device = device;
        this.attach = attach;
        byte[] m = new byte[6];
        for (int i = 0; i < 6; i++) {
            m[i] = (byte) (mac >>> (8 * (5 - i)));
        }
        this.vduse = new VduseDevice(device, m, queueSize, offered, slots, () -> removeStale(device));
        attach(vduse);
        vduse.start();
        if (attach != Attach.NONE) {
            try (VdpaNetlink nl = new VdpaNetlink()) {
                nl.add(device);
                onBus = true;
                bind(device, attach.driver);
                if (irqCpumask != 0) {
                    irqAffinity(device, irqCpumask);
                }
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }
        LOG.log(
                INFO,
                "{0}: VDUSE device {1} created{2}",
                name,
                device,
                attach == Attach.NONE ? "" : ", bound to " + attach.driver);
    }

    /** Binds vDPA device {@code dev} to {@code driver} unless it is bound to it already (sysfs). */
    static void bind(String dev, String driver) {
        Path d = Path.of("/sys/bus/vdpa/devices", dev);
        try {
            Path link = d.resolve("driver");
            if (Files.isSymbolicLink(link)) {
                String now = Files.readSymbolicLink(link).getFileName().toString();
                if (now.equals(driver)) {
                    return;
                }
                Files.writeString(link.resolve("unbind"), dev);
            }
            Files.writeString(d.resolve("driver_override"), driver);
            Files.writeString(Path.of("/sys/bus/vdpa/drivers", driver, "bind"), dev);
        } catch (IOException e) {
            throw new IllegalStateException(
                    "cannot bind vDPA device " + dev + " to " + driver + " (is the module loaded?): " + e, e);
        }
    }

    /**
     * Where the kernel runs each vring's interrupt work (VDUSE_VQ_INJECT_IRQ queues it on a CPU of
     * the vring's {@code irq_cb_affinity}, the driver's affinity hint by default, taken in turn):
     * the mask written to {@code /sys/class/vduse/DEV/vqN/irq_cb_affinity}, so that work stays off
     * the CPUs panda's pollers spin on.
     */
    static void irqAffinity(String dev, long cpumask) {
        for (int vq = 0; vq < VduseDevice.VQS; vq++) {
            Path f = Path.of("/sys/class/vduse", dev, "vq" + vq, "irq_cb_affinity");
            try {
                Files.writeString(f, Long.toHexString(cpumask));
            } catch (IOException e) {
                throw new IllegalStateException("cannot set " + f + " to " + Long.toHexString(cpumask) + ": " + e, e);
            }
        }
    }

    /** A device of this name left by a panda that ended: off the bus, its requests answered meanwhile. */
    private static void removeStale(String dev) {
        VduseDevice.serveStale(dev, () -> {
            try (VdpaNetlink nl = new VdpaNetlink()) {
                nl.delete(dev);
            }
        });
    }

    /** Sets VIRTIO_NET_S_LINK_UP in the config space and raises the config interrupt. */
    void linkState(boolean up) {
        vduse.setLink(up);
    }

    /** The VDUSE device's name (/dev/vduse/NAME, /sys/bus/vdpa/devices/NAME). */
    String device() {
        return device;
    }

    int deviceStatus() {
        return vduse.status();
    }

    long negotiatedFeatures() {
        return vduse.negotiatedFeatures();
    }

    /** Requests on the channel, and those that were malformed or unknown (answered FAILED). */
    long requests() {
        return vduse.requests();
    }

    long badRequests() {
        return vduse.badRequests();
    }

    /** Drivers refused at FEATURES_OK (without VIRTIO_F_ACCESS_PLATFORM or VERSION_1). */
    long refusedDrivers() {
        return vduse.refusedDrivers();
    }

    /** Resets (status 0) the drivers asked for. */
    /** Interrupts injected for vring {@code vring} (0: the driver's rx, 1: its tx). */
    long interrupts(int vring) {
        return vduse.interrupts(vring);
    }

    long resets() {
        return vduse.resets();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        vduse.setLink(false);
        if (onBus) {
            try (VdpaNetlink nl = new VdpaNetlink()) {
                nl.delete(device);
            } catch (RuntimeException e) {
                LOG.log(WARNING, "{0}: vdpa dev del {1}: {2}", name(), device, e.getMessage());
            }
            onBus = false;
        }
        super.close();
    }
}
