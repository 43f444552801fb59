/**
 * The {@code net_virtio_user} port: panda as the virtio driver of a device behind a
 * {@link dev.panda.pmd.virtio.virtiouser.VhostTransport}: a vhost-user back-end it connects to
 * (client mode) or that connects to it ({@code server=1}), as DPDK's virtio-user; the kernel's
 * vhost-net with a TAP ({@code path=/dev/vhost-net}); or a vDPA device through vhost-vdpa
 * ({@code path=/dev/vhost-vdpa-N}). The packet pool's memfd and a memfd holding the split
 * virtqueues are offered to the device (SET_MEM_TABLE at guest address = user address, or
 * IOTLB updates at IOVAs), so descriptors point straight at pool buffers: zero copy both ways.
 * {@link dev.panda.pmd.virtio.virtiouser.VhostUserClient} speaks the control socket and
 * {@link dev.panda.pmd.virtio.virtiouser.VirtioUserSession} holds the port's control half (its
 * {@code Device}: rings, attach, detach, queue creation, quiesce) and owns the connection (and gets
 * a new one when the back-end goes away); {@link dev.panda.pmd.virtio.virtiouser.VhostNetTransport}
 * and {@link dev.panda.pmd.virtio.virtiouser.VhostVdpaTransport} speak the kernel's ioctls, set up
 * once by {@link dev.panda.pmd.virtio.virtiouser.KernelControl};
 * {@link dev.panda.pmd.virtio.virtiouser.VirtioUserPort} moves packets through
 * {@link dev.panda.pmd.virtio.ring.VirtioNetDriver} (the queue pairs net_virtio_pci runs too)
 * whichever it is.
 */
package dev.panda.pmd.virtio.virtiouser;
