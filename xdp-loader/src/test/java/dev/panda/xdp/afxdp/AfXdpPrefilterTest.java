package dev.panda.xdp.afxdp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.testing.Frames;
import dev.panda.dataplane.testing.VethPair;
import dev.panda.xdp.prefilter.Prefilter;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Traffic from a namespace reaches panda through AF_XDP exactly as the prefilter rules say:
 * redirected frames arrive byte for byte, dropped prefixes are counted and never delivered,
 * passed flows reach the kernel stack (the namespace's ping is answered), and rules changed
 * while the port runs change the counts. In skb and native mode.
 */
class AfXdpPrefilterTest {

    private VethPair veth;
    private PacketPool pool;
    private AfXdpPort port;
    private Prefilter pf;

    void open(String mode) {
        veth = VethPair.create();
        pool = PacketPool.create(PoolConfig.defaults().withCount(4096).withHugepages(PoolConfig.Hugepages.OFF));
        port = AfXdpFixture.open(veth, pool, ",mode=" + mode);
        pf = port.prefilter();
    }

    @AfterEach
    void close() {
        if (port != null) {
            port.close();
            assertEquals(pool.capacity(), pool.available(), "every buffer back in the pool after close");
        }
        if (pool != null) {
            pool.close();
        }
        if (veth != null) {
            veth.close();
        }
    }

    /** Receives everything waiting on queue 0 (frames copied out, buffers freed). */
    private List<byte[]> drain() {
        List<byte[]> got = new ArrayList<>();
        PacketBurst b = new PacketBurst(32);
        MemorySegment mem = pool.segment();
        for (int idle = 0; idle < 200; ) {
            int n = port.rxBurst(0, b);
            if (n == 0) {
                idle++;
                Frames.sleep(1);
                continue;
            }
            for (int i = 0; i < n; i++) {
                int h = b.handles[i];
                byte[] f = mem.asSlice(pool.dataOffset(h), pool.length(h)).toArray(ValueLayout.JAVA_BYTE);
                if (f.length >= 34 && f[12] == 0x08 && f[13] == 0x00) {
                    got.add(f); // IPv4 only: the test's frames (a stray frame of the namespace is not one)
                }
            }
            pool.freeBulk(b.handles, 0, n);
        }
        return got;
    }

    @ParameterizedTest
    @ValueSource(strings = {"native", "skb"})
    void redirectedFramesArriveIntactAndDroppedPrefixesNever(String mode) throws Exception {
        open(mode);
        List<byte[]> frames = veth.udpFramesToHost(40, 7001, 100);
        AfXdpFixture.sendAndSettle(veth, pf, frames);
        List<byte[]> got = drain();
        assertEquals(frames.size(), got.size(), "redirected frames received");
        for (int i = 0; i < frames.size(); i++) {
            assertArrayEquals(frames.get(i), got.get(i), "frame " + i + " intact");
        }
        assertEquals(40, pf.actionCount(Prefilter.Action.REDIRECT));
        assertEquals(40, port.stats().ipackets());

        // live rule: drop the peer's /32; nothing is delivered, every frame is counted
        pf.dropSourcePrefix(InetAddress.getByName(veth.peerAddr()), 32, 7);
        AfXdpFixture.sendAndSettle(veth, pf, veth.udpFramesToHost(25, 7001, 100));
        assertEquals(0, drain().size(), "dropped prefix delivered nothing");
        assertEquals(25, pf.ruleCount(7));
        assertEquals(25, pf.actionCount(Prefilter.Action.DROP_PREFIX));

        // rule removed live: frames flow again
        pf.removeSourcePrefix(InetAddress.getByName(veth.peerAddr()), 32);
        AfXdpFixture.sendAndSettle(veth, pf, veth.udpFramesToHost(10, 7001, 100));
        assertEquals(10, drain().size());
        assertEquals(25, pf.ruleCount(7), "the removed rule counts no more");
    }

    @ParameterizedTest
    @ValueSource(strings = {"native"})
    void passedFlowsReachTheKernelAndPingIsAnswered(String mode) throws Exception {
        open(mode);
        // ARP would be redirected to panda like any unmatched frame: static neighbours both ways
        veth.inNs("ip", "neigh", "replace", veth.hostAddr(), "lladdr", hex(veth.hostMac()), "dev", veth.peerIf);
        VethPair.sh("ip", "neigh", "replace", veth.peerAddr(), "lladdr", hex(veth.peerMac()), "dev", veth.hostIf);
        InetAddress peer = InetAddress.getByName(veth.peerAddr());
        InetAddress host = InetAddress.getByName(veth.hostAddr());
        // without a rule, echo requests go to panda and the ping is not answered
        assertNotEquals(0, veth.inNsStatus("ping", "-c", "2", "-i", "0.2", "-W", "1", veth.hostAddr()));
        int toPanda = drain().size();
        assertEquals(2, toPanda, "the unanswered echo requests were redirected to panda");
        // pass ICMP echo requests (type 8, code 0) from the peer to the host: the kernel answers
        pf.flowRule(peer, host, 1, 8, 0, Prefilter.FlowAction.PASS, 20);
        assertEquals(0, veth.inNsStatus("ping", "-c", "3", "-i", "0.2", "-W", "5", veth.hostAddr()), "ping answered");
        assertEquals(3, pf.ruleCount(20));
        assertEquals(3, pf.actionCount(Prefilter.Action.PASS_FLOW));
        // a UDP flow dropped by 5-tuple, while other UDP still reaches panda
        pf.flowRule(peer, host, 17, 7002, 9000, Prefilter.FlowAction.DROP, 21);
        List<byte[]> mixed = new ArrayList<>(veth.udpFramesToHost(5, 7002, 20));
        mixed.addAll(veth.udpFramesToHost(4, 7003, 20));
        AfXdpFixture.sendAndSettle(veth, pf, mixed);
        List<byte[]> got = drain();
        assertEquals(4, got.size());
        for (byte[] f : got) {
            assertEquals(
                    7003,
                    ((f[34] & 0xff) << 8) | (f[35] & 0xff),
                    "only the undropped flow arrives: " + Arrays.toString(f));
        }
        assertEquals(5, pf.ruleCount(21));
    }

    @org.junit.jupiter.api.Test
    void twoQueuesShareOneUmem() {
        veth = VethPair.create(2);
        pool = PacketPool.create(PoolConfig.defaults().withCount(8192).withHugepages(PoolConfig.Hugepages.OFF));
        port = AfXdpFixture.open(veth, pool, ",mode=native,queue_count=2");
        pf = port.prefilter();
        assertEquals(2, port.rxQueueCount());
        // frames sent from several source ports land on whichever veth queue the peer picks
        List<byte[]> frames = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            frames.add(veth.udpToHost(8000 + i, 9000, i, 40));
        }
        AfXdpFixture.sendAndSettle(veth, pf, frames);
        PacketBurst b = new PacketBurst(32);
        int got = 0;
        for (int idle = 0; idle < 200; ) {
            int n = port.rxBurst(0, b);
            pool.freeBulk(b.handles, 0, n);
            int m = port.rxBurst(1, b);
            pool.freeBulk(b.handles, 0, m);
            got += n + m;
            if (n + m == 0) {
                idle++;
                Frames.sleep(1);
            }
        }
        assertEquals(60, got, "frames received over both queues");
        assertEquals(
                60, pf.actionCount(Prefilter.Action.REDIRECT), "no frame fell back to the stack: both queues bound");
        // tx on queue 1 works through the shared UMEM too
        int h = pool.alloc();
        pool.setLength(h, 60);
        b.handles[0] = h;
        assertEquals(1, port.txBurst(1, b, 1));
    }

    private static String hex(byte[] mac) {
        return java.util.HexFormat.ofDelimiter(":").formatHex(mac);
    }
}
