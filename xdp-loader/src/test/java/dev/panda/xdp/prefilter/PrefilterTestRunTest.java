package dev.panda.xdp.prefilter;

import static dev.panda.dataplane.testing.Frames.v4;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panda.dataplane.testing.Frames;
import dev.panda.xdp.bpf.BpfObject;
import dev.panda.xdp.bpf.BpfProgram;
import java.net.InetAddress;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The prefilter's verdicts and counters, run in the kernel with BPF_PROG_TEST_RUN (no
 * interface needed): prefix drops v4/v6, 5-tuple drop/pass, default pass or redirect, VLAN,
 * truncated frames, and live rule changes.
 */
class PrefilterTestRunTest {

    private static final int XDP_DROP = 1;
    private static final int XDP_PASS = 2;
    private static final int XDP_REDIRECT = 4;

    private BpfObject obj;
    private Prefilter pf;
    private BpfProgram prog;

    @BeforeEach
    void load() {
        obj = BpfObject.openResource(Prefilter.RESOURCE).load();
        pf = new Prefilter(obj);
        prog = obj.program(Prefilter.PROGRAM);
    }

    @AfterEach
    void close() {
        obj.close();
    }

    private int run(byte[] frame) {
        return prog.testRun(frame, 1).retval();
    }

    @Test
    void dropsSourcePrefixesV4AndCountsTheRule() throws Exception {
        pf.dropSourcePrefix(InetAddress.getByName("198.18.7.0"), 24, 3);
        byte[] in = Frames.ipv4(v4(198, 18, 7, 9), v4(198, 18, 0, 1), 17, 1000, 2000, 10, -1);
        byte[] out = Frames.ipv4(v4(198, 18, 8, 9), v4(198, 18, 0, 1), 17, 1000, 2000, 10, -1);
        assertEquals(XDP_DROP, run(in));
        assertEquals(XDP_DROP, run(in));
        assertEquals(XDP_PASS, run(out));
        assertEquals(2, pf.ruleCount(3));
        assertEquals(2, pf.actionCount(Prefilter.Action.DROP_PREFIX));
        assertEquals(1, pf.actionCount(Prefilter.Action.PASS));
        // live removal: the same source passes now
        pf.removeSourcePrefix(InetAddress.getByName("198.18.7.0"), 24);
        assertEquals(XDP_PASS, run(in));
        assertEquals(2, pf.ruleCount(3));
    }

    @Test
    void dropsSourcePrefixesV6() throws Exception {
        pf.dropSourcePrefix(InetAddress.getByName("2001:db8:1::"), 48, 5);
        byte[] in = Frames.ipv6(
                InetAddress.getByName("2001:db8:1::7").getAddress(),
                InetAddress.getByName("2001:db8:2::1").getAddress(),
                6,
                1,
                2,
                0);
        byte[] other = Frames.ipv6(
                InetAddress.getByName("2001:db8:3::7").getAddress(),
                InetAddress.getByName("2001:db8:2::1").getAddress(),
                6,
                1,
                2,
                0);
        assertEquals(XDP_DROP, run(in));
        assertEquals(XDP_PASS, run(other));
        assertEquals(1, pf.ruleCount(5));
    }

    @Test
    void fiveTupleRulesDropOrPassAndDefaultRedirects() throws Exception {
        InetAddress a = InetAddress.getByName("198.18.1.2");
        InetAddress b = InetAddress.getByName("198.18.1.1");
        pf.flowRule(a, b, 17, 5000, 53, Prefilter.FlowAction.DROP, 10);
        pf.flowRule(a, b, 6, 40000, 22, Prefilter.FlowAction.PASS, 11);
        pf.flowRule(a, b, 1, 8, 0, Prefilter.FlowAction.PASS, 12); // ICMP echo request
        pf.setDefault(Prefilter.Default.REDIRECT);
        assertEquals(XDP_DROP, run(Frames.ipv4(a.getAddress(), b.getAddress(), 17, 5000, 53, 4, -1)));
        assertEquals(XDP_PASS, run(Frames.ipv4(a.getAddress(), b.getAddress(), 6, 40000, 22, 0, -1)));
        assertEquals(XDP_PASS, run(Frames.ipv4(a.getAddress(), b.getAddress(), 1, 8, 0, 8, 12))); // VLAN 12
        // a flow without a rule: redirect to the queue's XSKMAP slot; a test run has no socket
        // there, so the program's fallback flag (XDP_PASS) decides and it counts a pass
        int r = run(Frames.ipv4(a.getAddress(), b.getAddress(), 17, 5001, 53, 4, -1));
        assertEquals(XDP_PASS, r);
        assertEquals(1, pf.ruleCount(10));
        assertEquals(1, pf.ruleCount(11));
        assertEquals(1, pf.ruleCount(12));
        assertEquals(1, pf.actionCount(Prefilter.Action.DROP_FLOW));
        assertEquals(2, pf.actionCount(Prefilter.Action.PASS_FLOW));
        // live change: the UDP rule now passes
        pf.flowRule(a, b, 17, 5000, 53, Prefilter.FlowAction.PASS, 10);
        assertEquals(XDP_PASS, run(Frames.ipv4(a.getAddress(), b.getAddress(), 17, 5000, 53, 4, -1)));
        assertEquals(3, pf.actionCount(Prefilter.Action.PASS_FLOW));
    }

    @Test
    void truncatedAndMalformedFramesAreDroppedAndCounted() {
        byte[] good = Frames.ipv4(v4(198, 18, 1, 2), v4(198, 18, 1, 1), 17, 1, 2, 0, -1);
        int malformed = 0;
        for (int len : new int[] {14, 20, 33, 34 + 3}) {
            assertEquals(XDP_DROP, run(Arrays.copyOf(good, len)), "length " + len);
            malformed++;
        }
        byte[] badIhl = good.clone();
        badIhl[14] = 0x43;
        assertEquals(XDP_DROP, run(badIhl));
        malformed++;
        assertEquals(malformed, pf.actionCount(Prefilter.Action.MALFORMED));
        // ARP goes to the default action
        byte[] arp = Arrays.copyOf(good, 60);
        arp[12] = 0x08;
        arp[13] = 0x06;
        assertEquals(XDP_PASS, run(arp));
    }

    @Test
    void mapsIterateAndPerCpuCountersSum() throws Exception {
        pf.dropSourcePrefix(InetAddress.getByName("198.18.7.0"), 24, 1);
        pf.dropSourcePrefix(InetAddress.getByName("198.19.0.0"), 16, 2);
        int[] n = {0};
        obj.map(Prefilter.MAP_SRC_V4).forEach((k, v) -> n[0]++);
        assertEquals(2, n[0]);
        byte[] f = Frames.ipv4(v4(198, 19, 3, 3), v4(198, 18, 0, 1), 17, 1, 2, 0, -1);
        prog.testRun(f, 50); // repeat: 50 runs, each counted
        assertEquals(50, pf.ruleCount(2));
    }
}
