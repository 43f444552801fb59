package dev.panda.vswitch.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link FlowTableState#apply}, the journal's replay of a flow mod, against {@link BridgeFlows}
 * itself: the same random flow mods (adds that replace, overlap checks, modify and delete, strict
 * or not, cookie and out_port filters, every table) accepted or refused alike and leaving the
 * same flows in the same order; a bridge's flows restored from the value equal it; and
 * {@link FlowModCodec} gives back every flow mod it wrote.
 */
class FlowTableStateTest {

    static Match randomMatch(Random r) {
        return switch (r.nextInt(7)) {
            case 0 -> Match.ANY;
            case 1 -> Match.builder().inPort(1 + r.nextInt(3)).build();
            case 2 ->
                Match.builder()
                        .ethType(0x0800)
                        .ipv4Dst(0xc6120000 | r.nextInt(3), -1)
                        .build();
            case 3 ->
                Match.builder().ethType(0x0800).ipv4Dst(0xc6120000, 0xffffff00).build();
            case 4 ->
                Match.builder().ethType(0x0800).ipProto(17).udpDst(r.nextInt(3)).build();
            case 5 -> Match.builder().ethDst(0x020000000001L + r.nextInt(2)).build();
            default ->
                Match.builder()
                        .ethType(0x86dd)
                        .ipv6Dst(0xfd00000000000000L, r.nextInt(2), -1L, r.nextBoolean() ? -1L : 0xffffff00L)
                        .vlanVid(r.nextInt(3))
                        .build();
        };
    }

    static List<Action> randomActions(Random r) {
        List<Action> a = new ArrayList<>();
        int n = r.nextInt(3);
        for (int i = 0; i < n; i++) {
            a.add(
                    switch (r.nextInt(5)) {
                        case 0 -> new Action.Output(1 + r.nextInt(3));
                        case 1 -> new Action.Output(OfPort.NORMAL);
                        case 2 -> new Action.Output(OfPort.CONTROLLER, r.nextInt(2) == 0 ? 128 : OfPort.NO_BUFFER);
                        case 3 -> new Action.SetField(Field.ETH_SRC, 0x020000000000L | r.nextInt(100));
                        default -> new Action.PushVlan(0x8100);
                    });
        }
        return a;
    }

    static List<Instruction> randomInstructions(Random r, int table) {
        List<Instruction> ins = new ArrayList<>();
        if (r.nextInt(4) > 0) {
            ins.add(new Instruction.ApplyActions(randomActions(r)));
        }
        if (r.nextInt(5) == 0) {
            ins.add(new Instruction.WriteActions(randomActions(r)));
        }
        if (r.nextInt(8) == 0) {
            ins.add(new Instruction.ClearActions());
        }
        if (r.nextInt(6) == 0) {
            // mostly forward; sometimes backward from the table a modify lands in (refused)
            ins.add(new Instruction.GotoTable(Math.min(63, table + (r.nextInt(4) == 0 ? 0 : 1 + r.nextInt(2)))));
        }
        return ins;
    }

    static FlowMod randomMod(Random r) {
        FlowMod.Command c = FlowMod.Command.values()[r.nextInt(5)];
        boolean add = c == FlowMod.Command.ADD;
        int table = !add && r.nextInt(3) == 0 ? FlowMod.ALL_TABLES : r.nextInt(3);
        int flags = 0;
        if (r.nextInt(4) == 0) {
            flags |= FlowMod.CHECK_OVERLAP;
        }
        if (r.nextInt(4) == 0) {
            flags |= FlowMod.SEND_FLOW_REM;
        }
        long cookie = r.nextInt(3);
        long mask = add ? 0 : (r.nextBoolean() ? -1L : 0);
        int outPort = c == FlowMod.Command.DELETE || c == FlowMod.Command.DELETE_STRICT
                ? (r.nextInt(3) == 0 ? 1 + r.nextInt(3) : OfPort.ANY)
                : OfPort.ANY;
        return new FlowMod(
                c,
                table,
                new int[] {0, 100, 200}[r.nextInt(3)],
                randomMatch(r),
                randomInstructions(r, table == FlowMod.ALL_TABLES ? 1 : table),
                cookie,
                mask,
                r.nextInt(5) == 0 ? 30 : 0,
                r.nextInt(5) == 0 ? 60 : 0,
                flags,
                outPort,
                OfPort.GROUP_ANY);
    }

