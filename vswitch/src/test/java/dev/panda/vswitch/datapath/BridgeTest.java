package dev.panda.vswitch.datapath;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.vswitch.Views;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.PortConfig;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The learning bridge on ring ports, in both execution modes. */
class BridgeTest {

    static final long A = 0x02_00_00_00_00_0aL, B = 0x02_00_00_00_00_0bL, C = 0x02_00_00_00_00_0cL;
    static final long BCAST = 0xffff_ffff_ffffL;

    private static PortConfig port(String name, String device, Integer tag, List<Integer> trunks) {
        return new PortConfig(name, device, tag, trunks, null, null);
    }

    /**
     * The pmd section's {@code burst} is what each poller receives into and stages up to; a small
     * one still moves a stream whole and in order, staged bursts filling up and being sent mid-burst.
     */
    @ParameterizedTest
    @EnumSource(PmdConfig.Mode.class)
    void theConfiguredBurstIsThePollersAndAStreamPassesWholeAndInOrder(PmdConfig.Mode mode) {
        int burst = 3;
        PmdConfig pmd = new PmdConfig(List.of(), mode, "yield", null, 256, burst);
        try (Hosts hs = new Hosts(pmd)) {
            try (Datapath d = Datapath.create(hs.pool, pmd, new int[] {0})) {
                assertEquals(burst, d.burst);
            }
            assertEquals(burst, hs.vswitch.config().pmd().burst());
            var a = hs.host();
            var b = hs.host();
            hs.vswitch.addBridge(BridgeConfig.of("br0"));
            hs.vswitch.addPort("br0", PortConfig.of("a", a.device));
            hs.vswitch.addPort("br0", PortConfig.of("b", b.device));
            int frames = 600;
            List<byte[]> got = new java.util.ArrayList<>();
            for (int i = 0; i < frames; i++) {
                a.send(B, A, 0, 46 + i % 200); // the payload's length numbers the frame
                if (i % 100 == 99) {
                    got.addAll(b.receive(1));
                }
            }
            long end = System.currentTimeMillis() + 20_000;
            while (got.size() < frames && System.currentTimeMillis() < end) {
                got.addAll(b.receive(50));
            }
            assertEquals(frames, got.size());
            for (int i = 0; i < frames; i++) {
                assertEquals(14 + 46 + i % 200, got.get(i).length, "frame " + i + " out of order");
            }
            assertEquals(frames, hs.vswitch.stats("a").ports().get(0).rxPackets());
        }
    }

    @ParameterizedTest
    @EnumSource(PmdConfig.Mode.class)
    void learnsFloodsUnknownAndForwardsKnown(PmdConfig.Mode mode) {
        try (Hosts hs = new Hosts(mode)) {
            var a = hs.host();
            var b = hs.host();
            var c = hs.host();
            hs.vswitch.addBridge(BridgeConfig.of("br0"));
            hs.vswitch.addPort("br0", PortConfig.of("a", a.device));
            hs.vswitch.addPort("br0", PortConfig.of("b", b.device));
            hs.vswitch.addPort("br0", PortConfig.of("c", c.device));

            a.send(B, A, 0, 50); // B unknown: flooded to b and c, never back to a
            assertEquals(1, b.receive(300).size());
            assertEquals(1, c.receive(100).size());
            assertEquals(0, a.receive(100).size());

            b.send(A, B, 0, 50); // A learned on a: only a
            assertEquals(1, a.receive(300).size());
            assertEquals(0, c.receive(100).size());

            a.send(B, A, 0, 50); // B learned on b now
            assertEquals(1, b.receive(300).size());
            assertEquals(0, c.receive(100).size());

            Views.Fdb fdb = hs.vswitch.fdb("br0");
            assertEquals(2, fdb.entries(), fdb.toString());
            assertTrue(fdb.table()
                            .contains(new Views.FdbEntry(
                                    "a",
                                    0,
                                    "02:00:00:00:00:0A",
                                    fdb.table().get(0).age()))
                    || fdb.table().stream()
                            .anyMatch(e -> e.port().equals("a") && e.mac().equals("02:00:00:00:00:0A")));
            assertTrue(fdb.table().stream()
                    .anyMatch(e -> e.port().equals("b") && e.mac().equals("02:00:00:00:00:0B")));

            Views.Stats st = hs.vswitch.stats("a");
            assertEquals(2, st.ports().get(0).rxPackets());
            assertEquals(1, st.ports().get(0).floods());
        }
    }

