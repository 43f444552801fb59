package dev.panda.vswitch.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import dev.panda.vswitch.FakeControl;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Set;

/**
 * Any bytes a client sends, through the control server's own pipeline (timer, codec, gate,
 * aggregator, handler and the routes over a {@link FakeControl}) in an {@link EmbeddedChannel}: no
 * exception escapes or is counted, and everything written back parses as HTTP/1.1 responses with
 * a known status, every error carrying a JSON body with that status. On the TCP variant (the
 * first byte odd) bytes that never hold the token get nothing but 401s.
 *
 * <p>Without {@code JAZZER_FUZZ=1} only the seeds in {@code ControlRequestFuzzTestInputs/} run.
 */
class ControlRequestFuzzTest {

    static final String TOKEN = "ZnV6ei10b2tlbi0wMTIzNDU2Nzg5";
    private static final Set<Integer> STATUSES =
            Set.of(100, 200, 201, 204, 400, 401, 404, 405, 408, 409, 413, 414, 417, 431, 501);

    @FuzzTest(maxDuration = "30s")
    void anyBytesGetWellFormedAnswers(byte[] input) {
        boolean tcp = input.length > 0 && (input[0] & 1) == 1;
        byte[] bytes = input.length > 0 ? Arrays.copyOfRange(input, 1, input.length) : input;
        FakeControl control = new FakeControl();
        ControlServer.Counters counters = new ControlServer.Counters();
        EmbeddedChannel server = new EmbeddedChannel();
        ControlServer.pipeline(
                server,
                new ControlRoutes(control),
                Runnable::run,
                counters,
                ControlLimits.DEFAULT,
                tcp ? ControlToken.of(TOKEN) : null);
        EmbeddedChannel client = new EmbeddedChannel(new HttpResponseDecoder(), new HttpObjectAggregator(1 << 24));
        try {
            // in pieces, as a network delivers them
            for (int off = 0; off < bytes.length && server.isActive(); off += 700) {
                server.writeInbound(Unpooled.wrappedBuffer(bytes, off, Math.min(700, bytes.length - off)));
                server.runPendingTasks();
            }
            server.runPendingTasks();
            server.checkException();
            assertEquals(0, counters.exceptions(), "an exception reached the handler");
            for (Object o; (o = server.readOutbound()) != null; ) {
                client.writeInbound((ByteBuf) o);
            }
            boolean hasToken = new String(bytes, StandardCharsets.ISO_8859_1).contains(TOKEN);
            for (FullHttpResponse r; (r = client.readInbound()) != null; ) {
                try {
                    assertTrue(r.decoderResult().isSuccess(), "not HTTP: " + r.decoderResult());
                    int status = r.status().code();
                    assertTrue(STATUSES.contains(status), "status " + status);
                    if (tcp && !hasToken) {
                        assertEquals(401, status, "answered without the token");
                    }
                    if (status >= 400) {
                        JsonNode n = Json.MAPPER.readTree(r.content().toString(StandardCharsets.UTF_8));
                        assertEquals(status, n.get("status").asInt());
                        String error = n.get("error").asText();
                        assertFalse(error.isBlank() || error.contains("\n"), error);
                    }
                } catch (java.io.IOException e) {
                    throw new AssertionError("error body is not JSON", e);
                } finally {
                    r.release();
                }
            }
        } finally {
            server.finishAndReleaseAll();
            client.finishAndReleaseAll();
        }
    }
}
