package dev.panda.vswitch.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

/**
 * {@code panda ctl capture start NAME port=PORT [dir=rx|tx|both] [snaplen=N] [filter='EXPR']
 * [roll=R] [max-bytes=N] [max-age=S]}, {@code capture stop NAME}, {@code capture list}: one API call
 * each ({@code POST /v1/captures}, {@code DELETE /v1/captures/NAME}, {@code GET /v1/captures}).
 */
final class CaptureCtl {

    static final String USAGE = "start NAME port=PORT [dir=rx|tx|both] [snaplen=N] [filter='EXPR'] [roll=R]"
            + " [max-bytes=N] [max-age=S] | stop NAME | list";
    private static final Set<String> TEXT = Set.of("port", "dir", "filter", "roll");
    private static final Set<String> NUMBERS = Set.of("snaplen", "max-bytes", "max-age");

    private CaptureCtl() {}

    static CtlMain.Call parse(List<String> a) {
        if (a.isEmpty()) {
            throw new CtlMain.UsageException("capture: missing arguments; usage: capture " + USAGE);
        }
        String sub = a.getFirst();
        List<String> rest = a.subList(1, a.size());
        return switch (sub) {
            case "start" -> {
                if (rest.isEmpty()) {
                    throw new CtlMain.UsageException("capture start: missing NAME; usage: capture " + USAGE);
                }
                ObjectNode body = JsonNodeFactory.instance.objectNode().put("name", rest.getFirst());
                for (String o : rest.subList(1, rest.size())) {
                    int eq = o.indexOf('=');
                    String key = eq <= 0 ? "" : o.substring(0, eq);
                    if (!TEXT.contains(key) && !NUMBERS.contains(key)) {
                        throw new CtlMain.UsageException(
                                "capture start: '" + o
                                        + "' is not KEY=VALUE with a known key (dir, filter, max-age, max-bytes, port, roll, snaplen)");
                    }
                    if (body.has(key)) {
                        throw new CtlMain.UsageException("capture start: " + key + " given twice");
                    }
                    String v = o.substring(eq + 1);
                    if (NUMBERS.contains(key)) {
                        try {
                            body.put(key, Long.parseLong(v));
                        } catch (NumberFormatException e) {
                            body.put(key, v); // the vswitch answers "expected an integer"
                        }
                    } else {
                        body.put(key, v);
                    }
                }
                if (!body.has("port")) {
                    throw new CtlMain.UsageException("capture start: port=PORT is required");
                }
                yield new CtlMain.Call(
                        "POST",
                        "/v1/captures",
                        body.toString().getBytes(StandardCharsets.UTF_8),
                        null,
                        CaptureCtl::one);
            }
            case "stop" -> {
                if (rest.size() != 1) {
                    throw new CtlMain.UsageException("capture stop: usage: capture stop NAME");
                }
                yield new CtlMain.Call(
                        "DELETE", "/v1/captures/" + CtlMain.seg(rest.getFirst()), null, null, CaptureCtl::one);
            }
            case "list" -> {
                if (!rest.isEmpty()) {
                    throw new CtlMain.UsageException("capture list: takes no arguments");
                }
                yield new CtlMain.Call("GET", "/v1/captures", null, null, CaptureCtl::list);
            }
            default -> throw new CtlMain.UsageException("capture: unknown '" + sub + "'; usage: capture " + USAGE);
        };
    }

    /** One capture after start or stop: a line with its counters. */
    static String one(JsonNode c) {
        return line(c) + "\n";
    }

    static String list(JsonNode n) {
        StringBuilder sb = new StringBuilder();
        JsonNode cs = n.path("captures");
        if (cs.isEmpty()) {
            return "no captures running\n";
        }
        for (JsonNode c : cs) {
            sb.append(line(c)).append('\n');
        }
        return sb.toString();
    }

    private static String line(JsonNode c) {
        String filter = c.path("filter").isNull() || c.path("filter").isMissingNode()
                ? ""
                : " filter '" + c.path("filter").asText() + "'";
        return String.format(
                "capture %s %s: port %s dir %s snaplen %d%s matched %d captured %d dropped %d pending %d (%s)",
                c.path("name").asText(),
                c.path("state").asText(),
                c.path("port").asText(),
                c.path("dir").asText(),
                c.path("snaplen").asInt(),
                filter,
                c.path("matched").asLong(),
                c.path("captured").asLong(),
                c.path("dropped").asLong(),
                c.path("pending").asLong(),
                c.path("directory").asText());
    }
}
