package dev.panda.vswitch.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.panda.vswitch.VswitchException;
import dev.panda.vswitch.config.ConfigFiles;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.control.ControlServer;
import dev.panda.vswitch.control.ControlToken;
import dev.panda.vswitch.control.Json;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * {@code panda ctl [--control PATH] [--json] VERB ARGS}: each verb is one call on the running
 * vswitch's control API ({@code add-flows}, {@link AddFlowsCtl}: several when its file's request
 * would pass the body limit). Exit 0 on success; a bad argument, an unknown verb, a refused call or
 * no vswitch listening prints one line on stderr and exits 2.
 */
public final class CtlMain {

    static final String USAGE = """
            usage: panda ctl [--control PATH|tcp:ADDR:PORT] [--token FILE] [--json] [--timeout S] VERB [ARGS]
              add-br BR [mac-aging=S] [mac-table-size=N]     add a bridge
              del-br BR                                      remove a bridge and its ports
              add-port BR PORT DEVICE [tag=N] [trunks=A,B] [native-vlan=N] [rx-filter=F]
                                                             open DEVICE (as testpmd's --vdev) as PORT on BR
              add-port BR PORT vxlan vni=N local=IP remote=IP underlay=DEVICE [tag=N] ...
                                                             a VXLAN tunnel port over the underlay DEVICE
              del-port BR PORT                               remove a port
              show                                           bridges, ports and pollers
              fdb-show BR                                    the MAC table of BR
              port-stats [PORT]                              counters of every port (or one)
              pmd-stats                                      poller statistics
              pmd-stats-clear                                zero the poller statistics
              set-controller BR TARGET...                    OpenFlow: ptcp:PORT[:ADDR] listens (127.0.0.1 unless
                                                             ADDR is given), tcp:HOST:PORT connects to a controller
              del-controller BR                              remove the bridge's OpenFlow controllers
              get-controller BR                              the bridge's controllers and their state
              set-fail-mode BR secure|standalone             what unmatched packets do without a controller
              add-flow BR FLOW                               add an OpenFlow flow, in ovs-ofctl's syntax, e.g.
                                                             'priority=10,ip,nw_dst=198.18.0.0/24,actions=output:2'
              add-flows BR FILE|-                            add the flows of FILE (- stdin), one per line as add-flow
                                                             takes them, all or none, published at once: the way
                                                             to load many flows ('#' comments; a line may start
                                                             with add, modify[_strict] or delete[_strict])
              mod-flows BR [--strict] FLOW                   change the actions of the flows FLOW covers
              del-flows BR [--strict] [FLOW]                 delete the flows FLOW covers (all without FLOW)
              dump-flows BR [table=N]                        the flows with their counters, as ovs-ofctl's
              config-show                                    the running state as a config file (YAML)
              apply FILE|- [--dry-run]                       make the running state FILE's (YAML), changing only
                                                             what differs, all or nothing; prints the difference
              capture start NAME port=PORT [dir=rx|tx|both] [snaplen=N] [filter='EXPR'] [roll=R] [max-bytes=N] [max-age=S]
                                                             capture PORT's frames (tcpdump filter) under the state dir
              capture stop NAME                              stop it (what it took is written); its counters
              capture list                                   running captures: matched, captured, dropped
            --control PATH  the vswitch's control socket (default %s),
                            or tcp:ADDR:PORT for its TCP control listener (needs --token)
            --token FILE    the TCP listener's bearer token, from a file only you may read (mode 0600)
            --json          print the API's JSON answer as is
            --timeout S     seconds to wait for an answer (default 60)
            """.formatted(ControlServer.DEFAULT_PATH);

    /** A refused command line: one line, exit 2. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    /** One API call and how to print its answer. */
    record Call(String method, String uri, byte[] body, String accept, Function<JsonNode, String> format) {}

    private CtlMain() {}