    @ParameterizedTest
    @EnumSource(PmdConfig.Mode.class)
    void vlansKeepTrafficApartAndTrunksTag(PmdConfig.Mode mode) {
        try (Hosts hs = new Hosts(mode)) {
            var a = hs.host(); // access 10
            var b = hs.host(); // access 10
            var c = hs.host(); // access 20
            var t = hs.host(); // trunk 10,20
            hs.vswitch.addBridge(BridgeConfig.of("br0"));
            hs.vswitch.addPort("br0", port("a", a.device, 10, null));
            hs.vswitch.addPort("br0", port("b", b.device, 10, null));
            hs.vswitch.addPort("br0", port("c", c.device, 20, null));
            hs.vswitch.addPort("br0", port("t", t.device, null, List.of(10, 20)));

            a.send(BCAST, A, 0, 46);
            List<byte[]> atB = b.receive(300);
            List<byte[]> atT = t.receive(100);
            assertEquals(1, atB.size());
            assertEquals(0, Hosts.vid(atB.get(0)), "access port sends untagged");
            assertEquals(1, atT.size());
            assertEquals(10, Hosts.vid(atT.get(0)), "trunk carries VLAN 10 tagged");
            assertEquals(atB.get(0).length + 4, atT.get(0).length);
            assertEquals(0, c.receive(100).size(), "VLAN 20 never sees VLAN 10");

            c.send(BCAST, C, 0, 46);
            List<byte[]> t20 = t.receive(300);
            assertEquals(1, t20.size());
            assertEquals(20, Hosts.vid(t20.get(0)));
            assertEquals(0, a.receive(50).size());
            assertEquals(0, b.receive(50).size());

            t.send(C, 0x02_00_00_00_00_99L, 20, 46); // tagged 20 in on the trunk: to c (learned), untagged
            List<byte[]> atC = c.receive(300);
            assertEquals(1, atC.size());
            assertEquals(0, Hosts.vid(atC.get(0)));
            assertEquals(0x02_00_00_00_00_99L, Hosts.src(atC.get(0)));

            t.send(BCAST, 0x02_00_00_00_00_98L, 30, 46); // VLAN 30: the trunk does not carry it
            a.send(BCAST, A, 10, 46); // tagged frame on an access port
            assertEquals(
                    0,
                    a.receive(100).size() + b.receive(50).size() + c.receive(50).size());
            long tv = hs.vswitch.stats("t").ports().get(0).drops().get("vlan");
            long av = hs.vswitch.stats("a").ports().get(0).drops().get("vlan");
            assertEquals(1, tv);
            assertEquals(1, av);
        }
    }

