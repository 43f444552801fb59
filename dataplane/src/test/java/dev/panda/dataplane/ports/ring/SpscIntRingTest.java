package dev.panda.dataplane.ports.ring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SpscIntRingTest {

    @Test
    void fillsToCapacityAndWrapsAround() {
        SpscIntRing r = new SpscIntRing("t", 8);
        int[] src = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        int[] dst = new int[10];
        assertEquals(8, r.offer(src, 0, 10), "only capacity fits");
        assertEquals(0, r.offer(src, 0, 1));
        assertEquals(5, r.poll(dst, 0, 5));
        assertEquals(List.of(1, 2, 3, 4, 5), list(dst, 5));
        assertEquals(5, r.offer(src, 0, 5), "room again after the consumer moved");
        assertEquals(8, r.size());
        assertEquals(8, r.poll(dst, 0, 10));
        assertEquals(List.of(6, 7, 8, 1, 2, 3, 4, 5), list(dst, 8));
        assertEquals(0, r.poll(dst, 0, 1));
        assertEquals(0, r.size());
    }

    @Test
    void drainHandsOverEverything() {
        SpscIntRing r = new SpscIntRing("t", 4);
        r.offer(new int[] {7, 8, 9}, 0, 3);
        List<Integer> got = new ArrayList<>();
        assertEquals(3, r.drain(got::add));
        assertEquals(List.of(7, 8, 9), got);
    }

    @Test
    void sizeMustBeAPowerOfTwo() {
        assertThrows(IllegalArgumentException.class, () -> new SpscIntRing("t", 6));
        assertThrows(IllegalArgumentException.class, () -> new SpscIntRing("t", 1));
    }

    @Test
    void producerAndConsumerThreadsKeepOrderAndLoseNothing() throws Exception {
        SpscIntRing r = new SpscIntRing("t", 256);
        int total = 5_000_000;
        long[] sum = new long[1];
        int[] errors = new int[1];
        Thread consumer = Thread.ofPlatform().start(() -> {
            int[] buf = new int[32];
            int expect = 0;
            while (expect < total) {
                int n = r.poll(buf, 0, 32);
                for (int i = 0; i < n; i++) {
                    if (buf[i] != expect++) {
                        errors[0]++;
                    }
                    sum[0] += buf[i];
                }
                if (n == 0) {
                    Thread.yield();
                }
            }
        });
        int[] buf = new int[32];
        int next = 0;
        while (next < total) {
            int n = Math.min(32, total - next);
            for (int i = 0; i < n; i++) {
                buf[i] = next + i;
            }
            int k = r.offer(buf, 0, n);
            next += k;
            if (k == 0) {
                Thread.yield();
            }
        }
        consumer.join(60_000);
        assertEquals(0, errors[0], "out-of-order or corrupted handles");
        assertEquals((long) total * (total - 1) / 2, sum[0]);
    }

    private static List<Integer> list(int[] a, int n) {
        List<Integer> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            l.add(a[i]);
        }
        return l;
    }
}
