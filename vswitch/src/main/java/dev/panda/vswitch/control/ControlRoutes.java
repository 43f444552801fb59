package dev.panda.vswitch.control;

import dev.panda.vswitch.Control;
import dev.panda.vswitch.VswitchException;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.ConfigDiff;
import dev.panda.vswitch.config.ConfigFiles;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.flow.BridgeFlows;
import dev.panda.vswitch.flow.FlowError;
import dev.panda.vswitch.flow.FlowFilter;
import dev.panda.vswitch.flow.FlowJson;
import dev.panda.vswitch.flow.FlowMod;
import dev.panda.vswitch.flow.FlowModResult;
import dev.panda.vswitch.flow.FlowModsResult;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The control API: one route per {@code panda ctl} verb, answered from a {@link Control}. Runs on
 * the control executor thread; knows nothing of Netty. See the module README for the table.
 */
final class ControlRoutes {

    private static final System.Logger LOG = System.getLogger(ControlRoutes.class.getName());

    static final String JSON = "application/json; charset=utf-8";
    static final String YAML = "application/yaml; charset=utf-8";

    /** A decoded request: its path split into decoded segments. */
    record Request(
            String method,
            List<String> path,
            Map<String, List<String>> query,
            String accept,
            byte[] body,
            String contentType) {

        Request(String method, List<String> path, Map<String, List<String>> query, String accept, byte[] body) {
            this(method, path, query, accept, body, null);
        }
    }

    /** An answer; {@code allow} is set on 405. */
    record Response(int status, String contentType, byte[] body, String allow) {

        static Response json(int status, Object value) {
            return new Response(status, JSON, Json.bytes(value), null);
        }

        static Response empty() {
            return new Response(204, null, new byte[0], null);
        }

        static Response error(int status, String message) {
            return new Response(status, JSON, Json.error(status, message), null);
        }

        static Response error(int status, String message, String field) {
            return new Response(status, JSON, Json.error(status, message, field), null);
        }
    }

    @FunctionalInterface
    private interface Handler {
        Response handle(Request r, List<String> params);
    }

    private record Route(String method, String[] pattern, Handler handler) {}

    private final List<Route> routes = new ArrayList<>();
    private final Control control;

