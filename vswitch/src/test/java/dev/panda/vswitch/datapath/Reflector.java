package dev.panda.vswitch.datapath;

import dev.panda.dataplane.port.PacketBurst;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Each host sends back what it receives with source and destination MACs swapped. */
final class Reflector implements Runnable {
    final Hosts hs;
    final Hosts.Host[] hosts;
    final PacketBurst burst = new PacketBurst(32);
    volatile boolean stop;

    Reflector(Hosts hs, Hosts.Host[] hosts) {
        this.hs = hs;
        this.hosts = hosts;
    }

    @Override
    public void run() {
        MemorySegment seg = hs.pool.segment();
        while (!stop) {
            int moved = 0;
            for (int j = 0; j < hosts.length; j++) {
                Hosts.Host h = hosts[j];
                int n = h.port.rxBurst(0, burst);
                for (int i = 0; i < n; i++) {
                    long off = hs.pool.dataOffset(burst.handles[i]);
                    for (int k = 0; k < 6; k++) {
                        byte d = seg.get(ValueLayout.JAVA_BYTE, off + k);
                        seg.set(ValueLayout.JAVA_BYTE, off + k, seg.get(ValueLayout.JAVA_BYTE, off + 6 + k));
                        seg.set(ValueLayout.JAVA_BYTE, off + 6 + k, d);
                    }
                }
                int sent = 0;
                while (sent < n && !stop) {
                    if (sent > 0) {
                        System.arraycopy(burst.handles, sent, burst.handles, 0, n - sent);
                    }
                    int k = h.port.txBurst(0, burst, n - sent);
                    sent += k;
                    if (k == 0) {
                        Thread.yield();
                    }
                }
                moved += n;
            }
            if (moved == 0) {
                Thread.yield();
            }
        }
    }
}
