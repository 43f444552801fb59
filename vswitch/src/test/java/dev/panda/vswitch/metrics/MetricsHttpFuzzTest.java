package dev.panda.vswitch.metrics;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * Any bytes a client sends to the metrics listener (the same handlers as {@link MetricsServer},
 * on an embedded channel) get HTTP answers with a known status, or a closed connection; nothing
 * escapes, and only {@code GET}/{@code HEAD /metrics} reach a scrape.
 *
 * <p>Without {@code JAZZER_FUZZ=1} only the seeds in {@code MetricsHttpFuzzTestInputs/} run.
 */
class MetricsHttpFuzzTest {

    private static final Set<Integer> STATUSES = Set.of(200, 400, 404, 405, 413, 417);

    @FuzzTest(maxDuration = "20s")
    void anyBytesGetAKnownAnswer(byte[] input) {
        MetricsServer.Counters counters = new MetricsServer.Counters();
        int[] scrapes = {0};
        EmbeddedChannel ch = new EmbeddedChannel();
        MetricsServer.pipeline(
                ch.pipeline(),
                accept -> {
                    scrapes[0]++;
                    return new Exposition.Scrape("text/plain", "x 1\n".getBytes(StandardCharsets.UTF_8));
                },
                Runnable::run,
                counters);
        try {
            ch.writeInbound(Unpooled.wrappedBuffer(input));
            ch.runPendingTasks();
            ch.finish();
        } catch (RuntimeException e) {
            throw new AssertionError("escaped the handlers: " + e, e);
        }
        StringBuilder out = new StringBuilder();
        for (Object o; (o = ch.readOutbound()) != null; ) {
            ByteBuf b = (ByteBuf) o;
            out.append(b.toString(StandardCharsets.ISO_8859_1));
            b.release();
        }
        int answers = 0;
        String text = out.toString();
        for (int i = text.indexOf("HTTP/1.1 "); i >= 0; i = text.indexOf("HTTP/1.1 ", i + 1)) {
            if (i > 0 && text.charAt(i - 1) != '\n') {
                continue; // inside a body
            }
            int status = Integer.parseInt(text.substring(i + 9, i + 12));
            if (status == 100) {
                continue; // an interim answer to Expect: 100-continue; the request's own follows
            }
            assertTrue(STATUSES.contains(status), "status " + status + " in " + text);
            answers++;
        }
        long counted = 0;
        for (int i = 0; i < MetricsServer.Counters.STATUSES.length; i++) {
            counted += counters.countAt(i);
        }
        assertTrue(counted >= answers, "answers not counted: " + counted + " < " + answers);
        assertTrue(scrapes[0] <= counters.answers(200), "a scrape for a request not answered 200");
    }
}