    public static int run(String[] args, PrintStream out, PrintStream err) {
        String control = ControlServer.DEFAULT_PATH;
        Path tokenFile = null;
        boolean json = false;
        long timeout = 60;
        List<String> words = new ArrayList<>();
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                if (a.equals("-h") || a.equals("--help") || a.equals("help")) {
                    out.print(USAGE);
                    return 0;
                } else if (a.equals("--json")) {
                    json = true;
                } else if (a.equals("--control") || a.equals("--timeout") || a.equals("--token")) {
                    if (i + 1 >= args.length) {
                        throw new UsageException(a + " needs a value");
                    }
                    String v = args[++i];
                    if (a.equals("--control")) {
                        control = v;
                    } else if (a.equals("--token")) {
                        tokenFile = Path.of(v);
                    } else {
                        timeout = seconds(v);
                    }
                } else if (a.startsWith("--control=")) {
                    control = a.substring("--control=".length());
                } else if (a.startsWith("--token=")) {
                    tokenFile = Path.of(a.substring("--token=".length()));
                } else if (a.startsWith("--timeout=")) {
                    timeout = seconds(a.substring("--timeout=".length()));
                } else if (a.startsWith("--") && words.isEmpty()) {
                    throw new UsageException("unknown option " + a + " (see panda ctl --help)");
                } else {
                    words.add(a);
                }
            }
            if (words.isEmpty()) {
                throw new UsageException("no verb given (see panda ctl --help)");
            }
            if (words.getFirst().equals("add-flows")) {
                // a file of flows: read and checked here, then one call (more for a file over the body limit)
                AddFlowsCtl.Plan plan = AddFlowsCtl.parse(words.subList(1, words.size()), System.in);
                return AddFlowsCtl.execute(
                        plan, client(control, tokenFile, Duration.ofSeconds(timeout)), json, out, err);
            }
            Call call = parse(words, json);
            return execute(client(control, tokenFile, Duration.ofSeconds(timeout)), call, json, out, err);
        } catch (UsageException | java.nio.file.InvalidPathException | VswitchException e) {
            err.println("panda ctl: " + e.getMessage());
            return 2;
        }
    }

    /** A unix socket path, or {@code tcp:ADDR:PORT} with a token file. */
    static CtlClient client(String control, Path tokenFile, Duration timeout) {
        if (!control.startsWith("tcp:")) {
            if (tokenFile != null) {
                throw new UsageException("--token is for a TCP control listener (--control tcp:ADDR:PORT)");
            }
            return new CtlClient(Path.of(control), timeout);
        }
        if (tokenFile == null) {
            throw new UsageException("--control " + control + " needs --token FILE");
        }
        InetSocketAddress address;
        try {
            address = ControlServer.parseTcp(control.substring("tcp:".length()));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--control: " + e.getMessage());
        }
        return CtlClient.tcp(address, ControlToken.readText(tokenFile, true), timeout);
    }

    private static long seconds(String v) {
        try {
            long s = Long.parseLong(v);
            if (s > 0 && s <= 86_400) {
                return s;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new UsageException("--timeout: '" + v + "' is not a number of seconds (1..86400)");
    }

    /** The verb and its arguments as one API call. */
    static Call parse(List<String> words, boolean json) {
        String verb = words.getFirst();
        List<String> a = words.subList(1, words.size());
        return switch (verb) {
            case "add-br" -> {
                arity(verb, a, 1, Integer.MAX_VALUE, "BR [mac-aging=S] [mac-table-size=N]");
                ObjectNode body = JsonNodeFactory.instance.objectNode().put("name", a.get(0));
                options(verb, a.subList(1, a.size()), body, Set.of("mac-aging", "mac-table-size"));
                yield new Call("POST", "/v1/bridges", bytes(body), null, null);
            }
            case "del-br" -> {
                arity(verb, a, 1, 1, "BR");
                yield new Call("DELETE", "/v1/bridges/" + seg(a.get(0)), null, null, null);
            }
            case "add-port" -> {
                arity(
                        verb,
                        a,
                        3,
                        Integer.MAX_VALUE,
                        "BR PORT DEVICE [tag=N] [trunks=A,B] [native-vlan=N] [rx-filter=F]");
                ObjectNode body = JsonNodeFactory.instance.objectNode();
                body.put("name", a.get(1));
                if (a.get(2).equals("vxlan")) {
                    // add-port BR PORT vxlan vni=N local=IP remote=IP underlay=DEVICE [tag=N] ...
                    Set<String> tunnel = Set.of("vni", "local", "remote", "underlay");
                    ObjectNode all = JsonNodeFactory.instance.objectNode();
                    options(
                            verb,
                            a.subList(3, a.size()),
                            all,
                            Set.of("vni", "local", "remote", "underlay", "tag", "trunks", "native-vlan", "rx-filter"));
                    ObjectNode vxlan = body.putObject("vxlan");
                    for (String k : List.of("vni", "local", "remote", "underlay")) {
                        if (!all.has(k)) {
                            throw new UsageException(verb + ": a vxlan port needs " + k
                                    + "= (vxlan vni=N local=IP remote=IP underlay=DEVICE)");
                        }
                        JsonNode v = all.get(k);
                        vxlan.set(k, k.equals("vni") ? v : JsonNodeFactory.instance.textNode(v.asText()));
                    }
                    all.properties().forEach(e -> {
                        if (!tunnel.contains(e.getKey())) {
                            body.set(e.getKey(), e.getValue());
                        }
                    });
                    yield new Call("POST", "/v1/bridges/" + seg(a.get(0)) + "/ports", bytes(body), null, null);
                }
                body.put("device", a.get(2));
                options(verb, a.subList(3, a.size()), body, Set.of("tag", "trunks", "native-vlan", "rx-filter"));
                yield new Call("POST", "/v1/bridges/" + seg(a.get(0)) + "/ports", bytes(body), null, null);
            }
            case "del-port" -> {
                arity(verb, a, 2, 2, "BR PORT");
                yield new Call("DELETE", "/v1/bridges/" + seg(a.get(0)) + "/ports/" + seg(a.get(1)), null, null, null);
            }
            case "show" -> {
                arity(verb, a, 0, 0, "");
                yield new Call("GET", "/v1/show", null, null, CtlFormat::show);
            }
            case "fdb-show" -> {
                arity(verb, a, 1, 1, "BR");
                yield new Call("GET", "/v1/bridges/" + seg(a.get(0)) + "/fdb", null, null, CtlFormat::fdb);
            }
            case "port-stats" -> {
                arity(verb, a, 0, 1, "[PORT]");
                String uri = a.isEmpty() ? "/v1/ports/stats" : "/v1/ports/" + seg(a.get(0)) + "/stats";
                yield new Call("GET", uri, null, null, CtlFormat::stats);
            }
            case "pmd-stats" -> {
                arity(verb, a, 0, 0, "");
                yield new Call("GET", "/v1/pmd-stats", null, null, CtlFormat::pmdStats);
            }
            case "pmd-stats-clear" -> {
                arity(verb, a, 0, 0, "");
                yield new Call("POST", "/v1/pmd-stats/clear", null, null, null);
            }
            case "config-show" -> {
                arity(verb, a, 0, 0, "");
                yield json
                        ? new Call("GET", "/v1/config", null, "application/json", null)
                        : new Call("GET", "/v1/config?format=yaml", null, "application/yaml", null);
            }
            case "apply" -> apply(a);
            case "capture" -> CaptureCtl.parse(a);
            case "set-controller" -> {
                arity(verb, a, 2, 64, "BR TARGET...");
                ObjectNode body = JsonNodeFactory.instance.objectNode();
                ArrayNode t = body.putArray("targets");
                a.subList(1, a.size()).forEach(t::add);
                yield new Call("PUT", "/v1/bridges/" + seg(a.get(0)) + "/controllers", bytes(body), null, null);
            }
            case "del-controller" -> {
                arity(verb, a, 1, 1, "BR");
                yield new Call("DELETE", "/v1/bridges/" + seg(a.get(0)) + "/controllers", null, null, null);
            }
            case "get-controller" -> {
                arity(verb, a, 1, 1, "BR");
                yield new Call(
                        "GET", "/v1/bridges/" + seg(a.get(0)) + "/controllers", null, null, CtlFormat::controllers);
            }
            case "set-fail-mode" -> {
                arity(verb, a, 2, 2, "BR secure|standalone");
                if (!a.get(1).equals("secure") && !a.get(1).equals("standalone")) {
                    throw new UsageException("set-fail-mode: '" + a.get(1) + "' is not secure or standalone");
                }
                ObjectNode body = JsonNodeFactory.instance.objectNode().put("fail-mode", a.get(1));
                yield new Call("PUT", "/v1/bridges/" + seg(a.get(0)) + "/fail-mode", bytes(body), null, null);
            }
            case "add-flow" -> {
                arity(verb, a, 2, 2, "BR FLOW");
                ObjectNode body = JsonNodeFactory.instance.objectNode().put("flow", a.get(1));
                yield new Call("POST", "/v1/bridges/" + seg(a.get(0)) + "/flows", bytes(body), null, null);
            }
            case "mod-flows", "del-flows" -> {
                List<String> rest =
                        a.stream().filter(w -> !w.equals("--strict")).toList();
                boolean strict = rest.size() < a.size();
                boolean del = verb.equals("del-flows");
                arity(verb, rest, del ? 1 : 2, 2, del ? "BR [--strict] [FLOW]" : "BR [--strict] FLOW");
                String uri = "/v1/bridges/" + seg(rest.get(0)) + "/flows";
                if (rest.size() == 1) {
                    if (strict) {
                        throw new UsageException("del-flows: --strict needs a FLOW");
                    }
                    yield new Call("DELETE", uri, null, null, null);
                }
                ObjectNode body = JsonNodeFactory.instance.objectNode();
                body.put("command", (del ? "delete" : "modify") + (strict ? "-strict" : ""));
                body.put("flow", rest.get(1));
                yield new Call(del ? "DELETE" : "POST", uri, bytes(body), null, null);
            }
            case "dump-flows" -> {
                arity(verb, a, 1, 2, "BR [table=N]");
                String q = "";
                if (a.size() == 2) {
                    if (!a.get(1).startsWith("table=")) {
                        throw new UsageException("dump-flows: '" + a.get(1) + "' is not table=N");
                    }
                    q = "?table=" + seg(a.get(1).substring("table=".length()));
                }
                yield new Call("GET", "/v1/bridges/" + seg(a.get(0)) + "/flows" + q, null, null, CtlFormat::flows);
            }
            default ->
                throw new UsageException("unknown verb '" + verb
                        + "'; verbs: add-br, del-br, add-port, del-port, show, fdb-show, port-stats, pmd-stats,"
                        + " pmd-stats-clear, config-show, apply, set-fail-mode, add-flow, add-flows, mod-flows,"
                        + " del-flows, dump-flows, set-controller, del-controller, get-controller, capture");
        };
    }

    /**
     * {@code apply FILE|- [--dry-run]}: the file is read and checked here, so a refusal names its
     * line, and sent as JSON to {@code PUT /v1/config}.
     */
    private static Call apply(List<String> a) {
        List<String> files = a.stream().filter(w -> !w.equals("--dry-run")).toList();
        boolean dryRun = files.size() < a.size();
        arity("apply", files, 1, 1, "FILE|- [--dry-run]");
        if (a.size() - files.size() > 1) {
            throw new UsageException("apply: --dry-run given twice");
        }
        String file = files.getFirst();
        VswitchConfig desired;
        try {
            desired = file.equals("-")
                    ? ConfigFiles.parseYaml(System.in.readNBytes(ConfigFiles.MAX_BYTES + 1), "stdin")
                    : ConfigFiles.load(Path.of(file));
        } catch (VswitchException e) {
            throw new UsageException(e.getMessage());
        } catch (IOException e) {
            throw new UsageException("stdin: cannot read: " + e.getMessage());
        }
        byte[] body = ConfigFiles.toJson(desired).getBytes(StandardCharsets.UTF_8);
        return new Call("PUT", "/v1/config" + (dryRun ? "?dry-run=1" : ""), body, null, CtlFormat::diff);
    }

    private static void arity(String verb, List<String> a, int min, int max, String usage) {
        if (a.size() < min || a.size() > max) {
            throw new UsageException(verb + ": " + (a.size() < min ? "missing arguments" : "too many arguments")
                    + "; usage: " + verb + (usage.isEmpty() ? "" : " " + usage));
        }
    }

    /**
     * {@code key=value} options into the request body: integers as numbers, trunks as a list; the
     * vswitch checks ranges and types and names the field when it refuses.
     */
    private static void options(String verb, List<String> opts, ObjectNode body, Set<String> keys) {
        for (String o : opts) {
            int eq = o.indexOf('=');
            if (eq <= 0) {
                throw new UsageException(verb + ": '" + o + "' is not KEY=VALUE (keys: "
                        + String.join(", ", keys.stream().sorted().toList()) + ")");
            }
            String key = o.substring(0, eq);
            String value = o.substring(eq + 1);
            if (!keys.contains(key)) {
                throw new UsageException(verb + ": unknown key '" + key + "' (keys: "
                        + String.join(", ", keys.stream().sorted().toList()) + ")");
            }
            if (body.has(key)) {
                throw new UsageException(verb + ": " + key + " given twice");
            }
            if (key.equals("trunks")) {
                ArrayNode list = body.putArray(key);
                for (String v : value.split(",", -1)) {
                    list.add(number(v.strip()));
                }
            } else if (key.equals("rx-filter")) {
                body.put(key, value);
            } else {
                body.set(key, number(value));
            }
        }
    }

    private static JsonNode number(String v) {
        try {
            return JsonNodeFactory.instance.numberNode(Long.parseLong(v));
        } catch (NumberFormatException e) {
            return JsonNodeFactory.instance.textNode(v); // the vswitch answers "expected an integer"
        }
    }

    private static byte[] bytes(JsonNode n) {
        return n.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** One path segment, percent-encoded. */
    static String seg(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "-._~".indexOf(c) >= 0) {
                sb.append((char) c);
            } else {
                sb.append('%').append(String.format("%02X", c));
            }
        }
        return sb.toString();
    }

    static int execute(CtlClient client, Call call, boolean json, PrintStream out, PrintStream err) {
        CtlClient.Answer a;
        try {
            a = client.call(call.method(), call.uri(), call.body(), call.accept());
        } catch (CtlClient.NotRunningException e) {
            err.println("panda ctl: " + e.getMessage());
            return 2;
        } catch (IOException e) {
            err.println("panda ctl: " + client.where() + ": " + e.getMessage());
            return 2;
        }
        if (a.status() >= 400) {
            err.println("panda ctl: " + errorMessage(a));
            return 2;
        }
        if (json || (call.format() == null && call.method().equals("GET"))) {
            out.print(a.text());
            return 0;
        }
        if (call.format() == null) {
            return 0; // a change: silent on success, as ovs-vsctl
        }
        try {
            out.print(call.format().apply(Json.MAPPER.readTree(a.body())));
        } catch (IOException e) {
            err.println("panda ctl: the vswitch answered something that is not JSON");
            return 2;
        }
        return 0;
    }

    private static String errorMessage(CtlClient.Answer a) {
        try {
            JsonNode n = Json.MAPPER.readTree(a.body());
            if (n != null && n.hasNonNull("error")) {
                return n.get("error").asText().replaceAll("\\s*\\R\\s*", " ");
            }
        } catch (IOException e) {
            // not JSON: below
        }
        return "the vswitch answered " + a.status();
    }
}
