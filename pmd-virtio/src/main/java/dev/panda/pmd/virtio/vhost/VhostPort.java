package dev.panda.pmd.virtio.vhost;

import dev.panda.dataplane.mem.PacketPool;
import java.nio.file.Path;

/**
 * {@code net_vhost}: panda as the vhost-user back-end of a VM or a virtio-user process. The
 * vrings come and go with the front-end ({@link VhostBackend}); packets move in
 * {@link VirtioDevicePort}.
 */
final class VhostPort extends VirtioDevicePort {

    private final VhostBackend backend;

    VhostPort(String name, PacketPool pool, int portId, int queues, Path iface) {
        this(name, pool, portId, queues, iface, false, 0);
    }

    /**
     * {@code client}: dial the front-end's socket (reconnecting) rather than listen;
     * {@code withheld}: feature bits not to offer (the mrg_rxbuf=0, event_idx=0, indirect=0 devargs).
     */
    VhostPort(String name, PacketPool pool, int portId, int queues, Path iface, boolean client, long withheld) {
        super(name, VhostPortDriver.NAME, pool, portId, queues, 0x02_70_6e_00_76_00L | (portId & 0xff));
        this.backend = new VhostBackend(name, iface, client, queues, slots, withheld);
        attach(backend);
        backend.start();
    }

    /** The virtio device status the connected front-end set (SET_STATUS; 0 if it never did). */
    long deviceStatus() {
        return backend.status();
    }

    /** The features the connected front-end accepted (0 when none is connected). */
    long negotiatedFeatures() {
        return backend.negotiatedFeatures();
    }

    /** Unknown or refused front-end requests, counted by the control thread. */
    long protocolErrors() {
        return backend.protocolErrors();
    }
}
