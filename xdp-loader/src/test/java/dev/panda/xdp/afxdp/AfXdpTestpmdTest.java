package dev.panda.xdp.afxdp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panda.dataplane.port.PortStats;
import dev.panda.dataplane.testing.VethPair;
import dev.panda.dataplane.testpmd.Testpmd;
import dev.panda.dataplane.testpmd.TestpmdOptions;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * panda testpmd forwarding between two veth pairs over AF_XDP: frames sent from namespace A
 * reach port 0 through the prefilter's redirect, are forwarded to port 1 and leave on pair B,
 * where a capture in namespace B checks them (io: unchanged; macswap: MAC addresses swapped).
 */
class AfXdpTestpmdTest {

    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
    private static VethPair a;
    private static VethPair b;

    @BeforeAll
    static void up() {
        a = VethPair.create();
        b = VethPair.create();
    }

    @AfterAll
    static void down() {
        if (a != null) {
            a.close();
        }
        if (b != null) {
            b.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"io", "macswap"})
    void forwardsBetweenTwoVethPairs(String mode) throws Exception {
        TestpmdOptions o = TestpmdOptions.parse(
                "-l",
                "0,1",
                "--no-huge",
                "--vdev",
                "net_af_xdp0,iface=" + a.hostIf + ",mode=native",
                "--vdev",
                "net_af_xdp1,iface=" + b.hostIf + ",mode=native",
                "--",
                "--forward-mode=" + mode,
                "--idle=yield",
                "--total-num-mbufs=8192");
        int n = 200;
        int sport = mode.equals("io") ? 7100 : 7101;
        List<byte[]> frames = a.udpFramesToHost(n, sport, 64);
        try (Testpmd app = Testpmd.open(o, QUIET)) {
            app.start(0);
            VethPair.Capture cap = b.capture(sport, 3.0);
            a.sendRaw(frames, 1);
            List<byte[]> got = cap.frames();
            app.stop();
            assertEquals(n, got.size(), mode + ": frames forwarded from " + a.ns + " to " + b.ns);
            for (int i = 0; i < n; i++) {
                byte[] want = frames.get(i).clone();
                if (mode.equals("macswap")) {
                    System.arraycopy(frames.get(i), 6, want, 0, 6);
                    System.arraycopy(frames.get(i), 0, want, 6, 6);
                }
                assertArrayEquals(want, got.get(i), mode + " frame " + i + ": " + Arrays.toString(got.get(i)));
            }
            PortStats s0 = app.port(0).stats();
            PortStats s1 = app.port(1).stats();
            assertEquals(n, s0.ipackets(), "port 0 rx");
            assertEquals(n, s1.opackets(), "port 1 tx");
        }
    }
}
