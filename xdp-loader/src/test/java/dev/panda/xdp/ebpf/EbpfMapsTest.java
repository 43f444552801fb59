package dev.panda.xdp.ebpf;

import static dev.panda.xdp.ebpf.KernelDifferentialTest.ip;
import static dev.panda.xdp.ebpf.KernelDifferentialTest.le32;
import static dev.panda.xdp.ebpf.KernelDifferentialTest.lpm;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The userspace maps' semantics and error numbers, as the kernel documents them for each type. */
class EbpfMapsTest {

    static final long ANY = EbpfMap.BPF_ANY, NOEXIST = EbpfMap.BPF_NOEXIST, EXIST = EbpfMap.BPF_EXIST;

    @Test
    void arrayHasEveryIndexAndRefusesDeleteAndNoexist() {
        EbpfMap m = EbpfMap.create(new MapSpec("a", MapSpec.ARRAY, 4, 4, 3, 0), 1);
        assertArrayEquals(le32(0), m.lookup(le32(2)));
        assertNull(m.lookup(le32(3)));
        assertEquals(0, m.update(le32(1), le32(9), ANY));
        assertEquals(0, m.update(le32(1), le32(10), EXIST));
        assertEquals(-EbpfMap.EEXIST, m.update(le32(1), le32(9), NOEXIST));
        assertEquals(-EbpfMap.E2BIG, m.update(le32(3), le32(9), ANY));
        assertEquals(-EbpfMap.EINVAL, m.update(le32(0), le32(9), 3));
        assertEquals(-EbpfMap.EINVAL, m.delete(le32(1)));
        assertArrayEquals(le32(10), m.lookup(le32(1)));
        assertEquals(3, m.keys().size());
    }

    @Test
    void hashFlagsFullAndDelete() {
        EbpfMap m = EbpfMap.create(new MapSpec("h", MapSpec.HASH, 8, 4, 4, 0), 1);
        byte[] k1 = le32(1, 1);
        assertEquals(-EbpfMap.ENOENT, m.update(k1, le32(1), EXIST));
        assertEquals(0, m.update(k1, le32(1), NOEXIST));
        assertEquals(-EbpfMap.EEXIST, m.update(k1, le32(2), NOEXIST));
        assertEquals(0, m.update(k1, le32(3), EXIST));
        assertArrayEquals(le32(3), m.lookup(k1));
        for (int i = 2; i <= 4; i++) {
            assertEquals(0, m.update(le32(i, i), le32(i), ANY));
        }
        assertEquals(-EbpfMap.E2BIG, m.update(le32(5, 5), le32(5), ANY));
        assertEquals(0, m.delete(k1));
        assertEquals(-EbpfMap.ENOENT, m.delete(k1));
        assertNull(m.lookup(k1));
        assertEquals(0, m.update(le32(5, 5), le32(5), ANY));
        assertEquals(4, m.keys().size());
    }

    @Test
    void hashAgainstJavaSetUnderRandomUpdatesAndDeletes() {
        // backward-shift deletion must never lose a key of a probe run
        HashTableMap m = (HashTableMap) EbpfMap.create(new MapSpec("h", MapSpec.HASH, 4, 4, 64, 0), 1);
        Set<Integer> model = new HashSet<>();
        Random r = new Random(7);
        for (int i = 0; i < 20_000; i++) {
            int k = r.nextInt(100);
            if (r.nextBoolean()) {
                int rc = m.update(le32(k), le32(k * 3), ANY);
                if (model.size() < 64 || model.contains(k)) {
                    assertEquals(0, rc);
                    model.add(k);
                } else {
                    assertEquals(-EbpfMap.E2BIG, rc);
                }
            } else {
                assertEquals(model.remove(k) ? 0 : -EbpfMap.ENOENT, m.delete(le32(k)));
            }
            if (i % 97 == 0) {
                for (int q = 0; q < 100; q++) {
                    byte[] v = m.lookup(le32(q));
                    assertEquals(model.contains(q), v != null, "key " + q + " after " + i + " operations");
                    if (v != null) {
                        assertArrayEquals(le32(q * 3), v);
                    }
                }
                assertEquals(model.size(), m.size());
            }
        }
    }

