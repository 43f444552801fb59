package dev.panda.jextract;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.libc.cmsghdr;
import dev.panda.jextract.libc.cpu_set_t;
import dev.panda.jextract.libc.epoll_event;
import dev.panda.jextract.libc.ifreq;
import dev.panda.jextract.libc.msghdr;
import dev.panda.jextract.libc.pollfd;
import dev.panda.jextract.libc.sockaddr_un;
import dev.panda.jextract.uapi.Uapi;
import dev.panda.jextract.uapi.ethhdr;
import dev.panda.jextract.uapi.sockaddr_ll;
import dev.panda.jextract.uapi.sockaddr_xdp;
import dev.panda.jextract.uapi.tpacket2_hdr;
import dev.panda.jextract.uapi.vfio_iommu_type1_dma_map;
import dev.panda.jextract.uapi.vfio_region_info;
import dev.panda.jextract.uapi.vhost_memory;
import dev.panda.jextract.uapi.vhost_memory_region;
import dev.panda.jextract.uapi.vhost_vring_addr;
import dev.panda.jextract.uapi.vhost_vring_state;
import dev.panda.jextract.uapi.virtio_net_hdr;
import dev.panda.jextract.uapi.virtio_net_hdr_mrg_rxbuf;
import dev.panda.jextract.uapi.virtio_pci_cap;
import dev.panda.jextract.uapi.virtio_pci_common_cfg;
import dev.panda.jextract.uapi.virtio_pci_notify_cap;
import dev.panda.jextract.uapi.vring_avail;
import dev.panda.jextract.uapi.vring_desc;
import dev.panda.jextract.uapi.vring_packed_desc;
import dev.panda.jextract.uapi.vring_used;
import dev.panda.jextract.uapi.vring_used_elem;
import dev.panda.jextract.uapi.xdp_desc;
import dev.panda.jextract.uapi.xdp_mmap_offsets;
import dev.panda.jextract.uapi.xdp_ring_offset;
import dev.panda.jextract.uapi.xdp_statistics;
import dev.panda.jextract.uapi.xdp_umem_reg;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import org.junit.jupiter.api.Test;

/** The generated layouts against the sizes and offsets the specs and the x86-64 ABI give. */
class GeneratedLayoutTest {

    /** virtio 1.2 §2.7.5 (split virtqueue descriptor table), §2.7.6 (available ring), §2.7.8 (used ring). */
    @Test
    void splitVirtqueue() {
        assertLayout(vring_desc.layout(), 16, "addr", 0, "len", 8, "flags", 12, "next", 14);
        assertLayout(vring_avail.layout(), 4, "flags", 0, "idx", 2, "ring", 4);
        assertLayout(vring_used_elem.layout(), 8, "id", 0, "len", 4);
        assertLayout(vring_used.layout(), 4, "flags", 0, "idx", 2, "ring", 4);
        assertEquals(1, Uapi.VRING_DESC_F_NEXT());
        assertEquals(2, Uapi.VRING_DESC_F_WRITE());
        assertEquals(4, Uapi.VRING_DESC_F_INDIRECT());
        assertEquals(1, Uapi.VRING_USED_F_NO_NOTIFY());
        assertEquals(1, Uapi.VRING_AVAIL_F_NO_INTERRUPT());
    }

    /** virtio 1.2 §2.8.13 (packed virtqueue descriptor). */
    @Test
    void packedVirtqueue() {
        assertLayout(vring_packed_desc.layout(), 16, "addr", 0, "len", 8, "id", 12, "flags", 14);
    }

