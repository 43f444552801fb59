package dev.panda.xdp.afxdp;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.dataplane.testing.VethPair;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.SockCalls;
import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.uapi.Uapi;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code busy_budget=} and {@code fill_batch=} of {@code net_af_xdp} on a veth pair (root):
 * refused values give one line naming the key, accepted ones set the kernel's socket options and
 * receive every frame sent, and the kernel's refusal of busy polling (a thread without
 * CAP_NET_ADMIN) gives one line naming the option.
 */
class AfXdpDevargsTest {

    @RegisterExtension
    static final VethPair.PerClass VETH = new VethPair.PerClass();

    private static PacketPool pool() {
        return PacketPool.create(PoolConfig.defaults().withCount(8192).withHugepages(PoolConfig.Hugepages.OFF));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "busy_budget=-1",
                "busy_budget=65536",
                "busy_budget=lots",
                "fill_batch=-1",
                "fill_batch=513",
                "fill_batch="
            })
    void refusedValuesGiveOneLineNamingTheKey(String arg) {
        try (PacketPool pool = pool()) {
            DeviceException e = assertThrows(
                    DeviceException.class, () -> AfXdpFixture.open(VETH.get(), pool, ",mode=native," + arg));
            String key = arg.substring(0, arg.indexOf('='));
            assertTrue(e.getMessage().contains(key), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
            assertEquals(pool.capacity(), pool.available(), "a refused open keeps no buffer");
        }
    }

    @Test
    void aFillBatchOverHalfTheFillRingIsRefused() {
        try (PacketPool pool = pool()) {
            // 64 descriptors: a 128-entry rx ring and a 256-entry fill ring
            DeviceException e = assertThrows(
                    DeviceException.class,
                    () -> Ports.discover()
                            .open(
                                    "net_af_xdp0,iface=" + VETH.get().hostIf + ",mode=native,fill_batch=129",
                                    new PortContext(pool, 0, 1, 1, 64, 64)));
            assertEquals(
                    "net_af_xdp0: fill_batch=129 exceeds half the fill ring (128 of 256 entries); use 0..128",
                    e.getMessage());
            assertEquals(pool.capacity(), pool.available());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ",fill_batch=0", ",fill_batch=1", ",fill_batch=512", ",busy_budget=64"})
    void acceptedValuesReceiveEveryFrame(String extra) {
        try (PacketPool pool = pool()) {
            AfXdpPort port = AfXdpFixture.open(VETH.get(), pool, ",mode=native,zerocopy=0" + extra);
            try {
                boolean busy = extra.contains("busy_budget");
                assertEquals(busy, port.busyPolling());
                XskSocket s = port.socket(0);
                assertEquals(busy ? 1 : 0, s.socketOption(Libc.SO_PREFER_BUSY_POLL(), "SO_PREFER_BUSY_POLL"));
                assertEquals(busy ? XskSocket.BUSY_POLL_USECS : 0, s.socketOption(Libc.SO_BUSY_POLL(), "SO_BUSY_POLL"));
                // SO_BUSY_POLL_BUDGET has no getsockopt (ENOPROTOOPT): its setsockopt succeeding is the check
                // three rounds: more frames than the primed half of the fill ring, so the ring must
                // be refilled in between for every frame to arrive
                for (int round = 0; round < 3; round++) {
                    int got = AfXdpPortAccess.sendAndReceive(VETH.get(), port, pool, 700);
                    assertEquals(700, got, "round " + round + " with '" + extra + "'");
                }
                long[] st = port.xdpStatistics(0);
                assertEquals(0, st[0], "kernel rx_dropped (fill ring empty)");
                assertEquals(0, port.stats().rxNombuf());
            } finally {
                port.close();
            }
            assertEquals(pool.capacity(), pool.available(), "close returned every buffer");
        }
    }

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle CAPGET = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("capget"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle CAPSET = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("capset"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private static final int LINUX_CAPABILITY_VERSION_3 = 0x20080522;
    private static final int CAP_NET_ADMIN = 12;

    /**
     * Capabilities are per thread on Linux: a thread that drops CAP_NET_ADMIN from its effective
     * set binds an AF_XDP socket (that needs CAP_NET_RAW only) and then asks for busy polling, which
     * the kernel refuses (SO_PREFER_BUSY_POLL=1 needs CAP_NET_ADMIN); the driver's line names the
     * option, the errno, the capability and the way out.
     */
    @Test
    void theKernelsRefusalGivesOneLine() throws Exception {
        try (PacketPool pool = pool()) {
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            Thread t = new Thread(() -> {
                try {
                    dropEffective(CAP_NET_ADMIN);
                    try (XskSocket s = new XskSocket(
                            pool.segment(),
                            (int) pool.stride(),
                            SockCalls.ifindex(VETH.get().hostIf),
                            0,
                            64,
                            128,
                            Uapi.XDP_USE_NEED_WAKEUP() | Uapi.XDP_COPY(),
                            -1)) {
                        s.preferBusyPoll(64);
                    }
                } catch (Throwable e) {
                    thrown.set(e);
                }
            });
            t.start();
            t.join();
            NativeException e = assertInstanceOf(NativeException.class, thrown.get());
            assertEquals(Libc.EPERM(), e.errno(), e.getMessage());
            String line = AfXdpPortDriver.busyPollRefused("net_af_xdp0", 64, e).getMessage();
            assertEquals(
                    "net_af_xdp0: busy_budget=64: setsockopt(SO_PREFER_BUSY_POLL) failed: EPERM (Operation not"
                            + " permitted), it needs CAP_NET_ADMIN; busy_budget=0 turns busy polling off",
                    line);
        }
    }

    private static <T> T assertInstanceOf(Class<T> c, Throwable t) {
        if (!c.isInstance(t)) {
            throw new AssertionError("expected " + c.getSimpleName() + ", got " + t, t);
        }
        return c.cast(t);
    }

    /** capget, then capset without {@code cap} in the calling thread's effective set. */
    private static void dropEffective(int cap) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment hdr = a.allocate(8, 4);
            hdr.set(JAVA_INT, 0, LINUX_CAPABILITY_VERSION_3);
            hdr.set(JAVA_INT, 4, 0); // this thread
            MemorySegment data = a.allocate(24, 4); // two {effective, permitted, inheritable}
            if ((int) CAPGET.invokeExact(hdr, data) != 0) {
                throw new AssertionError("capget failed");
            }
            data.set(JAVA_INT, 0, data.get(JAVA_INT, 0) & ~(1 << cap));
            if ((int) CAPSET.invokeExact(hdr, data) != 0) {
                throw new AssertionError("capset failed");
            }
        }
    }
}
