package dev.panda.vswitch.flow;

import static dev.panda.vswitch.flow.Frames.ip;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** OpenFlow 1.3 matching and instruction semantics of {@link BridgeFlows} and {@link FlowEngine}. */
class FlowTableTest {

    final PacketPool pool = PacketPool.create(PoolConfig.defaults().withCount(1024));
    final FlowEngine engine = new FlowEngine(pool, 0);
    final Recorder rec = new Recorder();
    final int freeAtStart = pool.available();

    /** What the engine handed to the bridge: "out:N", "flood", "normal" or "drop", with the frame. */
    final class Recorder implements FlowEngine.Egress {
        final List<String> what = new ArrayList<>();
        final List<byte[]> frames = new ArrayList<>();

        private void take(String w, int h) {
            what.add(w);
            byte[] b = new byte[pool.length(h)];
            MemorySegment.copy(pool.segment(), ValueLayout.JAVA_BYTE, pool.dataOffset(h), b, 0, b.length);
            frames.add(b);
            pool.free(h);
        }

        @Override
        public void output(int h, int port) {
            take("out:" + port, h);
        }

        @Override
        public void flood(int h, int inPort) {
            take("flood", h);
        }

        @Override
        public void normal(int h, int inPort) {
            take("normal", h);
        }

        @Override
        public void drop(int h) {
            take("drop", h);
        }
    }

    @AfterEach
    void close() {
        assertEquals(freeAtStart, pool.available(), "every buffer back in the pool");
        pool.close();
    }

    List<String> run(BridgeFlows f, int inPort, byte[] frame) {
        return run(f, inPort, 0, frame);
    }

    List<String> run(BridgeFlows f, int inPort, long tun, byte[] frame) {
        rec.what.clear();
        rec.frames.clear();
        int h = pool.alloc();
        MemorySegment.copy(frame, 0, pool.segment(), ValueLayout.JAVA_BYTE, pool.dataOffset(h), frame.length);
        pool.setLength(h, frame.length);
        engine.process(h, inPort, tun, f, rec);
        return List.copyOf(rec.what);
    }

    static Instruction out(int port) {
        return Instruction.apply(new Action.Output(port));
    }

    static FlowMod add(int table, int prio, Match m, Instruction... ins) {
        return FlowMod.add(table, prio, m, List.of(ins));
    }

    static void ok(FlowModResult r) {
        assertTrue(r.isOk(), () -> r.error() + ": " + r.message());
    }

    BridgeFlows secure() {
        BridgeFlows f = new BridgeFlows("br0", 1);
        f.setFailMode(FailMode.SECURE);
        return f;
    }

    final byte[] web = Frames.tcp(ip(198, 18, 0, 1), ip(198, 18, 1, 7), 40000, 80);

    @Test
    void noFlowsStandaloneIsNotEngagedAndMissIsNormal() {
        BridgeFlows f = new BridgeFlows("br0", 1);
        assertFalse(f.engaged());
        assertEquals(List.of("normal"), run(f, 1, web));
        f.setFailMode(FailMode.SECURE);
        assertTrue(f.engaged());
        assertEquals(List.of("drop"), run(f, 1, web));
        f.setFailMode(FailMode.STANDALONE);
        f.setControllerConnected(true);
        assertTrue(f.engaged());
        assertEquals(List.of("drop"), run(f, 1, web), "a controller is connected: a miss drops");
    }

    @Test
    void aRunOfDeferredAddsIsPublishedOnceAtTheFlush() {
        BridgeFlows f = secure();
        long before = f.generation();
        for (int i = 0; i < 10_000; i++) {
            ok(f.applyDeferred(add(
                    0,
                    10,
                    Match.builder()
                            .ethType(0x0800)
                            .ipv4Dst(ip(198, 18, i >> 8, i & 0xff), -1)
                            .build(),
                    out(2))));
        }
        assertEquals(10_000, f.tableStats().getFirst().activeCount(), "the tables changed at once");
        assertEquals(before, f.generation(), "the data path's classifier did not, yet");
        assertEquals(List.of("drop"), run(f, 1, web));
        f.flush();
        assertEquals(before + 1, f.generation(), "one new classifier for the whole run");
        assertEquals(List.of("out:2"), run(f, 1, web));
        f.flush();
        assertEquals(before + 1, f.generation(), "a flush with nothing waiting publishes nothing");
        // a change made without deferring publishes what waits with it
        ok(f.applyDeferred(add(0, 20, Match.builder().ethType(0x0800).build(), out(3))));
        ok(f.apply(add(1, 5, Match.builder().build(), out(4))));
        assertEquals(before + 2, f.generation());
        assertEquals(List.of("out:3"), run(f, 1, web));
    }

