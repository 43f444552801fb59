package dev.panda.vswitch.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Random flow mods (random fields, values and masks, actions, instructions, commands, tables,
 * cookies, flags) applied to one bridge's tables, and random frames run through them: nothing
 * throws; a refused mod changes nothing; the flow count agrees with the dump and the limit; an
 * accepted add is in its table; after a non-strict delete no covered flow is left; the
 * tuple-space classifier finds the same priority as a linear scan of every flow; every buffer
 * goes back to the pool.
 *
 * <p>Without {@code JAZZER_FUZZ=1} only the seeds in {@code FlowModFuzzTestInputs/} run.
 */
class FlowModFuzzTest {

    private static final Field[] FIELDS = Field.values();

    @FuzzTest(maxDuration = "30s")
    void randomFlowModsKeepTheTablesConsistent(FuzzedDataProvider d) {
        BridgeFlows f = new BridgeFlows("br0", 2, 64);
        f.setFailMode(d.consumeBoolean() ? FailMode.SECURE : FailMode.STANDALONE);
        f.setControllerConnected(d.consumeBoolean());
        try (PacketPool pool = PacketPool.create(PoolConfig.defaults().withCount(256))) {
            int free = pool.available();
            FlowEngine engine = new FlowEngine(pool, d.consumeInt(0, 3));
            Sink sink = new Sink(pool);
            int steps = d.consumeInt(1, 40);
            for (int s = 0; s < steps && d.remainingBytes() > 0; s++) {
                if (d.consumeInt(0, 3) == 0) {
                    packet(d, pool, engine, f, sink);
                    continue;
                }
                FlowMod m = flowMod(d);
                int count = f.flowCount();
                long gen = f.generation();
                FlowModResult r = f.apply(m);
                assertNotNull(r);
                if (!r.isOk()) {
                    assertEquals(count, f.flowCount(), "a refused mod changed the count");
                    assertEquals(gen, f.generation(), "a refused mod published a change");
                    assertNotNull(r.message());
                    continue;
                }
                List<FlowStats> all = f.flows(FlowFilter.ALL);
                assertEquals(f.flowCount(), all.size());
                assertTrue(all.size() <= f.maxFlows());
                if (m.command() == FlowMod.Command.ADD) {
                    Match n = m.match().normalized();
                    assertTrue(
                            all.stream()
                                    .anyMatch(x -> x.tableId() == m.tableId()
                                            && x.priority() == m.priority()
                                            && x.match().equals(n)),
                            "an accepted add is not in its table");
                }
                if (m.command() == FlowMod.Command.DELETE
                        && m.cookieMask() == 0
                        && m.outPort() == OfPort.ANY
                        && m.outGroup() == OfPort.GROUP_ANY) {
                    Match n = m.match().normalized();
                    assertFalse(
                            all.stream()
                                    .anyMatch(x -> (m.tableId() == FlowMod.ALL_TABLES || x.tableId() == m.tableId())
                                            && x.match().isSubsetOf(n)),
                            "a covered flow survived a delete");
                }
            }
            for (TableStats t : f.tableStats()) {
                assertTrue(t.matched() <= t.lookups(), t.toString());
            }
            // past every timeout (at most 65535 s): a sweep credits a flow hit since the last sweep
            // with a use at the sweep's time, so an idle flow the packets above hit expires at the second
            long now = System.nanoTime();
            f.sweep(now + 70_000L * 1_000_000_000L);
            f.sweep(now + 140_000L * 1_000_000_000L);
            assertEquals(
                    0,
                    f.flows(FlowFilter.ALL).stream()
                            .filter(x -> x.idleTimeout() > 0 || x.hardTimeout() > 0)
                            .count(),
                    "a timed-out flow survived the sweep");
            f.drainPacketIns((a, b, c, e, g, h, i, j) -> {});
            assertEquals(free, pool.available(), "buffers lost");
        }
    }

    /** Frees what the engine hands over (outputs, floods, NORMAL and drops alike). */
    private record Sink(PacketPool pool) implements FlowEngine.Egress {
        @Override
        public void output(int h, int port) {
            pool.free(h);
        }

        @Override
        public void flood(int h, int inPort) {
            pool.free(h);
        }

        @Override
        public void normal(int h, int inPort) {
            pool.free(h);
        }

        @Override
        public void drop(int h) {
            pool.free(h);
        }
    }

