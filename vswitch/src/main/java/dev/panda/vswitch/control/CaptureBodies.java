package dev.panda.vswitch.control;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.panda.vswitch.VswitchException;
import dev.panda.vswitch.capture.CaptureSpec;
import java.io.IOException;
import java.util.Iterator;
import java.util.Set;

/**
 * {@code POST /v1/captures} bodies: {@code {"name", "port", "dir", "snaplen", "filter", "roll",
 * "max-bytes", "max-age"}}; an unknown key, a wrong type or a bad value is a 400 naming the field.
 */
final class CaptureBodies {

    private static final Set<String> KEYS =
            Set.of("name", "port", "dir", "snaplen", "filter", "roll", "max-bytes", "max-age");

    private CaptureBodies() {}

    static CaptureSpec spec(byte[] body) {
        JsonNode n;
        try {
            n = Json.MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw VswitchException.badRequest("not JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw VswitchException.badRequest("not JSON: " + e.getMessage());
        }
        if (n == null || !n.isObject()) {
            throw VswitchException.badRequest(
                    "expected a JSON object like {\"name\": \"c1\", \"port\": \"p1\", \"filter\": \"icmp\"}");
        }
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KEYS.contains(k)) {
                throw new VswitchException(
                        400, k + ": unknown key (keys: dir, filter, max-age, max-bytes, name, port, roll, snaplen)", k);
            }
        }
        return new CaptureSpec(
                text(n, "name"),
                text(n, "port"),
                text(n, "dir"),
                (int) number(n, "snaplen", 1, Integer.MAX_VALUE),
                text(n, "filter"),
                text(n, "roll"),
                number(n, "max-bytes", 1, Long.MAX_VALUE),
                number(n, "max-age", 1, Long.MAX_VALUE));
    }

    private static String text(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new VswitchException(
                    400,
                    key + ": expected a string, got " + v.getNodeType().name().toLowerCase(),
                    key);
        }
        return v.asText();
    }

    /** 0 when absent (the spec's default). */
    private static long number(JsonNode n, String key, long min, long max) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            return 0;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min || v.asLong() > max) {
            throw new VswitchException(
                    400, key + ": expected an integer " + min + ".." + max + ", got " + v.toString(), key);
        }
        return v.asLong();
    }
}
