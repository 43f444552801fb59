package dev.panda.pmd.virtio.vduse;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One message of a VDUSE device's request channel (linux/vduse.h, "The control messages definition
 * for read(2)/write(2) on /dev/vduse/$NAME"): {@code struct vduse_dev_request} read from the device
 * fd, 152 bytes: {@code type}, {@code request_id}, four reserved words, then a union (at byte 24) of
 * {@code vduse_vq_state} (index, then the split ring's avail index at byte 28), {@code
 * vduse_dev_status} (one byte) and {@code vduse_iova_range} (start, last). The answer is {@code
 * struct vduse_dev_response} (also 152 bytes: request_id, result, reserved, union at 24), written
 * with {@link #respond}. Offsets are pinned to the generated layouts by {@code VduseRequestTest}.
 *
 * <p>The channel is the kernel's, but what it carries comes from the driver (a guest kernel, a
 * vhost-vdpa user): {@link #decode} checks everything and turns what it cannot use into
 * {@link Invalid}, answered with VDUSE_REQ_RESULT_FAILED when it has a request id.
 */
public sealed interface VduseRequest {

    /** sizeof(struct vduse_dev_request) and sizeof(struct vduse_dev_response). */
    int BYTES = 152;

    int TYPE = 0;
    int REQUEST_ID = 4;
    int UNION = 24;
    /** enum vduse_req_type. */
    int GET_VQ_STATE = 0;

    int SET_STATUS = 1;
    int UPDATE_IOTLB = 2;
    /** VDUSE_REQ_RESULT_OK, _FAILED. */
    int RESULT_OK = 0;

    int RESULT_FAILED = 1;

    int id();

    /** VDUSE_GET_VQ_STATE: where vring {@code index} stopped in the available ring. */
    record GetVqState(int id, int index) implements VduseRequest {}

    /** VDUSE_SET_STATUS: the driver wrote the device status (virtio 1.2 §2.1); 0 is a reset. */
    record SetStatus(int id, int status) implements VduseRequest {}

    /** VDUSE_UPDATE_IOTLB: mappings in [start, last] changed; re-read them with VDUSE_IOTLB_GET_FD. */
    record UpdateIotlb(int id, long start, long last) implements VduseRequest {}

    /** Not usable: {@code id} is -1 when the message was too short to carry one. */
    record Invalid(int id, String why) implements VduseRequest {}

    /**
     * Decodes the {@code length} bytes a read returned at the start of {@code m} (at least
     * {@link #BYTES} long) for a device of {@code vqs} vrings. Allocates only the record.
     */
    static VduseRequest decode(MemorySegment m, long length, int vqs) {
        if (length < 8) {
            return new Invalid(-1, "a request of " + length + " bytes");
        }
        int type = m.get(ValueLayout.JAVA_INT_UNALIGNED, TYPE);
        int id = m.get(ValueLayout.JAVA_INT_UNALIGNED, REQUEST_ID);
        if (length != BYTES) {
            return new Invalid(id, "a request of " + length + " bytes, not " + BYTES);
        }
        return switch (type) {
            case GET_VQ_STATE -> {
                int index = m.get(ValueLayout.JAVA_INT_UNALIGNED, UNION);
                yield index >= 0 && index < vqs
                        ? new GetVqState(id, index)
                        : new Invalid(
                                id,
                                "GET_VQ_STATE of vring " + Integer.toUnsignedString(index) + " (the device has " + vqs
                                        + ")");
            }
            case SET_STATUS -> new SetStatus(id, m.get(ValueLayout.JAVA_BYTE, UNION) & 0xff);
            case UPDATE_IOTLB -> {
                long start = m.get(ValueLayout.JAVA_LONG_UNALIGNED, UNION);
                long last = m.get(ValueLayout.JAVA_LONG_UNALIGNED, UNION + 8);
                yield Long.compareUnsigned(start, last) <= 0
                        ? new UpdateIotlb(id, start, last)
                        : new Invalid(
                                id,
                                "UPDATE_IOTLB with start 0x" + Long.toHexString(start) + " after last 0x"
                                        + Long.toHexString(last));
            }
            default -> new Invalid(id, "unknown request type " + Integer.toUnsignedString(type));
        };
    }

    /**
     * Writes a {@code struct vduse_dev_response} into {@code out} (at least {@link #BYTES}):
     * {@code result}, and for GET_VQ_STATE the vring index and its split avail index.
     */
    static void respond(MemorySegment out, int id, int result, int vqIndex, int availIndex) {
        out.asSlice(0, BYTES).fill((byte) 0);
        out.set(ValueLayout.JAVA_INT_UNALIGNED, 0, id);
        out.set(ValueLayout.JAVA_INT_UNALIGNED, 4, result);
        out.set(ValueLayout.JAVA_INT_UNALIGNED, UNION, vqIndex);
        out.set(ValueLayout.JAVA_SHORT_UNALIGNED, UNION + 4, (short) availIndex);
    }
}
