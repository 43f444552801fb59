package dev.panda.xdp.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.testing.VethPair;
import dev.panda.xdp.afxdp.AfXdpPortAccess;
import dev.panda.xdp.prefilter.Prefilter;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code panda xdp} against a veth pair: load, status, map update/dump/delete, unload. */
class XdpCommandTest {

    private VethPair veth;

    @BeforeEach
    void up() {
        veth = VethPair.create();
    }

    @AfterEach
    void down() {
        run("unload", "--iface", veth.hostIf);
        veth.close();
    }

    private record Result(int status, String out, String err) {}

    private static Result run(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int rc = XdpCommand.run(
                args,
                new PrintStream(o, true, StandardCharsets.UTF_8),
                new PrintStream(e, true, StandardCharsets.UTF_8));
        return new Result(rc, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }

    @Test
    void loadUpdateDumpUnload() {
        String i = veth.hostIf;
        Result load = run("load", "--iface", i, "--mode", "skb");
        assertEquals(0, load.status(), load.err());
        assertTrue(load.out().contains("pf_prefilter on " + i + " in skb mode"), load.out());
        assertTrue(Files.exists(XdpCommand.pinDir(i).resolve(Prefilter.MAP_FLOWS)));

        Result st = run("status", "--iface", i);
        assertTrue(st.out().contains("skb:prog-id="), st.out());
        assertTrue(st.out().contains("pass=0"), st.out());

        assertEquals(
                0,
                run("map", "update", "--iface", i, Prefilter.MAP_SRC_V4, "198.18.9.0/24", "4")
                        .status());
        Result dump = run("map", "dump", "--iface", i, Prefilter.MAP_SRC_V4);
        assertTrue(dump.out().contains("18000000c61209" + "00: 04000000"), dump.out());
        assertTrue(dump.out().contains("# 1 entries"), dump.out());

        // the rule works: traffic from the peer is counted as passing, a dropped prefix would not be
        assertEquals(0, veth.inNsStatus("ping", "-c", "2", "-i", "0.2", "-W", "5", veth.hostAddr()));
        Result counters = run("map", "dump", "--iface", i, Prefilter.MAP_ACTION_HITS);
        assertTrue(counters.out().contains("00000000: "), counters.out());
        assertFalse(counters.out().contains("00000000: 0\n"), "passes counted: " + counters.out());

        assertEquals(
                0,
                run("map", "delete", "--iface", i, Prefilter.MAP_SRC_V4, "198.18.9.0/24")
                        .status());
        assertTrue(run("map", "dump", "--iface", i, Prefilter.MAP_SRC_V4).out().contains("# 0 entries"));

        Result again = run("load", "--iface", i);
        assertEquals(1, again.status());
        assertTrue(again.err().contains("panda xdp unload"), again.err());

        Result un = run("unload", "--iface", i);
        assertTrue(un.out().contains("detached the skb-mode XDP program"), un.out());
        assertFalse(Files.exists(XdpCommand.pinDir(i)));
        assertTrue(run("status", "--iface", i).out().contains("no XDP program"));
    }

    @Test
    void anAfXdpPortReusesTheLoadedPrefilter() {
        String i = veth.hostIf;
        assertEquals(0, run("load", "--iface", i, "--default", "redirect").status());
        try (PacketPool pool =
                PacketPool.create(PoolConfig.defaults().withCount(2048).withHugepages(PoolConfig.Hugepages.OFF))) {
            int before = AfXdpPortAccess.attachedProgramId(i);
            try (var port = AfXdpPortAccess.open(veth, pool)) {
                assertEquals(before, AfXdpPortAccess.attachedProgramId(i), "the port kept the operator's program");
                assertEquals(
                        5,
                        AfXdpPortAccess.sendAndReceive(veth, port, pool, 5),
                        "frames redirected by the pinned prefilter");
            }
            assertEquals(before, AfXdpPortAccess.attachedProgramId(i), "closing the port left it attached");
        }
    }

    @Test
    void badUsageSaysWhatIsWrong() {
        Result r = run("load");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--iface IF is required"), r.err());
        assertEquals(2, run("map", "frobnicate").status());
    }
}
