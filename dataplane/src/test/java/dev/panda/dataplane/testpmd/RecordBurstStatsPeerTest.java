package dev.panda.dataplane.testpmd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code --record-burst-stats} against the real dpdk-testpmd 22.11: both run the same command line
 * on two null ports, and the report {@code stop} prints must have the same blocks with the same
 * burst lines in the same places (under the ports with one stream per port, under the streams with
 * more), the packet counts aside; and in each tool's report every burst line must count the bursts
 * of its block: a null port always fills a burst of 32, so bursts × 32 is the block's packets.
 */
@Tag("peer")
class RecordBurstStatsPeerTest {

    private static final Pattern BURSTS = Pattern.compile("  ([RT]X)-bursts : (\\d+) \\[(.*)]");
    private static final Pattern PACKETS = Pattern.compile("([RT]X)-packets: (\\d+)");

    @ParameterizedTest
    @ValueSource(strings = {"io", "io --rxq=2 --txq=2", "rxonly", "txonly"})
    void burstLinesMatchDpdkTestpmds(String app) throws Exception {
        String[] words = app.split(" ");
        String prefix = "panda-bursts-" + ProcessHandle.current().pid();
        List<String> args = TestpmdRuns.nullPorts(prefix, "--forward-mode=" + words[0], "--record-burst-stats");
        args.addAll(Arrays.asList(words).subList(1, words.length));
        List<String> dpdk = stopReport(TestpmdRuns.dpdk(args, prefix), "dpdk-testpmd");
        List<String> panda = stopReport(TestpmdRuns.panda(args), "panda testpmd");
        System.out.printf("%s: dpdk-testpmd%n%s%n%s: panda testpmd%n%s%n", app, dpdk, app, panda);

        List<String> d = normalized(dpdk);
        List<String> p = normalized(panda);
        boolean perStream = app.contains("--rxq=2");
        // panda also shows each stream's block with one stream per port (dpdk-testpmd only with
        // more streams than ports): those blocks carry no burst lines and are left out here
        List<String> pandaCompared = new ArrayList<>(p);
        if (!perStream) {
            pandaCompared.removeIf(b -> b.contains("Forward Stats for RX Port"));
        }
        assertEquals(sorted(d), sorted(pandaCompared), "the stop report's blocks, counts aside");
        long withBursts = d.stream().filter(b -> b.contains("-bursts : ")).count();
        assertEquals(perStream ? 4 : 2, withBursts, "blocks with burst lines: " + d);
        for (String b : d) {
            if (b.contains("-bursts : ")) {
                assertEquals(perStream, b.contains("Forward Stats for RX Port"), "burst lines' place: " + b);
            }
        }
        checkCounts(dpdk, "dpdk-testpmd");
        checkCounts(panda, "panda testpmd");
    }

    /** Every burst line counts its block's packets in full bursts of 32. */
    private static void checkCounts(List<String> blocks, String who) {
        int lines = 0;
        for (String b : blocks) {
            Matcher m = BURSTS.matcher(b);
            while (m.find()) {
                lines++;
                assertEquals("0% of 0 pkts + 100% of 32 pkts", m.group(3), who + ": " + b);
                Matcher pk = PACKETS.matcher(b);
                long packets = -1;
                while (pk.find()) {
                    if (pk.group(1).equals(m.group(1))) {
                        packets = Long.parseLong(pk.group(2));
                        break;
                    }
                }
                long bursts = Long.parseLong(m.group(2));
                assertTrue(bursts > 0, who + ": no bursts in " + b);
                assertEquals(packets, bursts * 32, who + ": " + m.group(1) + " bursts of 32 against packets in " + b);
            }
        }
        assertTrue(lines > 0, who + ": no burst line at all in " + blocks);
    }

    /**
     * The blocks {@code stop} printed (split at blank lines), from its report to "Done.", without
     * the prompts.
     */
    private static List<String> stopReport(String raw, String who) {
        String out = raw.replace("testpmd> ", "");
        int from = out.indexOf("Waiting for lcores to finish...");
        int to = from < 0 ? -1 : out.indexOf("Done.", from);
        if (from < 0 || to < 0) {
            fail("no stop report in " + who + "'s output:\n" + out);
        }
        List<String> blocks = new ArrayList<>();
        for (String b : out.substring(from, to).split("\n\n")) {
            if (b.contains("statistics") || b.contains("Stats")) {
                blocks.add(b.strip());
            }
        }
        assertFalse(blocks.isEmpty(), who + ": no blocks in\n" + out);
        return blocks;
    }

    /** The blocks with every packet and burst count as N (the layout and the shares stay). */
    private static List<String> normalized(List<String> blocks) {
        List<String> l = new ArrayList<>();
        for (String b : blocks) {
            l.add(b.replaceAll("(packets|dropped|total): \\d+ *", "$1: N ").replaceAll("(-bursts : )\\d+", "$1N"));
        }
        return l;
    }

    private static List<String> sorted(List<String> l) {
        return l.stream().sorted().toList();
    }
}
