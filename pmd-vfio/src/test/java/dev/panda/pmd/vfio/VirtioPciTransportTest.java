package dev.panda.pmd.vfio;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_ACCESS_PLATFORM;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_EVENT_IDX;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_INDIRECT_DESC;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_MAC;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_MRG_RXBUF;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_STATUS;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_VERSION_1;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.bit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.jextract.uapi.virtio_pci_common_cfg;
import dev.panda.jextract.uapi.virtio_pci_notify_cap;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Register offsets against the spec and the kernel header, and the transport's writes, on a BAR
 * in ordinary memory (a register file with no device logic: what is written is what is read).
 */
class VirtioPciTransportTest {

    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void free() {
        arena.close();
    }

    @Test
    void commonConfigOffsetsAreTheSpecsAndTheKernels() {
        // virtio 1.2 §4.1.4.3, struct virtio_pci_common_cfg
        long[][] expected = {
            {VirtioPciTransport.DFSELECT, 0, virtio_pci_common_cfg.device_feature_select$offset()},
            {VirtioPciTransport.DF, 4, virtio_pci_common_cfg.device_feature$offset()},
            {VirtioPciTransport.GFSELECT, 8, virtio_pci_common_cfg.guest_feature_select$offset()},
            {VirtioPciTransport.GF, 12, virtio_pci_common_cfg.guest_feature$offset()},
            {VirtioPciTransport.MSIX, 16, virtio_pci_common_cfg.msix_config$offset()},
            {VirtioPciTransport.NUMQ, 18, virtio_pci_common_cfg.num_queues$offset()},
            {VirtioPciTransport.STATUS, 20, virtio_pci_common_cfg.device_status$offset()},
            {VirtioPciTransport.GENERATION, 21, virtio_pci_common_cfg.config_generation$offset()},
            {VirtioPciTransport.Q_SELECT, 22, virtio_pci_common_cfg.queue_select$offset()},
            {VirtioPciTransport.Q_SIZE, 24, virtio_pci_common_cfg.queue_size$offset()},
            {VirtioPciTransport.Q_MSIX, 26, virtio_pci_common_cfg.queue_msix_vector$offset()},
            {VirtioPciTransport.Q_ENABLE, 28, virtio_pci_common_cfg.queue_enable$offset()},
            {VirtioPciTransport.Q_NOFF, 30, virtio_pci_common_cfg.queue_notify_off$offset()},
            {VirtioPciTransport.Q_DESCLO, 32, virtio_pci_common_cfg.queue_desc_lo$offset()},
            {VirtioPciTransport.Q_AVAILLO, 40, virtio_pci_common_cfg.queue_avail_lo$offset()},
            {VirtioPciTransport.Q_USEDLO, 48, virtio_pci_common_cfg.queue_used_lo$offset()},
        };
        for (long[] e : expected) {
            assertEquals(e[1], e[0]);
            assertEquals(e[1], e[2]);
        }
        assertEquals(16, virtio_pci_notify_cap.notify_off_multiplier$offset()); // §4.1.4.4
    }

    private MemorySegment[] bars(VirtioPciCaps caps) {
        MemorySegment[] bars = new MemorySegment[6];
        bars[caps.commonCfg().bar()] = arena.allocate(0x4000, 4096);
        return bars;
    }

    @Test
    void queueSetUpWritesAddressesVectorAndEnable() throws Exception {
        VirtioPciCaps caps = VirtioPciCaps.parse(ConfigSpace.qemu().b);
        MemorySegment[] bars = bars(caps);
        MemorySegment common = bars[4];
        common.set(VirtioPciTransport.U16, VirtioPciTransport.Q_NOFF, (short) 1);
        VirtioPciTransport t = new VirtioPciTransport(caps, bars);
        long off = t.setUpQueue(1, 256, 0x1_0000_1000L, 0x1_0000_2000L, 0x1_0000_3004L, VirtioPciTransport.NO_VECTOR);
        assertEquals(4, off); // queue_notify_off 1 * multiplier 4
        assertEquals(1, common.get(VirtioPciTransport.U16, VirtioPciTransport.Q_SELECT));
        assertEquals(256, common.get(VirtioPciTransport.U16, VirtioPciTransport.Q_SIZE));
        assertEquals(0x1_0000_1000L, common.get(ValueLayout.JAVA_LONG_UNALIGNED, VirtioPciTransport.Q_DESCLO));
        assertEquals(0x1_0000_2000L, common.get(ValueLayout.JAVA_LONG_UNALIGNED, VirtioPciTransport.Q_AVAILLO));
        assertEquals(0x1_0000_3004L, common.get(ValueLayout.JAVA_LONG_UNALIGNED, VirtioPciTransport.Q_USEDLO));
        assertEquals((short) 0xffff, common.get(VirtioPciTransport.U16, VirtioPciTransport.Q_MSIX));
        assertEquals(1, common.get(VirtioPciTransport.U16, VirtioPciTransport.Q_ENABLE));
        VirtioPciTransport.kick(t.notifier(off), 1);
        assertEquals(1, common.get(VirtioPciTransport.U16, 0x3000 + 4)); // §4.1.5.2: the queue index
    }