    @Test
    void anIdenticalFlowIsReplacedAfterAnyChurnOfItsTable() {
        BridgeFlows f = secure();
        Match a = Match.builder().ethType(0x0800).ipv4Dst(ip(198, 18, 1, 7), -1).build();
        ok(f.apply(add(0, 10, a, out(2))));
        ok(f.apply(add(0, 10, a, out(3)))); // identical: replaces
        assertEquals(1, f.tableStats().getFirst().activeCount());
        assertEquals(List.of("out:3"), run(f, 1, web));
        // many flows come and go (the table's key set is rebuilt on the way), then the same again
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < 300; i++) {
                ok(f.apply(add(
                        0,
                        10,
                        Match.builder()
                                .ethType(0x0800)
                                .ipv4Dst(ip(198, 18, 9, i & 0xff), -1)
                                .tcpDst(i)
                                .ipProto(6)
                                .build(),
                        out(5))));
            }
            ok(f.apply(
                    FlowMod.delete(0, Match.builder().ethType(0x0800).ipProto(6).build())));
        }
        assertEquals(1, f.tableStats().getFirst().activeCount());
        ok(f.apply(add(0, 10, a, out(4))));
        assertEquals(1, f.tableStats().getFirst().activeCount(), "still replaced, not added twice");
        assertEquals(List.of("out:4"), run(f, 1, web));
        ok(f.apply(FlowMod.delete(0, a)));
        ok(f.apply(add(0, 10, a, out(6))));
        assertEquals(1, f.tableStats().getFirst().activeCount());
        assertEquals(List.of("out:6"), run(f, 1, web));
    }

    @Test
    void highestPriorityWinsAcrossMasks() {
        BridgeFlows f = secure();
        ok(f.apply(add(0, 10, Match.builder().ethType(0x0800).build(), out(2))));
        ok(f.apply(add(
                0,
                20,
                Match.builder()
                        .ethType(0x0800)
                        .ipv4Dst(ip(198, 18, 1, 0), 0xffffff00)
                        .build(),
                out(3))));
        ok(f.apply(
                add(0, 30, Match.builder().ethType(0x0800).ipProto(6).tcpDst(80).build(), out(4))));
        assertEquals(List.of("out:4"), run(f, 1, web));
        assertEquals(List.of("out:3"), run(f, 1, Frames.tcp(ip(198, 18, 0, 1), ip(198, 18, 1, 9), 1, 22)));
        assertEquals(List.of("out:2"), run(f, 1, Frames.tcp(ip(198, 18, 0, 1), ip(198, 18, 2, 9), 1, 22)));
        assertEquals(List.of("drop"), run(f, 1, Frames.arp(0x02_00_00_00_00_01L, 1, 1, 2)));
        // a lower-priority flow added later does not take over
        ok(f.apply(add(0, 5, Match.builder().ethType(0x0800).ipProto(6).build(), out(5))));
        assertEquals(List.of("out:4"), run(f, 1, web));
    }

    @Test
    void masksOnMacsAndAddresses() {
        BridgeFlows f = secure();
        // multicast bit of eth_dst
        ok(f.apply(add(
                0,
                10,
                Match.builder()
                        .ethDst(0x01_00_00_00_00_00L, 0x01_00_00_00_00_00L)
                        .build(),
                out(7))));
        ok(f.apply(add(
                0,
                10,
                Match.builder()
                        .ethType(0x0800)
                        .ipv4Src(ip(198, 18, 0, 0), 0xfffffffc)
                        .build(),
                out(8))));
        assertEquals(List.of("out:8"), run(f, 1, Frames.tcp(ip(198, 18, 0, 3), ip(1, 1, 1, 1), 1, 1)));
        assertEquals(List.of("drop"), run(f, 1, Frames.tcp(ip(198, 18, 0, 4), ip(1, 1, 1, 1), 1, 1)));
        assertEquals(List.of("out:7"), run(f, 1, Frames.arp(0x02_00_00_00_00_01L, 1, 1, 2)));
        // ipv6 with a /64 prefix, udp port
        ok(f.apply(add(
                0,
                20,
                Match.builder()
                        .ethType(0x86dd)
                        .ipv6Dst(0x2001_0db8_0000_0001L, 0, -1L, 0)
                        .ipProto(17)
                        .udpDst(53)
                        .build(),
                out(9))));
        assertEquals(List.of("out:9"), run(f, 1, Frames.ipv6Udp(1, 2, 0x2001_0db8_0000_0001L, 77, 9, 53)));
        assertEquals(
                List.of("out:7"),
                run(f, 1, Frames.ipv6Udp(1, 2, 0x2001_0db8_0000_0002L, 77, 9, 53)),
                "other prefix: only the multicast-dst flow");
    }

    @Test
    void arpIcmpAndTunnelFields() {
        BridgeFlows f = secure();
        ok(f.apply(add(
                0,
                10,
                Match.builder()
                        .ethType(0x0806)
                        .arpOp(1)
                        .arpTpa(ip(198, 18, 0, 9), -1)
                        .build(),
                out(2))));
        ok(f.apply(add(
                0,
                10,
                Match.builder()
                        .ethType(0x0800)
                        .ipProto(1)
                        .icmpv4Type(8)
                        .icmpv4Code(0)
                        .build(),
                out(3))));
        ok(f.apply(add(0, 20, Match.builder().tunId(42).build(), out(4))));
        assertEquals(
                List.of("out:2"), run(f, 1, Frames.arp(0x02_00_00_00_00_01L, 1, ip(198, 18, 0, 1), ip(198, 18, 0, 9))));
        assertEquals(
                List.of("drop"), run(f, 1, Frames.arp(0x02_00_00_00_00_01L, 2, ip(198, 18, 0, 1), ip(198, 18, 0, 9))));
        byte[] ping = Frames.ipv4(2, 1, -1, ip(198, 18, 0, 1), ip(198, 18, 0, 2), 1, 8, 0);
        byte[] reply = Frames.ipv4(2, 1, -1, ip(198, 18, 0, 1), ip(198, 18, 0, 2), 1, 0, 0);
        assertEquals(List.of("out:3"), run(f, 1, ping));
        assertEquals(List.of("drop"), run(f, 1, reply));
        assertEquals(List.of("out:4"), run(f, 1, 42, reply));
        assertEquals(List.of("drop"), run(f, 1, 43, reply));
    }

    @Test
    void vlanVidPresentSemantics() {
        BridgeFlows f = secure();
        ok(f.apply(add(0, 10, Match.builder().vlanNone().build(), out(2))));
        ok(f.apply(add(0, 10, Match.builder().vlanAny().build(), out(3))));
        ok(f.apply(add(0, 20, Match.builder().vlanVid(10).build(), out(4))));
        ok(f.apply(add(0, 30, Match.builder().vlanVid(20).vlanPcp(5).build(), out(5))));
        byte[] untagged = Frames.ipv4(2, 1, -1, 1, 2, 17, 1, 2);
        assertEquals(List.of("out:2"), run(f, 1, untagged));
        assertEquals(List.of("out:4"), run(f, 1, Frames.ipv4(2, 1, 10, 1, 2, 17, 1, 2)));
        assertEquals(List.of("out:3"), run(f, 1, Frames.ipv4(2, 1, 11, 1, 2, 17, 1, 2)));
        assertEquals(List.of("out:3"), run(f, 1, Frames.ipv4(2, 1, 0, 1, 2, 17, 1, 2)), "priority tag is a tag");
        byte[] pcp5 = Frames.eth(2, 1, 20, 5, 0x0800, 0).array();
        assertEquals(List.of("out:5"), run(f, 1, pcp5));
    }

    @Test
    void prerequisitesAndValuesAreChecked() {
        BridgeFlows f = secure();
        assertEquals(
                FlowError.BAD_PREREQ,
                f.apply(add(0, 1, Match.builder().tcpDst(80).build())).error());
        assertEquals(
                FlowError.BAD_PREREQ,
                f.apply(add(0, 1, Match.builder().ethType(0x0800).tcpDst(80).build()))
                        .error());
        assertEquals(
                FlowError.BAD_PREREQ,
                f.apply(add(
                                0,
                                1,
                                Match.builder()
                                        .ethType(0x0800)
                                        .ipProto(17)
                                        .tcpDst(80)
                                        .build()))
                        .error());
        assertEquals(
                FlowError.BAD_PREREQ,
                f.apply(add(0, 1, Match.builder().ipv4Dst(1, -1).build())).error());
        assertEquals(
                FlowError.BAD_PREREQ,
                f.apply(add(
                                0,
                                1,
                                Match.builder()
                                        .ethType(0x86dd)
                                        .ipProto(1)
                                        .icmpv4Type(8)
                                        .build()))
                        .error());
        assertEquals(
                FlowError.BAD_PREREQ,
                f.apply(add(0, 1, Match.builder().vlanPcp(3).build())).error());
        assertEquals(
                FlowError.BAD_PREREQ,
                f.apply(add(0, 1, Match.builder().arpOp(1).build())).error());
        assertEquals(
                FlowError.BAD_MASK,
                f.apply(add(
                                0,
                                1,
                                Match.builder()
                                        .masked(Field.ETH_TYPE, 0x800, 0xff00)
                                        .build()))
                        .error());
        assertEquals(
                FlowError.BAD_WILDCARDS,
                f.apply(add(
                                0,
                                1,
                                Match.builder()
                                        .ethType(0x800)
                                        .ipv4Dst(ip(1, 2, 3, 4), 0xffffff00)
                                        .build()))
                        .error());
        assertEquals(
                FlowError.BAD_VALUE,
                f.apply(add(0, 1, Match.builder().inPort(0).build())).error());
        assertEquals(
                FlowError.BAD_VALUE,
                f.apply(add(0, 1, Match.builder().exact(Field.VLAN_VID, 5).build()))
                        .error());
        assertEquals(4, FlowError.BAD_PREREQ.type);
        assertEquals(9, FlowError.BAD_PREREQ.code);
        // tcp over IPv6 is fine
        ok(f.apply(
                add(0, 1, Match.builder().ethType(0x86dd).ipProto(6).tcpSrc(22).build())));
        assertEquals(1, f.flowCount());
    }

    @Test
    void tableIdsInstructionsAndActionsAreChecked() {
        BridgeFlows f = secure();
        assertEquals(
                FlowError.BAD_TABLE_ID,
                f.apply(add(BridgeFlows.TABLES, 1, Match.ANY)).error());
        assertEquals(
                FlowError.BAD_TABLE_ID,
                f.apply(add(FlowMod.ALL_TABLES, 1, Match.ANY)).error());
        assertEquals(
                0,
                f.apply(add(FlowMod.ALL_TABLES, 1, Match.ANY).withCommand(FlowMod.Command.MODIFY))
                        .affected(),
                "a modify of every table (as Open vSwitch allows) that covers nothing");
        assertEquals(
                FlowError.BAD_INST_TABLE_ID,
                f.apply(add(3, 1, Match.ANY, new Instruction.GotoTable(3))).error());
        assertEquals(
                FlowError.BAD_INST_TABLE_ID,
                f.apply(add(0, 1, Match.ANY, new Instruction.GotoTable(BridgeFlows.TABLES)))
                        .error());
        assertEquals(
                FlowError.BAD_OUT_PORT,
                f.apply(add(0, 1, Match.ANY, out(OfPort.TABLE))).error());
        assertEquals(
                FlowError.BAD_OUT_PORT, f.apply(add(0, 1, Match.ANY, out(0))).error());
        assertEquals(
                FlowError.BAD_ACTION_ARGUMENT,
                f.apply(add(0, 1, Match.ANY, Instruction.apply(new Action.PushVlan(0x0800))))
                        .error());
        assertEquals(
                FlowError.BAD_SET_TYPE,
                f.apply(add(0, 1, Match.ANY, Instruction.apply(new Action.SetField(Field.IPV4_DST, 1))))
                        .error());
        assertEquals(
                FlowError.UNSUP_INST,
                f.apply(add(0, 1, Match.ANY, out(1), out(2))).error());
        assertEquals(
                FlowError.BAD_FLAGS,
                f.apply(add(0, 1, Match.ANY).withFlags(1 << 9)).error());
        assertEquals(0, f.flowCount());
        assertEquals(0, f.generation(), "nothing refused changed the tables");
    }

    @Test
    void gotoTableWriteApplyAndClearActions() {
        BridgeFlows f = secure();
        long mac = 0x02_aa_bb_cc_dd_eeL;
        // table 0: apply output:2 now, write output:3 into the set, go on to table 1
        ok(f.apply(add(
                0,
                10,
                Match.ANY,
                out(2),
                new Instruction.WriteActions(List.of(new Action.Output(3))),
                new Instruction.GotoTable(1))));
        // table 1: port 1 rewrites eth_dst in the set; port 5 clears the set
        ok(f.apply(add(
                1,
                10,
                Match.builder().inPort(1).build(),
                new Instruction.WriteActions(List.of(new Action.SetField(Field.ETH_DST, mac))))));
        ok(f.apply(add(1, 10, Match.builder().inPort(5).build(), new Instruction.ClearActions())));
        assertEquals(List.of("out:2", "out:3"), run(f, 1, web));
        assertArrayEquals(web, rec.frames.get(0), "the apply-actions output saw the packet as it was");
        assertEquals(mac, mac(rec.frames.get(1), 0), "the action set's set_field ran before its output");
        assertEquals(List.of("out:2"), run(f, 5, web), "clear_actions emptied the set: no output:3");
        // a miss in table 1 drops the action set
        assertEquals(List.of("out:2"), run(f, 9, web));
        List<TableStats> ts = f.tableStats();
        assertEquals(3, ts.get(0).lookups());
        assertEquals(3, ts.get(0).matched());
        assertEquals(3, ts.get(1).lookups());
        assertEquals(2, ts.get(1).matched());
        assertEquals(2, ts.get(1).activeCount());
    }

    @Test
    void applyActionsRunInOrderOnThePacket() {
        BridgeFlows f = secure();
        ok(f.apply(add(
                0,
                10,
                Match.ANY,
                Instruction.apply(
                        new Action.Output(2),
                        new Action.PushVlan(0x8100),
                        new Action.SetField(Field.VLAN_VID, Field.OFPVID_PRESENT | 42),
                        new Action.Output(3),
                        new Action.PopVlan(),
                        new Action.SetField(Field.ETH_SRC, 0x02_00_00_00_00_99L),
                        new Action.Output(OfPort.IN_PORT),
                        new Action.Output(OfPort.FLOOD),
                        new Action.Output(OfPort.NORMAL)))));
        assertEquals(List.of("out:2", "out:3", "out:1", "flood", "normal"), run(f, 1, web));
        assertArrayEquals(web, rec.frames.get(0));
        byte[] tagged = rec.frames.get(1);
        assertEquals(web.length + 4, tagged.length);
        assertEquals(0x8100, (tagged[12] & 0xff) << 8 | (tagged[13] & 0xff));
        assertEquals(42, ((tagged[14] & 0x0f) << 8) | (tagged[15] & 0xff));
        byte[] last = rec.frames.get(2);
        assertEquals(web.length, last.length);
        assertEquals(0x02_00_00_00_00_99L, mac(last, 6));
        assertArrayEquals(last, rec.frames.get(4));
    }

    @Test
    void outputToTheInputPortNeedsInPort() {
        BridgeFlows f = secure();
        ok(f.apply(add(0, 10, Match.ANY, out(1))));
        assertEquals(List.of("drop"), run(f, 1, web));
        assertEquals(List.of("out:1"), run(f, 2, web));
    }

    @Test
    void countersMoveAndResetCountsClearsThem() {
        BridgeFlows f = secure();
        Match m = Match.builder().ethType(0x0800).build();
        ok(f.apply(add(0, 10, m, out(2))));
        for (int i = 0; i < 5; i++) {
            run(f, 1, web);
        }
        FlowStats s = f.flows(FlowFilter.ALL).get(0);
        assertEquals(5, s.packets());
        assertEquals(5L * web.length, s.bytes());
        assertEquals(new AggregateStats(5, 5L * web.length, 1), f.aggregate(FlowFilter.ALL));
        // modify keeps counters; with RESET_COUNTS they start again
        ok(f.apply(add(0, 10, m, out(3)).withCommand(FlowMod.Command.MODIFY)));
        assertEquals(5, f.flows(FlowFilter.ALL).get(0).packets());
        assertEquals(List.of("out:3"), run(f, 1, web));
        ok(f.apply(add(0, 10, m, out(3)).withCommand(FlowMod.Command.MODIFY).withFlags(FlowMod.RESET_COUNTS)));
        assertEquals(0, f.flows(FlowFilter.ALL).get(0).packets());
        run(f, 1, web);
        assertEquals(1, f.flows(FlowFilter.ALL).get(0).packets());
        // an identical add replaces the flow: counters start again
        ok(f.apply(add(0, 10, m, out(4))));
        assertEquals(1, f.flowCount());
        assertEquals(0, f.flows(FlowFilter.ALL).get(0).packets());
        assertEquals(List.of("out:4"), run(f, 1, web));
    }

    @Test
    void strictAndNonStrictModifyAndDelete() {
        BridgeFlows f = secure();
        Match ip = Match.builder().ethType(0x0800).build();
        Match tcp = Match.builder().ethType(0x0800).ipProto(6).build();
        ok(f.apply(add(0, 10, ip, out(2))));
        ok(f.apply(add(0, 20, tcp, out(2))));
        ok(f.apply(add(0, 30, tcp, out(2))));
        // strict modify touches only the exact match and priority
        FlowModResult r = f.apply(add(0, 20, tcp, out(5)).withCommand(FlowMod.Command.MODIFY_STRICT));
        assertEquals(1, r.affected());
        // non-strict modify of "ip" covers every flow at least as specific
        r = f.apply(add(0, 0, ip, out(6)).withCommand(FlowMod.Command.MODIFY));
        assertEquals(3, r.affected());
        assertEquals(List.of("out:6"), run(f, 1, web));
        // table 255: every table (as Open vSwitch allows for modifies)
        ok(f.apply(add(2, 10, ip, out(2))));
        r = f.apply(add(FlowMod.ALL_TABLES, 0, ip, out(8)).withCommand(FlowMod.Command.MODIFY));
        assertEquals(4, r.affected());
        f.apply(FlowMod.delete(2, Match.ANY));
        // a modify that covers nothing adds nothing (OpenFlow 1.3)
        r = f.apply(add(0, 0, Match.builder().inPort(9).build(), out(6)).withCommand(FlowMod.Command.MODIFY));
        assertEquals(0, r.affected());
        assertEquals(3, f.flowCount());
        // strict delete needs the priority too
        assertEquals(
                0,
                f.apply(FlowMod.delete(0, tcp).withCommand(FlowMod.Command.DELETE_STRICT))
                        .affected());
        assertEquals(
                1,
                f.apply(FlowMod.delete(0, tcp)
                                .withCommand(FlowMod.Command.DELETE_STRICT)
                                .withPriority(30))
                        .affected());
        // non-strict delete of tcp removes the tcp one but not the more general ip one
        assertEquals(1, f.apply(FlowMod.delete(FlowMod.ALL_TABLES, tcp)).affected());
        assertEquals(1, f.flowCount());
        assertEquals(ip, f.flows(FlowFilter.ALL).get(0).match());
        assertEquals(1, f.apply(FlowMod.delete(FlowMod.ALL_TABLES, Match.ANY)).affected());
        assertEquals(0, f.flowCount());
    }

    @Test
    void cookieMasksAndOutPortFilter() {
        BridgeFlows f = secure();
        ok(f.apply(add(0, 1, Match.builder().inPort(1).build(), out(2)).withCookie(0x1001, 0)));
        ok(f.apply(add(0, 1, Match.builder().inPort(2).build(), out(3)).withCookie(0x1002, 0)));
        ok(f.apply(add(1, 1, Match.builder().inPort(3).build(), out(3)).withCookie(0x2001, 0)));
        assertEquals(
                2,
                f.flows(new FlowFilter(FlowMod.ALL_TABLES, Match.ANY, OfPort.ANY, OfPort.GROUP_ANY, 0x1000, 0xf000))
                        .size());
        assertEquals(
                2,
                f.flows(new FlowFilter(FlowMod.ALL_TABLES, Match.ANY, 3, OfPort.GROUP_ANY, 0, 0))
                        .size());
        assertEquals(1, f.flows(FlowFilter.table(1)).size());
        // delete the out_port 3 flows with cookie 0x1xxx: one
        FlowModResult r = f.apply(FlowMod.delete(FlowMod.ALL_TABLES, Match.ANY)
                .withCookie(0x1000, 0xf000)
                .withOutPort(3));
        assertEquals(1, r.affected());
        assertEquals(2, f.flowCount());
        // modify by cookie
        r = f.apply(
                add(0, 0, Match.ANY, out(7)).withCommand(FlowMod.Command.MODIFY).withCookie(0x1001, -1L));
        assertEquals(1, r.affected());
        assertEquals(List.of("out:7"), run(f, 1, web));
        // out_port on an add is ignored
        ok(f.apply(add(0, 2, Match.ANY, out(7)).withOutPort(9)));
    }

    @Test
    void overlapCheckAndTableFull() {
        BridgeFlows f = new BridgeFlows("br0", 1, 2);
        ok(f.apply(add(0, 10, Match.builder().ethType(0x0800).build(), out(2))));
        FlowMod overlapping =
                add(0, 10, Match.builder().inPort(1).build(), out(3)).withFlags(FlowMod.CHECK_OVERLAP);
        assertEquals(FlowError.OVERLAP, f.apply(overlapping).error());
        ok(f.apply(overlapping.withPriority(11)));
        assertEquals(
                FlowError.TABLE_FULL, f.apply(add(0, 12, Match.ANY, out(1))).error());
        ok(f.apply(add(0, 10, Match.builder().ethType(0x0800).build(), out(4))));
        assertEquals(2, f.flowCount(), "replacing an identical flow is not a new one");
    }

    @Test
    void idleAndHardTimeoutsSendFlowRemovedWhenFlagged() {
        BridgeFlows f = secure();
        List<FlowRemoved> removed = new ArrayList<>();
        f.setFlowRemovedListener(removed::add);
        ok(f.apply(add(0, 1, Match.builder().inPort(1).build(), out(2))
                .withTimeouts(2, 0)
                .withFlags(FlowMod.SEND_FLOW_REM)
                .withCookie(7, 0)));
        ok(f.apply(add(0, 1, Match.builder().inPort(2).build(), out(3))
                .withTimeouts(0, 3)
                .withFlags(FlowMod.SEND_FLOW_REM)));
        ok(f.apply(add(0, 1, Match.builder().inPort(3).build(), out(4)).withTimeouts(1, 0)));
        long t0 = System.nanoTime();
        assertEquals(0, f.sweep(t0));
        run(f, 1, web);
        assertEquals(1, f.sweep(t0 + 1_500_000_000L), "the unused idle_timeout=1 flow");
        assertEquals(2, f.flowCount());
        assertTrue(removed.isEmpty(), "no FLOW_REMOVED without SEND_FLOW_REM");
        assertEquals(0, f.sweep(t0 + 2_500_000_000L), "idle since 1.5 s only");
        assertEquals(2, f.sweep(t0 + 3_600_000_000L));
        assertEquals(0, f.flowCount());
        assertEquals(2, removed.size());
        FlowRemoved idle = removed.stream()
                .filter(e -> e.reason() == FlowRemoved.Reason.IDLE_TIMEOUT)
                .findFirst()
                .orElseThrow();
        assertEquals(7, idle.cookie());
        assertEquals(1, idle.packets());
        assertTrue(removed.stream().anyMatch(e -> e.reason() == FlowRemoved.Reason.HARD_TIMEOUT));
        // a delete of a flagged flow says DELETE
        ok(f.apply(add(0, 1, Match.ANY, out(2)).withFlags(FlowMod.SEND_FLOW_REM)));
        f.apply(FlowMod.delete(0, Match.ANY));
        assertEquals(FlowRemoved.Reason.DELETE, removed.get(2).reason());
    }

    @Test
    void packetInsGoThroughTheRingWithReasonAndLength() {
        BridgeFlows f = secure();
        ok(f.apply(add(0, 0, Match.ANY, Instruction.apply(new Action.Output(OfPort.CONTROLLER, OfPort.NO_BUFFER)))));
        ok(f.apply(add(
                        0,
                        10,
                        Match.builder().ethType(0x0800).build(),
                        Instruction.apply(new Action.Output(OfPort.CONTROLLER, 20)))
                .withCookie(99, 0)));
        run(f, 3, web);
        assertEquals(1, f.packetInsNoController(), "no controller: nothing queued");
        f.setControllerConnected(true);
        run(f, 3, web);
        run(f, 4, Frames.arp(0x02_00_00_00_00_01L, 1, 1, 2));
        List<String> got = new ArrayList<>();
        List<byte[]> data = new ArrayList<>();
        int n = f.drainPacketIns((inPort, tun, table, reason, cookie, total, bytes, len) -> {
            got.add(inPort + "/" + table + "/" + reason + "/" + cookie + "/" + total + "/" + len);
            data.add(java.util.Arrays.copyOf(bytes, len));
        });
        assertEquals(2, n);
        assertEquals(List.of("3/0/ACTION/99/" + web.length + "/20", "4/0/NO_MATCH/0/42/42"), got);
        assertArrayEquals(java.util.Arrays.copyOf(web, 20), data.get(0));
        // the ring is bounded: overflow is dropped and counted
        for (int i = 0; i < PacketInRing.SLOTS + 10; i++) {
            run(f, 3, web);
        }
        assertEquals(10, f.packetInsDropped());
        assertEquals(PacketInRing.SLOTS, f.drainPacketIns((a, b, c, d, e, g, h, i) -> {}));
    }

    @Test
    void packetOutRunsActionsAndTable() {
        BridgeFlows f = secure();
        ok(f.apply(add(0, 10, Match.builder().inPort(4).build(), out(6))));
        assertNull(f.packetOut(OfPort.CONTROLLER, web, List.of(new Action.Output(2), new Action.Output(OfPort.FLOOD))));
        assertNull(f.packetOut(4, web, List.of(new Action.Output(OfPort.TABLE))));
        assertEquals(
                FlowError.BAD_PORT, f.packetOut(OfPort.LOCAL, web, List.of()).error(), "BAD_REQUEST/BAD_PORT");
        assertEquals(
                FlowError.BAD_REQUEST_LEN,
                f.packetOut(1, new byte[3], List.of()).error(),
                "BAD_REQUEST/BAD_LEN");
        assertTrue(f.hasPacketOuts());
        rec.what.clear();
        rec.frames.clear();
        assertEquals(2, engine.packetOuts(f, rec));
        assertFalse(f.hasPacketOuts());
        assertEquals(List.of("out:2", "flood", "out:6", "drop"), rec.what);
        assertEquals(1, f.flows(FlowFilter.ALL).get(0).packets());
    }

    @Test
    void aPacketOutLongerThanAPacketBufferIsRefusedNotCutShort() {
        BridgeFlows f = secure();
        f.setMaxFrame(pool.maxPacketLength());
        byte[] longest = java.util.Arrays.copyOf(web, pool.maxPacketLength());
        longest[longest.length - 1] = 0x5a;
        FlowModResult refused =
                f.packetOut(OfPort.CONTROLLER, new byte[pool.maxPacketLength() + 1], List.of(new Action.Output(2)));
        assertEquals(FlowError.BAD_REQUEST_LEN, refused.error());
        assertEquals(1, refused.error().type, "OFPET_BAD_REQUEST");
        assertEquals(6, refused.error().code, "OFPBRC_BAD_LEN");
        assertNull(f.packetOut(OfPort.CONTROLLER, longest, List.of(new Action.Output(2))));
        rec.what.clear();
        rec.frames.clear();
        assertEquals(1, engine.packetOuts(f, rec));
        assertEquals(List.of("out:2"), rec.what);
        assertArrayEquals(longest, rec.frames.get(0), "sent whole");
    }

    @Test
    void cacheHitsAfterTheFirstPacketAndIsInvalidatedByAChange() {
        BridgeFlows f = secure();
        ok(f.apply(add(0, 10, Match.builder().ethType(0x0800).build(), out(2))));
        run(f, 1, web);
        long misses = engine.cacheMisses();
        for (int i = 0; i < 10; i++) {
            assertEquals(List.of("out:2"), run(f, 1, web));
        }
        assertEquals(misses, engine.cacheMisses());
        assertEquals(10, engine.cacheHits());
        ok(f.apply(add(0, 20, Match.builder().ethType(0x0800).build(), out(3))));
        assertEquals(List.of("out:3"), run(f, 1, web), "the new flow is seen at once");
        assertEquals(misses + 1, engine.cacheMisses());
    }

    static long mac(byte[] f, int at) {
        long m = 0;
        for (int i = at; i < at + 6; i++) {
            m = m << 8 | (f[i] & 0xff);
        }
        return m;
    }
}
