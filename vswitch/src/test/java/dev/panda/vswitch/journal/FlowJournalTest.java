package dev.panda.vswitch.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.vswitch.FakeControl;
import dev.panda.vswitch.VswitchException;
import dev.panda.vswitch.capture.CaptureSpec;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.control.Json;
import dev.panda.vswitch.flow.Action;
import dev.panda.vswitch.flow.BridgeFlows;
import dev.panda.vswitch.flow.FlowMod;
import dev.panda.vswitch.flow.FlowModCodec;
import dev.panda.vswitch.flow.FlowTableState;
import dev.panda.vswitch.flow.Instruction;
import dev.panda.vswitch.flow.Match;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The journal's flow and capture kinds: each replay function on its own (flow-mod, flow-expired,
 * capture-start, capture-stop, and what del-br and set-config do to a bridge's flows), the snapshot
 * form with flows and captures (and the older config-only form), recovery stopping at the last
 * complete entry when a flow entry is corrupt, and a flow mod the journal cannot take undone and
 * refused.
 */
class FlowJournalTest {

    private static final ChangeKinds KINDS = ChangeKinds.standard();

    @TempDir
    Path dir;

    static final Match IP1 =
            Match.builder().ethType(0x0800).ipv4Dst(0xc6120001, -1).build();
    static final Match IN2 = Match.builder().inPort(2).build();

    static FlowMod add(int priority, Match m, int port, long cookie) {
        return FlowMod.add(0, priority, m, List.of(Instruction.apply(new Action.Output(port))))
                .withCookie(cookie, 0);
    }

    static JournalState withBridge() {
        BridgeConfig b = BridgeConfig.of("br0").withPorts(List.of(PortConfig.of("p1", "net_null0")));
        return JournalState.of(new VswitchConfig(null, List.of(b, BridgeConfig.of("br1"))));
    }