    /** virtio 1.2 §5.1.6 (virtio_net_hdr; num_buffers with VIRTIO_NET_F_MRG_RXBUF or VERSION_1). */
    @Test
    void virtioNetHeader() {
        assertLayout(
                virtio_net_hdr.layout(),
                10,
                "flags",
                0,
                "gso_type",
                1,
                "hdr_len",
                2,
                "gso_size",
                4,
                "csum_start",
                6,
                "csum_offset",
                8);
        assertLayout(virtio_net_hdr_mrg_rxbuf.layout(), 12, "hdr", 0, "num_buffers", 10);
        assertEquals(32, Uapi.VIRTIO_F_VERSION_1());
        assertEquals(33, Uapi.VIRTIO_F_ACCESS_PLATFORM());
        assertEquals(34, Uapi.VIRTIO_F_RING_PACKED());
        assertEquals(15, Uapi.VIRTIO_NET_F_MRG_RXBUF());
        assertEquals(28, Uapi.VIRTIO_RING_F_INDIRECT_DESC());
        assertEquals(29, Uapi.VIRTIO_RING_F_EVENT_IDX());
    }

    /** virtio 1.2 §4.1.4 (virtio structure PCI capabilities), §4.1.4.3 (common configuration). */
    @Test
    void virtioPci() {
        assertLayout(
                virtio_pci_cap.layout(),
                16,
                "cap_vndr",
                0,
                "cap_next",
                1,
                "cap_len",
                2,
                "cfg_type",
                3,
                "bar",
                4,
                "offset",
                8,
                "length",
                12);
        assertLayout(virtio_pci_notify_cap.layout(), 20, "cap", 0, "notify_off_multiplier", 16);
        assertLayout(
                virtio_pci_common_cfg.layout(),
                56,
                "device_feature_select",
                0x00,
                "device_feature",
                0x04,
                "guest_feature_select",
                0x08,
                "guest_feature",
                0x0c,
                "msix_config",
                0x10,
                "num_queues",
                0x12,
                "device_status",
                0x14,
                "config_generation",
                0x15,
                "queue_select",
                0x16,
                "queue_size",
                0x18,
                "queue_msix_vector",
                0x1a,
                "queue_enable",
                0x1c,
                "queue_notify_off",
                0x1e,
                "queue_desc_lo",
                0x20,
                "queue_desc_hi",
                0x24,
                "queue_avail_lo",
                0x28,
                "queue_avail_hi",
                0x2c,
                "queue_used_lo",
                0x30,
                "queue_used_hi",
                0x34);
        assertEquals(1, Uapi.VIRTIO_PCI_CAP_COMMON_CFG());
        assertEquals(2, Uapi.VIRTIO_PCI_CAP_NOTIFY_CFG());
    }

    /** linux/vhost_types.h and linux/vhost.h: the ioctl numbers encode the struct sizes. */
    @Test
    void vhost() {
        assertLayout(vhost_vring_state.layout(), 8, "index", 0, "num", 4);
        assertLayout(
                vhost_vring_addr.layout(),
                40,
                "index",
                0,
                "flags",
                4,
                "desc_user_addr",
                8,
                "used_user_addr",
                16,
                "avail_user_addr",
                24,
                "log_guest_addr",
                32);
        assertLayout(
                vhost_memory_region.layout(),
                32,
                "guest_phys_addr",
                0,
                "memory_size",
                8,
                "userspace_addr",
                16,
                "flags_padding",
                24);
        assertLayout(vhost_memory.layout(), 8, "nregions", 0, "padding", 4, "regions", 8);
        assertEquals(0xAF01, Uapi.VHOST_SET_OWNER()); // _IO(0xAF, 0x01)
        assertEquals(0x4028AF11L, Uapi.VHOST_SET_VRING_ADDR()); // _IOW(0xAF, 0x11, 40 bytes)
        assertEquals(0x8008AF00L, Uapi.VHOST_GET_FEATURES()); // _IOR(0xAF, 0x00, __u64)
    }

    /** linux/vfio.h. */
    @Test
    void vfio() {
        assertLayout(
                vfio_region_info.layout(),
                32,
                "argsz",
                0,
                "flags",
                4,
                "index",
                8,
                "cap_offset",
                12,
                "size",
                16,
                "offset",
                24);
        assertLayout(vfio_iommu_type1_dma_map.layout(), 32, "argsz", 0, "flags", 4, "vaddr", 8, "iova", 16, "size", 24);
        assertEquals(0, Uapi.VFIO_API_VERSION());
        assertEquals(0x3B64, Uapi.VFIO_GET_API_VERSION()); // _IO(';', 100)
        assertEquals(0x3B71, Uapi.VFIO_IOMMU_MAP_DMA()); // _IO(';', 113)
        assertEquals(1, Uapi.VFIO_TYPE1_IOMMU());
    }

