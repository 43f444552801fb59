package dev.panda.pmd.virtio.vhost;

import dev.panda.jextract.Fd;
import dev.panda.pmd.virtio.ring.DeviceQueue;
import dev.panda.pmd.virtio.ring.PackedDeviceQueue;

/**
 * What the front-end told the control thread about one vring (SET_VRING_NUM, _ADDR, _BASE,
 * _KICK, _CALL, _ENABLE), and the {@link DeviceQueue} built from it once complete. Control thread
 * only; the poller sees a vring only through its {@link VringSlot}.
 */
final class Vring {

    final int index;
    int num;
    boolean addrSet;
    long descAddr;
    long availAddr;
    long usedAddr;
    /** SET_VRING_ADDR's VHOST_VRING_F_LOG and log_guest_addr: where used ring writes are logged. */
    boolean logUsed;

    long logAddr;
    /**
     * Where the queue (re)starts (SET_VRING_BASE, or where the last queue stopped): the next avail
     * index for a split ring; for a packed ring the next avail slot with its wrap counter in bits
     * 0-15 and the next used slot with its wrap counter in bits 16-31 (as QEMU sends and reads it).
     */
    int base;
    /** SET_VRING_BASE seen, or a queue stopped: {@link #base} holds a position (else a fresh ring's). */
    boolean baseSet;
    /** SET_VRING_KICK seen and no GET_VRING_BASE since: the ring is started. */
    boolean started;

    Fd kick;
    Fd call;
    /** SET_VRING_ENABLE; matters only once VHOST_USER_F_PROTOCOL_FEATURES is negotiated. */
    boolean enabled;
    /** Built from the fields above when they are complete; null after any of them changed. */
    DeviceQueue queue;
    /** The same for a packed ring (VIRTIO_F_RING_PACKED negotiated); at most one of the two is set. */
    PackedDeviceQueue packed;

    Vring(int index) {
        this.index = index;
    }

    /** Forgets the built queue, keeping where it stopped in the available ring. */
    void dropQueue() {
        if (queue != null) {
            base = queue.lastAvailIdx();
            baseSet = true;
            queue = null;
        }
        if (packed != null) {
            base = packed.vringBase();
            baseSet = true;
            packed = null;
        }
    }

    /** Back to the state of a fresh connection: descriptors closed, nothing configured. */
    void reset() {
        queue = null;
        packed = null;
        num = 0;
        addrSet = false;
        logUsed = false;
        base = 0;
        baseSet = false;
        started = false;
        enabled = false;
        kick = close(kick);
        call = close(call);
    }

    static Fd close(Fd fd) {
        if (fd != null && fd.isOpen()) {
            try {
                fd.close();
            } catch (RuntimeException ignored) {
                // released either way
            }
        }
        return null;
    }
}
