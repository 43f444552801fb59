package dev.panda.pmd.virtio.virtiouser;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.panda.jextract.uapi.Uapi;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * The vhost-vdpa structs the generated bindings do not carry yet (linux/vhost_types.h), written
 * out by hand: {@code struct vhost_iotlb_msg}, {@code struct vhost_msg_v2} (what is written to
 * the device fd to map and unmap memory), {@code struct vhost_vdpa_config} (its fixed part) and
 * {@code struct vhost_vdpa_iova_range}. {@code VdpaAbiTest} checks every size and offset here
 * against the C compiler's view of the installed header, and against the sizes encoded in the
 * generated ioctl numbers. The constants (message and IOTLB types, access bits, backend feature
 * bits, ioctl numbers) are the generated {@code Uapi}'s.
 */
final class VdpaAbi {

    /** struct vhost_iotlb_msg: iova, size, uaddr, perm, type; 32 bytes with its tail padding. */
    static final StructLayout IOTLB_MSG = MemoryLayout.structLayout(
                    JAVA_LONG.withName("iova"),
                    JAVA_LONG.withName("size"),
                    JAVA_LONG.withName("uaddr"),
                    JAVA_BYTE.withName("perm"),
                    JAVA_BYTE.withName("type"),
                    MemoryLayout.paddingLayout(6))
            .withName("vhost_iotlb_msg");

    /** struct vhost_msg_v2: type, asid, then a union of the IOTLB message and 64 bytes of padding. */
    static final StructLayout MSG_V2 = MemoryLayout.structLayout(
                    JAVA_INT.withName("type"),
                    JAVA_INT.withName("asid"),
                    MemoryLayout.unionLayout(
                                    IOTLB_MSG.withName("iotlb"),
                                    MemoryLayout.sequenceLayout(64, JAVA_BYTE).withName("padding"))
                            .withName("u"))
            .withName("vhost_msg_v2");

    /** struct vhost_vdpa_config: off, len, then len bytes of config space. */
    static final StructLayout VDPA_CONFIG =
            MemoryLayout.structLayout(JAVA_INT.withName("off"), JAVA_INT.withName("len"));

    /** struct vhost_vdpa_iova_range: the first and last IOVA the device can use. */
    static final StructLayout IOVA_RANGE =
            MemoryLayout.structLayout(JAVA_LONG.withName("first"), JAVA_LONG.withName("last"));

    static final long MSG_IOTLB = MSG_V2.byteOffset(MemoryLayout.PathElement.groupElement("u"));

    private static final VarHandle TYPE = handle(MSG_V2, "type");
    private static final VarHandle ASID = handle(MSG_V2, "asid");
    private static final VarHandle IOVA = iotlb("iova");
    private static final VarHandle SIZE = iotlb("size");
    private static final VarHandle UADDR = iotlb("uaddr");
    private static final VarHandle PERM = iotlb("perm");
    private static final VarHandle IOTLB_TYPE = iotlb("type");

    private VdpaAbi() {}

    private static VarHandle handle(StructLayout l, String field) {
        return l.varHandle(MemoryLayout.PathElement.groupElement(field));
    }

    private static VarHandle iotlb(String field) {
        return MSG_V2.varHandle(
                MemoryLayout.PathElement.groupElement("u"),
                MemoryLayout.PathElement.groupElement("iotlb"),
                MemoryLayout.PathElement.groupElement(field));
    }

    /**
     * Fills {@code msg} (MSG_V2.byteSize() bytes) with a VHOST_IOTLB_MSG_V2 message of IOTLB type
     * {@code type} (UPDATE, INVALIDATE, BATCH_BEGIN, BATCH_END), address space 0.
     */
    static void iotlbMessage(MemorySegment msg, int type, long iova, long size, long uaddr, int perm) {
        msg.fill((byte) 0);
        TYPE.set(msg, 0L, Uapi.VHOST_IOTLB_MSG_V2());
        ASID.set(msg, 0L, 0);
        IOVA.set(msg, 0L, iova);
        SIZE.set(msg, 0L, size);
        UADDR.set(msg, 0L, uaddr);
        PERM.set(msg, 0L, (byte) perm);
        IOTLB_TYPE.set(msg, 0L, (byte) type);
    }

    /** The argument size an ioctl number encodes (asm-generic/ioctl.h: 14 bits from bit 16). */
    static int ioctlSize(long request) {
        return (int) (request >>> 16) & 0x3fff;
    }
}
