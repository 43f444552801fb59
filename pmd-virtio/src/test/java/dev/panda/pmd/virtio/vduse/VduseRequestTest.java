package dev.panda.pmd.virtio.vduse;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.panda.jextract.uapi.Uapi;
import dev.panda.jextract.uapi.vduse_dev_request;
import dev.panda.jextract.uapi.vduse_dev_response;
import dev.panda.jextract.uapi.vduse_iova_range;
import dev.panda.jextract.uapi.vduse_vq_state;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** The request channel's codec against the generated linux/vduse.h layouts, and each request kind. */
class VduseRequestTest {

    @Test
    void offsetsAreTheHeaders() {
        assertEquals(VduseRequest.BYTES, vduse_dev_request.layout().byteSize());
        assertEquals(VduseRequest.BYTES, vduse_dev_response.layout().byteSize());
        assertEquals(VduseRequest.TYPE, vduse_dev_request.type$offset());
        assertEquals(VduseRequest.REQUEST_ID, vduse_dev_request.request_id$offset());
        assertEquals(0, vduse_dev_response.request_id$offset());
        assertEquals(4, vduse_dev_response.result$offset());
        // the union follows the four reserved words in both
        assertEquals(VduseRequest.UNION, vduse_dev_request.reserved$offset() + 16);
        assertEquals(VduseRequest.UNION, vduse_dev_response.reserved$offset() + 16);
        assertEquals(0, vduse_vq_state.index$offset());
        assertEquals(4, vduse_vq_state.layout().byteOffset(groupElement(1))); // the split/packed union
        assertEquals(8, vduse_iova_range.last$offset());
        assertEquals(VduseRequest.GET_VQ_STATE, Uapi.VDUSE_GET_VQ_STATE());
        assertEquals(VduseRequest.SET_STATUS, Uapi.VDUSE_SET_STATUS());
        assertEquals(VduseRequest.UPDATE_IOTLB, Uapi.VDUSE_UPDATE_IOTLB());
        assertEquals(VduseRequest.RESULT_FAILED, Uapi.VDUSE_REQ_RESULT_FAILED());
    }

    @Test
    void decodesEachKindAndRefusesTheRest() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(VduseRequest.BYTES, 8);
            m.set(ValueLayout.JAVA_INT, 0, VduseRequest.GET_VQ_STATE);
            m.set(ValueLayout.JAVA_INT, 4, 41);
            m.set(ValueLayout.JAVA_INT, 24, 1);
            assertEquals(new VduseRequest.GetVqState(41, 1), VduseRequest.decode(m, VduseRequest.BYTES, 2));
            m.set(ValueLayout.JAVA_INT, 24, 2);
            assertInstanceOf(VduseRequest.Invalid.class, VduseRequest.decode(m, VduseRequest.BYTES, 2));
            m.set(ValueLayout.JAVA_INT, 0, VduseRequest.SET_STATUS);
            m.set(ValueLayout.JAVA_BYTE, 24, (byte) 0x8f);
            assertEquals(new VduseRequest.SetStatus(41, 0x8f), VduseRequest.decode(m, VduseRequest.BYTES, 2));
            m.set(ValueLayout.JAVA_INT, 0, VduseRequest.UPDATE_IOTLB);
            m.set(ValueLayout.JAVA_LONG, 24, 0x1000);
            m.set(ValueLayout.JAVA_LONG, 32, -1L);
            assertEquals(new VduseRequest.UpdateIotlb(41, 0x1000, -1L), VduseRequest.decode(m, VduseRequest.BYTES, 2));
            m.set(ValueLayout.JAVA_LONG, 32, 0xfffL);
            assertInstanceOf(VduseRequest.Invalid.class, VduseRequest.decode(m, VduseRequest.BYTES, 2));
            m.set(ValueLayout.JAVA_INT, 0, 3);
            assertEquals(41, VduseRequest.decode(m, VduseRequest.BYTES, 2).id());
            assertInstanceOf(VduseRequest.Invalid.class, VduseRequest.decode(m, VduseRequest.BYTES, 2));
            assertEquals(41, VduseRequest.decode(m, 100, 2).id()); // short read: refused, id kept
            assertEquals(-1, VduseRequest.decode(m, 7, 2).id());

            MemorySegment r = a.allocate(VduseRequest.BYTES, 8);
            r.fill((byte) 1);
            VduseRequest.respond(r, 41, VduseRequest.RESULT_OK, 1, 0xabcd);
            assertEquals(41, r.get(ValueLayout.JAVA_INT, 0));
            assertEquals(0, r.get(ValueLayout.JAVA_INT, 4));
            assertEquals(0, r.get(ValueLayout.JAVA_INT, 8)); // reserved, zeroed
            assertEquals(1, r.get(ValueLayout.JAVA_INT, 24));
            assertEquals((short) 0xabcd, r.get(ValueLayout.JAVA_SHORT, 28));
            assertEquals(0, r.get(ValueLayout.JAVA_LONG, VduseRequest.BYTES - 8));
        }
    }
}
