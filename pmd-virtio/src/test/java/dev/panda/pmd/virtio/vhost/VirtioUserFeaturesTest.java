package dev.panda.pmd.virtio.vhost;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_EVENT_IDX;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_INDIRECT_DESC;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_MRG_RXBUF;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.bit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * panda's net_virtio_user (driver) against panda's net_vhost (device): the driver takes the ring
 * and net features the device offers (MRG_RXBUF, INDIRECT_DESC, EVENT_IDX, or none when the
 * device withholds them) and frames move intact both ways with each combination; a pool without
 * headroom sends through indirect tables (or two-descriptor chains); frames larger than the
 * driver's buffers arrive in several mergeable buffers and are counted and dropped.
 */
class VirtioUserFeaturesTest {

    private static final long ALL = bit(F_MRG_RXBUF) | bit(F_INDIRECT_DESC) | bit(F_EVENT_IDX);

    @TempDir
    Path dir;

    @ParameterizedTest(name = "devargs \"{0}\", driver headroom {1}")
    @CsvSource({
        "'', 128",
        "'', 0",
        "',mrg_rxbuf=0,event_idx=0,indirect=0', 128",
        "',mrg_rxbuf=0,event_idx=0,indirect=0', 0",
        "',mrg_rxbuf=0', 0",
    })
    void framesMoveIntactWithWhateverWasNegotiated(String devargs, int headroom) {
        Path sock = dir.resolve("vh.sock");
        try (PacketPool devicePool = pool(128, 2048);
                PacketPool driverPool = pool(headroom, 2048)) {
            VhostPort device = (VhostPort)
                    Ports.discover().open("net_vhost0,iface=" + sock + devargs, PortContext.of(devicePool, 0));
            try (device;
                    Port driver =
                            Ports.discover().open("net_virtio_user0,path=" + sock, PortContext.of(driverPool, 1))) {
                long expect = ALL;
                for (String kv : devargs.split(",")) {
                    expect &= switch (kv) {
                        case "mrg_rxbuf=0" -> ~bit(F_MRG_RXBUF);
                        case "event_idx=0" -> ~bit(F_EVENT_IDX);
                        case "indirect=0" -> ~bit(F_INDIRECT_DESC);
                        default -> ~0L;
                    };
                }
                assertEquals(expect, device.negotiatedFeatures() & ALL, "what the driver took of the offer");
                int[] lens = {60, 64, 200, 1000, 1514, 2048 - (headroom == 0 ? 12 : 0), 61};
                assertEquals(lens.length, move(driver, driverPool, device, devicePool, lens), "driver → device");
                assertEquals(lens.length, move(device, devicePool, driver, driverPool, lens), "device → driver");
                assertEquals(0, device.stats().ierrors() + device.stats().oerrors());
                assertEquals(0, driver.stats().ierrors() + driver.stats().oerrors());
            }
            assertEquals(devicePool.capacity(), devicePool.available());
            assertEquals(driverPool.capacity(), driverPool.available());
        }
    }

    @Test
    void framesLargerThanTheDriversBuffersComeMergedAndAreCountedAndDropped() {
        Path sock = dir.resolve("vh.sock");
        try (PacketPool devicePool = pool(128, 4096);
                PacketPool driverPool = pool(128, 1024)) {
            VhostPort device =
                    (VhostPort) Ports.discover().open("net_vhost0,iface=" + sock, PortContext.of(devicePool, 0));
            try (device;
                    Port driver =
                            Ports.discover().open("net_virtio_user0,path=" + sock, PortContext.of(driverPool, 1))) {
                assertEquals(bit(F_MRG_RXBUF), device.negotiatedFeatures() & bit(F_MRG_RXBUF));
                // 3000 bytes need three of the driver's 1036-byte buffers; 1024 fill one exactly
                int[] lens = {100, 3000, 1024, 2000, 1025, 99};
                PacketBurst out = stamped(devicePool, lens);
                int sent = 0;
                for (long deadline = System.nanoTime() + 10_000_000_000L; sent < lens.length; ) {
                    assertTrue(System.nanoTime() < deadline, "device could not send");
                    sent += device.txBurst(0, shift(out, sent), lens.length - sent);
                }
                PacketBurst in = new PacketBurst(32);
                int[] expect = {100, 1024, 99};
                int got = 0;
                for (long deadline = System.nanoTime() + 10_000_000_000L; got < expect.length; ) {
                    assertTrue(System.nanoTime() < deadline, "driver received " + got + " of " + expect.length);
                    int n = driver.rxBurst(0, in);
                    for (int i = 0; i < n; i++, got++) {
                        assertEquals(expect[got], driverPool.length(in.handles[i]), "frame " + got);
                    }
                    driverPool.freeBulk(in.handles, 0, n);
                }
                assertEquals(3, driver.stats().ierrors(), "3000, 2000 and 1025 bytes do not fit a 1024-byte buffer");
                assertEquals(6, device.stats().opackets(), "the device delivered all six");
            }
            assertEquals(driverPool.capacity(), driverPool.available(), "continuation buffers went back");
        }
    }

    private static PacketPool pool(int headroom, int dataRoom) {
        return PacketPool.create(new PoolConfig(1024, headroom, dataRoom, PoolConfig.Hugepages.OFF));
    }

    /** Packets of {@code lens}, byte b of packet i = i * 13 + b. */
    private static PacketBurst stamped(PacketPool pool, int[] lens) {
        PacketBurst b = new PacketBurst(32);
        assertEquals(lens.length, pool.allocBulk(b.handles, 0, lens.length));
        for (int i = 0; i < lens.length; i++) {
            int h = b.handles[i];
            pool.setLength(h, lens[i]);
            for (int k = 0; k < lens[i]; k++) {
                pool.segment().set(ValueLayout.JAVA_BYTE, pool.dataOffset(h) + k, (byte) (i * 13 + k));
            }
        }
        return b;
    }

    /** The packets of {@code b} from index {@code from} on, as a burst of their own. */
    private static PacketBurst shift(PacketBurst b, int from) {
        PacketBurst s = new PacketBurst(32);
        System.arraycopy(b.handles, from, s.handles, 0, 32 - from);
        return s;
    }

    /** Sends {@code lens} from {@code tx} and receives them at {@code rx}, checking every byte; how many. */
    private static int move(Port tx, PacketPool txPool, Port rx, PacketPool rxPool, int[] lens) {
        PacketBurst out = stamped(txPool, lens);
        int sent = 0;
        PacketBurst in = new PacketBurst(32);
        int got = 0;
        for (long deadline = System.nanoTime() + 10_000_000_000L; got < lens.length; ) {
            assertTrue(System.nanoTime() < deadline, "received " + got + " of " + lens.length);
            if (sent < lens.length) {
                sent += tx.txBurst(0, shift(out, sent), lens.length - sent);
            }
            int n = rx.rxBurst(0, in);
            for (int i = 0; i < n; i++, got++) {
                int h = in.handles[i];
                assertEquals(lens[got], rxPool.length(h), "length of frame " + got);
                for (int k = 0; k < lens[got]; k++) {
                    assertEquals(
                            (byte) (got * 13 + k),
                            rxPool.segment().get(ValueLayout.JAVA_BYTE, rxPool.dataOffset(h) + k),
                            "byte " + k + " of frame " + got);
                }
            }
            rxPool.freeBulk(in.handles, 0, n);
            if (n == 0) {
                Thread.yield();
            }
        }
        return got;
    }
}
