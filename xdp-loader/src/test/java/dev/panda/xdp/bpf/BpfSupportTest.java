package dev.panda.xdp.bpf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BpfSupportTest {

    @Test
    void aMissingLibraryIsOneLineSayingHowToInstallIt() {
        String cause = BpfSupport.probe("libbpf-missing.so.0");
        assertEquals(
                "libbpf is not installed (cannot load libbpf-missing.so.0, set by -Dpanda.libbpf.path): "
                        + "apt-get install libbpf1, or run scripts/setup as root",
                cause);
    }

    @Test
    void aLibraryWithoutLibbpf1FunctionsIsNotTakenForLibbpf() {
        String cause = BpfSupport.probe("libc.so.6");
        assertTrue(cause.startsWith("libc.so.6, set by -Dpanda.libbpf.path is not libbpf 1.x"), cause);
        assertTrue(cause.endsWith("apt-get install libbpf1, or run scripts/setup as root"), cause);
    }

    @Test
    void theDefaultProbeAgreesWithTheProcessWide() {
        // this machine builds the prefilter against libbpf-dev, so libbpf1 is normally here
        assertEquals(BpfSupport.isAvailable(), BpfSupport.probe(BpfSupport.DEFAULT_NAME) == null);
        if (System.getProperty(BpfSupport.PATH_PROPERTY) == null && BpfSupport.isAvailable()) {
            assertNull(BpfSupport.unavailabilityCause());
        }
    }
}
