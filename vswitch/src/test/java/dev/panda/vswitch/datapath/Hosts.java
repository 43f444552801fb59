package dev.panda.vswitch.datapath;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.vswitch.Vswitch;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.VswitchConfig;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A vswitch on in-process ring ports, with a "host" at the far end of each: the test opens
 * {@code net_ringH} in the vswitch's pool and the vswitch gets {@code net_ringP,peer=net_ringH}, so a
 * frame the host sends arrives on the vswitch's port and what the vswitch sends there reaches the
 * host.
 */
final class Hosts implements AutoCloseable {

    private static final AtomicInteger NEXT = new AtomicInteger(100);

    final PacketPool pool = PacketPool.create(PoolConfig.defaults().withCount(8192));
    final Vswitch vswitch;
    private final List<Port> hosts = new ArrayList<>();
    private final Ports ports = Ports.discover();

    Hosts(PmdConfig.Mode mode) {
        this(new PmdConfig(List.of(), mode, "yield", null, 256));
    }

    Hosts(PmdConfig pmd) {
        vswitch = Vswitch.start(new VswitchConfig(pmd, List.of()), pool, new int[] {0}, false);
    }

    /** Opens a host end and returns the device string of the switch end to add as a port. */
    Host host() {
        return host(1024);
    }

    /** {@link #host()} with rings of {@code size} slots each way. */
    Host host(int size) {
        int h = NEXT.getAndIncrement();
        Port p = ports.open("net_ring" + h + ",size=" + size, PortContext.of(pool, 0));
        hosts.add(p);
        return new Host(p, "net_ring" + (h + 1000) + ",size=" + size + ",peer=net_ring" + h);
    }

    final class Host {
        final Port port;
        final String device;
        private final PacketBurst burst = new PacketBurst(32);

        Host(Port port, String device) {
            this.port = port;
            this.device = device;
        }

        /** Sends one frame: dst, src, optional 802.1Q VID (0 for none), ethertype 0x0800, payload. */
        void send(long dst, long src, int vid, int payloadLen) {
            while (!trySend(dst, src, vid, payloadLen)) {
                Thread.yield();
            }
        }

        /** Like {@link #send}, false if the ring toward the switch is full. */
        boolean trySend(long dst, long src, int vid, int payloadLen) {
            int h = pool.alloc();
            if (h < 0) {
                throw new IllegalStateException("pool empty");
            }
            byte[] f = frame(dst, src, vid, payloadLen);
            MemorySegment.copy(f, 0, pool.segment(), ValueLayout.JAVA_BYTE, pool.dataOffset(h), f.length);
            pool.setLength(h, f.length);
            burst.handles[0] = h;
            if (port.txBurst(0, burst, 1) != 1) {
                pool.free(h);
                return false;
            }
            return true;
        }

        /** Receives what reached this host within {@code ms}, as byte arrays; frees the buffers. */
        List<byte[]> receive(long ms) {
            List<byte[]> out = new ArrayList<>();
            long end = System.currentTimeMillis() + ms;
            do {
                int n = port.rxBurst(0, burst);
                for (int i = 0; i < n; i++) {
                    int h = burst.handles[i];
                    byte[] b = new byte[pool.length(h)];
                    MemorySegment.copy(pool.segment(), ValueLayout.JAVA_BYTE, pool.dataOffset(h), b, 0, b.length);
                    out.add(b);
                    pool.free(h);
                }
                if (n == 0) {
                    Thread.onSpinWait();
                    Thread.yield();
                }
            } while (System.currentTimeMillis() < end);
            return out;
        }
    }

    static byte[] frame(long dst, long src, int vid, int payloadLen) {
        ByteBuffer b = ByteBuffer.allocate(14 + (vid > 0 ? 4 : 0) + payloadLen);
        b.putShort((short) (dst >>> 32)).putInt((int) dst);
        b.putShort((short) (src >>> 32)).putInt((int) src);
        if (vid > 0) {
            b.putShort((short) 0x8100).putShort((short) vid);
        }
        b.putShort((short) 0x0800);
        for (int i = 0; i < payloadLen; i++) {
            b.put((byte) i);
        }
        return b.array();
    }

    /** The VID of a frame's 802.1Q tag, or 0 if it has none. */
    static int vid(byte[] f) {
        return ((f[12] & 0xff) << 8 | (f[13] & 0xff)) == 0x8100 ? ((f[14] & 0x0f) << 8 | (f[15] & 0xff)) : 0;
    }

    static long src(byte[] f) {
        long m = 0;
        for (int i = 6; i < 12; i++) {
            m = m << 8 | (f[i] & 0xff);
        }
        return m;
    }

    @Override
    public void close() {
        vswitch.close();
        for (Port p : hosts) {
            p.close();
        }
        pool.close();
    }
}
