package dev.panda.vswitch.flow;

import static dev.panda.vswitch.flow.Frames.ip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link BridgeFlows#applyAll}, what add-flows runs: a run of flow mods carried out in order with
 * one classifier published at the end, or, at the first refusal, none of them (every table as it
 * was, nothing published, no FLOW_REMOVED); and packets meet what the run added.
 */
class ApplyAllTest {

    final PacketPool pool = PacketPool.create(PoolConfig.defaults().withCount(256));
    final FlowEngine engine = new FlowEngine(pool, 0);
    final int freeAtStart = pool.available();
    /** What the engine did with a frame: "out:N", "drop", "normal" or "flood". */
    final RecordingEgress egress = new RecordingEgress(pool);

    final List<String> seen = egress.seen;

    @AfterEach
    void close() {
        assertEquals(freeAtStart, pool.available(), "every buffer back in the pool");
        pool.close();
    }

    static final int IN_PORT = 250;

    List<String> run(BridgeFlows f, byte[] frame) {
        seen.clear();
        int h = pool.alloc();
        java.lang.foreign.MemorySegment.copy(
                frame, 0, pool.segment(), java.lang.foreign.ValueLayout.JAVA_BYTE, pool.dataOffset(h), frame.length);
        pool.setLength(h, frame.length);
        engine.process(h, IN_PORT, 0, f, egress); // a port no flow here outputs to
        return List.copyOf(seen);
    }

    static BridgeFlows secure(int maxFlows) {
        BridgeFlows f = new BridgeFlows("br0", 1, maxFlows);
        f.setFailMode(FailMode.SECURE);
        return f;
    }

    static Match dst(int ip) {
        return Match.builder().ethType(0x0800).ipv4Dst(ip, -1).build();
    }

    static FlowMod add(int table, int priority, Match m, int port) {
        return FlowMod.add(table, priority, m, List.of(Instruction.apply(new Action.Output(port))));
    }

    static byte[] to(int ip) {
        return Frames.tcp(ip(198, 18, 0, 1), ip, 40000, 80);
    }

    static int host(int i) {
        return ip(10, 1, i >> 8, i & 0xff);
    }

