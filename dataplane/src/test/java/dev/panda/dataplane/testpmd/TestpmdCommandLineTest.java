package dev.panda.dataplane.testpmd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Bad command lines: one clear line, exit code 2, nothing left open. */
class TestpmdCommandLineTest {

    private record Result(int code, String out, String err) {}

    private static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = TestpmdMain.run(
                args,
                new ByteArrayInputStream(new byte[0]),
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8),
                false);
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "--vdev net_ring0 --bogus                     | unknown option '--bogus'",
                "--vdev net_ring0 --forward-mode=bogus        | invalid forwarding mode 'bogus': accepted io, mac, macswap",
                "--vdev net_bogus0                            | no driver for device 'net_bogus0': known drivers are",
                "--vdev net_ring0,sise=4                      | unknown key 'sise' for net_ring device 'net_ring0': net_ring accepts count_bytes, peer, queues, size",
                "--vdev net_ring0,size=1000                   | ring size must be a power of two",
                "--vdev net_ring0,size                        | invalid argument 'size' in device 'net_ring0': expected key=value",
                "--burst=0 --vdev net_ring0                   | invalid --burst '0': expected an integer 1..512",
                "--vdev net_ring0 --txpkts=20                 | total length must be 58..9000 bytes",
                "-l x --vdev net_ring0                        | invalid -l 'x'",
                "-l 0 --vdev net_ring0                        | has no forwarding lcore",
                "-l 0,1000 --vdev net_ring0                   | uses CPU 1000, which this process may not run on",
                "--nb-cores=5 -l 0,1 --vdev net_ring0         | --nb-cores 5 is more than the 1 forwarding lcore(s)",
                "--forward-mode                               | option --forward-mode needs a value",
                "-a 00ff:7e:1f.7 --vdev net_ring0             | no PCI device 00ff:7e:1f.7",
                "-b 0000:00:05.0 --vdev net_ring0             | nothing to block",
                "--stats-period -1 --vdev net_ring0           | invalid --stats-period '-1'",
                "--idle=fast --vdev net_ring0                 | invalid idle strategy 'fast': accepted spin, yield, park",
                "--port-topology=ring --vdev net_ring0        | accepted paired, chained, loop",
                "--eth-peer=0,zz --vdev net_ring0             | invalid --eth-peer '0,zz'",
                "-i                                           | no ports: give at least one --vdev",
                "--vdev net_ring0 -- --no-pci                 | unknown option '--no-pci'",
            })
    void badArgumentsGiveOneLineAndExitCode2(String args, String expected) {
        Result r = run(args.trim().split("\\s+"));
        assertEquals(UsageException.EXIT_CODE, r.code(), r.err());
        assertTrue(r.err().startsWith("panda testpmd: "), r.err());
        assertTrue(r.err().contains(expected.trim()), "expected '" + expected.trim() + "' in: " + r.err());
        assertEquals(1, r.err().lines().count(), "one line: " + r.err());
    }

    @Test
    void aBadDeviceAfterAGoodOneLeavesNothingOpen() {
        Result r = run("--vdev", "net_ring0", "--vdev", "net_ring1,queues=0");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("invalid queues=0"), r.err());
        // net_ring0 was closed again: opening the same name works
        try (PacketPool pool = PacketPool.create(
                        PoolConfig.defaults().withCount(1024).withHugepages(PoolConfig.Hugepages.OFF));
                Port p = Ports.discover().open("net_ring0", PortContext.of(pool, 0))) {
            assertEquals("net_ring0", p.name());
        }
    }

    @Test
    void dpdkScriptLayoutIsAccepted() {
        TestpmdOptions o = TestpmdOptions.parse(
                "-l",
                "0-1",
                "-n",
                "4",
                "--socket-mem",
                "512,0",
                "--no-pci",
                "--file-prefix=vh",
                "--single-file-segments",
                "--in-memory",
                "--log-level",
                "pmd.net.vhost:debug",
                "--vdev",
                "net_ring0",
                "--vdev=net_ring1",
                "--",
                "-i",
                "--nb-cores=1",
                "--burst=64",
                "--txpkts=128",
                "--forward-mode=txonly",
                "-a",
                "--rxd=512",
                "--txd=512",
                "--stats-period",
                "2",
                "--no-lsc-interrupt");
        assertEquals(2, o.vdevs.size());
        assertTrue(o.interactive && o.autoStart);
        assertEquals("txonly", o.forwardMode);
        assertEquals(64, o.fwd.burst());
        assertEquals(128, o.fwd.txPacketLen());
        assertEquals(512, o.rxd);
        assertEquals(2, o.statsPeriod);
        assertEquals(512, o.memoryMb);
        assertEquals(2, o.lcores.size());
        String note = o.ignoredNote();
        assertTrue(note.startsWith("panda: options accepted without effect here: "), note);
        for (String s : new String[] {
            "-n 4",
            "--no-pci",
            "--file-prefix=vh",
            "--single-file-segments",
            "--in-memory",
            "--log-level pmd.net.vhost:debug",
            "--no-lsc-interrupt"
        }) {
            assertTrue(note.contains(s), s + " missing from " + note);
        }
    }

    @Test
    void memoryOptionCapsThePool() {
        TestpmdOptions o = TestpmdOptions.parse("-m", "16", "--vdev", "net_ring0");
        assertTrue(o.pool.count() * o.pool.stride() <= 16L << 20, "pool " + o.pool);
        assertTrue(o.pool.count() >= 1024);
        assertEquals(
                UsageException.EXIT_CODE, run("-m", "1", "--vdev", "net_ring0").code());
    }

    @Test
    void helpListsModesAndDrivers() {
        Result r = run("--help");
        assertEquals(0, r.code());
        for (String s : new String[] {"io", "macswap", "icmpecho", "flowgen", "net_ring", "net_null", "--vdev"}) {
            assertTrue(r.out().contains(s), s);
        }
        assertFalse(r.out().isEmpty());
    }
}