    ControlRoutes(Control control) {
        this.control = control;
        add("GET", "v1/show", (r, p) -> Response.json(200, control.show()));
        add("POST", "v1/bridges", (r, p) -> {
            BridgeConfig b = ConfigFiles.bridgeFromJson(r.body());
            control.addBridge(b);
            return new Response(201, JSON, json(ConfigFiles.toTree(b)), null);
        });
        add("DELETE", "v1/bridges/*", (r, p) -> {
            control.delBridge(p.get(0));
            return Response.empty();
        });
        add("POST", "v1/bridges/*/ports", (r, p) -> {
            PortConfig port = ConfigFiles.portFromJson(r.body());
            control.addPort(p.get(0), port);
            return new Response(201, JSON, json(ConfigFiles.toTree(port)), null);
        });
        add("DELETE", "v1/bridges/*/ports/*", (r, p) -> {
            control.delPort(p.get(0), p.get(1));
            return Response.empty();
        });
        add("GET", "v1/bridges/*/fdb", (r, p) -> Response.json(200, control.fdb(p.get(0))));
        add("GET", "v1/ports/stats", (r, p) -> Response.json(200, control.stats(null)));
        add("GET", "v1/ports/*/stats", (r, p) -> Response.json(200, control.stats(p.get(0))));
        add(
                "GET",
                "v1/pmd-stats",
                (r, p) -> Response.json(
                        200,
                        new java.util.TreeMap<>(
                                Map.of("pmds", control.pmdStats(), "flow-tables", control.flowTables()))));
        add("PUT", "v1/bridges/*/fail-mode", (r, p) -> {
            control.setFailMode(p.get(0), failModeBody(r.body()));
            return Response.empty();
        });
        add("POST", "v1/bridges/*/flows", (r, p) -> postFlows(p.get(0), r.body()));
        add("DELETE", "v1/bridges/*/flows", (r, p) -> {
            if (r.body() == null || new String(r.body(), StandardCharsets.UTF_8).isBlank()) {
                return flowMod(p.get(0), null, FlowMod.Command.DELETE);
            }
            return flowMod(p.get(0), r.body(), FlowMod.Command.DELETE);
        });
        add("GET", "v1/bridges/*/flows", (r, p) -> {
            BridgeFlows f = control.flows(p.get(0));
            int table = FlowMod.ALL_TABLES;
            List<String> t = r.query().get("table");
            if (t != null && !t.isEmpty()) {
                try {
                    table = Integer.parseInt(t.getLast());
                } catch (NumberFormatException e) {
                    throw VswitchException.badRequest("table: '" + oneLine(t.getLast()) + "' is not a number");
                }
                if (table < 0 || table >= BridgeFlows.TABLES) {
                    throw VswitchException.badRequest("table: " + table + " is not 0.." + (BridgeFlows.TABLES - 1));
                }
            }
            return new Response(200, JSON, json(FlowJson.toTree(f.flows(FlowFilter.table(table)))), null);
        });
        add("GET", "v1/bridges/*/flow-tables", (r, p) -> {
            BridgeFlows f = control.flows(p.get(0));
            return Response.json(
                    200,
                    Map.of(
                            "bridge", p.get(0),
                            "fail-mode", f.failMode().label(),
                            "controller-connected", f.controllerConnected(),
                            "tables",
                                    f.tableStats().stream()
                                            .filter(ts -> ts.activeCount() > 0 || ts.lookups() > 0)
                                            .toList()));
        });
        add("POST", "v1/pmd-stats/clear", (r, p) -> {
            control.clearPmdStats();
            return Response.empty();
        });
        add(
                "GET",
                "v1/config",
                (r, p) -> wantsYaml(r)
                        ? new Response(
                                200, YAML, ConfigFiles.toYaml(control.config()).getBytes(StandardCharsets.UTF_8), null)
                        : new Response(
                                200,
                                JSON,
                                ConfigFiles.toJson(control.config()).getBytes(StandardCharsets.UTF_8),
                                null));
        add("PUT", "v1/config", (r, p) -> applyConfig(r));
        add("GET", "v1/captures", (r, p) -> Response.json(200, Map.of("captures", control.captures())));
        add("POST", "v1/captures", (r, p) -> Response.json(201, control.captureStart(CaptureBodies.spec(r.body()))));
        add("DELETE", "v1/captures/*", (r, p) -> Response.json(200, control.captureStop(p.get(0))));
        add("PUT", "v1/bridges/*/controllers", (r, p) -> {
            control.setController(p.get(0), targets(r.body()));
            return Response.empty();
        });
        add("DELETE", "v1/bridges/*/controllers", (r, p) -> {
            control.setController(p.get(0), List.of());
            return Response.empty();
        });
        add(
                "GET",
                "v1/bridges/*/controllers",
                (r, p) -> Response.json(200, Map.of("bridge", p.get(0), "controllers", control.controllers(p.get(0)))));
    }

    /**
     * {@code PUT /v1/config}: the whole desired state, YAML or JSON by Content-Type (without one:
     * JSON if it starts with '{'); {@code ?dry-run=1} only computes the difference.
     */
    private Response applyConfig(Request r) {
        boolean dryRun = flag(r, "dry-run");
        String type = r.contentType() == null ? "" : r.contentType().toLowerCase(java.util.Locale.ROOT);
        String text = new String(r.body(), StandardCharsets.UTF_8).strip();
        if (text.isEmpty()) {
            throw VswitchException.badRequest(
                    "empty body: send the whole desired state (as GET /v1/config answers; no bridges: {\"bridges\": []})");
        }
        boolean json = type.contains("json") || (!type.contains("yaml") && text.startsWith("{"));
        VswitchConfig desired =
                json ? ConfigFiles.configFromJson(r.body()) : ConfigFiles.parseYaml(r.body(), "request body");
        ConfigDiff diff = control.apply(desired, dryRun);
        return new Response(200, JSON, json(diff.toTree(dryRun, !dryRun)), null);
    }

