package dev.panda.vswitch.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.vswitch.FakeControl;
import dev.panda.vswitch.VswitchException;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The journal on its own: what is appended is replayed after a reopen (snapshot plus entries),
 * compaction keeps one generation and the same state, a tail cut at any byte or with a flipped byte
 * is reported and replay stops at the last complete entry (and later appends are read back), and a
 * change the journal refuses is undone and answered with a 500.
 */
class JournalTest {

    @TempDir
    Path dir;

    /** Random changes applied to a model and to the journal, each with the model's state after it. */
    static final class Changes {
        final Random rnd;
        final ChangeKinds kinds = ChangeKinds.standard();
        VswitchConfig state = VswitchConfig.empty();
        final List<VswitchConfig> after = new ArrayList<>();
        int n;

        Changes(long seed) {
            rnd = new Random(seed);
        }

        void appendTo(Journal j) throws IOException {
            String kind;
            byte[] payload;
            List<BridgeConfig> bridges = state.bridges();
            int r = rnd.nextInt(4);
            if (bridges.isEmpty() || r == 0) {
                BridgeConfig b = new BridgeConfig("br" + n, 300 + rnd.nextInt(100), 8192, List.of());
                kind = ChangeKinds.ADD_BRIDGE;
                payload = ChangeKinds.addBridge(b);
            } else if (r == 1 && bridges.size() > 2) {
                kind = ChangeKinds.DEL_BRIDGE;
                payload = ChangeKinds.delBridge(
                        bridges.get(rnd.nextInt(bridges.size())).name());
            } else if (r == 2) {
                BridgeConfig b = bridges.get(rnd.nextInt(bridges.size()));
                kind = ChangeKinds.ADD_PORT;
                payload = ChangeKinds.addPort(
                        b.name(),
                        new PortConfig(
                                "p" + n,
                                "net_null" + n,
                                rnd.nextBoolean() ? 1 + rnd.nextInt(4094) : null,
                                List.of(),
                                null,
                                null));
            } else {
                BridgeConfig b = bridges.get(rnd.nextInt(bridges.size()));
                List<BridgeConfig> changed = new ArrayList<>(bridges);
                changed.set(
                        bridges.indexOf(b),
                        new BridgeConfig(b.name(), 10 + rnd.nextInt(1000), b.macTableSize(), b.ports()));
                kind = ChangeKinds.SET_CONFIG;
                payload = ChangeKinds.config(ChangeKinds.with(state, changed));
            }
            state = kinds.replay(state, kind, payload);
            after.add(state);
            n++;
            j.append(kind, payload, state);
        }
    }

    private Journal open(int compactAfter) throws IOException {
        return Journal.open(dir.resolve("journal"), ChangeKinds.standard(), compactAfter);
    }

    @Test
    void appendedChangesAreReplayedAfterAReopen() throws IOException {
        Changes c = new Changes(1);
        try (Journal j = open(1000)) {
            assertTrue(j.recovery().empty());
            j.begin(c.state);
            for (int i = 0; i < 50; i++) {
                c.appendTo(j);
            }
        }
        try (Journal j = open(1000)) {
            Journal.Recovery r = j.recovery();
            assertEquals(c.state, r.state());
            assertEquals(50, r.changes());
            assertEquals(51, r.lastSeq()); // the snapshot is #1
            assertEquals(List.of(), r.problems());
            // a restart writes a new snapshot and drops the old generation
            j.begin(r.state());
            assertEquals(List.of(j.generation()), j.generations());
            c.appendTo(j);
        }
        try (Journal j = open(1000)) {
            assertEquals(c.state, j.recovery().state());
            assertEquals(1, j.recovery().changes());
            assertEquals(53, j.recovery().lastSeq());
        }
    }

    @Test
    void compactionKeepsOneGenerationAndTheSameState() throws IOException {
        Changes c = new Changes(2);
        try (Journal j = open(7)) {
            j.begin(c.state);
            for (int i = 0; i < 40; i++) {
                c.appendTo(j);
                assertEquals(1, j.generations().size(), "generations after change " + i);
            }
            assertEquals(1 + 40 / 7, j.generation());
        }
        try (Journal j = open(7)) {
            assertEquals(c.state, j.recovery().state());
            assertEquals(40 % 7, j.recovery().changes());
            assertEquals(List.of(), j.recovery().problems());
        }
    }

    @Test
    void aSecondJournalOnTheSameDirectoryIsRefused() throws IOException {
        try (Journal j = open(10)) {
            IOException e = assertThrows(IOException.class, () -> open(10));
            assertTrue(e.getMessage().contains("in use"), e.getMessage());
        }
    }

    @Test
    void freshMovesTheOldJournalAside() throws IOException {
        try (Journal j = open(10)) {
            j.begin(VswitchConfig.empty());
        }
        Path moved = Journal.setAside(dir.resolve("journal"));
        assertNotNull(moved);
        assertTrue(moved.getFileName().toString().startsWith("journal.old-"), moved.toString());
        assertTrue(Files.isDirectory(moved));
        try (Journal j = open(10)) {
            assertTrue(j.recovery().empty());
        }
        assertNull(Journal.setAside(dir.resolve("journal")), "nothing left to move");
    }

    @Test
    void aTailCutAtAnyByteStopsAtTheLastCompleteEntry() throws IOException {
        long seed = System.nanoTime();
        System.out.println("JournalTest cut seed " + seed);
        Random rnd = new Random(seed);
        for (int round = 0; round < 20; round++) {
            damaged(rnd, round, false);
        }
    }

