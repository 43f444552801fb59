/**
 * Split virtqueues (virtio 1.2 §2.7) on both sides: {@link dev.panda.pmd.virtio.ring.DeviceQueue}
 * (what a vhost-user backend does; walks untrusted descriptor chains through
 * {@link dev.panda.pmd.virtio.ring.GuestMemory}) and {@link dev.panda.pmd.virtio.ring.DriverQueue}
 * (what virtio-user or a virtio-pci PMD does), with the layouts in
 * {@link dev.panda.pmd.virtio.ring.SplitRing}. No allocation per buffer; each queue has one poller.
 */
package dev.panda.pmd.virtio.ring;