    /** {@code {"targets": ["ptcp:6653", "tcp:198.18.0.1:6653"]}}: at most 64 strings. */
    private static List<String> targets(byte[] body) {
        com.fasterxml.jackson.databind.JsonNode n;
        try {
            n = Json.MAPPER.readTree(body);
        } catch (java.io.IOException e) {
            throw VswitchException.badRequest("body: not JSON: " + oneLine(e.getMessage()));
        }
        if (n == null || !n.isObject() || !n.path("targets").isArray() || n.size() != 1) {
            throw VswitchException.badRequest(
                    "body: expected {\"targets\": [\"ptcp:PORT[:ADDR]\" or \"tcp:HOST:PORT\", ...]}");
        }
        List<String> out = new ArrayList<>();
        for (com.fasterxml.jackson.databind.JsonNode t : n.get("targets")) {
            if (!t.isTextual()) {
                throw VswitchException.badRequest("targets: " + oneLine(t.toString()) + " is not a string");
            }
            out.add(t.asText());
        }
        if (out.size() > 64) {
            throw VswitchException.badRequest("targets: more than 64");
        }
        return out;
    }

    /**
     * A flow mod on bridge {@code br}: the body as {@link FlowJson} reads it ({@code null}: delete
     * every flow). 200 {@code {"affected": N}}; 400 a bad body or a refused flow (its OpenFlow error
     * named), 409 a full table or an overlap.
     */
    private Response flowMod(String br, byte[] body, FlowMod.Command command) {
        BridgeFlows f = control.flows(br);
        FlowMod m;
        try {
            m = body == null ? FlowMod.delete(FlowMod.ALL_TABLES, null) : FlowJson.parse(body, command);
        } catch (IllegalArgumentException e) {
            throw VswitchException.badRequest(e.getMessage());
        }
        FlowModResult res = f.apply(m);
        if (!res.isOk()) {
            throw new VswitchException(status(res), FlowJson.describe(res));
        }
        return Response.json(200, Map.of("affected", res.affected()));
    }

    /**
     * {@code POST /v1/bridges/{br}/flows}: one flow mod (add-flow, mod-flows), or a list of them
     * ({@link FlowBodies}, add-flows) applied all or none with one classifier published at the
     * end: 200 {@code {"affected": N, "flow-mods": n}}; the first refused names its element
     * ({@code flows[k]: ...}, 400, 409 a full table or an overlap) and nothing is applied.
     */
    private Response postFlows(String br, byte[] body) {
        BridgeFlows f = control.flows(br);
        com.fasterxml.jackson.databind.JsonNode root;
        try {
            root = FlowJson.tree(body == null ? new byte[0] : body);
        } catch (IllegalArgumentException e) {
            throw VswitchException.badRequest(e.getMessage());
        }
        List<FlowMod> mods = FlowBodies.list(root);
        if (mods == null) {
            return flowMod(br, body == null ? new byte[0] : body, FlowMod.Command.ADD);
        }
        FlowModsResult res = f.applyAll(mods);
        if (!res.isOk()) {
            FlowModResult bad = res.refusal();
            String field = "flows[" + res.refusedAt() + "]";
            throw new VswitchException(
                    status(bad),
                    field + ": " + FlowJson.describe(bad) + "; none of the " + mods.size() + " flow mods was applied",
                    field);
        }
        return Response.json(
                200, new java.util.TreeMap<>(Map.of("affected", res.affected(), "flow-mods", mods.size())));
    }

    /** A refused flow mod's status: 409 a full table or an overlap, else 400. */
    private static int status(FlowModResult refused) {
        return refused.error() == FlowError.TABLE_FULL || refused.error() == FlowError.OVERLAP ? 409 : 400;
    }

