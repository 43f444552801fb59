package dev.panda.pmd.vfio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The availability probe and devbind against fake sysfs trees: each cause is one line with what to do. */
class VfioProbeTest {

    @TempDir
    Path tmp;

    @Test
    void pciAddressesParseLikeSysfsNamesThem() {
        assertEquals("0000:00:05.0", PciAddress.parse("00:05.0").toString());
        assertEquals("0001:3a:1f.7", PciAddress.parse("0001:3A:1f.7").toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PciAddress.parse("00:05.8"));
        assertTrue(e.getMessage().contains("expected DDDD:BB:DD.F"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PciAddress.parse("0000:00:20.0")); // device > 0x1f
        assertThrows(IllegalArgumentException.class, () -> PciAddress.parse("x\n"));
    }

    @Test
    void theMachineProbeSaysWhatIsMissing() throws IOException {
        FakeSysfs fs = new FakeSysfs(tmp.resolve("sys"));
        Path node = tmp.resolve("vfio");
        String noNode = Vfio.probe(fs.sysfs(), node);
        assertTrue(noNode.startsWith("no " + node) && noNode.contains("modprobe vfio-pci"), noNode);
        Files.writeString(node, "");
        String noGroups = Vfio.probe(fs.sysfs(), node);
        assertTrue(noGroups.startsWith("no IOMMU groups") && noGroups.contains("intel_iommu=on"), noGroups);
        Files.createDirectories(fs.root.resolve("kernel/iommu_groups/0"));
        assertNull(Vfio.probe(fs.sysfs(), node));
        // the probe of this machine is one line, whatever it says
        String here = Vfio.unavailabilityCause();
        assertEquals(here == null, Vfio.isAvailable());
        assertTrue(here == null || here.lines().count() == 1, here);
    }

    @Test
    void theDeviceProbeNamesGroupAndDriverProblems() throws IOException {
        FakeSysfs fs = new FakeSysfs(tmp);
        fs.function("0000:00:04.0", 0x1af4, 0x1041, 0x020000, "virtio-pci", null);
        fs.function("0000:00:05.0", 0x1af4, 0x1041, 0x020000, "virtio-pci", 3);
        fs.function("0000:00:06.0", 0x1af4, 0x1041, 0x020000, null, 4);
        fs.function("0000:00:07.0", 0x1af4, 0x1041, 0x020000, "vfio-pci", 5);
        PciSysfs s = fs.sysfs();
        assertEquals(
                "no PCI device 0000:00:09.0 (see panda devbind --status)",
                Vfio.unavailabilityCause(s, PciAddress.parse("00:09.0")));
        assertTrue(Vfio.unavailabilityCause(s, PciAddress.parse("00:04.0")).contains("has no IOMMU group"));
        assertEquals(
                "0000:00:05.0 is bound to virtio-pci, not vfio-pci: run panda devbind --bind=vfio-pci 0000:00:05.0",
                Vfio.unavailabilityCause(s, PciAddress.parse("00:05.0")));
        assertTrue(Vfio.unavailabilityCause(s, PciAddress.parse("00:06.0")).contains("bound to no driver"));
        assertNull(Vfio.unavailabilityCause(s, PciAddress.parse("00:07.0")));
        assertEquals(5, s.iommuGroup(PciAddress.parse("00:07.0")).orElseThrow());
        assertEquals(0x1041, s.device(PciAddress.parse("00:07.0")));
    }

    private record Run(int code, String out, String err) {}

    private static Run devbind(PciSysfs s, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = DevBind.run(args, s, new PrintStream(out, true), new PrintStream(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void devbindStatusListsNetworkFunctionsByDriver() throws IOException {
        FakeSysfs fs = new FakeSysfs(tmp);
        fs.function("0000:00:02.0", 0x8086, 0x1237, 0x060000, null, 1); // a host bridge: not listed
        fs.function("0000:00:05.0", 0x1af4, 0x1041, 0x020000, "vfio-pci", 3);
        fs.function("0000:00:06.0", 0x1af4, 0x1041, 0x020000, "virtio-pci", 4);
        Run r = devbind(fs.sysfs(), "--status");
        assertEquals(0, r.code(), r.err());
        String[] parts = r.out().split("Network devices using a kernel driver or none");
        assertTrue(parts[0].contains("0000:00:05.0 '1af4:1041' drv=vfio-pci iommu_group=3"), r.out());
        assertTrue(parts[1].contains("0000:00:06.0 '1af4:1041' drv=virtio-pci iommu_group=4"), r.out());
        assertTrue(!r.out().contains("00:02.0"), r.out());
    }

    @Test
    void devbindUnbindsAndBindsThroughTheSysfsFiles() throws IOException {
        FakeSysfs fs = new FakeSysfs(tmp);
        fs.function("0000:00:06.0", 0x1af4, 0x1041, 0x020000, "virtio-pci", 4);
        Run u = devbind(fs.sysfs(), "-u", "00:06.0");
        assertEquals(0, u.code(), u.err());
        assertEquals("0000:00:06.0", Files.readString(fs.root.resolve("bus/pci/drivers/virtio-pci/unbind")));
        // the fake kernel never binds: devbind says so instead of claiming success
        Run b = devbind(fs.sysfs(), "--bind=vfio-pci", "0000:00:06.0");
        assertEquals(1, b.code(), b.out());
        assertTrue(b.err().contains("modprobe vfio-pci"), b.err());
        assertEquals("0000:00:06.0", Files.readString(fs.root.resolve("bus/pci/drivers_probe")));
    }

    @Test
    void devbindUsageErrorsAreOneLineWithExitCode2() throws IOException {
        FakeSysfs fs = new FakeSysfs(tmp);
        for (String[] args : new String[][] {
            {"--bind=vfio-pci"}, {"-u", "-b", "vfio-pci", "00:05.0"}, {"--frob"}, {"00:05.9"}, {"-b"}, {"--bogus\nline"}
        }) {
            Run r = devbind(fs.sysfs(), args);
            assertEquals(2, r.code(), String.join(" ", args));
            assertEquals(1, r.err().lines().count(), r.err());
        }
        Run missing = devbind(fs.sysfs(), "-u", "00:09.0");
        assertEquals(1, missing.code());
        assertNotNull(missing.err());
        assertTrue(missing.err().contains("no PCI device 0000:00:09.0"), missing.err());
    }
}