    @Test
    void featuresGoThroughBothSelectWindows() throws Exception {
        VirtioPciCaps caps = VirtioPciCaps.parse(ConfigSpace.qemu().b);
        MemorySegment[] bars = bars(caps);
        VirtioPciTransport t = new VirtioPciTransport(caps, bars);
        t.driverFeatures(bit(F_VERSION_1) | bit(F_MAC));
        // plain memory keeps the last write: select 1, high half (VERSION_1 is bit 0 of it)
        assertEquals(1, bars[4].get(VirtioPciTransport.U32, VirtioPciTransport.GFSELECT));
        assertEquals(1, bars[4].get(VirtioPciTransport.U32, VirtioPciTransport.GF));
        bars[4].set(VirtioPciTransport.U32, VirtioPciTransport.DF, 0x3);
        assertEquals(0x3_0000_0003L, t.deviceFeatures()); // both windows read the same word here
        t.reset(); // status 0 reads back at once
        assertEquals(0, t.status());
        t.addStatus(VirtioPciTransport.S_ACKNOWLEDGE);
        t.addStatus(VirtioPciTransport.S_DRIVER);
        assertEquals(3, t.status());
    }

    @Test
    void aNotifyOffsetOutsideTheWindowIsRefused() throws Exception {
        VirtioPciCaps caps = VirtioPciCaps.parse(ConfigSpace.qemu().b);
        MemorySegment[] bars = bars(caps);
        bars[4].set(VirtioPciTransport.U16, VirtioPciTransport.Q_NOFF, (short) 0x400); // 0x400 * 4 = 0x1000
        VirtioPciTransport t = new VirtioPciTransport(caps, bars);
        VfioException e = assertThrows(VfioException.class, () -> t.setUpQueue(0, 64, 0, 0, 0, 0xffff));
        assertTrue(e.getMessage().contains("outside the notify window"), e.getMessage());
        assertEquals(0, bars[4].get(VirtioPciTransport.U16, VirtioPciTransport.Q_ENABLE), "not enabled");
    }

    @Test
    void aWindowOutsideItsBarIsRefused() throws Exception {
        VirtioPciCaps caps = VirtioPciCaps.parse(ConfigSpace.qemu().u32(0x54 + 12, 0x2000).b); // notify 0x3000+0x2000
        VfioException e = assertThrows(VfioException.class, () -> new VirtioPciTransport(caps, bars(caps)));
        assertTrue(
                e.getMessage().contains("notify configuration (8192 bytes at 0x3000 in BAR4) lies outside the BAR"),
                e.getMessage());
        VfioException none =
                assertThrows(VfioException.class, () -> new VirtioPciTransport(caps, new MemorySegment[6]));
        assertTrue(none.getMessage().contains("not mapped"), none.getMessage());
    }

    @Test
    void negotiationRefusesDevicesWithoutVersion1OrAccessPlatform() {
        long all = bit(F_VERSION_1)
                | bit(F_ACCESS_PLATFORM)
                | bit(F_MAC)
                | bit(F_STATUS)
                | bit(F_MRG_RXBUF)
                | bit(F_INDIRECT_DESC)
                | bit(F_EVENT_IDX)
                | 1 /* CSUM */;
        assertEquals(VirtioNetFeatures.WANTED, VirtioNetFeatures.accept(all));
        VfioException legacy =
                assertThrows(VfioException.class, () -> VirtioNetFeatures.accept(all & ~bit(F_VERSION_1)));
        assertTrue(legacy.getMessage().contains("VIRTIO_F_VERSION_1"), legacy.getMessage());
        VfioException noIommu =
                assertThrows(VfioException.class, () -> VirtioNetFeatures.accept(all & ~bit(F_ACCESS_PLATFORM)));
        assertTrue(noIommu.getMessage().contains("iommu_platform=on"), noIommu.getMessage());
        assertEquals(
                "VERSION_1|ACCESS_PLATFORM",
                VirtioNetFeatures.describe(VirtioNetFeatures.accept(bit(F_VERSION_1) | bit(F_ACCESS_PLATFORM))));
    }
}
