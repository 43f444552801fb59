package dev.panda.vswitch.vxlan;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panda.vswitch.config.VxlanConfig;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Each kind of underlay frame gets its answer from {@link UnderlayDecoder}: the fuzz target's seeds
 * (a VXLAN frame for VNI 42 from 198.18.0.2 to 198.18.0.1 and its broken variants, ARP, IPv6, runts),
 * each with the outcome it must have.
 */
class UnderlayDecoderTest {

    private static final String SEEDS =
            "UnderlayFuzzTestInputs/anyUnderlayFrameIsDeliveredAnsweredOrDroppedWithAReason/";

    @Test
    void everySeedGetsItsOutcome() throws IOException {
        Map<String, Integer> expected = new LinkedHashMap<>();
        expected.put("vxlan", UnderlayDecoder.VXLAN);
        expected.put("vxlan-other-vni", UnderlayDecoder.VXLAN); // the underlay then counts unknown_vni
        expected.put("vxlan-unknown-remote", UnderlayDecoder.VXLAN); // likewise
        expected.put("vxlan-no-i-flag", UnderlayDecoder.BAD_VXLAN);
        expected.put("vxlan-fragment", UnderlayDecoder.FRAGMENT);
        expected.put("bad-ip-checksum", UnderlayDecoder.BAD_IP_CHECKSUM);
        expected.put("arp-request", UnderlayDecoder.ARP_REQUEST);
        expected.put("arp-reply", UnderlayDecoder.ARP_REPLY);
        expected.put("arp-other", UnderlayDecoder.NOT_VXLAN);
        expected.put("ipv6", UnderlayDecoder.NOT_VXLAN);
        expected.put("runt", UnderlayDecoder.MALFORMED);
        expected.put("empty", UnderlayDecoder.MALFORMED);
        int local = VxlanConfig.ipv4("198.18.0.1");
        UnderlayDecoder d = new UnderlayDecoder();
        for (var e : expected.entrySet()) {
            byte[] f = seed(e.getKey());
            assertEquals(e.getValue(), d.decode(MemorySegment.ofArray(f), 0, f.length, local), e.getKey());
            if (e.getKey().equals("vxlan")) {
                assertEquals(42, d.vni);
                assertEquals(VxlanConfig.ipv4("198.18.0.2"), d.sourceIp);
                assertEquals(50, d.innerOffset);
                assertEquals(f.length - 50, d.innerLength);
            }
            if (e.getKey().equals("vxlan-other-vni")) {
                assertEquals(7, d.vni);
            }
            // every truncation of it is read without an exception, and a shorter VXLAN frame is malformed
            for (int n = 0; n < f.length; n++) {
                int r = d.decode(MemorySegment.ofArray(f), 0, n, local);
                if (e.getKey().startsWith("vxlan") && !e.getKey().equals("vxlan-no-i-flag") && n > 14) {
                    assertEquals(UnderlayDecoder.MALFORMED, r, e.getKey() + " cut at " + n);
                }
            }
        }
    }

    private static byte[] seed(String name) throws IOException {
        try (InputStream in = UnderlayDecoderTest.class.getResourceAsStream(SEEDS + name)) {
            return in.readAllBytes();
        }
    }
}