    @ParameterizedTest
    @EnumSource(PmdConfig.Mode.class)
    void macMovesAgesAndTableFullStillFloods(PmdConfig.Mode mode) {
        try (Hosts hs = new Hosts(mode)) {
            var a = hs.host();
            var b = hs.host();
            var c = hs.host();
            // aging long enough that nothing ages while the table fills, however slow the machine
            hs.vswitch.addBridge(new BridgeConfig("br0", 300, 2, List.of()));
            hs.vswitch.addPort("br0", PortConfig.of("a", a.device));
            hs.vswitch.addPort("br0", PortConfig.of("b", b.device));
            hs.vswitch.addPort("br0", PortConfig.of("c", c.device));

            a.send(BCAST, A, 0, 46);
            b.receive(200);
            c.receive(50);
            b.send(BCAST, A, 0, 46); // A moved to b
            a.receive(200);
            c.receive(50);
            Views.Fdb fdb = hs.vswitch.fdb("br0");
            assertEquals(1, fdb.entries());
            assertEquals("b", fdb.table().get(0).port());
            assertEquals(1L, fdb.counters().get("moved"));

            // table of 2: the third and fourth MACs are not learned, counted, and still flooded
            for (long m = 0x02_00_00_00_01_00L; m < 0x02_00_00_00_01_04L; m++) {
                c.send(B, m, 0, 46);
            }
            assertEquals(4, a.receive(300).size());
            assertEquals(4, b.receive(100).size());
            fdb = hs.vswitch.fdb("br0");
            assertEquals(2, fdb.entries());
            assertTrue(fdb.counters().get("table_full") >= 2, fdb.counters().toString());

            // aging: down to 1 s through apply (no reopen, entries stay until the next pass)
            var running = hs.vswitch.config();
            var br0 = running.bridges().getFirst();
            hs.vswitch.apply(
                    new dev.panda.vswitch.config.VswitchConfig(
                            running.pmd(), List.of(new BridgeConfig("br0", 1, br0.macTableSize(), br0.ports()))),
                    false);
            long deadline = System.currentTimeMillis() + 5000;
            while (hs.vswitch.fdb("br0").entries() > 0 && System.currentTimeMillis() < deadline) {
                dev.panda.dataplane.testing.Frames.sleep(100);
            }
            assertEquals(0, hs.vswitch.fdb("br0").entries());
            assertTrue(hs.vswitch.fdb("br0").counters().get("aged") >= 2);
        }
    }

    @ParameterizedTest
    @EnumSource(PmdConfig.Mode.class)
    void portsComeAndGoWhileTrafficFlowsAndNothingIsLost(PmdConfig.Mode mode) throws Exception {
        try (Hosts hs = new Hosts(mode)) {
            var a = hs.host();
            var b = hs.host();
            var c = hs.host();
            var d = hs.host();
            var e = hs.host();
            hs.vswitch.addBridge(BridgeConfig.of("br0"));
            hs.vswitch.addPort("br0", PortConfig.of("a", a.device));
            hs.vswitch.addPort("br0", PortConfig.of("b", b.device));
            hs.vswitch.addPort("br0", PortConfig.of("c", c.device));
            b.send(A, B, 0, 46); // learn B
            a.receive(200);
            c.receive(50);
            int total = 20_000;
            AtomicLong got = new AtomicLong();
            Thread rx = Thread.ofPlatform().start(() -> {
                long end = System.currentTimeMillis() + 20_000;
                while (got.get() < total && System.currentTimeMillis() < end) {
                    got.addAndGet(b.receive(1).size());
                }
            });
            // at most 256 frames in flight, so the host end's ring (1024) never overflows: what is
            // measured is the switch, not the test's receiver
            Thread tx = Thread.ofPlatform().start(() -> {
                long end = System.currentTimeMillis() + 20_000;
                for (int i = 0; i < total && System.currentTimeMillis() < end; i++) {
                    while (i - got.get() > 256 && System.currentTimeMillis() < end) {
                        Thread.yield();
                    }
                    a.send(B, A, 0, 46);
                }
            });
            try {
                dev.panda.dataplane.testing.Frames.sleep(100);
                hs.vswitch.addPort("br0", PortConfig.of("d", d.device));
                hs.vswitch.delPort("br0", "c");
                hs.vswitch.delPort("br0", "d");
                hs.vswitch.addPort("br0", PortConfig.of("e", e.device));
            } finally {
                tx.join();
                rx.join();
            }
            assertEquals(
                    total,
                    got.get(),
                    "frames between a and b lost while ports changed: " + hs.vswitch.stats(null) + " "
                            + hs.vswitch.pmdStats());
            Views.Stats s = hs.vswitch.stats("b");
            assertEquals(0L, s.ports().get(0).drops().get("tx_full"));
        }
    }
}
