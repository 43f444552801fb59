package dev.panda.vswitch.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.panda.vswitch.control.ControlLimits;
import dev.panda.vswitch.control.Json;
import dev.panda.vswitch.flow.BridgeFlows;
import dev.panda.vswitch.flow.FlowJson;
import dev.panda.vswitch.flow.FlowMod;
import dev.panda.vswitch.flow.FlowModResult;
import dev.panda.vswitch.flow.FlowText;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code panda ctl add-flows BR FILE|-}: a file of flows, as ovs-ofctl add-flows reads one, in one
 * call of {@code POST /v1/bridges/BR/flows} with {@code {"flows": [...]}}, applied all or none with
 * one classifier published. One flow per line in add-flow's syntax; {@code #} starts a comment to
 * the end of the line; blank lines are skipped; a line may begin with {@code add}, {@code modify},
 * {@code modify_strict}, {@code delete} or {@code delete_strict} (or a prefix of one, as
 * ovs-ofctl takes them), add without one. The whole file is parsed and checked here first: a line
 * that does not parse refuses the file ({@code FILE:LINE: reason}) and nothing is sent. A file
 * whose request would pass the control API's body limit goes in several calls, each all or none.
 */
final class AddFlowsCtl {

    static final String USAGE = "BR FILE|-";

    /** Largest file read. */
    static final int MAX_FILE = 64 << 20;

    private static final String[] KEYWORDS = {"add", "delete", "delete_strict", "modify", "modify_strict"};
    private static final FlowMod.Command[] COMMANDS = {
        FlowMod.Command.ADD,
        FlowMod.Command.DELETE,
        FlowMod.Command.DELETE_STRICT,
        FlowMod.Command.MODIFY,
        FlowMod.Command.MODIFY_STRICT
    };
    private static final Pattern ELEMENT = Pattern.compile("^flows\\[(\\d+)]$");
    private static final byte[] HEAD = "{\"flows\":[".getBytes(StandardCharsets.UTF_8);
    private static final byte[] TAIL = "]}".getBytes(StandardCharsets.UTF_8);

    /** A flow of the file: its line and its element of the request's list. */
    record Line(int number, byte[] element) {}

    /** The file's flows as the calls that carry them, in order. */
    record Plan(String bridge, String source, List<List<Line>> calls) {}

    private AddFlowsCtl() {}

    /** Reads and checks the file; a bad line refuses it with {@code FILE:LINE: reason}. */
    static Plan parse(List<String> a, InputStream stdin) {
        if (a.size() != 2) {
            throw new CtlMain.UsageException("add-flows: " + (a.size() < 2 ? "missing arguments" : "too many arguments")
                    + "; usage: add-flows " + USAGE);
        }
        String file = a.get(1);
        String source = file.equals("-") ? "stdin" : file;
        byte[] bytes;
        try {
            if (file.equals("-")) {
                bytes = stdin.readNBytes(MAX_FILE + 1);
            } else {
                Path p = Path.of(file);
                if (Files.size(p) > MAX_FILE) {
                    throw new CtlMain.UsageException(source + ": larger than " + MAX_FILE + " bytes");
                }
                bytes = Files.readAllBytes(p);
            }
        } catch (NoSuchFileException e) {
            throw new CtlMain.UsageException(source + ": no such file");
        } catch (IOException e) {
            throw new CtlMain.UsageException(source + ": cannot read: " + e.getMessage());
        }
        if (bytes.length > MAX_FILE) {
            throw new CtlMain.UsageException(source + ": larger than " + MAX_FILE + " bytes");
        }
        List<Line> lines = lines(new String(bytes, StandardCharsets.UTF_8), source);
        return new Plan(a.get(0), source, calls(lines, ControlLimits.DEFAULT.maxBody()));
    }

