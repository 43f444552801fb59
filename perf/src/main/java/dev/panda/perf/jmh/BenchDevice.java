package dev.panda.perf.jmh;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.pmd.virtio.ring.DeviceQueue;
import dev.panda.pmd.virtio.ring.PackedDeviceQueue;
import dev.panda.pmd.virtio.vhost.VirtioDevicePort;
import dev.panda.pmd.virtio.vhost.VringSlot;

/**
 * A device-side port (net_vhost's and net_vduse's {@link VirtioDevicePort}) with no control
 * side: one queue pair whose vrings a benchmark publishes by hand, as VduseDevice does at
 * DRIVER_OK; the driver polls (no interrupt), a guest-memory fault is rethrown.
 */
final class BenchDevice extends VirtioDevicePort {

    BenchDevice(String name, String driver, PacketPool pool, long mac) {
        super(name, driver, pool, 0, 1, mac);
        attach(new Backend() {
            @Override
            public void fault(InternalError e) {
                throw e;
            }

            @Override
            public boolean ready() {
                return true;
            }

            @Override
            public void close() {}
        });
    }

    /** Runs split queue {@code q} as vring {@code vring}, with the writer {@code features} choose. */
    void publish(int vring, DeviceQueue q, long features) {
        q.disableKicks();
        slots[vring].publish(VringSlot.Live.of(q, vring, null, features));
    }

    /** The same for a packed queue. */
    void publish(int vring, PackedDeviceQueue q, long features) {
        q.disableKicks();
        slots[vring].publish(VringSlot.Live.of(q, vring, null, features));
    }
}