    @Test
    void replayAgreesWithTheFlowTablesOnRandomFlowMods() {
        long seed = Long.getLong("flowtable.seed", System.nanoTime());
        System.out.println("FlowTableStateTest seed " + seed);
        Random r = new Random(seed);
        int max = 40; // small, so that a full table is met too
        int refused = 0;
        int changed = 0;
        for (int round = 0; round < 20; round++) {
            BridgeFlows live = new BridgeFlows("br0", 1, max);
            FlowTableState model = FlowTableState.EMPTY;
            for (int i = 0; i < 300; i++) {
                FlowMod m = randomMod(r);
                FlowModResult res = live.apply(m);
                FlowTableState before = model;
                try {
                    model = model.apply(m, max);
                    assertTrue(res.isOk(), "seed " + seed + ": the model took " + m + ", the tables refused: " + res);
                } catch (IllegalArgumentException e) {
                    assertTrue(!res.isOk(), "seed " + seed + ": the model refused " + m + " (" + e.getMessage() + ")");
                    refused++;
                }
                if (!model.equals(before)) {
                    changed++;
                }
                assertEquals(live.state(), model, "seed " + seed + " after " + m);
                assertEquals(live.flowCount(), model.size());
            }
            // a restart: the flows restored from the value are the same flows
            BridgeFlows again = new BridgeFlows("br0", 1, max);
            again.restore(
                    model.entries().stream().map(FlowTableState.Entry::toAdd).toList());
            assertEquals(model, again.state());
            assertEquals(
                    live.flows(FlowFilter.table(FlowMod.ALL_TABLES)).stream()
                            .map(FlowFormat::flow)
                            .map(FlowTableStateTest::withoutCounters)
                            .toList(),
                    again.flows(FlowFilter.table(FlowMod.ALL_TABLES)).stream()
                            .map(FlowFormat::flow)
                            .map(FlowTableStateTest::withoutCounters)
                            .toList());
        }
        assertTrue(refused > 100 && changed > 1000, refused + " refused, " + changed + " changed");
    }

    static String withoutCounters(String dumpLine) {
        return dumpLine.replaceAll("duration=[0-9.]+s, ", "")
                .replaceAll("n_packets=\\d+, n_bytes=\\d+, ", "")
                .replaceAll("idle_age=\\d+, ", "");
    }

    @Test
    void theCodecGivesBackEveryFlowModItWrote() {
        Random r = new Random(7);
        for (int i = 0; i < 2000; i++) {
            FlowMod m = randomMod(r).withCookie(r.nextLong(), r.nextLong());
            if (r.nextBoolean()) {
                m = m.withOutPort(r.nextInt());
            }
            FlowMod back = FlowModCodec.decode(FlowModCodec.encode(m));
            assertEquals(m, back);
        }
    }

    @Test
    void theCodecRefusesWhatItDidNotWrite() {
        for (String bad : List.of(
                "[]",
                "{\"command\": \"add\"}",
                "{\"command\": \"insert\", \"table\": 0}",
                "{\"command\": \"add\", \"table\": 256}",
                "{\"command\": \"add\", \"table\": 0, \"cookie\": \"0x1\"}",
                "{\"command\": \"add\", \"table\": 0, \"cookie\": \"12345678901234567\"}",
                "{\"command\": \"add\", \"table\": 0, \"match\": {\"ipv4_dst\": [\"1\"]}}",
                "{\"command\": \"add\", \"table\": 0, \"match\": {\"ip_tos\": [\"1\", \"ff\"]}}",
                "{\"command\": \"add\", \"table\": 0, \"instructions\": [{\"apply\": [{\"output\": \"100000000\"}]}]}",
                "{\"command\": \"add\", \"table\": 0, \"instructions\": [{\"meter\": 1}]}",
                "{\"command\": \"add\", \"table\": 0, \"extra\": 1}")) {
            try {
                FlowModCodec.decode(new com.fasterxml.jackson.databind.ObjectMapper().readTree(bad));
                fail("decoded " + bad);
            } catch (IllegalArgumentException e) {
                assertTrue(!e.getMessage().isBlank(), bad);
            } catch (java.io.IOException e) {
                fail(e);
            }
        }
    }

    @Test
    void withoutRemovesTheFlowATimeoutRemovedAndIgnoresOneThatIsGone() {
        Match m = Match.builder().inPort(1).build();
        FlowTableState s = FlowTableState.EMPTY
                .apply(FlowMod.add(0, 10, m, List.of()), 100)
                .apply(FlowMod.add(0, 20, m, List.of()), 100);
        FlowTableState after = s.without(0, 10, m);
        assertEquals(1, after.size());
        assertEquals(20, after.entries().getFirst().priority());
        assertEquals(after, after.without(0, 10, m));
        assertNotEquals(s, after);
        assertThrows(IllegalArgumentException.class, () -> s.without(64, 10, m));
    }
}
