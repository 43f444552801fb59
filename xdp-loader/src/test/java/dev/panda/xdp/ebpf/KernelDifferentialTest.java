package dev.panda.xdp.ebpf;

import static dev.panda.dataplane.testing.Frames.v4;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.testing.Frames;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The kernel (BPF_PROG_TEST_RUN through libbpf) against the userspace interpreter and
 * translator, on the same object and the same packets: identical verdicts, identical packets
 * out, identical map contents after (per-CPU counters summed). Needs root (CAP_BPF) and
 * clang-built objects; it fails, naming the cause, when the kernel refuses the load.
 */
class KernelDifferentialTest {

    static Path object(String dir, String name) {
        Path p = Path.of("target", dir, "bpf", name + ".o");
        assertTrue(p.toFile().isFile(), p + " missing: the xdp-loader build compiles src/*/bpf/*.c with clang");
        return p;
    }

    static byte[] ip(String s) {
        try {
            return InetAddress.getByName(s).getAddress();
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(s, e);
        }
    }

    static byte[] le32(int... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : v) {
            b.putInt(x);
        }
        return b.array();
    }

    static byte[] lpm(int len, byte[] addr) {
        return ByteBuffer.allocate(4 + addr.length)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putInt(len)
                .put(addr)
                .array();
    }

    /** The packets of both programs: valid, VLAN, QinQ, v6, ICMP, ARP, fragments, options, plus every truncation and random corruptions. */
    static List<byte[]> corpus(long seed) {
        List<byte[]> base = new ArrayList<>();
        String[] v4src = {"198.18.1.7", "198.18.2.200", "198.18.2.100", "198.18.3.1", "198.19.0.9", "10.1.2.3"};
        for (String s : v4src) {
            for (int proto : new int[] {6, 17, 1, 47}) {
                base.add(Frames.ipv4(ip(s), v4(198, 18, 0, 1), proto, 1000 + proto, 53, 6, -1));
                base.add(Frames.ipv4(ip(s), v4(198, 18, 0, 1), proto, 5000, 80, 0, 100));
            }
        }
        base.add(Frames.ipv4(v4(198, 18, 9, 9), v4(198, 18, 0, 1), 17, 5000, 53, 3, -1));
        base.add(Frames.ipv4(v4(198, 18, 9, 9), v4(198, 18, 0, 1), 6, 4000, 443, 3, -1));
        base.add(Frames.ipv4(v4(198, 18, 9, 10), v4(198, 18, 0, 1), 17, 7, 7, 3, -1));
        for (String s : new String[] {"2001:db8:1::7", "2001:db8:1:ffff::1", "2001:db8:2::1", "fe80::1"}) {
            for (int proto : new int[] {6, 17, 58}) {
                base.add(Frames.ipv6(ip(s), ip("2001:db8:ff::1"), proto, 1234, 80, 4));
            }
        }
        List<byte[]> out = new ArrayList<>();
        for (byte[] b : base) {
            out.add(b);
            byte[] ttl1 = b.clone();
            int l3 = (ttl1[12] & 0xff) == 0x81 ? 18 : 14;
            if ((ttl1[l3 - 2] & 0xff) == 0x08) {
                ttl1[l3 + 8] = 1;
            }
            out.add(ttl1);
        }
        byte[] qinq = Frames.ipv4(v4(198, 18, 1, 7), v4(198, 18, 0, 1), 17, 1, 2, 8, 5);
        byte[] q = new byte[qinq.length + 4];
        System.arraycopy(qinq, 0, q, 0, 12);
        q[12] = (byte) 0x88;
        q[13] = (byte) 0xa8;
        q[14] = 0;
        q[15] = 9;
        System.arraycopy(qinq, 12, q, 16, qinq.length - 12);
        out.add(q);
        byte[] frag = Frames.ipv4(v4(198, 18, 9, 9), v4(198, 18, 0, 1), 17, 5000, 53, 3, -1);
        frag[20] = 0x00;
        frag[21] = 0x10; // fragment offset 16
        out.add(frag);
        byte[] opts = Frames.ipv4(v4(198, 18, 9, 9), v4(198, 18, 0, 1), 17, 5000, 53, 12, -1);
        opts[14] = 0x46; // IHL 6: the UDP ports move 4 bytes
        out.add(opts);
        byte[] badIhl = opts.clone();
        badIhl[14] = 0x43;
        out.add(badIhl);
        byte[] ihl15 = opts.clone();
        ihl15[14] = 0x4f;
        out.add(ihl15);
        byte[] arp = new byte[42];
        arp[12] = 0x08;
        arp[13] = 0x06;
        out.add(arp);
        // truncated: every length of a few frames, 0 to full
        for (byte[] b : List.of(base.get(0), base.get(1), base.get(base.size() - 1), q)) {
            for (int len = 0; len < b.length; len++) {
                out.add(Arrays.copyOf(b, len));
            }
        }
        Random rnd = new Random(seed);
        for (int i = 0; i < 300; i++) {
            byte[] b = out.get(rnd.nextInt(base.size())).clone();
            for (int k = 1 + rnd.nextInt(4); k > 0; k--) {
                b[12 + rnd.nextInt(b.length - 12)] = (byte) rnd.nextInt(256);
            }
            out.add(b);
        }
        for (int i = 0; i < 50; i++) {
            byte[] b = new byte[rnd.nextInt(120)];
            rnd.nextBytes(b);
            out.add(b);
        }
        return out;
    }

    @Test
    void testProgramAgreesWithTheKernel() {
        try (KernelDifferential d = new KernelDifferential(object("test-classes", "ebpf_testprog"), "ebpf_testprog")) {
            d.update("drop_v4", lpm(24, ip("198.18.1.0")), le32(1));
            d.update("drop_v4", lpm(25, ip("198.18.2.128")), le32(2));
            d.update("drop_v4", lpm(8, ip("10.0.0.0")), le32(3));
            d.update("drop_v6", lpm(48, ip("2001:db8:1::")), le32(4));
            d.update("drop_v6", lpm(64, ip("2001:db8:1:ffff::")), le32(5));
            // rules: flow_key {proto, pad[3], src4, dst4, sport, dport} in network order
            d.update("rules", flow(17, "198.18.9.9", "198.18.0.1", 5000, 53), le32(1));
            d.update("rules", flow(6, "198.18.9.9", "198.18.0.1", 4000, 443), le32(2));
            d.update("rules", flow(17, "198.18.9.10", "198.18.0.1", 7, 7), le32(3));
            d.update("rules", flow(17, "198.19.0.9", "198.18.0.1", 1017, 53), le32(4));
            int[] verdicts = new int[5];
            List<byte[]> corpus = corpus(1);
            for (byte[] p : corpus) {
                if (p.length >= 14) {
                    verdicts[d.run(p)]++;
                }
            }
            d.assertSameMaps();
            // shorter than an Ethernet header: the kernel refuses to test-run them, the engines must still agree
            for (byte[] p : corpus) {
                if (p.length < 14) {
                    verdicts[d.run(p)]++;
                }
            }
            d.assertEnginesSameMaps();
            // the corpus reaches every verdict the program has
            for (int v = 0; v < 4; v++) {
                assertTrue(verdicts[v] > 0, "no packet gave verdict " + v + ": " + Arrays.toString(verdicts));
            }
            assertTrue(d.kernelRuns > 500, "kernel runs " + d.kernelRuns);
        }
    }

    /** The production prefilter (src/main/bpf/prefilter.c): every rule kind hit, both default actions. */
    @Test
    void prefilterAgreesWithTheKernel() {
        for (int defaultAction : new int[] {0, 1}) {
            try (KernelDifferential d = new KernelDifferential(object("classes", "prefilter"), "pf_prefilter")) {
                d.update("pf_config", le32(0), le32(defaultAction, 0));
                d.update("pf_src_v4", lpm(24, ip("198.18.1.0")), le32(1));
                d.update("pf_src_v4", lpm(25, ip("198.18.2.128")), le32(2));
                d.update("pf_src_v4", lpm(8, ip("10.0.0.0")), le32(3));
                d.update("pf_src_v6", lpm(48, ip("2001:db8:1::")), le32(4));
                d.update("pf_src_v6", lpm(64, ip("2001:db8:1:ffff::")), le32(5));
                d.update("pf_flows", pfFlow(4, 17, "198.18.9.9", "198.18.0.1", 5000, 53), le32(0, 10));
                d.update("pf_flows", pfFlow(4, 6, "198.18.9.9", "198.18.0.1", 4000, 443), le32(1, 11));
                d.update("pf_flows", pfFlow(4, 17, "198.18.9.9", "198.18.0.1", 0, 0), le32(0, 12)); // fragments
                d.update("pf_flows", pfFlow(6, 58, "2001:db8:2::1", "2001:db8:ff::1", 1234 & 0xff, 80), le32(1, 13));
                // ICMP: type and code stand for the ports (Frames writes the low byte of sport and dport there)
                d.update("pf_flows", pfFlow(4, 1, "198.18.3.1", "198.18.0.1", 1001 & 0xff, 53), le32(0, 14));
                int[] verdicts = new int[5];
                List<byte[]> corpus = corpus(2 + defaultAction);
                for (byte[] p : corpus) {
                    if (p.length >= 14) {
                        verdicts[d.run(p)]++;
                    }
                }
                d.assertSameMaps();
                for (byte[] p : corpus) {
                    if (p.length < 14) {
                        verdicts[d.run(p)]++;
                    }
                }
                d.assertEnginesSameMaps();
                assertTrue(verdicts[1] > 0 && verdicts[2] > 0, Arrays.toString(verdicts));
                for (int rule : new int[] {1, 2, 3, 4, 5, 10, 11, 12, 13, 14}) {
                    assertTrue(ruleHits(d, rule) > 0, "rule " + rule + " never hit");
                }
            }
        }
    }

    private static long ruleHits(KernelDifferential d, int rule) {
        EbpfMap m = d.users.get(0).map("pf_rule_hits");
        return ByteBuffer.wrap(EbpfMap.sumPerCpu(m.lookup(le32(rule)), 8, m.cpus()))
                .order(ByteOrder.LITTLE_ENDIAN)
                .getLong();
    }

    /** struct pf_flow (prefilter.h): src[16], dst[16], sport, dport (network order), proto, family, pad[2]. */
    static byte[] pfFlow(int family, int proto, String src, String dst, int sport, int dport) {
        ByteBuffer b = ByteBuffer.allocate(40);
        b.put(0, ip(src))
                .put(16, ip(dst))
                .putShort(32, (short) sport)
                .putShort(34, (short) dport)
                .put(36, (byte) proto)
                .put(37, (byte) family);
        return b.array();
    }

    static byte[] flow(int proto, String src, String dst, int sport, int dport) {
        return ByteBuffer.allocate(16)
                .put((byte) proto)
                .put(new byte[3])
                .put(ip(src))
                .put(ip(dst))
                .putShort((short) sport)
                .putShort((short) dport)
                .array();
    }
}