    private static void packet(FuzzedDataProvider d, PacketPool pool, FlowEngine engine, BridgeFlows f, Sink sink) {
        byte[] frame = d.consumeBytes(d.consumeInt(0, 120));
        int inPort = d.consumeInt(1, 8);
        long tun = d.consumeBoolean() ? 0 : d.consumeLong();
        // the classifier agrees with a linear scan of every flow, in every table
        FlowKey k = new FlowKey();
        int h = pool.alloc();
        MemorySegment.copy(frame, 0, pool.segment(), ValueLayout.JAVA_BYTE, pool.dataOffset(h), frame.length);
        pool.setLength(h, frame.length);
        k.parse(pool.segment(), pool.dataOffset(h), frame.length, inPort, tun);
        Classifier c = f.classifier();
        for (int t = 0; t < BridgeFlows.TABLES; t++) {
            Rule fast = c.lookup(t, k.w);
            int best = -1;
            for (Subtable s : c.tables[t]) {
                for (Rule r : s.all) {
                    boolean hit = true;
                    for (int i = 0; i < FlowKey.WORDS; i++) {
                        if ((k.w[i] & r.mask[i]) != r.value[i]) {
                            hit = false;
                            break;
                        }
                    }
                    if (hit) {
                        best = Math.max(best, r.priority);
                    }
                }
            }
            assertEquals(best, fast == null ? -1 : fast.priority, "table " + t);
        }
        if (frame.length < 14) {
            pool.free(h);
            return;
        }
        engine.process(h, inPort, tun, f, sink);
        if (d.consumeBoolean()) {
            FlowModResult r = f.packetOut(d.consumeBoolean() ? OfPort.CONTROLLER : inPort, frame, actions(d, true));
            if (r == null) {
                engine.packetOuts(f, sink);
            }
        }
    }

    private static FlowMod flowMod(FuzzedDataProvider d) {
        FlowMod.Command cmd = FlowMod.Command.values()[d.consumeInt(0, 4)];
        int table = d.consumeBoolean() ? d.consumeInt(0, 3) : d.consumeInt(0, 255);
        int prio = d.consumeBoolean() ? d.consumeInt(0, 3) * 100 : d.consumeInt(-1, 0x10000);
        Match.Builder mb = Match.builder();
        int nf = d.consumeInt(0, 5);
        for (int i = 0; i < nf; i++) {
            Field f = FIELDS[d.consumeInt(0, FIELDS.length - 1)];
            long v = small(d);
            long m = d.consumeBoolean() ? -1L : small(d);
            if (f.bits == 128) {
                mb.set(f, Masked.of128(small(d), v, d.consumeBoolean() ? -1L : small(d), m));
            } else {
                mb.set(f, Masked.of(v, m));
            }
        }
        if (d.consumeBoolean()) { // often a valid prerequisite chain
            mb.ethType(d.pickValue(new Integer[] {0x0800, 0x86dd, 0x0806}));
            if (d.consumeBoolean()) {
                mb.ipProto(d.pickValue(new Integer[] {1, 6, 17}));
            }
        }
        List<Instruction> ins = new ArrayList<>();
        int ni = d.consumeInt(0, 4);
        for (int i = 0; i < ni; i++) {
            switch (d.consumeInt(0, 3)) {
                case 0 -> ins.add(new Instruction.ApplyActions(actions(d, false)));
                case 1 -> ins.add(new Instruction.WriteActions(actions(d, false)));
                case 2 -> ins.add(new Instruction.ClearActions());
                default -> ins.add(new Instruction.GotoTable(d.consumeInt(0, 70)));
            }
        }
        return new FlowMod(
                cmd,
                table,
                prio,
                mb.build(),
                ins,
                d.consumeInt(0, 3),
                d.consumeBoolean() ? 0 : d.consumeInt(0, 3),
                d.consumeBoolean() ? 0 : d.consumeInt(-1, 70_000),
                d.consumeBoolean() ? 0 : d.consumeInt(0, 70),
                d.consumeInt(0, 40),
                d.consumeBoolean() ? OfPort.ANY : d.consumeInt(0, 5),
                d.consumeBoolean() ? OfPort.GROUP_ANY : d.consumeInt());
    }

    private static long small(FuzzedDataProvider d) {
        return d.consumeBoolean() ? d.consumeInt(0, 15) : d.consumeLong();
    }

    private static List<Action> actions(FuzzedDataProvider d, boolean packetOut) {
        List<Action> l = new ArrayList<>();
        int n = d.consumeInt(0, 4);
        int[] ports = {
            1, 2, 3, OfPort.IN_PORT, OfPort.FLOOD, OfPort.ALL, OfPort.NORMAL, OfPort.CONTROLLER, OfPort.TABLE, 0
        };
        for (int i = 0; i < n; i++) {
            switch (d.consumeInt(0, 3)) {
                case 0 ->
                    l.add(new Action.Output(
                            d.consumeBoolean() ? ports[d.consumeInt(0, ports.length - 1)] : d.consumeInt(),
                            d.consumeInt(0, 0xffff)));
                case 1 -> l.add(new Action.PushVlan(d.consumeBoolean() ? 0x8100 : d.consumeInt(0, 0xffff)));
                case 2 -> l.add(new Action.PopVlan());
                default ->
                    l.add(new Action.SetField(
                            FIELDS[d.consumeInt(0, FIELDS.length - 1)],
                            d.consumeBoolean() ? d.consumeInt(0, 0x1fff) : d.consumeLong()));
            }
        }
        return l;
    }
}