    /** linux/if_xdp.h (Linux 6.1 UAPI). */
    @Test
    void afXdp() {
        assertLayout(
                sockaddr_xdp.layout(),
                16,
                "sxdp_family",
                0,
                "sxdp_flags",
                2,
                "sxdp_ifindex",
                4,
                "sxdp_queue_id",
                8,
                "sxdp_shared_umem_fd",
                12);
        assertLayout(xdp_desc.layout(), 16, "addr", 0, "len", 8, "options", 12);
        assertLayout(xdp_ring_offset.layout(), 32, "producer", 0, "consumer", 8, "desc", 16, "flags", 24);
        assertLayout(xdp_mmap_offsets.layout(), 128, "rx", 0, "tx", 32, "fr", 64, "cr", 96);
        assertLayout(xdp_umem_reg.layout(), 32, "addr", 0, "len", 8, "chunk_size", 16, "headroom", 20, "flags", 24);
        assertLayout(
                xdp_statistics.layout(),
                48,
                "rx_dropped",
                0,
                "rx_invalid_descs",
                8,
                "tx_invalid_descs",
                16,
                "rx_ring_full",
                24,
                "rx_fill_ring_empty_descs",
                32,
                "tx_ring_empty_descs",
                40);
        assertEquals(0x100000000L, Uapi.XDP_UMEM_PGOFF_FILL_RING());
        assertEquals(0x180000000L, Uapi.XDP_UMEM_PGOFF_COMPLETION_RING());
        assertEquals(44, Libc.AF_XDP());
        assertEquals(283, Libc.SOL_XDP());
    }

    /** AF_PACKET, Ethernet and the libc structs the socket code fills in (x86-64 ABI). */
    @Test
    void socketsAndPackets() {
        assertLayout(
                sockaddr_ll.layout(),
                20,
                "sll_family",
                0,
                "sll_protocol",
                2,
                "sll_ifindex",
                4,
                "sll_hatype",
                8,
                "sll_pkttype",
                10,
                "sll_halen",
                11,
                "sll_addr",
                12);
        assertLayout(
                tpacket2_hdr.layout(),
                32,
                "tp_status",
                0,
                "tp_len",
                4,
                "tp_snaplen",
                8,
                "tp_mac",
                12,
                "tp_net",
                14,
                "tp_sec",
                16,
                "tp_nsec",
                20);
        assertLayout(ethhdr.layout(), 14, "h_dest", 0, "h_source", 6, "h_proto", 12);
        assertLayout(
                msghdr.layout(),
                56,
                "msg_name",
                0,
                "msg_namelen",
                8,
                "msg_iov",
                16,
                "msg_iovlen",
                24,
                "msg_control",
                32,
                "msg_controllen",
                40,
                "msg_flags",
                48);
        assertLayout(cmsghdr.layout(), 16, "cmsg_len", 0, "cmsg_level", 8, "cmsg_type", 12);
        assertLayout(sockaddr_un.layout(), 110, "sun_family", 0, "sun_path", 2);
        assertLayout(pollfd.layout(), 8, "fd", 0, "events", 4, "revents", 6);
        assertLayout(epoll_event.layout(), 12, "events", 0, "data", 4); // packed on x86-64
        assertLayout(ifreq.layout(), 40);
        assertLayout(cpu_set_t.layout(), 128);
        assertEquals(1, Libc.SCM_RIGHTS());
    }

    private static void assertLayout(GroupLayout layout, long size, Object... fieldOffsets) {
        assertEquals(size, layout.byteSize(), layout.name().orElse("?") + " size");
        for (int i = 0; i < fieldOffsets.length; i += 2) {
            String field = (String) fieldOffsets[i];
            long offset = ((Number) fieldOffsets[i + 1]).longValue();
            assertEquals(
                    offset,
                    layout.byteOffset(PathElement.groupElement(field)),
                    layout.name().orElse("?") + "." + field);
        }
    }
}
