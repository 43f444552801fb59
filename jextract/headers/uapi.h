/*
 * Linux UAPI the PMDs speak: virtio rings and headers (virtio 1.2), vhost ioctls,
 * VFIO, AF_XDP, bpf/XDP, TUN/TAP, AF_PACKET, VDUSE, vdpa netlink. Input to scripts/jextract
 * (package dev.panda.jextract.uapi, header class Uapi).
 */
#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/if_xdp.h>
#include <linux/bpf.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <linux/vhost.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
/* VDUSE devices (net_vduse) and the vdpa generic netlink family that adds them to the bus */
#include <linux/vduse.h>
#include <linux/vdpa.h>
#include <linux/netlink.h>
#include <linux/genetlink.h>
