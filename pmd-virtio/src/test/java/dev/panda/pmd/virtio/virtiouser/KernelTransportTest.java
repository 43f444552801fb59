package dev.panda.pmd.virtio.virtiouser;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_EVENT_IDX;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_VERSION_1;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.bit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.LinkStatus;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.jextract.Fd;
import dev.panda.jextract.NativeException;
import dev.panda.pmd.virtio.ring.DriverQueue;
import dev.panda.pmd.virtio.vhostuser.Leaks;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The transport seam without a kernel: a recording transport in place of vhost-net or vhost-vdpa
 * (the order of calls, the device addresses reaching the rings and the descriptors, a refused
 * start undone), the IOVA plan, and the one-line errors of the real transports on devices that
 * are not theirs ({@code /dev/null}, a missing node). The kernel devices themselves are proven in
 * a guest ({@link VirtioUserVhostNetGuestTest}).
 */
class KernelTransportTest {

    /** Where the recording transport says the pool and the rings are: not panda's addresses. */
    static final long POOL_IOVA = 0x4000_0000L;

    static final long RING_IOVA = 0x9000_0000L;

    static final class Recording implements VhostTransport {
        final List<String> calls = new ArrayList<>();
        final List<Long> descAddrs = new ArrayList<>();
        RuntimeException failStart;
        boolean closed;

        @Override
        public String describe() {
            return "recording transport";
        }

        @Override
        public long negotiate(int queuePairs) {
            calls.add("negotiate " + queuePairs);
            return bit(F_VERSION_1) | bit(F_EVENT_IDX);
        }

        @Override
        public long[] map(List<Region> regions) {
            calls.add("map " + regions.size());
            return new long[] {POOL_IOVA, RING_IOVA};
        }

        @Override
        public void setVring(int index, DriverQueue q, Fd kick, Fd call) {
            calls.add("vring " + index);
            descAddrs.add(q.descAddr());
        }

        @Override
        public void enable(int index) {
            calls.add("enable " + index);
        }

        @Override
        public void start() {
            calls.add("start");
            if (failStart != null) {
                throw failStart;
            }
        }

        @Override
        public void stop(int vrings) {
            calls.add("stop " + vrings);
        }

        @Override
        public long mac() {
            return 0x02_11_22_33_44_55L;
        }

        @Override
        public void close() {
            calls.add("close");
            closed = true;
        }
    }

    static PacketPool pool() {
        return PacketPool.create(PoolConfig.defaults().withCount(1024).withHugepages(PoolConfig.Hugepages.OFF));
    }

    @Test
    void aKernelTransportIsSetUpOnceInOrderAndTheRingsCarryItsAddresses() {
        try (PacketPool pool = pool()) {
            long fds0 = Leaks.openFds();
            Recording t = new Recording();
            VirtioUserPort p = VirtioUserPort.kernel("net_virtio_user5", pool, 5, 256, t.mac(), t);
            try {
                assertEquals(
                        List.of("negotiate 1", "map 2", "vring 0", "vring 1", "enable 0", "enable 1", "start"),
                        t.calls);
                assertEquals(LinkStatus.VIRTUAL_UP, p.link());
                assertEquals(0x02_11_22_33_44_55L, p.mac());
                long[] dev = p.deviceAddresses();
                long[] user = p.userAddresses();
                assertEquals(POOL_IOVA, dev[0]);
                assertEquals(RING_IOVA, dev[1]);
                assertNotEquals(user[0], dev[0]);
                // the rings are where the transport said, and the receive ring's descriptors
                // point into the pool at its IOVA, not at panda's address
                assertEquals(RING_IOVA, t.descAddrs.get(0));
                assertTrue(t.descAddrs.get(1) > RING_IOVA);
                MemorySegment desc = MemorySegment.ofAddress(user[1]).reinterpret(256 * 16);
                long poolBytes = pool.regionBytes();
                for (int i = 0; i < 256; i++) {
                    long a = desc.get(ValueLayout.JAVA_LONG_UNALIGNED, i * 16L);
                    assertTrue(
                            a >= POOL_IOVA && a < POOL_IOVA + poolBytes,
                            "receive descriptor " + i + " at 0x" + Long.toHexString(a));
                }
                assertEquals(pool.capacity() - 256, pool.available(), "256 receive buffers posted");
            } finally {
                p.close();
            }
            assertEquals(List.of("stop 2", "close"), t.calls.subList(t.calls.size() - 2, t.calls.size()));
            assertEquals(pool.capacity(), pool.available(), "every posted buffer back");
            assertEquals(256, p.buffersReclaimed());
            assertEquals(fds0, Leaks.openFds(), "eventfds and the ring memfd closed");
        }
    }

    @Test
    void aRefusedStartFailsTheOpenAndUndoesEverything() {
        try (PacketPool pool = pool()) {
            long fds0 = Leaks.openFds();
            Recording t = new Recording();
            t.failStart = new IllegalStateException("did not take DRIVER_OK");
            IllegalStateException e = assertThrows(
                    IllegalStateException.class, () -> VirtioUserPort.kernel("net_virtio_user6", pool, 6, 256, -1, t));
            assertEquals("did not take DRIVER_OK", e.getMessage());
            assertTrue(t.closed, "the transport is closed");
            assertFalse(t.calls.contains("stop 2"), "nothing ran, nothing to stop: " + t.calls);
            assertEquals(pool.capacity(), pool.available(), "the posted receive buffers are back");
            assertEquals(fds0, Leaks.openFds());
        }
    }