    @Test
    void flowModReplaysAsTheFlowTablesDo() {
        JournalState s = withBridge();
        s = KINDS.replay(s, ChangeKinds.FLOW_MOD, ChangeKinds.flowMod("br0", add(100, IP1, 1, 0x10)));
        s = KINDS.replay(s, ChangeKinds.FLOW_MOD, ChangeKinds.flowMod("br0", add(50, IN2, 3, 0x20)));
        s = KINDS.replay(s, ChangeKinds.FLOW_MOD, ChangeKinds.flowMod("br1", add(50, IN2, 3, 0x20)));
        assertEquals(2, s.flowsOf("br0").size());
        // an identical add replaces; modify-strict changes instructions; delete by cookie
        s = KINDS.replay(s, ChangeKinds.FLOW_MOD, ChangeKinds.flowMod("br0", add(100, IP1, 2, 0x11)));
        assertEquals(2, s.flowsOf("br0").size());
        assertEquals(0x11, s.flowsOf("br0").entries().getFirst().cookie());
        FlowMod mod = add(50, IN2, 4, 0).withCommand(FlowMod.Command.MODIFY_STRICT);
        s = KINDS.replay(s, ChangeKinds.FLOW_MOD, ChangeKinds.flowMod("br0", mod));
        assertEquals(
                List.of(Instruction.apply(new Action.Output(4))),
                s.flowsOf("br0").entries().get(1).instructions());
        FlowMod del = FlowMod.delete(FlowMod.ALL_TABLES, null).withCookie(0x11, -1L);
        s = KINDS.replay(s, ChangeKinds.FLOW_MOD, ChangeKinds.flowMod("br0", del));
        assertEquals(1, s.flowsOf("br0").size());
        assertEquals(50, s.flowsOf("br0").entries().getFirst().priority());
        // del-br takes its flows along; set-config keeps those of bridges it keeps
        JournalState kept = KINDS.replay(s, ChangeKinds.SET_CONFIG, ChangeKinds.config(s.config()));
        assertEquals(s.flows(), kept.flows());
        JournalState gone = KINDS.replay(s, ChangeKinds.DEL_BRIDGE, ChangeKinds.delBridge("br0"));
        assertEquals(Map.of("br1", s.flowsOf("br1")), gone.flows());
        JournalState back = KINDS.replay(gone, ChangeKinds.ADD_BRIDGE, ChangeKinds.addBridge(BridgeConfig.of("br0")));
        assertTrue(back.flowsOf("br0").isEmpty());
        // a flow mod that does not fit: an unknown bridge, a refused flow mod
        JournalState s2 = s;
        assertThrows(
                IllegalArgumentException.class,
                () -> KINDS.replay(s2, ChangeKinds.FLOW_MOD, ChangeKinds.flowMod("nope", add(1, IN2, 1, 0))));
        FlowMod badTable = FlowMod.add(64, 1, IN2, List.of());
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> KINDS.replay(s2, ChangeKinds.FLOW_MOD, ChangeKinds.flowMod("br0", badTable)));
        assertTrue(e.getMessage().contains("table 64"), e.getMessage());
    }

    @Test
    void flowExpiredRemovesTheFlowAndIgnoresOneAlreadyGone() {
        JournalState s = withBridge();
        s = KINDS.replay(s, ChangeKinds.FLOW_MOD, ChangeKinds.flowMod("br0", add(100, IP1, 1, 0)));
        s = KINDS.replay(s, ChangeKinds.FLOW_MOD, ChangeKinds.flowMod("br0", add(50, IN2, 3, 0)));
        byte[] expired = ChangeKinds.flowExpired(
                "br0",
                List.of(new BridgeFlows.Expired(0, 100, IP1, dev.panda.vswitch.flow.FlowRemoved.Reason.IDLE_TIMEOUT)));
        s = KINDS.replay(s, ChangeKinds.FLOW_EXPIRED, expired);
        assertEquals(1, s.flowsOf("br0").size());
        assertEquals(s, KINDS.replay(s, ChangeKinds.FLOW_EXPIRED, expired));
        JournalState s2 = s;
        assertThrows(
                IllegalArgumentException.class,
                () -> KINDS.replay(
                        s2, ChangeKinds.FLOW_EXPIRED, "{\"bridge\": \"br0\"}".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void capturesStartAndStop() {
        JournalState s = withBridge();
        CaptureSpec c1 = new CaptureSpec("c1", "p1", "rx", 128, "icmp", null, 0, 0);
        s = KINDS.replay(s, ChangeKinds.CAPTURE_START, ChangeKinds.captureStart(c1));
        assertEquals(List.of(c1), s.captures());
        JournalState s2 = s;
        assertThrows(
                IllegalArgumentException.class,
                () -> KINDS.replay(s2, ChangeKinds.CAPTURE_START, ChangeKinds.captureStart(c1)),
                "it runs already");
        CaptureSpec noPort = new CaptureSpec("c2", "nope", null, 0, null, null, 0, 0);
        assertThrows(
                IllegalArgumentException.class,
                () -> KINDS.replay(s2, ChangeKinds.CAPTURE_START, ChangeKinds.captureStart(noPort)));
        s = KINDS.replay(s, ChangeKinds.CAPTURE_STOP, ChangeKinds.captureStop("c1"));
        assertEquals(List.of(), s.captures());
        JournalState s3 = s;
        assertThrows(
                IllegalArgumentException.class,
                () -> KINDS.replay(s3, ChangeKinds.CAPTURE_STOP, ChangeKinds.captureStop("c1")));
    }

    @Test
    void aSnapshotCarriesFlowsAndCapturesAndAnOldOneReads() {
        JournalState s = withBridge();
        s = KINDS.replay(s, ChangeKinds.FLOW_MOD, ChangeKinds.flowMod("br0", add(100, IP1, 1, 0x10)));
        s = KINDS.replay(s, ChangeKinds.FLOW_MOD, ChangeKinds.flowMod("br0", add(50, IN2, 3, 0x20)));
        s = KINDS.replay(
                s,
                ChangeKinds.CAPTURE_START,
                ChangeKinds.captureStart(new CaptureSpec("c1", "p1", null, 0, null, null, 0, 0)));
        assertEquals(s, JournalState.fromSnapshot(s.toBytes()));
        JournalState old = JournalState.fromSnapshot(ChangeKinds.config(s.config()));
        assertEquals(JournalState.of(s.config()), old);
        // a snapshot whose flows name a bridge it does not have is refused
        var tree = s.toTree();
        ((com.fasterxml.jackson.databind.node.ObjectNode) tree.get("flows"))
                .set("brX", tree.get("flows").get("br0"));
        assertThrows(IllegalArgumentException.class, () -> JournalState.fromSnapshot(Json.bytes(tree)));
    }

    @Test
    void aCorruptFlowEntryStopsRecoveryAtTheLastCompleteEntry() throws IOException {
        Path jd = dir.resolve("journal");
        JournalState s0 = withBridge();
        JournalState s1;
        JournalState s2;
        try (Journal j = Journal.open(jd, KINDS, 1000)) {
            j.begin(s0);
            byte[] p1 = ChangeKinds.flowMod("br0", add(100, IP1, 1, 0));
            s1 = KINDS.replay(s0, ChangeKinds.FLOW_MOD, p1);
            j.append(ChangeKinds.FLOW_MOD, p1, () -> null);
            byte[] p2 = ChangeKinds.flowMod("br0", add(50, IN2, 3, 0));
            s2 = KINDS.replay(s1, ChangeKinds.FLOW_MOD, p2);
            j.append(ChangeKinds.FLOW_MOD, p2, () -> null);
            // a whole entry whose flow mod the state refuses (its CRC is right): recovery stops there
            j.append(
                    ChangeKinds.FLOW_MOD,
                    ChangeKinds.flowMod("br0", FlowMod.add(0, 1, IP1, List.of(new Instruction.GotoTable(0)))),
                    () -> null);
        }
        try (Journal j = Journal.open(jd, KINDS, 1000)) {
            Journal.Recovery r = j.recovery();
            assertEquals(s2, r.journalState());
            assertEquals(3, r.lastSeq());
            assertEquals(1, r.problems().size(), r.problems().toString());
            assertTrue(
                    r.problems().getFirst().contains("does not replay"),
                    r.problems().toString());
            assertNotNull(r.corruptGeneration());
            j.begin(r.journalState());
        }
        // a byte flipped inside the payload of the last flow entry: the CRC catches it
        try (Journal j = Journal.open(jd, KINDS, 1000)) {
            assertEquals(s2, j.recovery().journalState());
            j.begin(j.recovery().journalState());
            j.append(ChangeKinds.FLOW_MOD, ChangeKinds.flowMod("br0", add(7, IN2, 1, 0)), () -> null);
        }
        List<JournalFiles.Excerpt> ex = JournalFiles.excerpts(jd);
        JournalFiles.Excerpt last = ex.getLast();
        JournalFiles.flip(last.file(), last.end() - 40, 0x20);
        try (Journal j = Journal.open(jd, KINDS, 1000)) {
            Journal.Recovery r = j.recovery();
            assertEquals(s2, r.journalState());
            assertEquals(1, r.problems().size(), r.problems().toString());
            assertTrue(
                    r.problems().getFirst().contains("torn or corrupt tail"),
                    r.problems().toString());
        }
    }

    @Test
    void aFlowModTheJournalRefusesIsUndoneAndRefused() throws Exception {
        FakeControl fake = new FakeControl();
        Path jd = dir.resolve("journal");
        BridgeFlows flows = new BridgeFlows("br0", 1);
        try (Journal j = Journal.open(jd, KINDS, 1000)) {
            JournaledControl jc = journaledBr0(fake, j, flows);
            assertTrue(flows.apply(add(100, IP1, 1, 0)).isOk());
            assertTrue(flows.apply(add(50, IN2, 3, 0)).isOk());
            FlowTableState before = flows.state();
            j.injectFailure(new IOException("disk full"));
            VswitchException e = assertThrows(VswitchException.class, () -> flows.apply(add(10, IN2, 1, 0)));
            assertEquals(500, e.status());
            assertTrue(e.getMessage().contains("undone"), e.getMessage());
            assertEquals(before, flows.state());
            assertThrows(VswitchException.class, () -> flows.apply(FlowMod.delete(FlowMod.ALL_TABLES, null)));
            assertEquals(before, flows.state(), "a refused delete puts the flows back");
            assertEquals(2, jc.flowModsRefused());
            assertEquals(2L, jc.openflowCounters().get("flow_mods_refused_by_journal"));
            // a flow mod that changes nothing is not journaled (and so not refused)
            assertTrue(flows.apply(FlowMod.delete(3, IP1)).isOk());
            // the bridge is gone: changes to its old tables are nobody's, and not journaled
            flows.detach();
            assertTrue(flows.apply(add(10, IN2, 1, 0)).isOk());
        }
        try (Journal j = Journal.open(jd, KINDS, 1000)) {
            assertEquals(2, j.recovery().journalState().flowsOf("br0").size());
            assertEquals(
                    List.of(add(100, IP1, 1, 0), add(50, IN2, 3, 0)),
                    j.recovery().journalState().flowAdds().get("br0"));
        }
    }

    /**
     * br0 added through a {@link JournaledControl} over {@code fake}, on a fresh snapshot in
     * {@code j}, with {@code flows} (null: fake's own br0 tables, which a snapshot reads) gated by it.
     */
    static JournaledControl journaledBr0(FakeControl fake, Journal j, BridgeFlows flows) throws IOException {
        j.begin(fake.config());
        JournaledControl jc = new JournaledControl(fake, j);
        jc.addBridge(BridgeConfig.of("br0"));
        (flows == null ? fake.flows("br0") : flows).setGate(jc);
        return jc;
    }

    static Match host(int i) {
        return Match.builder().ethType(0x0800).ipv4Dst(0x0a010000 | i, -1).build();
    }

    @Test
    void aRunOfFlowModsIsJournaledOneEntryEachAndCompactedOnceAfterIt() throws Exception {
        FakeControl fake = new FakeControl();
        Path jd = dir.resolve("journal");
        try (Journal j = Journal.open(jd, KINDS, 100)) {
            journaledBr0(fake, j, null);
            BridgeFlows flows = fake.flows("br0"); // the tables a snapshot reads
            assertTrue(flows.apply(add(1, IN2, 3, 0)).isOk());
            List<FlowMod> mods = new java.util.ArrayList<>();
            for (int i = 0; i < 250; i++) {
                mods.add(add(100, host(i), 1 + i % 5, i));
            }
            mods.add(add(100, host(7), 9, 0).withCommand(FlowMod.Command.MODIFY_STRICT));
            mods.add(FlowMod.delete(0, IP1)); // covers nothing: not journaled
            mods.add(FlowMod.delete(0, IN2)
                    .withCommand(FlowMod.Command.DELETE_STRICT)
                    .withPriority(1));
            long seq = j.nextSeq();
            int gen = j.generation();
            long published = flows.generation();
            assertTrue(flows.applyAll(mods).isOk());
            assertEquals(published + 1, flows.generation(), "one classifier for the run");
            assertEquals(250, flows.flowCount());
            // 252 flow-mod entries, then (past 100 changes) one compaction: a snapshot of the state after them all
            assertEquals(seq + 252 + 1, j.nextSeq());
            assertEquals(gen + 1, j.generation(), "compacted once, after the run");
        }
        try (Journal j = Journal.open(jd, KINDS, 100)) {
            assertEquals(List.of(), j.recovery().problems());
            assertEquals(fake.flows("br0").state(), j.recovery().journalState().flowsOf("br0"));
        }
    }

    @Test
    void aBigSnapshotIsWrittenAgainOnlyOnceTheChangesAfterItAddUpToItsSize() throws Exception {
        FakeControl fake = new FakeControl();
        Path jd = dir.resolve("journal");
        try (Journal j = Journal.open(jd, KINDS, 100)) {
            journaledBr0(fake, j, null);
            BridgeFlows flows = fake.flows("br0"); // the tables a snapshot reads
            // one flow mod at a time, as a peer's FLOW_MODs come: 20,000 flows, a snapshot of
            // several MB once they are there
            int gen = j.generation();
            int compactions = 0;
            for (int i = 0; i < 20_000; i++) {
                assertTrue(flows.applyDeferred(add(100, host(i), 1 + i % 5, i)).isOk());
                if (j.generation() != gen) {
                    compactions++;
                    gen = j.generation();
                }
            }
            flows.flush();
            System.out.println("20000 flow mods one by one: " + compactions + " compactions");
            // every 100 changes while the snapshot is small (under 1 MiB, about 5,000 flows), then
            // only when the changes since add up to the snapshot's size: 200 compactions before
            assertTrue(compactions >= 10 && compactions <= 80, compactions + " compactions");
        }
        try (Journal j = Journal.open(jd, KINDS, 100)) {
            assertEquals(List.of(), j.recovery().problems());
            assertEquals(fake.flows("br0").state(), j.recovery().journalState().flowsOf("br0"));
        }
    }

    @Test
    void aRunTheJournalTakesOnlyInPartKeepsThatPartAndUndoesTheRest() throws Exception {
        FakeControl fake = new FakeControl();
        Path jd = dir.resolve("journal");
        try (Journal j = Journal.open(jd, KINDS, 1000)) {
            JournaledControl jc = journaledBr0(fake, j, null);
            BridgeFlows flows = fake.flows("br0"); // the tables a snapshot reads
            assertTrue(flows.apply(add(100, IP1, 1, 0)).isOk());
            FlowTableState before = flows.state();
            List<FlowMod> mods = new java.util.ArrayList<>();
            mods.add(FlowMod.delete(0, IN2)); // covers nothing: not journaled, not counted as written
            for (int i = 0; i < 6; i++) {
                mods.add(add(50, host(i), 2, 0));
            }
            j.injectFailure(new IOException("disk full"), 3);
            long published = flows.generation();
            VswitchException e = assertThrows(VswitchException.class, () -> flows.applyAll(mods));
            assertEquals(500, e.status());
            assertTrue(
                    e.getMessage().contains("disk full")
                            && e.getMessage()
                                    .endsWith("the first 4 of the 7 flow mods are applied and in the journal, the"
                                            + " others were undone"),
                    e.getMessage());
            assertEquals(4, flows.flowCount(), "the flow and the first 3 of the run");
            assertEquals(published + 1, flows.generation(), "what stays, published once");
            assertEquals(3, jc.flowModsRefused());
            FlowTableState kept = flows.state();
            // the journal takes nothing more: the run is undone whole
            e = assertThrows(VswitchException.class, () -> flows.applyAll(List.of(add(5, IN2, 1, 0))));
            assertTrue(e.getMessage().endsWith("none of the 1 flow mods was applied"), e.getMessage());
            assertEquals(kept, flows.state());
            assertTrue(before.size() < kept.size());
        }
        try (Journal j = Journal.open(jd, KINDS, 1000)) {
            assertEquals(
                    fake.flows("br0").state(), j.recovery().journalState().flowsOf("br0"), "a restart has what stayed");
        }
    }

    @Test
    void aFlowATimeoutRemovedStaysRemovedAfterARestart() throws Exception {
        FakeControl fake = new FakeControl();
        Path jd = dir.resolve("journal");
        BridgeFlows flows = new BridgeFlows("br0", 1);
        try (Journal j = Journal.open(jd, KINDS, 1000)) {
            JournaledControl jc = journaledBr0(fake, j, flows);
            assertTrue(flows.apply(add(100, IP1, 1, 0).withTimeouts(0, 1)).isOk());
            assertTrue(flows.apply(add(50, IN2, 3, 0).withTimeouts(30, 0)).isOk());
            long seq = j.nextSeq();
            assertEquals(0, flows.sweep(System.nanoTime()), "nothing has expired yet");
            assertEquals(seq, j.nextSeq(), "a sweep that removes nothing writes nothing");
            assertEquals(1, flows.sweep(System.nanoTime() + 2_000_000_000L));
            assertEquals(seq + 1, j.nextSeq(), "the expiry is one entry");
        }
        try (Journal j = Journal.open(jd, KINDS, 1000)) {
            List<FlowMod> left = j.recovery().journalState().flowAdds().get("br0");
            assertEquals(List.of(add(50, IN2, 3, 0).withTimeouts(30, 0)), left);
        }
    }

    @Test
    void payloadsAreCompact() throws IOException {
        byte[] p = ChangeKinds.flowMod("br0", add(100, IP1, 1, 0));
        String s = new String(p, StandardCharsets.UTF_8);
        assertTrue(p.length < 200, s);
        assertEquals(
                add(100, IP1, 1, 0), FlowModCodec.decode(Json.MAPPER.readTree(p).get("mod")));
    }
}
