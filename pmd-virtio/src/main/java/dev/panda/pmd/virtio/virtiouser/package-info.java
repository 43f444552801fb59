/**
 * The {@code net_virtio_user} port: panda as the virtio driver (front-end) of a vhost-user
 * back-end it connects to (client mode) or that connects to it ({@code server=1}), as DPDK's
 * virtio-user. The packet pool's memfd and a
 * memfd holding the split virtqueues are offered with SET_MEM_TABLE (guest address = user
 * address = panda's own mapping address), so descriptors point straight at pool buffers: zero
 * copy both ways. {@link dev.panda.pmd.virtio.virtiouser.VhostUserClient} speaks the control
 * socket, {@link dev.panda.pmd.virtio.virtiouser.VirtioUserSession} owns the connection (and
 * gets a new one when the back-end goes away), {@link dev.panda.pmd.virtio.virtiouser.VirtioUserPort}
 * moves packets on {@link dev.panda.pmd.virtio.ring.DriverQueue}s.
 */
package dev.panda.pmd.virtio.virtiouser;
