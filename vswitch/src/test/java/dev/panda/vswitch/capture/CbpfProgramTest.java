package dev.panda.vswitch.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.jextract.Pcap;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * panda's cBPF interpreter gives libpcap's verdict: tcpdump expressions compiled by libpcap's
 * {@code pcap_compile} run over frames (ICMP, UDP to several ports, TCP, ARP, 802.1Q-tagged,
 * truncated, random) with both panda's interpreter and libpcap's {@code pcap_offline_filter}; every
 * verdict must agree. And the validator refuses what it must, naming the instruction.
 */
class CbpfProgramTest {

    static final String[] EXPRESSIONS = {
        "icmp",
        "udp and dst port 9",
        "vlan 10",
        "vlan 10 and udp",
        "tcp",
        "arp",
        "ip host 198.18.0.1",
        "ether src 02:00:00:00:00:01",
        "udp[8:2] = 0x4142",
        "len > 100",
        "ip[2:2] > 60",
        "not ip",
        "icmp[icmptype] = icmp-echo",
        "net 198.18.0.0/15 and not udp",
        "greater 64 and less 200",
        "ether broadcast",
        "ip6",
        "udp portrange 5-10"
    };

    @BeforeAll
    static void libpcap() {
        assertTrue(Pcap.isAvailable(), () -> "libpcap is needed (install libpcap-dev): " + Pcap.unavailabilityCause());
    }

    @Test
    void agreesWithLibpcap() {
        List<byte[]> frames = frames();
        int checked = 0;
        int matched = 0;
        for (String e : EXPRESSIONS) {
            CbpfProgram p = CbpfProgram.validate(Pcap.compile(e, 262144));
            for (byte[] f : frames) {
                int ours = p.run(MemorySegment.ofArray(f), 0, f.length);
                int theirs = Pcap.offlineFilter(e, 262144, f);
                assertEquals(theirs, ours, () -> "'" + e + "' on a frame of " + f.length + " bytes\n" + p);
                checked++;
                matched += ours != 0 ? 1 : 0;
            }
        }
        System.out.println("cBPF: " + checked + " verdicts agree with libpcap, " + matched + " matches");
        assertTrue(matched > 20, "too few frames matched to prove anything: " + matched);
    }

    static List<byte[]> frames() {
        List<byte[]> l = new ArrayList<>();
        l.add(Frames.icmpEcho(0, 56));
        l.add(Frames.udp(0, 9, 18));
        l.add(Frames.udp(0, 7, 200));
        l.add(Frames.udp(10, 9, 18));
        l.add(Frames.udp(10, 53, 18));
        l.add(Frames.udp(20, 9, 18));
        l.add(Frames.icmpEcho(10, 100));
        l.add(Frames.tcp(0, 80));
        l.add(Frames.arp());
        byte[] u = Frames.udp(0, 9, 18);
        for (int cut : new int[] {0, 6, 13, 14, 20, 33, 34, 41, 43}) {
            l.add(java.util.Arrays.copyOf(u, cut));
        }
        Random r = new Random(42);
        for (int i = 0; i < 50; i++) {
            byte[] f = new byte[r.nextInt(120)];
            r.nextBytes(f);
            if (f.length > 14 && r.nextBoolean()) {
                f[12] = (byte) 0x08;
                f[13] = 0;
            }
            l.add(f);
        }
        return l;
    }

    private static long insn(int code, int jt, int jf, int k) {
        return (long) code << 48 | (long) jt << 40 | (long) jf << 32 | Integer.toUnsignedLong(k);
    }

    @Test
    void refusesUnsafePrograms() {
        String[][] cases = {
            {"empty", "a program has 1..4096 instructions, this one 0"},
        };
        assertEquals(
                cases[0][1],
                assertThrows(CbpfProgram.InvalidProgramException.class, () -> CbpfProgram.validate(new long[0]))
                        .getMessage());
        // a jump past the end
        var e = assertThrows(
                CbpfProgram.InvalidProgramException.class,
                () -> CbpfProgram.validate(new long[] {insn(0x15, 5, 0, 1), insn(0x06, 0, 0, 0)}));
        assertTrue(e.getMessage().contains("instruction 0") && e.getMessage().contains("past the end"), e.getMessage());
        // an unconditional jump backwards (k = -1: far past the end)
        e = assertThrows(
                CbpfProgram.InvalidProgramException.class,
                () -> CbpfProgram.validate(new long[] {insn(0x05, 0, 0, -1), insn(0x06, 0, 0, 0)}));
        assertTrue(e.getMessage().contains("past the end"), e.getMessage());
        // division by the constant 0
        e = assertThrows(
                CbpfProgram.InvalidProgramException.class,
                () -> CbpfProgram.validate(new long[] {insn(0x34, 0, 0, 0), insn(0x16, 0, 0, 0)}));
        assertTrue(e.getMessage().contains("division by the constant 0"), e.getMessage());
        // scratch memory index 16
        e = assertThrows(
                CbpfProgram.InvalidProgramException.class,
                () -> CbpfProgram.validate(new long[] {insn(0x02, 0, 0, 16), insn(0x16, 0, 0, 0)}));
        assertTrue(e.getMessage().contains("scratch memory index 16"), e.getMessage());
        // no return at the end
        e = assertThrows(
                CbpfProgram.InvalidProgramException.class,
                () -> CbpfProgram.validate(new long[] {insn(0x00, 0, 0, 1)}));
        assertTrue(e.getMessage().contains("must end with a return"), e.getMessage());
        // unknown opcode
        e = assertThrows(
                CbpfProgram.InvalidProgramException.class,
                () -> CbpfProgram.validate(new long[] {insn(0xe0, 0, 0, 0), insn(0x06, 0, 0, 0)}));
        assertTrue(e.getMessage().contains("code 0xe0"), e.getMessage());
        // too long
        assertThrows(CbpfProgram.InvalidProgramException.class, () -> CbpfProgram.validate(new long[4097]));
    }

    @Test
    void loadsOutsideTheFrameAndDivisionByXEndWithZero() {
        // ld [1000]; ret #1 -> 0 on a short frame
        CbpfProgram p = CbpfProgram.validate(new long[] {insn(0x20, 0, 0, 1000), insn(0x06, 0, 0, 1)});
        assertEquals(0, p.run(MemorySegment.ofArray(new byte[64]), 0, 64));
        // ldx #0; ld #5; div x; ret a -> 0
        p = CbpfProgram.validate(
                new long[] {insn(0x01, 0, 0, 0), insn(0x00, 0, 0, 5), insn(0x3c, 0, 0, 0), insn(0x16, 0, 0, 0)});
        assertEquals(0, p.run(MemorySegment.ofArray(new byte[64]), 0, 64));
        // ldx #0xffffffff; ldb [x + 2]: wraps to 1, in the frame
        p = CbpfProgram.validate(new long[] {insn(0x01, 0, 0, -1), insn(0x50, 0, 0, 2), insn(0x16, 0, 0, 0)});
        byte[] f = new byte[8];
        f[1] = 7;
        assertEquals(7, p.run(MemorySegment.ofArray(f), 0, 8));
        assertEquals(0, ByteBuffer.allocate(0).remaining());
    }
}
