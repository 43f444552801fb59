package dev.panda.dataplane.port;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PciAllowTest {

    /** Probes 1af4:1041 only. */
    private static final PortDriver VIRTIO = new PortDriver() {
        @Override
        public String name() {
            return "net_test_pci";
        }

        @Override
        public String description() {
            return "test";
        }

        @Override
        public Set<String> keys() {
            return Set.of("dev");
        }

        @Override
        public Port open(DeviceSpec spec, PortContext context) {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean probesPci(int vendor, int device) {
            return vendor == 0x1af4 && device == 0x1041;
        }
    };

    @TempDir
    Path sys;

    private void device(String addr, String vendor, String device) throws IOException {
        Path d = Files.createDirectories(sys.resolve("bus/pci/devices").resolve(addr));
        Files.writeString(d.resolve("vendor"), vendor + "\n");
        Files.writeString(d.resolve("device"), device + "\n");
    }

    @Test
    void recognisesAddressesNotVdevNames() {
        assertTrue(PciAllow.isPci("0000:00:05.0"));
        assertTrue(PciAllow.isPci("00:05.0"));
        assertTrue(PciAllow.isPci("0000:00:05.0,queue_size=64"));
        assertFalse(PciAllow.isPci("net_ring0"));
        assertFalse(PciAllow.isPci("0000:00:05.8"));
        assertFalse(PciAllow.isPci(null));
    }

    @Test
    void theDriverProbingTheIdsGetsTheDevice() throws IOException {
        device("0000:00:05.0", "0x1af4", "0x1041");
        assertEquals("net_test_pci3,dev=0000:00:05.0", PciAllow.resolve("00:05.0", 3, List.of(VIRTIO), sys));
        assertEquals(
                "net_test_pci0,dev=0000:00:05.0,queue_size=64",
                PciAllow.resolve("0000:00:05.0,queue_size=64", 0, List.of(VIRTIO), sys));
    }

    @Test
    void anUnknownDeviceOrIdIsOneClearError() throws IOException {
        device("0000:00:06.0", "0x8086", "0x100e");
        DeviceException none =
                assertThrows(DeviceException.class, () -> PciAllow.resolve("0000:00:07.0", 0, List.of(VIRTIO), sys));
        assertTrue(none.getMessage().contains("no PCI device 0000:00:07.0"), none.getMessage());
        DeviceException other =
                assertThrows(DeviceException.class, () -> PciAllow.resolve("0000:00:06.0", 0, List.of(VIRTIO), sys));
        assertTrue(other.getMessage().contains("8086:100e"), other.getMessage());
    }
}
