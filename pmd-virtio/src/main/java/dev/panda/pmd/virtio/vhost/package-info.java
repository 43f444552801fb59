/**
 * The {@code net_vhost} port: panda as a vhost-user back-end (device side) in server mode.
 * {@link dev.panda.pmd.virtio.vhost.VhostBackend} is the control thread that speaks the
 * socket protocol and publishes ready vrings; {@link dev.panda.pmd.virtio.vhost.VhostPort} moves
 * packets on them from the poller threads; {@link dev.panda.pmd.virtio.vhost.VringSlot} is the
 * hand-over between the two. The device half shared with {@code net_vduse}:
 * {@link dev.panda.pmd.virtio.vhost.VirtioDevicePort} (the pollers) and
 * {@link dev.panda.pmd.virtio.vhost.VringHandOff} (the vring lifecycle a control thread runs).
 */
package dev.panda.pmd.virtio.vhost;