    @Test
    void iovasDifferFromAddressesAndStayInTheDevicesRange() {
        List<VhostTransport.Region> regions = List.of(
                new VhostTransport.Region(0x7f00_0000_0000L, 10L << 20, null),
                new VhostTransport.Region(0x7f10_0000_0000L, 4096, null));
        long[] iova = VhostVdpaTransport.plan(regions, 0, -1L);
        assertEquals(VhostVdpaTransport.IOVA_BASE, iova[0]);
        assertEquals(VhostVdpaTransport.IOVA_BASE + (10L << 20), iova[1]);
        // a range that starts higher: the plan starts there, 2 MiB aligned
        long[] high = VhostVdpaTransport.plan(regions, 0x1_0000_1000L, -1L);
        assertEquals(0x1_0020_0000L, high[0]);
        // an IOVA that would equal the region's address is skipped
        List<VhostTransport.Region> atBase =
                List.of(new VhostTransport.Region(VhostVdpaTransport.IOVA_BASE, 4096, null));
        assertNotEquals(VhostVdpaTransport.IOVA_BASE, VhostVdpaTransport.plan(atBase, 0, -1L)[0]);
        // a range with too little room above IOVA_BASE (VDUSE's ends at 1152 MiB): from its start
        long[] low = VhostVdpaTransport.plan(regions, 64L << 20, VhostVdpaTransport.IOVA_BASE + (4L << 20));
        assertEquals(64L << 20, low[0]);
        assertEquals((64L + 10) << 20, low[1]);
        // a range too small says so
        IllegalStateException e =
                assertThrows(IllegalStateException.class, () -> VhostVdpaTransport.plan(regions, 0, (8L << 20) - 1));
        assertTrue(e.getMessage().contains("cannot hold 10485760 bytes"), e.getMessage());
    }

    @Test
    void anIoctlErrorIsOneLineNamingTheIoctlTheDeviceAndErrno() {
        long fds0 = Leaks.openFds();
        NativeException e = assertThrows(NativeException.class, () -> new VhostVdpaTransport("t", "/dev/null"));
        assertTrue(e.getMessage().startsWith("VHOST_SET_OWNER on /dev/null failed: ENOTTY ("), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        assertEquals(fds0, Leaks.openFds(), "the device fd is closed after the failure");
    }

    @Test
    void aMissingDeviceNamesTheModule() {
        IllegalStateException e = assertThrows(
                IllegalStateException.class, () -> new VhostVdpaTransport("t", "/dev/vhost-vdpa-nonexistent"));
        assertTrue(e.getMessage().startsWith("open(/dev/vhost-vdpa-nonexistent) failed: ENOENT ("), e.getMessage());
        assertTrue(e.getMessage().endsWith("(is the vhost_vdpa module loaded?)"), e.getMessage());
        try (PacketPool pool = pool()) {
            DeviceException d = assertThrows(
                    DeviceException.class,
                    () -> Ports.discover().open("net_virtio_user0,path=/dev/vhost-vdpa-99", PortContext.of(pool, 0)));
            assertTrue(
                    d.getMessage().contains("cannot drive /dev/vhost-vdpa-99: open(/dev/vhost-vdpa-99)"),
                    d.getMessage());
            assertEquals(pool.capacity(), pool.available());
        }
    }

    @Test
    void devargsThatDoNotFitAKernelDeviceAreRefusedBeforeOpeningIt() {
        try (PacketPool pool = pool()) {
            PortContext ctx = PortContext.of(pool, 0);
            assertTrue(assertThrows(
                            DeviceException.class,
                            () -> Ports.discover().open("net_virtio_user0,path=/dev/vhost-net,server=1", ctx))
                    .getMessage()
                    .contains("server=1 is for vhost-user sockets"));
            assertTrue(assertThrows(
                            DeviceException.class,
                            () -> Ports.discover().open("net_virtio_user0,path=/dev/vhost-net,queues=2", ctx))
                    .getMessage()
                    .contains("one queue pair"));
            assertTrue(assertThrows(
                            DeviceException.class,
                            () -> Ports.discover().open("net_virtio_user0,path=/dev/vhost-vdpa-0,iface=t0", ctx))
                    .getMessage()
                    .contains("iface= goes with path=/dev/vhost-net only"));
            assertTrue(assertThrows(
                            DeviceException.class,
                            () -> Ports.discover().open("net_virtio_user0,path=/tmp/x.sock,iface=t0", ctx))
                    .getMessage()
                    .contains("iface= goes with path=/dev/vhost-net only"));
            assertEquals(VirtioUserDriver.Kind.VHOST_NET, VirtioUserDriver.Kind.of("/dev/vhost-net"));
            assertEquals(VirtioUserDriver.Kind.VHOST_VDPA, VirtioUserDriver.Kind.of("/dev/vhost-vdpa-3"));
            assertEquals(VirtioUserDriver.Kind.VHOST_USER, VirtioUserDriver.Kind.of("/run/vh.sock"));
        }
    }
}
