package dev.panda.vswitch.ctl;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Hosts at the far end of a vswitch's ring ports and a thread that paces their traffic: each host
 * opens {@code net_ringH} in the vswitch's pool and the vswitch gets
 * {@code net_ringP,peer=net_ringH}; every host sends frames at its own steady rate (the count due
 * by the clock, not by sleeps) and drains what the vswitch sends it.
 */
final class RingTraffic implements AutoCloseable {

    private static final AtomicInteger NEXT = new AtomicInteger(300);

    private final PacketPool pool;
    private final Ports ports = Ports.discover();
    private final List<Host> hosts = new ArrayList<>();
    private Thread thread;
    private volatile boolean running;

    RingTraffic(PacketPool pool) {
        this.pool = pool;
    }

    final class Host {
        final Port port;
        final String device;
        final long mac;
        final PacketBurst burst = new PacketBurst(32);
        final List<Stream> streams = new ArrayList<>();

        Host(Port port, String device, long mac) {
            this.port = port;
            this.device = device;
            this.mac = mac;
        }

        /** From now on, send {@code pps} frames a second to dst, with an 802.1Q tag vid if not 0. */
        Host stream(long dst, int vid, double pps) {
            streams.add(new Stream(dst, vid, pps));
            return this;
        }

        /** Sends {@code n} frames to dst (802.1Q tag vid if not 0), as many as the ring takes. */
        int send(long dst, int vid, int n) {
            int k = 0;
            for (; k < n; k++) {
                int h = pool.alloc();
                if (h < 0) {
                    break;
                }
                byte[] f = frame(dst, mac, vid);
                MemorySegment.copy(f, 0, pool.segment(), ValueLayout.JAVA_BYTE, pool.dataOffset(h), f.length);
                pool.setLength(h, f.length);
                burst.handles[0] = h;
                if (port.txBurst(0, burst, 1) != 1) {
                    pool.free(h);
                    break;
                }
            }
            return k;
        }

        void drain() {
            int n;
            while ((n = port.rxBurst(0, burst)) > 0) {
                for (int i = 0; i < n; i++) {
                    pool.free(burst.handles[i]);
                }
            }
        }
    }

    private static final class Stream {
        final long dst;
        final int vid;
        final double pps;
        long sent;

        Stream(long dst, int vid, double pps) {
            this.dst = dst;
            this.vid = vid;
            this.pps = pps;
        }
    }

    /** A host; {@link Host#device} is the device string of the vswitch's end. */
    Host host(long mac) {
        int h = NEXT.getAndIncrement();
        Port p = ports.open("net_ring" + h + ",size=1024", PortContext.of(pool, 0));
        Host host = new Host(p, "net_ring" + (h + 1000) + ",size=1024,peer=net_ring" + h, mac);
        hosts.add(host);
        return host;
    }

    /** Starts the pacing thread: every stream at its rate; every host drains what it receives. */
    void start() {
        running = true;
        thread = Thread.ofPlatform().name("ring-traffic").daemon(true).start(() -> {
            long t0 = System.nanoTime();
            while (running) {
                double s = (System.nanoTime() - t0) / 1e9;
                for (Host h : hosts) {
                    for (Stream st : h.streams) {
                        long due = (long) (st.pps * s) - st.sent;
                        if (due > 0) {
                            st.sent += h.send(st.dst, st.vid, (int) Math.min(due, 256));
                            st.sent = Math.max(st.sent, (long) (st.pps * s) - 256); // no burst of arrears
                        }
                    }
                    h.drain();
                }
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    static byte[] frame(long dst, long src, int vid) {
        ByteBuffer b = ByteBuffer.allocate(100);
        b.putShort((short) (dst >>> 32)).putInt((int) dst);
        b.putShort((short) (src >>> 32)).putInt((int) src);
        if (vid > 0) {
            b.putShort((short) 0x8100).putShort((short) vid);
        }
        b.putShort((short) 0x0800);
        return b.array();
    }

    /** Stops the pacing thread. */
    void stop() throws InterruptedException {
        running = false;
        if (thread != null) {
            thread.join(5000);
        }
    }

    /** Stops the traffic and closes the hosts' ports (after the vswitch closed its ends). */
    @Override
    public void close() throws InterruptedException {
        stop();
        for (Host h : hosts) {
            h.drain();
            h.port.close();
        }
    }
}
