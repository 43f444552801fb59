package dev.panda.pmd.virtio.vduse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** What net_vduse offers, and the drivers it refuses at FEATURES_OK. */
class VduseFeaturesTest {

    @Test
    void offersOneQueuePairWithTheMacAndTheLinkStatusBehindAnIommu() {
        // VERSION_1 (32), ACCESS_PLATFORM (33), NET_F_MAC (5), NET_F_STATUS (16); never CTRL_VQ (17);
        // by default also EVENT_IDX (29) and MRG_RXBUF (15), each of which a devarg can leave out
        assertEquals(0x3_0001_0020L, VduseDevice.BASE);
        assertEquals(0x3_2001_8020L, VduseDevice.OFFERED);
        assertEquals(0, VduseDevice.OFFERED & (1L << 17));
        byte[] c = VduseDevice.config(new byte[] {2, 0x70, 0x6e, 0, (byte) 0xd5, 7}, true);
        assertEquals(VduseDevice.CONFIG_BYTES, c.length);
        assertEquals((byte) 0xd5, c[4]);
        assertEquals(1, c[6]); // VIRTIO_NET_S_LINK_UP
        assertEquals(1, c[8]); // max_virtqueue_pairs
        assertEquals(0, VduseDevice.config(new byte[6], false)[6]);
    }

    @Test
    void refusesADriverWithoutAccessPlatformOrVersion1() {
        long o = VduseDevice.OFFERED;
        assertNull(VduseDevice.refusal(o, o));
        assertNull(VduseDevice.refusal(VduseDevice.REQUIRED, o));
        assertTrue(VduseDevice.refusal(o & ~VduseDevice.F_ACCESS_PLATFORM, o).contains("VIRTIO_F_ACCESS_PLATFORM"));
        assertTrue(VduseDevice.refusal(o & ~VduseDevice.F_VERSION_1, o).contains("VIRTIO_F_VERSION_1"));
        assertTrue(VduseDevice.refusal(o | 1L << 17, o).contains("beyond the offered"));
        // a device made with event_idx=0: a driver that sets EVENT_IDX anyway is refused
        long base = VduseDevice.BASE;
        assertTrue(VduseDevice.refusal(base | VduseDevice.F_EVENT_IDX, base).contains("beyond the offered"));
    }
}