    @Test
    void lpmLongestPrefixWinsAndKeyPrefixLengthBoundsTheMatch() {
        EbpfMap m = EbpfMap.create(new MapSpec("l", MapSpec.LPM_TRIE, 8, 4, 8, 1), 1);
        assertEquals(0, m.update(lpm(8, ip("10.0.0.0")), le32(8), ANY));
        assertEquals(0, m.update(lpm(24, ip("10.1.2.0")), le32(24), ANY));
        assertEquals(0, m.update(lpm(25, ip("10.1.2.128")), le32(25), ANY));
        assertEquals(0, m.update(lpm(0, ip("0.0.0.0")), le32(0), ANY));
        assertArrayEquals(le32(25), m.lookup(lpm(32, ip("10.1.2.200"))));
        assertArrayEquals(le32(24), m.lookup(lpm(32, ip("10.1.2.100"))));
        assertArrayEquals(le32(8), m.lookup(lpm(32, ip("10.9.9.9"))));
        assertArrayEquals(le32(0), m.lookup(lpm(32, ip("11.0.0.1"))));
        // a key with prefix length 16 only matches entries of at most 16 bits
        assertArrayEquals(le32(8), m.lookup(lpm(16, ip("10.1.2.200"))));
        // bits after the prefix do not make a different entry
        assertEquals(-EbpfMap.EEXIST, m.update(lpm(24, ip("10.1.2.77")), le32(1), NOEXIST));
        assertEquals(-EbpfMap.EINVAL, m.update(lpm(33, ip("10.1.2.0")), le32(1), ANY));
        assertEquals(-EbpfMap.ENOENT, m.update(lpm(23, ip("10.1.2.0")), le32(1), EXIST));
        assertEquals(0, m.delete(lpm(25, ip("10.1.2.128"))));
        assertEquals(-EbpfMap.ENOENT, m.delete(lpm(25, ip("10.1.2.128"))));
        assertArrayEquals(le32(24), m.lookup(lpm(32, ip("10.1.2.200"))));
        for (int i = 0; i < 5; i++) {
            assertEquals(0, m.update(lpm(32, new byte[] {1, 1, 1, (byte) i}), le32(i), ANY));
        }
        assertEquals(-EbpfMap.ENOSPC, m.update(lpm(32, ip("2.2.2.2")), le32(1), ANY));
    }

    @Test
    void lpmV6PartialByte() {
        EbpfMap m = EbpfMap.create(new MapSpec("l6", MapSpec.LPM_TRIE, 20, 4, 8, 1), 1);
        assertEquals(0, m.update(lpm(45, ip("2001:db8:8::")), le32(45), ANY));
        assertArrayEquals(le32(45), m.lookup(lpm(128, ip("2001:db8:f::1"))));
        assertNull(m.lookup(lpm(128, ip("2001:db8:10::1"))));
        assertNull(m.lookup(lpm(128, ip("2001:db8:7::1"))));
    }

    @Test
    void perCpuValuesAreOnePerCpuAndSum() {
        EbpfMap m = EbpfMap.create(new MapSpec("p", MapSpec.PERCPU_HASH, 4, 8, 4, 0), 3);
        assertEquals(3, m.cpus());
        assertThrows(IllegalArgumentException.class, () -> m.update(le32(1), new byte[8], ANY));
        byte[] all = new byte[24];
        all[0] = 1;
        all[8] = 2;
        all[16] = 4;
        assertEquals(0, m.update(le32(1), all, ANY));
        assertArrayEquals(new byte[] {7, 0, 0, 0, 0, 0, 0, 0}, EbpfMap.sumPerCpu(m.lookup(le32(1)), 8, 3));
    }

    @Test
    void unsupportedTypesAndBadSizesAreRefusedByName() {
        var e = assertThrows(BpfFormatException.class, () -> EbpfMap.create(new MapSpec("ring", 27, 0, 0, 4096, 0), 1));
        assertEquals(true, e.getMessage().contains("ring"));
        assertThrows(BpfFormatException.class, () -> EbpfMap.create(new MapSpec("a", MapSpec.ARRAY, 8, 4, 4, 0), 1));
        assertThrows(BpfFormatException.class, () -> EbpfMap.create(new MapSpec("x", MapSpec.XSKMAP, 4, 8, 4, 0), 1));
        assertEquals(
                List.of(),
                EbpfMap.create(new MapSpec("x", MapSpec.XSKMAP, 4, 4, 4, 0), 1).keys());
    }
}
