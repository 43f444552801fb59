package dev.panda.xdp.bpf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.testing.VethPair;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Loading, attaching in each mode, detaching, pinning, on a veth pair of its own. */
class XdpAttachTest {

    @RegisterExtension
    static final VethPair.PerClass VETH = new VethPair.PerClass();

    private static BpfObject passObject() {
        return BpfObject.open(Path.of("target/test-classes/bpf/xdp_pass.o"));
    }

    @Test
    void findsProgramsAndMapsByName() {
        try (BpfObject o = passObject().load()) {
            assertEquals("xdp_pass", o.program("xdp_pass").name());
            BpfMap m = o.map("pass_count");
            assertTrue(m.perCpu());
            assertEquals(4, m.keySize());
            assertEquals(8, m.valueSize());
            assertThrows(IllegalArgumentException.class, () -> o.map("nope"));
            assertThrows(
                    IllegalArgumentException.class, () -> m.withLayouts(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
        }
    }

    @Test
    void attachesInSkbAndNativeModeAndCountsTraffic() {
        for (XdpMode mode : new XdpMode[] {XdpMode.SKB, XdpMode.NATIVE}) {
            try (Xdp.Loaded l = Xdp.load(XdpAttachTest::passObject, "xdp_pass", VETH.get().hostIf, mode, true)) {
                int id = XdpAttachment.attachedId(l.attachment().ifindex(), mode);
                assertNotEquals(0, id, mode.label());
                assertEquals(l.attachment().programId(), id);
                assertEquals(
                        0,
                        VETH.get()
                                .inNsStatus(
                                        "ping",
                                        "-c",
                                        "3",
                                        "-i",
                                        "0.2",
                                        "-W",
                                        "5",
                                        VETH.get().hostAddr()),
                        "ping through an XDP_PASS program in " + mode.label() + " mode");
                assertTrue(l.object().map("pass_count").sumCounter(0) >= 3, "program saw the echo requests");
                l.attachment().close();
                assertEquals(0, XdpAttachment.attachedId(l.attachment().ifindex(), mode), "detached on close");
            }
        }
    }

    @Test
    void offloadOnVethNamesTheModesThatWork() {
        UnsupportedOperationException e = assertThrows(
                UnsupportedOperationException.class,
                () -> Xdp.load(XdpAttachTest::passObject, "xdp_pass", VETH.get().hostIf, XdpMode.OFFLOAD, true));
        String m = e.getMessage();
        assertTrue(m.contains("offload") && m.contains("Modes that work on " + VETH.get().hostIf + ": native, skb"), m);
    }

    @Test
    void secondAttachIsRefusedWithAClearMessage() {
        try (Xdp.Loaded l = Xdp.load(XdpAttachTest::passObject, "xdp_pass", VETH.get().hostIf, XdpMode.NATIVE, true)) {
            IllegalStateException e = assertThrows(
                    IllegalStateException.class,
                    () -> Xdp.load(XdpAttachTest::passObject, "xdp_pass", VETH.get().hostIf, XdpMode.NATIVE, true));
            assertTrue(e.getMessage().contains("already runs an XDP program"), e.getMessage());
            assertTrue(l.attachment().isAttached());
        }
    }

    @Test
    void pinsMapsAndReopensThemByPath() throws Exception {
        Path dir = BpfFs.DEFAULT_DIR.resolve("test-" + ProcessHandle.current().pid());
        try (BpfObject o = passObject().load()) {
            o.pinAll(dir);
            assertTrue(BpfFs.isMounted(BpfFs.DEFAULT_MOUNT));
            assertTrue(Files.exists(dir.resolve("pass_count")));
            try (BpfMap pinned = BpfMap.openPinned(dir.resolve("pass_count").toString());
                    Arena a = Arena.ofConfined()) {
                assertEquals("pass_count", pinned.name());
                assertEquals(8, pinned.valueSize());
                MemorySegment k = a.allocateFrom(ValueLayout.JAVA_INT, 0);
                MemorySegment v = pinned.newValue(a);
                for (int c = 0; c < BpfMap.possibleCpus(); c++) {
                    v.set(ValueLayout.JAVA_LONG, c * 8L, c + 1);
                }
                pinned.update(k, v);
                // the object's own fd sees the same map: per-CPU slots summed
                int n = BpfMap.possibleCpus();
                assertEquals((long) n * (n + 1) / 2, o.map("pass_count").sumCounter(0));
            }
        } finally {
            BpfFs.unpinAll(dir);
        }
        assertFalse(Files.exists(dir));
    }
}
