package dev.panda.pmd.virtio.virtiouser;

import dev.panda.jextract.uapi.Uapi;
import dev.panda.jextract.uapi.vhost_iotlb_msg;
import dev.panda.jextract.uapi.vhost_msg_v2;
import java.lang.foreign.MemorySegment;

/**
 * The vhost-vdpa messages panda writes to the device fd (linux/vhost_types.h, through the
 * generated {@code vhost_msg_v2} and {@code vhost_iotlb_msg}): IOTLB updates, invalidations and
 * batch markers, all VHOST_IOTLB_MSG_V2 in address space 0.
 */
final class VdpaAbi {

    private VdpaAbi() {}

    /**
     * Fills {@code msg} ({@code vhost_msg_v2.sizeof()} bytes) with a VHOST_IOTLB_MSG_V2 message of
     * IOTLB type {@code type} (UPDATE, INVALIDATE, BATCH_BEGIN, BATCH_END).
     */
    static void iotlbMessage(MemorySegment msg, int type, long iova, long size, long uaddr, int perm) {
        msg.fill((byte) 0);
        vhost_msg_v2.type(msg, Uapi.VHOST_IOTLB_MSG_V2());
        vhost_msg_v2.asid(msg, 0);
        MemorySegment m = vhost_msg_v2.iotlb(msg);
        vhost_iotlb_msg.iova(m, iova);
        vhost_iotlb_msg.size(m, size);
        vhost_iotlb_msg.uaddr(m, uaddr);
        vhost_iotlb_msg.perm(m, (byte) perm);
        vhost_iotlb_msg.type(m, (byte) type);
    }

    /** The argument size an ioctl number encodes (asm-generic/ioctl.h: 14 bits from bit 16). */
    static int ioctlSize(long request) {
        return (int) (request >>> 16) & 0x3fff;
    }
}
