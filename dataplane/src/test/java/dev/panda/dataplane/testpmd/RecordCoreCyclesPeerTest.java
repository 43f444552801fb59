package dev.panda.dataplane.testpmd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code --record-core-cycles} against the real dpdk-testpmd 22.11: both run with the same command
 * line on two null ports ({@code start}, 1 s, {@code show fwd stats all}, {@code stop}, {@code
 * quit}), and each one's cycles lines must match one pattern, name the mode, count the packets the
 * accumulated block above it shows (transmitted for txonly, received otherwise), divide the total
 * cycles by them, and name the same clock to within 5%.
 */
@Tag("peer")
class RecordCoreCyclesPeerTest {

    /** The accumulated block's RX and TX lines, its border, a blank line, then the cycles line. */
    private static final Pattern BLOCK = Pattern.compile("Accumulated forward statistics for all ports\\+++\n"
            + "  RX-packets: (\\d+) +RX-dropped: \\d+ +RX-total: \\d+\n"
            + "  TX-packets: (\\d+) +TX-dropped: \\d+ +TX-total: \\d+\n"
            + "  \\++\n"
            + "\n"
            + "  CPU cycles/packet=([0-9]+\\.[0-9]{2}) \\(total cycles=(\\d+) / total ([a-z]+) packets=(\\d+)\\)"
            + " at (\\d+) MHz Clock\n");

    private record Line(long rx, long tx, String perPacket, long cycles, String mode, long packets, long mhz) {}

    @ParameterizedTest
    @ValueSource(strings = {"rxonly", "io", "txonly"})
    void cyclesLineMatchesDpdkTestpmds(String mode) throws Exception {
        String prefix = "panda-cycles-" + ProcessHandle.current().pid();
        List<String> args = TestpmdRuns.nullPorts(prefix, "--forward-mode=" + mode, "--record-core-cycles");
        String dpdk = TestpmdRuns.dpdk(args, prefix);
        String panda = TestpmdRuns.panda(args);
        List<Line> d = lines(dpdk, "dpdk-testpmd");
        List<Line> p = lines(panda, "panda testpmd");
        System.out.printf("%s: dpdk-testpmd %s%n%s: panda testpmd %s%n", mode, d, mode, p);
        assertEquals(2, d.size(), "dpdk-testpmd: one line for show fwd stats all, one at stop");
        assertEquals(2, p.size(), "panda: one line for show fwd stats all, one at stop");
        for (Line l : List.of(d.get(0), d.get(1), p.get(0), p.get(1))) {
            assertEquals(mode, l.mode());
            assertEquals(mode.equals("txonly") ? l.tx() : l.rx(), l.packets(), "packets counted: " + l);
            assertTrue(l.packets() > 0 && l.cycles() > 0, "nothing measured: " + l);
            assertEquals(String.format(Locale.ROOT, "%.2f", (double) l.cycles() / l.packets()), l.perPacket(), "" + l);
        }
        long dm = d.getFirst().mhz();
        long pm = p.getFirst().mhz();
        assertTrue(Math.abs(pm - dm) <= dm * 0.05, "clock: dpdk-testpmd " + dm + " MHz, panda " + pm + " MHz");
    }

    private static List<Line> lines(String out, String who) {
        List<Line> l = new ArrayList<>();
        Matcher m = BLOCK.matcher(out);
        while (m.find()) {
            l.add(new Line(
                    Long.parseLong(m.group(1)),
                    Long.parseLong(m.group(2)),
                    m.group(3),
                    Long.parseLong(m.group(4)),
                    m.group(5),
                    Long.parseLong(m.group(6)),
                    Long.parseLong(m.group(7))));
        }
        if (l.isEmpty()) {
            fail("no cycles line after the accumulated statistics in " + who + "'s output:\n" + out);
        }
        return l;
    }
}