    /** {@code {"fail-mode": "secure"}}. */
    private static String failModeBody(byte[] body) {
        try {
            com.fasterxml.jackson.databind.JsonNode n = Json.MAPPER.readTree(body == null ? new byte[0] : body);
            if (n == null || !n.isObject() || !n.path("fail-mode").isTextual() || n.size() != 1) {
                throw VswitchException.badRequest("expected {\"fail-mode\": \"secure\" or \"standalone\"}");
            }
            return n.get("fail-mode").asText();
        } catch (java.io.IOException e) {
            throw VswitchException.badRequest("not JSON: expected {\"fail-mode\": \"secure\" or \"standalone\"}");
        }
    }

    /** {@code ?name}, {@code ?name=1}, {@code =true} or {@code =yes}; refuses other values. */
    private static boolean flag(Request r, String name) {
        List<String> v = r.query().get(name);
        if (v == null || v.isEmpty()) {
            return false;
        }
        String s = v.getLast().toLowerCase(java.util.Locale.ROOT);
        return switch (s) {
            case "", "1", "true", "yes" -> true;
            case "0", "false", "no" -> false;
            default -> throw VswitchException.badRequest(name + ": '" + oneLine(v.getLast()) + "' is not 1 or 0");
        };
    }

    private void add(String method, String pattern, Handler h) {
        routes.add(new Route(method, pattern.split("/"), h));
    }

    /** Routes and runs one request; every failure becomes a JSON error answer. */
    Response handle(Request r) {
        TreeSet<String> allowed = new TreeSet<>();
        for (Route route : routes) {
            List<String> params = match(route.pattern(), r.path());
            if (params == null) {
                continue;
            }
            if (!route.method().equals(r.method())) {
                allowed.add(route.method());
                continue;
            }
            return run(route, r, params);
        }
        if (!allowed.isEmpty()) {
            String allow = String.join(", ", allowed);
            return new Response(
                    405,
                    JSON,
                    Json.error(
                            405,
                            r.method() + " not allowed on /" + String.join("/", r.path()) + " (allowed: " + allow
                                    + ")"),
                    allow);
        }
        return Response.error(404, "no such path: /" + String.join("/", r.path()) + " (see GET /v1/show)");
    }

    private Response run(Route route, Request r, List<String> params) {
        try {
            return route.handler().handle(r, params);
        } catch (VswitchException e) {
            return Response.error(e.status(), oneLine(e.getMessage()), e.field());
        } catch (UnsupportedOperationException e) {
            return Response.error(501, "not implemented: " + oneLine(String.valueOf(e.getMessage())));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, r.method() + " /" + String.join("/", r.path()) + " failed", e);
            return Response.error(
                    500, "internal error: " + e.getClass().getSimpleName() + ": " + oneLine(e.getMessage()));
        }
    }

    private static List<String> match(String[] pattern, List<String> path) {
        if (pattern.length != path.size()) {
            return null;
        }
        List<String> params = new ArrayList<>(2);
        for (int i = 0; i < pattern.length; i++) {
            if (pattern[i].equals("*")) {
                params.add(path.get(i));
            } else if (!pattern[i].equals(path.get(i))) {
                return null;
            }
        }
        return params;
    }

    /** YAML with {@code ?format=yaml}, or an Accept header naming YAML before (or without) JSON. */
    static boolean wantsYaml(Request r) {
        List<String> format = r.query().get("format");
        if (format != null && !format.isEmpty()) {
            return format.getLast().equalsIgnoreCase("yaml");
        }
        String accept = r.accept() == null ? "" : r.accept().toLowerCase(java.util.Locale.ROOT);
        int yaml = accept.indexOf("yaml");
        int json = accept.indexOf("json");
        return yaml >= 0 && (json < 0 || yaml < json);
    }

    private static byte[] json(Object tree) {
        return Json.bytes(tree);
    }

    static String oneLine(String s) {
        if (s == null || s.isBlank()) {
            return "(no message)";
        }
        return s.strip().replaceAll("\\s*\\R\\s*", " ");
    }
}
