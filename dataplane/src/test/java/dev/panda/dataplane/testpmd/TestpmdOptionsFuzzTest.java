package dev.panda.dataplane.testpmd;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.ArrayList;
import java.util.List;

/** Any command line either parses or fails with a one-line {@link UsageException}; nothing else escapes. */
class TestpmdOptionsFuzzTest {

    private static final String[] WORDS = {
        "--",
        "-l",
        "--lcores",
        "-c",
        "--vdev",
        "-m",
        "--socket-mem",
        "--no-huge",
        "-a",
        "-i",
        "--forward-mode",
        "--burst",
        "--txpkts",
        "--nb-cores",
        "--stats-period",
        "--rxd",
        "--eth-peer",
        "--port-topology",
        "--total-num-mbufs",
        "--mbuf-size",
        "--idle",
        "--run-time",
        "--file-prefix",
        "-n",
        "net_ring0",
        "net_null1,size=64",
        "0-1",
        "0@0,(1-2)@1",
        "io",
        "64,64",
        "0,02:00:00:00:00:01",
        "512"
    };

    @FuzzTest(maxDuration = "10s")
    void anyCommandLineParsesOrFailsWithOneLine(FuzzedDataProvider data) {
        List<String> args = new ArrayList<>();
        int n = data.consumeInt(0, 12);
        for (int i = 0; i < n; i++) {
            args.add(data.consumeBoolean() ? data.pickValue(WORDS) : data.consumeString(40));
        }
        try {
            TestpmdOptions o = TestpmdOptions.parse(args.toArray(String[]::new));
            assertTrue(o.help || !o.vdevs.isEmpty(), "a parsed command line without --help has a port");
        } catch (UsageException e) {
            assertFalse(e.getMessage() == null || e.getMessage().isBlank(), "empty usage message");
            assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        }
    }
}