    @Test
    void sixteenThousandAddsArePublishedOnceAndPacketsMeetThem() {
        BridgeFlows f = secure(BridgeFlows.DEFAULT_MAX_FLOWS);
        long before = f.generation();
        int n = 16_384;
        List<FlowMod> mods = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            mods.add(add(0, 100, dst(host(i)), 1 + i % 200));
        }
        long t0 = System.nanoTime();
        FlowModsResult r = f.applyAll(mods);
        long ns = System.nanoTime() - t0;
        System.out.printf("ApplyAllTest: %d flows in one applyAll: %.3f s%n", n, ns / 1e9);
        assertTrue(r.isOk(), () -> r.refusal().message());
        assertEquals(n, r.affected());
        assertEquals(n, r.results().size());
        assertEquals(before + 1, f.generation(), "one classifier for the whole run");
        assertEquals(n, f.flowCount());
        assertEquals(n, f.flows(FlowFilter.ALL).size());
        for (int i : new int[] {0, 1, 255, 256, 8191, 12345, n - 1}) {
            assertEquals(List.of("out:" + (1 + i % 200)), run(f, to(host(i))), "flow " + i);
        }
        assertEquals(List.of("drop"), run(f, to(host(n))), "no flow: secure drops");
    }

    @Test
    void aRunCarriesOutAddsModifiesAndDeletesInOrder() {
        BridgeFlows f = secure(100);
        assertTrue(f.apply(add(0, 10, dst(host(9)), 9)).isOk());
        long before = f.generation();
        FlowModsResult r = f.applyAll(List.of(
                add(0, 100, dst(host(1)), 1),
                add(0, 100, dst(host(2)), 2),
                add(0, 100, dst(host(1)), 3).withCommand(FlowMod.Command.MODIFY_STRICT),
                FlowMod.delete(0, dst(host(2)))
                        .withCommand(FlowMod.Command.DELETE_STRICT)
                        .withPriority(100),
                FlowMod.delete(0, dst(host(77))), // covers nothing: affects nothing
                add(1, 5, Match.builder().build(), 4)));
        assertTrue(r.isOk(), () -> r.refusal().message());
        assertEquals(
                List.of(1, 1, 1, 1, 0, 1),
                r.results().stream().map(FlowModResult::affected).toList());
        assertEquals(5, r.affected());
        assertEquals(before + 1, f.generation());
        assertEquals(3, f.flowCount());
        assertEquals(List.of("out:3"), run(f, to(host(1))));
        assertEquals(List.of("drop"), run(f, to(host(2))), "added, then deleted");
        assertEquals(List.of("out:9"), run(f, to(host(9))));
    }

    @Test
    void theFirstRefusalPutsEveryTableBackAndPublishesNothing() {
        BridgeFlows f = secure(100);
        List<FlowRemoved> removed = new ArrayList<>();
        f.setFlowRemovedListener(removed::add);
        for (int i = 0; i < 89; i++) {
            assertTrue(f.apply(add(0, 100, dst(host(i)), 1 + i % 7).withFlags(FlowMod.SEND_FLOW_REM))
                    .isOk());
        }
        // what misses those goes on to table 2
        assertTrue(f.apply(FlowMod.add(0, 1, Match.builder().build(), List.of(new Instruction.GotoTable(2))))
                .isOk());
        assertTrue(f.apply(add(2, 50, Match.builder().build(), 5)).isOk());
        FlowTableState state = f.state();
        long gen = f.generation();

        // an overlap refused at index 3, after a delete of a whole table and adds to others
        FlowModsResult r = f.applyAll(List.of(
                FlowMod.delete(0, null),
                add(0, 7, dst(host(500)), 2),
                add(1, 100, dst(host(501)), 2),
                add(1, 100, Match.builder().ethType(0x0800).build(), 3).withFlags(FlowMod.CHECK_OVERLAP)));
        assertFalse(r.isOk());
        assertEquals(3, r.refusedAt());
        assertEquals(FlowError.OVERLAP, r.refusal().error());
        assertEquals(0, r.affected());
        assertUnchanged(f, state, gen);
        assertEquals(List.of(), removed, "the delete was put back: no FLOW_REMOVED");

        // more flows than the bridge holds: refused at the 11th new one
        List<FlowMod> many = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            many.add(add(3, 1, dst(host(1000 + i)), 1));
        }
        r = f.applyAll(many);
        assertEquals(9, r.refusedAt());
        assertEquals(FlowError.TABLE_FULL, r.refusal().error());
        assertUnchanged(f, state, gen);

        // one the tables' checks refuse (a goto backwards), first in the run
        r = f.applyAll(List.of(FlowMod.add(5, 1, Match.builder().build(), List.of(new Instruction.GotoTable(2)))));
        assertEquals(0, r.refusedAt());
        assertEquals(FlowError.BAD_INST_TABLE_ID, r.refusal().error());
        assertUnchanged(f, state, gen);

        // the flows put back are still found as themselves: an identical add replaces, adds none
        assertTrue(f.apply(add(0, 100, dst(host(3)), 6)).isOk());
        assertEquals(91, f.flowCount());
        assertEquals(List.of("out:6"), run(f, to(host(3))));

        // and a run that succeeds removes them, raising FLOW_REMOVED
        r = f.applyAll(List.of(FlowMod.delete(0, null)));
        assertEquals(90, r.affected());
        assertEquals(88, removed.size(), "those flagged send_flow_rem (host 3's was replaced by one not)");
        assertEquals(List.of("drop"), run(f, to(host(3))));
    }

    private void assertUnchanged(BridgeFlows f, FlowTableState state, long gen) {
        assertEquals(state, f.state(), "every table as it was");
        assertEquals(91, f.flowCount());
        assertEquals(gen, f.generation(), "nothing published");
        assertEquals(List.of("out:" + (1 + 3 % 7)), run(f, to(host(3))));
        assertEquals(List.of("out:5"), run(f, to(host(700))), "table 0's goto, then table 2");
    }
}
