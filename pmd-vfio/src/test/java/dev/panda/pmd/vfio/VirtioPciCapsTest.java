package dev.panda.pmd.vfio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The capability walk of virtio 1.2 §4.1.4 on crafted config spaces, good and hostile. */
class VirtioPciCapsTest {

    private static String malformed(ConfigSpace c) {
        return assertThrows(VirtioPciCaps.Malformed.class, () -> VirtioPciCaps.parse(c.b))
                .getMessage();
    }

    @Test
    void parsesQemusLayout() throws Exception {
        VirtioPciCaps caps = VirtioPciCaps.parse(ConfigSpace.qemu().b);
        assertEquals(new VirtioPciCaps.Window(4, 0, 0x1000), caps.commonCfg());
        assertEquals(new VirtioPciCaps.Window(4, 0x1000, 0x1000), caps.isrCfg());
        assertEquals(new VirtioPciCaps.Window(4, 0x2000, 0x1000), caps.deviceCfg());
        assertEquals(new VirtioPciCaps.Window(4, 0x3000, 0x1000), caps.notifyCfg());
        assertEquals(4, caps.notifyMultiplier());
        assertEquals(4, caps.msixTableSize());
        assertEquals(0x3000 + 4 * 7, caps.notifyOffset(7)); // §4.1.4.4: offset + queue_notify_off * multiplier
    }

    @Test
    void theFirstCapabilityOfEachTypeWinsAndReservedBarsAreIgnored() throws Exception {
        ConfigSpace c = new ConfigSpace();
        c.vendor(0x40, VirtioPciCaps.COMMON_CFG, 6, 0, 0x100, 16); // BAR 6: reserved, ignored
        c.vendor(0x50, VirtioPciCaps.COMMON_CFG, 2, 0x200, 0x100, 16);
        c.vendor(0x60, VirtioPciCaps.COMMON_CFG, 3, 0x300, 0x100, 16);
        c.notifyCap(0x70, 2, 0x1000, 0x100, 0);
        c.vendor(0x88, VirtioPciCaps.ISR_CFG, 2, 0x2000, 1, 16);
        c.vendor(0x98, 99, 2, 0, 0, 16); // an unknown type: ignored
        VirtioPciCaps caps = VirtioPciCaps.parse(c.b);
        assertEquals(new VirtioPciCaps.Window(2, 0x200, 0x100), caps.commonCfg());
        assertEquals(0, caps.notifyMultiplier()); // all queues share one register
        assertNull(caps.deviceCfg());
        assertEquals(0, caps.msixTableSize());
    }

    @Test
    void aLoopInTheListIsCaught() {
        ConfigSpace c = ConfigSpace.qemu();
        c.u8(0x40 + 1, 0x98); // the last capability points back at the first
        assertTrue(malformed(c).contains("loops back to 0x98"), malformed(c));
        ConfigSpace self = new ConfigSpace();
        self.vendor(0x40, VirtioPciCaps.COMMON_CFG, 0, 0, 64, 16);
        self.u8(0x41, 0x40);
        assertTrue(malformed(self).contains("loops back to 0x40"));
    }

    @Test
    void capabilitiesInTheHeaderOrPastTheEndAreRefused() {
        ConfigSpace c = new ConfigSpace().u8(0x34, 0x10);
        assertTrue(malformed(c).contains("capability at 0x10 outside"), malformed(c));
        ConfigSpace shortSpace = ConfigSpace.qemu();
        byte[] cut = java.util.Arrays.copyOf(shortSpace.b, 0x90); // the list starts at 0x98
        assertTrue(assertThrows(VirtioPciCaps.Malformed.class, () -> VirtioPciCaps.parse(cut))
                .getMessage()
                .contains("capability at 0x98 outside"));
        assertTrue(assertThrows(VirtioPciCaps.Malformed.class, () -> VirtioPciCaps.parse(new byte[10]))
                .getMessage()
                .contains("config space of 10 bytes"));
    }

    @Test
    void shortOrOverlongCapabilitiesAreRefused() {
        ConfigSpace shortCap = ConfigSpace.qemu().u8(0x88 + 2, 8);
        assertTrue(malformed(shortCap).contains("cap_len 8"), malformed(shortCap));
        ConfigSpace pastEnd = new ConfigSpace();
        pastEnd.bare(0xf8, 0x09).u8(0xfa, 16); // 0xf8 + 16 > 256
        assertTrue(malformed(pastEnd).contains("cap_len 16"), malformed(pastEnd));
        ConfigSpace shortNotify = ConfigSpace.qemu().u8(0x54 + 2, 16);
        assertTrue(malformed(shortNotify).contains("notify capability of 16 bytes"), malformed(shortNotify));
        ConfigSpace smallCommon = ConfigSpace.qemu().u32(0x88 + 12, 20);
        assertTrue(malformed(smallCommon).contains("common configuration of 20 bytes"), malformed(smallCommon));
        ConfigSpace misaligned = ConfigSpace.qemu().u32(0x88 + 8, 0x102);
        assertTrue(
                malformed(misaligned).contains("common configuration at offset 0x102 of BAR4 is not 4-byte aligned"),
                malformed(misaligned));
        ConfigSpace wraps = ConfigSpace.qemu().u32(0x78 + 8, 0xffff_fff0L).u32(0x78 + 12, 0x100);
        assertTrue(malformed(wraps).contains("past 4 GiB"), malformed(wraps));
    }

    @Test
    void missingPiecesAndOddMultipliersAreRefused() {
        assertTrue(malformed(new ConfigSpace().u16(0x06, 0)).contains("no capability list"));
        ConfigSpace legacy = new ConfigSpace();
        legacy.msix(0x40, 1);
        assertTrue(malformed(legacy).contains("no virtio common configuration"), malformed(legacy));
        ConfigSpace noIsr = new ConfigSpace();
        noIsr.vendor(0x40, VirtioPciCaps.COMMON_CFG, 0, 0, 64, 16);
        noIsr.notifyCap(0x50, 0, 0x100, 0x100, 2);
        assertTrue(malformed(noIsr).contains("no virtio ISR"), malformed(noIsr));
        ConfigSpace odd = ConfigSpace.qemu().u32(0x54 + 16, 3);
        assertTrue(malformed(odd).contains("notify_off_multiplier 3 is odd"), malformed(odd));
    }

    @Test
    void aLongListEndsAtTheCapabilityBound() {
        ConfigSpace c = new ConfigSpace();
        c.u8(0x34, 0x40);
        // 48 capabilities (of 4 bytes, 0x40..0xfc) chained in order, then the last points at the first
        for (int at = 0x40; at <= 0xfc; at += 4) {
            c.u8(at, 0x05).u8(at + 1, at == 0xfc ? 0x40 : at + 4);
        }
        String m = malformed(c);
        assertTrue(m.contains("loops back") || m.contains("more than 48"), m);
    }
}
