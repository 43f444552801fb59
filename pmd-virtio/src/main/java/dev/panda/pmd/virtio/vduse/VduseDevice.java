package dev.panda.pmd.virtio.vduse;

import static java.lang.System.Logger.Level.DEBUG;
import static java.lang.System.Logger.Level.ERROR;
import static java.lang.System.Logger.Level.INFO;
import static java.lang.System.Logger.Level.WARNING;

import dev.panda.jextract.Fd;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.Posix;
import dev.panda.pmd.virtio.ring.DeviceQueue;
import dev.panda.pmd.virtio.ring.VirtioFeatures;
import dev.panda.pmd.virtio.vhost.VirtioDevicePort;
import dev.panda.pmd.virtio.vhost.VringHandOff;
import dev.panda.pmd.virtio.vhost.VringSlot;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A VDUSE virtio-net device and its control thread (Documentation/userspace-api/vduse.rst): creates
 * the device ({@code /dev/vduse/control}: VDUSE_CREATE_DEV with {@link #OFFERED}, one queue pair,
 * the MAC and link status in the config space), sets up its two vrings (VDUSE_VQ_SETUP, a kick
 * eventfd each), then serves the request channel on {@code /dev/vduse/NAME}: SET_STATUS (FEATURES_OK
 * checks the driver's features; DRIVER_OK maps the IOTLB, builds the {@link DeviceQueue}s from
 * VDUSE_VQ_GET_INFO and publishes them to the pollers; 0 resets: every vring taken back, every
 * mapping dropped), GET_VQ_STATE (where a vring stopped) and UPDATE_IOTLB (the vrings taken back,
 * the IOTLB mapped again, the vrings republished). A request it cannot use is counted and answered
 * VDUSE_REQ_RESULT_FAILED; the channel goes on.
 *
 * <p>The IOTLB of a device driven by the kernel's own virtio_net (virtio_vdpa) is the VDUSE domain:
 * coherent allocations (the rings) are there when DRIVER_OK comes, but the bounce buffers at IOVA 0
 * appear only with the driver's first DMA mapping, without a request: while they are missing the
 * control thread probes for them every {@link #PROBE_MILLIS} ms and republishes when they come.
 */
final class VduseDevice implements Runnable, VirtioDevicePort.Backend {

    private static final System.Logger LOG = System.getLogger(VduseDevice.class.getName());

    static final long F_VERSION_1 = VirtioFeatures.bit(VirtioFeatures.F_VERSION_1);
    static final long F_ACCESS_PLATFORM = VirtioFeatures.bit(VirtioFeatures.F_ACCESS_PLATFORM);
    static final long F_NET_MAC = VirtioFeatures.bit(VirtioFeatures.F_MAC);
    static final long F_NET_STATUS = VirtioFeatures.bit(VirtioFeatures.F_STATUS);
    static final long F_EVENT_IDX = VirtioFeatures.bit(VirtioFeatures.F_EVENT_IDX);
    static final long F_MRG_RXBUF = VirtioFeatures.bit(VirtioFeatures.F_MRG_RXBUF);
    /**
     * What the device always offers: VERSION_1, ACCESS_PLATFORM, the MAC and the link status (the
     * kernel refuses a VDUSE net device with VIRTIO_NET_F_CTRL_VQ, so one queue pair).
     */
    static final long BASE = F_VERSION_1 | F_ACCESS_PLATFORM | F_NET_MAC | F_NET_STATUS;
    /** The default offer: {@link #BASE} with EVENT_IDX (interrupt and kick suppression) and MRG_RXBUF. */
    static final long OFFERED = BASE | F_EVENT_IDX | F_MRG_RXBUF;
    /** What a driver must accept: panda's buffers are reached only through the IOTLB. */
    static final long REQUIRED = F_VERSION_1 | F_ACCESS_PLATFORM;
    /** virtio 1.2 §2.1 device status bits. */
    static final int S_FEATURES_OK = 8;

    static final int S_DRIVER_OK = 4;
    /** virtio 1.2 §5.1.4: VIRTIO_NET_S_LINK_UP in the config space's status. */
    static final int NET_S_LINK_UP = 1;
    /** VIRTIO_ID_NET. */
    static final int DEVICE_ID_NET = 1;
    /** Bytes of config space: mac[6], status (u16), max_virtqueue_pairs (u16). */
    static final int CONFIG_BYTES = 10;

    static final int VQS = 2;
    static final int PROBE_MILLIS = 10;

    private final String name;
    private final byte[] mac;
    private final VringHandOff handOff;
    private final Fd control;
    private final Fd dev;
    private final Fd[] kicks = new Fd[VQS];
    private final Vduse.Irq[] irqs = new Vduse.Irq[VQS];
    private final Thread thread;
    private final AtomicBoolean faulted = new AtomicBoolean();
    private volatile boolean closing;

    // control thread only
    private final Arena arena = Arena.ofShared();
    private final MemorySegment request = arena.allocate(VduseRequest.BYTES, 8);
    private final MemorySegment response = arena.allocate(VduseRequest.BYTES, 8);
    private IotlbMemory memory;
    private final DeviceQueue[] queues = new DeviceQueue[VQS];
    private final int[] lastAvail = new int[VQS];
    private volatile long features;
    /** What this device offered at CREATE_DEV ({@link #BASE} plus the devargs' choices). */
    private final long offered;

    private volatile int status;
    private volatile long requests;
    private volatile long badRequests;
    private volatile long refusedDrivers;
    private volatile long resets;

    /**
     * Creates the device (a device of that name left by a previous panda is destroyed first) and
     * starts its control thread; the caller then adds it to the vDPA bus.
     */
    VduseDevice(String name, byte[] mac, int queueSize, long offered, VringSlot[] slots, Runnable removeStale) {
        if ((offered & ~OFFERED) != 0 || (offered & BASE) != BASE) {
            throw new IllegalArgumentException("offered features 0x" + Long.toHexString(offered) + " outside 0x"
                    + Long.toHexString(BASE) + "..0x" + Long.toHexString(OFFERED));
        }
        this.name = name;
        this.offered = offered;
        this.mac = mac.clone();
        this.handOff = new VringHandOff(name, slots);
        this.control = Vduse.openControl();
        Fd d = null;
        try {
            byte[] config = config(mac, true);
            try {
                Vduse.create(control, name, DEVICE_ID_NET, offered, VQS, config);
            } catch (NativeException e) {
                if (e.errno() != Vduse.EEXIST) {
                    throw e;
                }
                // a panda that died (SIGKILL) left its device on the bus: remove it and start afresh
                LOG.log(
                        WARNING,
                        "{0}: a VDUSE device of that name exists (left by a process that ended); recreating it",
                        name);
                removeStale.run();
                Vduse.destroy(control, name);
                Vduse.create(control, name, DEVICE_ID_NET, offered, VQS, config);
            }
            d = Vduse.openDevice(name);
            for (int i = 0; i < VQS; i++) {
                Vduse.vqSetup(d, i, queueSize);
                kicks[i] = Posix.eventfd(0, Posix.EFD_NONBLOCK | Posix.EFD_CLOEXEC);
                Vduse.setKickFd(d, i, kicks[i].value());
                irqs[i] = new Vduse.Irq(d, i);
            }
        } catch (RuntimeException e) {
            if (d != null) {
                d.close();
            }
            for (Fd k : kicks) {
                if (k != null) {
                    k.close();
                }
            }
            try {
                Vduse.destroy(control, name);
            } catch (RuntimeException ignored) {
                // never created
            }
            control.close();
            arena.close();
            throw e;
        }
        this.dev = d;
        this.thread = Thread.ofPlatform().daemon().name("vduse-" + name).unstarted(this);
    }

    void start() {
        thread.start();
    }

    /**
     * Runs {@code action} (removing the device from the bus) while answering every request of
     * device {@code name}, left by a process that ended: the driver's reset on removal then
     * completes at once instead of waiting out the kernel's message time-out for each request.
     */
    static void serveStale(String name, Runnable action) {
        Fd fd;
        try {
            fd = Vduse.openDevice(name);
        } catch (NativeException e) {
            LOG.log(
                    WARNING,
                    "{0}: cannot open the device left behind ({1}); its requests will time out",
                    name,
                    e.getMessage());
            action.run();
            return;
        }
        AtomicBoolean stop = new AtomicBoolean();
        Thread t = Thread.ofPlatform().daemon().name("vduse-stale-" + name).start(() -> {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment req = a.allocate(VduseRequest.BYTES, 8);
                MemorySegment resp = a.allocate(VduseRequest.BYTES, 8);
                while (!stop.get()) {
                    if (!Vduse.pollIn(fd, 20)) {
                        continue;
                    }
                    VduseRequest r = VduseRequest.decode(req, Vduse.read(fd, req, VduseRequest.BYTES), VQS);
                    if (r.id() >= 0) {
                        int vq = r instanceof VduseRequest.GetVqState g ? g.index() : 0;
                        VduseRequest.respond(resp, r.id(), VduseRequest.RESULT_OK, vq, 0);
                        Vduse.write(fd, resp, VduseRequest.BYTES);
                    }
                }
            } catch (RuntimeException e) {
                LOG.log(WARNING, "{0}: answering the old device''s requests: {1}", name, e.toString());
            }
        });
        try {
            action.run();
        } finally {
            stop.set(true);
            try {
                t.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            fd.close();
        }
    }

    /** The config space: mac, status (LINK_UP or 0), max_virtqueue_pairs 1. */
    static byte[] config(byte[] mac, boolean up) {
        byte[] c = new byte[CONFIG_BYTES];
        System.arraycopy(mac, 0, c, 0, 6);
        c[6] = (byte) (up ? NET_S_LINK_UP : 0);
        c[8] = 1;
        return c;
    }

    @Override
    public void run() {
        try {
            while (!closing) {
                boolean readable;
                try {
                    readable = Vduse.pollIn(dev, memory != null && !bounceMapped() ? PROBE_MILLIS : 200);
                } catch (NativeException e) {
                    LOG.log(ERROR, "{0}: poll on the request channel failed: {1}", name, e.getMessage());
                    return;
                }
                if (readable) {
                    serveOne();
                } else if (memory != null && !bounceMapped()) {
                    probeBounce();
                }
            }
        } finally {
            reset();
        }
    }

    private void serveOne() {
        long n;
        try {
            n = Vduse.read(dev, request, VduseRequest.BYTES);
        } catch (NativeException e) {
            LOG.log(WARNING, "{0}: read on the request channel: {1}", name, e.getMessage());
            badRequests++;
            return;
        }
        requests++;
        VduseRequest r = VduseRequest.decode(request, n, VQS);
        LOG.log(DEBUG, "{0}: {1}", name, r);
        int result = VduseRequest.RESULT_OK;
        int vq = 0;
        int avail = 0;
        switch (r) {
            case VduseRequest.SetStatus s -> result = setStatus(s.status());
            case VduseRequest.GetVqState g -> {
                vq = g.index();
                avail = vqState(vq);
            }
            case VduseRequest.UpdateIotlb u -> result = updateIotlb(u.start(), u.last());
            case VduseRequest.Invalid bad -> {
                badRequests++;
                LOG.log(WARNING, "{0}: bad request on the channel: {1}", name, bad.why());
                if (bad.id() < 0) {
                    return; // nothing to answer
                }
                result = VduseRequest.RESULT_FAILED;
            }
        }
        VduseRequest.respond(response, r.id(), result, vq, avail);
        try {
            Vduse.write(dev, response, VduseRequest.BYTES);
        } catch (NativeException e) {
            LOG.log(WARNING, "{0}: answer to {1} not taken: {2}", name, r, e.getMessage());
        }
    }

    /** SET_STATUS (virtio 1.2 §3.1.1): features checked at FEATURES_OK, vrings started at DRIVER_OK. */
    private int setStatus(int s) {
        if (s == 0) {
            reset();
            resets++;
            status = 0;
            LOG.log(INFO, "{0}: reset by the driver", name);
            return VduseRequest.RESULT_OK;
        }
        if ((s & S_FEATURES_OK) != 0 && (status & S_FEATURES_OK) == 0) {
            long f = Vduse.features(dev);
            String why = refusal(f, offered);
            if (why != null) {
                refusedDrivers++;
                LOG.log(WARNING, "{0}: driver refused: {1}", name, why);
                return VduseRequest.RESULT_FAILED; // FEATURES_OK is not set: the driver reads the refusal back
            }
            features = f;
        }
        if ((s & S_DRIVER_OK) != 0 && (status & S_DRIVER_OK) == 0) {
            status = s;
            try {
                startQueues();
            } catch (RuntimeException e) {
                LOG.log(ERROR, "{0}: vrings not started: {1}", name, e.getMessage());
                reset();
                status = 0;
                return VduseRequest.RESULT_FAILED;
            }
            LOG.log(INFO, "{0}: driver ready, features 0x{1}, {2}", name, Long.toHexString(features), memory);
            return VduseRequest.RESULT_OK;
        }
        status = s;
        return VduseRequest.RESULT_OK;
    }

    /**
     * Why a driver that accepted {@code features} cannot drive this device, or null. The kernel does
     * not insist on VIRTIO_F_ACCESS_PLATFORM; panda does: without it the driver would hand over
     * physical addresses, which mean nothing here.
     */
    static String refusal(long features, long offered) {
        if ((features & F_ACCESS_PLATFORM) == 0) {
            return "features 0x" + Long.toHexString(features) + " lack VIRTIO_F_ACCESS_PLATFORM";
        }
        if ((features & F_VERSION_1) == 0) {
            return "features 0x" + Long.toHexString(features) + " lack VIRTIO_F_VERSION_1";
        }
        if ((features & ~offered) != 0) {
            return "features 0x" + Long.toHexString(features) + " beyond the offered 0x" + Long.toHexString(offered);
        }
        return null;
    }

    private void startQueues() {
        remap();
        for (int i = 0; i < VQS; i++) {
            lastAvail[i] = -1;
        }
        publishAll();
    }

    /** GET_VQ_STATE: the next avail index vring {@code i} would consume. */
    private int vqState(int i) {
        takeBack(i);
        int idx = queues[i] != null ? queues[i].lastAvailIdx() : Math.max(0, lastAvail[i]);
        publish(i);
        return idx;
    }

    private int updateIotlb(long start, long last) {
        if (memory == null) {
            return VduseRequest.RESULT_OK; // nothing mapped yet: DRIVER_OK reads the whole IOTLB
        }
        takeBackAll();
        try {
            remap();
        } catch (RuntimeException e) {
            LOG.log(
                    ERROR,
                    "{0}: IOTLB update [0x{1}, 0x{2}] failed: {3}",
                    name,
                    Long.toHexString(start),
                    Long.toHexString(last),
                    e.getMessage());
            return VduseRequest.RESULT_FAILED;
        }
        publishAll();
        return VduseRequest.RESULT_OK;
    }

    private boolean bounceMapped() {
        return memory != null && memory.find(0, 0) >= 0;
    }

    /** The bounce buffers at IOVA 0 appear with the driver's first DMA mapping: map them when they do. */
    private void probeBounce() {
        Vduse.IotlbFd e = Vduse.iotlbFd(dev, 0, 0);
        if (e == null) {
            return;
        }
        e.fd().close();
        takeBackAll();
        remap();
        publishAll();
        LOG.log(INFO, "{0}: bounce buffers mapped, {1}", name, memory);
    }

    /** Reads the whole IOTLB again (VDUSE_IOTLB_GET_FD from IOVA 0 up) and maps it; the old mappings go. */
    private void remap() {
        for (int i = 0; i < VQS; i++) {
            if (queues[i] != null) {
                lastAvail[i] = queues[i].lastAvailIdx();
                queues[i] = null;
            }
        }
        List<IotlbMemory.Range> ranges = new ArrayList<>();
        try {
            long start = 0;
            while (true) {
                Vduse.IotlbFd e = Vduse.iotlbFd(dev, start, -1L);
                if (e == null) {
                    break;
                }
                try {
                    long size = e.last() - e.start() + 1;
                    boolean writable = (e.perm() & 2) != 0;
                    int prot = Posix.PROT_READ | (writable ? Posix.PROT_WRITE : 0);
                    MemorySegment m = Posix.mmap(size, prot, Posix.MAP_SHARED, e.fd(), e.offset());
                    ranges.add(new IotlbMemory.Range(e.start(), e.last(), m, writable));
                } finally {
                    e.fd().close();
                }
                if (e.last() == -1L) {
                    break;
                }
                start = e.last() + 1;
            }
        } catch (RuntimeException e) {
            unmap(ranges);
            throw e;
        }
        IotlbMemory old = memory;
        memory = new IotlbMemory(ranges);
        if (old != null) {
            unmap(old.ranges());
        }
    }

    private void unmap(List<IotlbMemory.Range> ranges) {
        if (handOff.stuck()) {
            LOG.log(
                    ERROR,
                    "{0}: leaving {1} IOTLB mappings in place (a poller may still use them)",
                    name,
                    ranges.size());
            return;
        }
        for (IotlbMemory.Range r : ranges) {
            Posix.munmap(r.mapping());
        }
    }

    private void publishAll() {
        for (int i = 0; i < VQS; i++) {
            publish(i);
        }
    }

    /** Builds vring {@code i}'s queue from VDUSE_VQ_GET_INFO if needed and hands it to its poller. */
    private void publish(int i) {
        if (memory == null || (status & S_DRIVER_OK) == 0) {
            return;
        }
        if (queues[i] == null) {
            Vduse.VqInfo info = Vduse.vqInfo(dev, i);
            if (!info.ready() || info.num() == 0) {
                return;
            }
            int base = lastAvail[i] >= 0 ? lastAvail[i] : info.availIndex();
            try {
                queues[i] = DeviceQueue.at(
                        name + ":vq" + i,
                        memory,
                        info.num(),
                        info.desc(),
                        info.driver(),
                        info.device(),
                        features,
                        base);
            } catch (IllegalArgumentException e) {
                LOG.log(WARNING, "{0}: vring {1} not started yet: {2}", name, i, e.getMessage());
                return;
            }
            queues[i].disableKicks(); // the poller busy-polls
            handOff.newQueue(i);
        }
        handOff.publish(i, VringSlot.Live.of(queues[i], i, irqs[i], features));
    }

    private void takeBack(int i) {
        handOff.takeBack(i);
    }

    private void takeBackAll() {
        handOff.takeBackAll();
    }

    /** A reset (status 0, a fault, the end): every vring back from its poller, every mapping dropped. */
    private void reset() {
        takeBackAll();
        for (int i = 0; i < VQS; i++) {
            queues[i] = null;
            lastAvail[i] = -1;
        }
        if (memory != null) {
            unmap(memory.ranges());
            memory = null;
        }
        features = 0;
    }

    @Override
    public void fault(InternalError e) {
        if (faulted.compareAndSet(false, true)) {
            LOG.log(ERROR, "{0}: the driver''s memory faulted under the poller ({1})", name, e.toString());
        }
    }

    @Override
    public boolean ready() {
        return handOff.ready();
    }

    /** VDUSE_DEV_SET_CONFIG of the link status, and the config interrupt that tells the driver. */
    void setLink(boolean up) {
        try {
            Vduse.setConfig(dev, 6, new byte[] {(byte) (up ? NET_S_LINK_UP : 0), 0});
            Vduse.injectConfigIrq(dev);
        } catch (NativeException e) {
            LOG.log(WARNING, "{0}: link {1} not told to the driver: {2}", name, up ? "up" : "down", e.getMessage());
        }
    }

    int status() {
        return status;
    }

    long negotiatedFeatures() {
        return features;
    }

    long requests() {
        return requests;
    }

    long badRequests() {
        return badRequests;
    }

    long refusedDrivers() {
        return refusedDrivers;
    }

    /** Interrupts injected for vring {@code i} (VDUSE_VQ_INJECT_IRQ). */
    long interrupts(int i) {
        Vduse.Irq q = irqs[i];
        return q == null ? 0 : q.injected();
    }

    long resets() {
        return resets;
    }

    /** Stops the control thread, then closes the device fd and destroys the device. */
    @Override
    public void close() {
        closing = true;
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            LOG.log(ERROR, "{0}: control thread did not stop", name);
            return;
        }
        dev.close();
        for (Fd k : kicks) {
            k.close();
        }
        try {
            Vduse.destroy(control, name);
        } catch (NativeException e) {
            LOG.log(WARNING, "{0}: VDUSE_DESTROY_DEV: {1}", name, e.getMessage());
        }
        control.close();
        arena.close();
    }
}