    /** Each flow line as a list element, checked as the vswitch would before it applies it. */
    static List<Line> lines(String text, String source) {
        List<Line> out = new ArrayList<>();
        String[] raw = text.split("\n", -1);
        for (int i = 0; i < raw.length; i++) {
            String line = raw[i];
            int hash = line.indexOf('#');
            if (hash >= 0) {
                line = line.substring(0, hash);
            }
            line = line.strip();
            if (line.isEmpty()) {
                continue;
            }
            int n = i + 1;
            int len = 0;
            while (len < line.length() && ", \t\r\n".indexOf(line.charAt(len)) < 0) {
                len++;
            }
            String word = line.substring(0, len);
            FlowMod.Command command = FlowMod.Command.ADD;
            for (int k = 0; k < KEYWORDS.length; k++) {
                if (KEYWORDS[k].startsWith(word)) { // as ovs-ofctl: a prefix of a keyword names it
                    command = COMMANDS[k];
                    line = line.substring(len);
                    break;
                }
            }
            String flow = line.strip();
            try {
                FlowMod m = FlowText.parse(flow, command);
                FlowModResult bad = BridgeFlows.check(m);
                if (bad != null) {
                    throw new IllegalArgumentException(FlowJson.describe(bad));
                }
            } catch (IllegalArgumentException e) {
                throw new CtlMain.UsageException(source + ":" + n + ": " + oneLine(e.getMessage()));
            }
            ObjectNode element = JsonNodeFactory.instance.objectNode();
            if (command != FlowMod.Command.ADD) {
                element.put(
                        "command",
                        command.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'));
            }
            element.put("flow", flow);
            out.add(new Line(n, element.toString().getBytes(StandardCharsets.UTF_8)));
        }
        return out;
    }

    /** The lines cut into calls whose bodies fit {@code maxBody} bytes (one call unless they do not). */
    static List<List<Line>> calls(List<Line> lines, int maxBody) {
        List<List<Line>> calls = new ArrayList<>();
        List<Line> cur = new ArrayList<>();
        long size = HEAD.length + TAIL.length;
        for (Line l : lines) {
            long more = l.element().length + (cur.isEmpty() ? 0 : 1);
            if (!cur.isEmpty() && (size + more > maxBody || cur.size() >= BridgeFlows.DEFAULT_MAX_FLOWS)) {
                calls.add(cur);
                cur = new ArrayList<>();
                size = HEAD.length + TAIL.length;
                more = l.element().length;
            }
            cur.add(l);
            size += more;
        }
        if (!cur.isEmpty()) {
            calls.add(cur);
        }
        return calls;
    }

    static byte[] body(List<Line> call) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(HEAD);
        for (int i = 0; i < call.size(); i++) {
            if (i > 0) {
                b.write(',');
            }
            b.writeBytes(call.get(i).element());
        }
        b.writeBytes(TAIL);
        return b.toByteArray();
    }

    /** Sends the calls in order; the first refusal stops, naming its line. Silent on success. */
    static int execute(Plan p, CtlClient client, boolean json, PrintStream out, PrintStream err) {
        String uri = "/v1/bridges/" + CtlMain.seg(p.bridge()) + "/flows";
        if (p.calls().isEmpty()) {
            // no flow in the file: nothing to apply, but the bridge must be there (as ovs-ofctl's)
            return CtlMain.execute(
                    client,
                    new CtlMain.Call("GET", uri.replace("/flows", "/flow-tables"), null, null, n -> ""),
                    false,
                    out,
                    err);
        }
        for (int c = 0; c < p.calls().size(); c++) {
            List<Line> call = p.calls().get(c);
            CtlClient.Answer a;
            try {
                a = client.call("POST", uri, body(call), null);
            } catch (CtlClient.NotRunningException e) {
                err.println("panda ctl: " + e.getMessage() + earlier(p, c));
                return 2;
            } catch (IOException e) {
                err.println("panda ctl: " + client.where() + ": " + e.getMessage() + earlier(p, c));
                return 2;
            }
            if (a.status() >= 400) {
                err.println("panda ctl: " + refusal(p, call, a) + earlier(p, c));
                return 2;
            }
            if (json) {
                out.print(a.text());
            }
        }
        return 0;
    }

    /** The vswitch's refusal; one that names an element of the list names its line of the file instead. */
    private static String refusal(Plan p, List<Line> call, CtlClient.Answer a) {
        try {
            JsonNode n = Json.MAPPER.readTree(a.body());
            if (n != null && n.hasNonNull("error")) {
                String error = oneLine(n.get("error").asText());
                Matcher m = ELEMENT.matcher(n.path("field").asText(""));
                if (m.matches()) {
                    int i = Integer.parseInt(m.group(1));
                    String prefix = m.group() + ": ";
                    if (i < call.size()) {
                        return p.source() + ":" + call.get(i).number() + ": "
                                + (error.startsWith(prefix) ? error.substring(prefix.length()) : error);
                    }
                }
                return error;
            }
        } catch (IOException | NumberFormatException e) {
            // not JSON: below
        }
        return "the vswitch answered " + a.status();
    }

    /** After a refused call that is not the first: what the calls before it applied. */
    private static String earlier(Plan p, int c) {
        if (c == 0) {
            return "";
        }
        int first = p.calls().get(c).getFirst().number();
        return "; the flows before line " + first + " went in " + (c == 1 ? "an earlier call" : c + " earlier calls")
                + " and stay (a file whose request would pass the " + (ControlLimits.DEFAULT.maxBody() >> 20)
                + " MiB body limit goes in several calls)";
    }

    private static String oneLine(String s) {
        return s == null ? "(no message)" : s.strip().replaceAll("\\s*\\R\\s*", " ");
    }
}