    @Test
    void aFlippedByteInTheTailStopsAtTheLastCompleteEntry() throws IOException {
        long seed = System.nanoTime();
        System.out.println("JournalTest flip seed " + seed);
        Random rnd = new Random(seed);
        for (int round = 0; round < 20; round++) {
            damaged(rnd, round, true);
        }
    }

    /**
     * A flipped flag in the last entry's queue header: "not complete" makes the queue's tailer stop
     * before it as if it were never written, "metadata" makes it skip the entry; both are reported
     * (CI once met the first with a random flip and recovery lost the entry without a word).
     */
    @Test
    void aFlippedFlagInTheLastEntrysQueueHeaderIsReported() throws IOException {
        int round = 0;
        for (int pos = 0; pos < 4; pos++) {
            for (int mask : new int[] {0x01, 0x40, 0x41, 0x80, 0x81, 0xc0, 0xff}) {
                Path jd = dir.resolve("h" + round++);
                Changes c = new Changes(round);
                try (Journal j = Journal.open(jd, ChangeKinds.standard(), 1000)) {
                    j.begin(c.state);
                    for (int i = 0; i < 5; i++) {
                        c.appendTo(j);
                    }
                }
                JournalFiles.Excerpt last = JournalFiles.excerpts(jd).getLast();
                JournalFiles.flip(last.file(), last.start() + pos, mask);
                String what = String.format("header byte %d ^ 0x%02x", pos, mask);
                try (Journal j = Journal.open(jd, ChangeKinds.standard(), 1000)) {
                    Journal.Recovery r = j.recovery();
                    assertEquals(c.after.get(3), r.state(), what);
                    assertEquals(5, r.lastSeq(), what);
                    assertEquals(1, r.problems().size(), what + ": " + r.problems());
                    assertTrue(
                            r.problems().getFirst().contains("corrupt tail after entry #5"),
                            what + ": " + r.problems());
                }
            }
        }
    }

    private void damaged(Random rnd, int round, boolean flip) throws IOException {
        Path jd = dir.resolve("j" + round);
        Changes c = new Changes(rnd.nextLong());
        int n = 10 + rnd.nextInt(20);
        try (Journal j = Journal.open(jd, ChangeKinds.standard(), 1000)) {
            j.begin(c.state);
            for (int i = 0; i < n; i++) {
                c.appendTo(j);
            }
        }
        // damage one of the last changes: an entry k (0-based among the changes) is hit
        List<JournalFiles.Excerpt> ex = JournalFiles.excerpts(jd);
        assertEquals(n + 1, ex.size());
        int k = n - 1 - rnd.nextInt(Math.min(n, 5));
        JournalFiles.Excerpt hit = ex.get(k + 1);
        long at = hit.start() + rnd.nextLong(hit.end() - hit.start());
        if (flip) {
            JournalFiles.flip(hit.file(), at, 1 + rnd.nextInt(255));
        } else {
            JournalFiles.cut(hit.file(), at);
        }
        String what = (flip ? "flip" : "cut") + " at byte " + at + " of " + hit + " (change " + k + " of " + n + ")";
        VswitchConfig expected = k == 0 ? VswitchConfig.empty() : c.after.get(k - 1);
        try (Journal j = Journal.open(jd, ChangeKinds.standard(), 1000)) {
            Journal.Recovery r = j.recovery();
            assertEquals(expected, r.state(), what);
            if (!flip && at == hit.start() && r.problems().isEmpty()) {
                // cut on an excerpt's first byte: the file ends after entry k, whole (a crash
                // before the append began); nothing is torn and nothing is set aside
                assertNull(r.corruptGeneration(), what);
                assertEquals(k + 1, r.lastSeq(), what);
                j.begin(r.state());
            } else {
                assertEquals(1, r.problems().size(), what + ": " + r.problems());
                assertTrue(
                        r.problems().getFirst().contains("corrupt tail after entry #" + (k + 1)),
                        what + ": " + r.problems());
                Path aside = j.begin(r.state());
                assertNotNull(aside, what);
            }
            // new appends are clean: read back after another reopen
            c.state = r.state();
            c.appendTo(j);
        }
        try (Journal j = Journal.open(jd, ChangeKinds.standard(), 1000)) {
            assertEquals(c.state, j.recovery().state(), what);
            assertEquals(List.of(), j.recovery().problems(), what);
        }
    }

    @Test
    void aChangeTheJournalRefusesIsUndoneAndAnswered500() throws Exception {
        FakeControl fake = new FakeControl();
        try (Journal j = open(10)) {
            j.begin(fake.config());
            JournaledControl jc = new JournaledControl(fake, j);
            jc.addBridge(BridgeConfig.of("br0"));
            jc.addPort("br0", PortConfig.of("a", "net_null0"));
            j.injectFailure(new IOException("disk full"));
            VswitchException e =
                    assertThrows(VswitchException.class, () -> jc.addPort("br0", PortConfig.of("b", "net_null1")));
            assertEquals(500, e.status());
            assertTrue(e.getMessage().contains("disk full") && e.getMessage().contains("undone"), e.getMessage());
            e = assertThrows(VswitchException.class, () -> jc.delBridge("br0"));
            assertEquals(500, e.status());
            assertEquals(1, fake.config().bridges().size());
            assertEquals(
                    List.of(PortConfig.of("a", "net_null0")),
                    fake.config().bridges().getFirst().ports());
            assertEquals(2, jc.appendFailures());
            j.injectFailure(null);
            jc.delPort("br0", "a");
        }
        try (Journal j = open(10)) {
            assertEquals(List.of(BridgeConfig.of("br0")), j.recovery().state().bridges());
        }
    }
}
