/**
 * pmd-vfio: VFIO container/group/device handling, BAR mapping, IOMMU DMA mapping of the packet
 * pool, and the virtio-pci (modern) PMD {@code net_virtio_pci} on pmd-virtio's driver-side
 * virtqueues. See the module README.
 */
package dev.panda.pmd.vfio;
