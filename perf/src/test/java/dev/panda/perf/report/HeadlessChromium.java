package dev.panda.perf.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Debian's {@code chromium} in headless mode, driven over the DevTools protocol on 127.0.0.1
 * ({@code --remote-debugging-port=0}: chromium picks a free port and prints its WebSocket URL on
 * stderr). {@link #load} navigates the page to a file, waits for its load event, collects every
 * console error, uncaught exception and error log entry, counts the SVG elements that rendered
 * with a non-empty box, and saves a full-page screenshot as PNG. The browser runs with a private
 * profile directory and is stopped by its PID.
 */
public final class HeadlessChromium implements AutoCloseable {

    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Pattern LISTENING = Pattern.compile("DevTools listening on (ws://\\S+)");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a page did: errors from the console, exceptions and the log; SVG elements; the screenshot's size. */
    public record PageResult(List<String> errors, int svgElements, int renderedSvgElements, long screenshotBytes) {}

    private final Process process;
    private final Path profile;
    private final HttpClient http = HttpClient.newHttpClient();
    private final StringBuilder stderr = new StringBuilder();
    private final int port;

    public HeadlessChromium() throws IOException, InterruptedException {
        if (!Files.isExecutable(CHROMIUM)) {
            throw new IllegalStateException(CHROMIUM + " not found: scripts/setup installs Debian's chromium");
        }
        profile = Files.createTempDirectory("panda-chromium");
        process = new ProcessBuilder(
                        CHROMIUM.toString(),
                        "--headless",
                        "--no-sandbox", // runs as root in CI
                        "--disable-gpu",
                        "--no-first-run",
                        "--hide-scrollbars",
                        "--remote-debugging-address=127.0.0.1",
                        "--remote-debugging-port=0",
                        "--user-data-dir=" + profile,
                        "--window-size=1200,900",
                        "about:blank")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        CompletableFuture<String> ws = new CompletableFuture<>();
        Thread.ofPlatform().daemon(true).start(() -> {
            try (BufferedReader r =
                    new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (stderr) {
                        if (stderr.length() < 20_000) {
                            stderr.append(line).append('\n');
                        }
                    }
                    Matcher m = LISTENING.matcher(line);
                    if (m.find()) {
                        ws.complete(m.group(1));
                    }
                }
            } catch (IOException e) {
                // chromium ended
            }
            ws.completeExceptionally(new IOException("chromium ended before listening"));
        });
        String url;
        try {
            url = ws.get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            close();
            throw new IOException("chromium printed no DevTools address; its stderr:\n" + stderr(), e);
        }
        port = URI.create(url).getPort();
    }

    String stderr() {
        synchronized (stderr) {
            return stderr.toString();
        }
    }

    /** Loads {@code page}, collects errors, counts SVGs, writes a full-page PNG to {@code png}. */
    public PageResult load(Path page, Path png) throws Exception {
        JsonNode targets = JSON.readTree(http.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/json/list"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body());
        String wsUrl = null;
        for (JsonNode t : targets) {
            if (t.path("type").asText().equals("page")) {
                wsUrl = t.path("webSocketDebuggerUrl").asText();
                break;
            }
        }
        if (wsUrl == null) {
            throw new IOException("chromium has no page target: " + targets);
        }
        try (Cdp cdp = new Cdp(http, wsUrl)) {
            cdp.call("Runtime.enable", Map.of());
            cdp.call("Log.enable", Map.of());
            cdp.call("Page.enable", Map.of());
            CompletableFuture<JsonNode> loaded = cdp.event("Page.loadEventFired");
            cdp.call("Page.navigate", Map.of("url", page.toUri().toString()));
            loaded.get(30, TimeUnit.SECONDS);
            JsonNode counts = cdp.call(
                            "Runtime.evaluate",
                            Map.of(
                                    "expression",
                                    "(() => { const s = [...document.querySelectorAll('svg')];"
                                            + " return JSON.stringify([s.length, s.filter(e => { const r ="
                                            + " e.getBoundingClientRect(); return r.width > 0 && r.height > 0 &&"
                                            + " e.querySelectorAll('path,rect,line,text').length > 0; }).length,"
                                            + " document.documentElement.scrollHeight]); })()",
                                    "returnByValue",
                                    true))
                    .path("result")
                    .path("value");
            JsonNode c = JSON.readTree(counts.asText());
            int height = Math.min(c.get(2).asInt(), 16000);
            cdp.call(
                    "Emulation.setDeviceMetricsOverride",
                    Map.of("width", 1200, "height", height, "deviceScaleFactor", 1, "mobile", false));
            JsonNode shot = cdp.call("Page.captureScreenshot", Map.of("format", "png", "captureBeyondViewport", true));
            byte[] bytes = Base64.getDecoder().decode(shot.path("data").asText());
            Files.createDirectories(png.toAbsolutePath().getParent());
            Files.write(png, bytes);
            Thread.sleep(200); // late console events
            return new PageResult(
                    List.copyOf(cdp.errors), c.get(0).asInt(), c.get(1).asInt(), bytes.length);
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        // chromium's own children (zygote, renderer, GPU and network processes) by their PIDs, then the browser
        List<ProcessHandle> children = process.descendants().toList();
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor();
        }
        for (ProcessHandle c : children) {
            c.destroy();
        }
        for (ProcessHandle c : children) {
            try {
                c.onExit().get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                c.destroyForcibly();
            }
        }
        removeProfile();
    }

    /** Removes the profile directory; a file that a dying chromium process removes meanwhile is no error. */
    private void removeProfile() throws IOException {
        for (int attempt = 0; ; attempt++) {
            try (var files = Files.walk(profile)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
                return;
            } catch (java.io.UncheckedIOException | java.nio.file.DirectoryNotEmptyException e) {
                if (attempt == 4) {
                    throw e;
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /** A DevTools protocol session on one WebSocket: numbered calls, awaited events, collected errors. */
    private static final class Cdp implements WebSocket.Listener, AutoCloseable {
        private final WebSocket socket;
        private final AtomicInteger ids = new AtomicInteger();
        private final Map<Integer, CompletableFuture<JsonNode>> calls = new ConcurrentHashMap<>();
        private final Map<String, CompletableFuture<JsonNode>> events = new ConcurrentHashMap<>();
        private final List<String> errors = new CopyOnWriteArrayList<>();
        private final StringBuilder partial = new StringBuilder();

        Cdp(HttpClient http, String url) throws Exception {
            socket = http.newWebSocketBuilder()
                    .connectTimeout(Duration.ofSeconds(10))
                    .buildAsync(URI.create(url), this)
                    .get(10, TimeUnit.SECONDS);
        }

        JsonNode call(String method, Map<String, Object> params) throws Exception {
            int id = ids.incrementAndGet();
            CompletableFuture<JsonNode> f = new CompletableFuture<>();
            calls.put(id, f);
            ObjectNode msg = JSON.createObjectNode();
            msg.put("id", id).put("method", method).set("params", JSON.valueToTree(params));
            socket.sendText(JSON.writeValueAsString(msg), true).get(10, TimeUnit.SECONDS);
            JsonNode r = f.get(30, TimeUnit.SECONDS);
            if (r.has("error")) {
                throw new IOException(method + ": " + r.get("error"));
            }
            return r.path("result");
        }

        CompletableFuture<JsonNode> event(String method) {
            return events.computeIfAbsent(method, k -> new CompletableFuture<>());
        }

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                String text = partial.toString();
                partial.setLength(0);
                try {
                    dispatch(JSON.readTree(text));
                } catch (IOException e) {
                    errors.add("unreadable DevTools message: " + e.getMessage());
                }
            }
            ws.request(1);
            return null;
        }

        private void dispatch(JsonNode m) {
            if (m.has("id")) {
                CompletableFuture<JsonNode> f = calls.remove(m.get("id").asInt());
                if (f != null) {
                    f.complete(m);
                }
                return;
            }
            String method = m.path("method").asText();
            JsonNode p = m.path("params");
            switch (method) {
                case "Runtime.exceptionThrown" ->
                    errors.add("exception: "
                            + p.path("exceptionDetails")
                                    .path("exception")
                                    .path("description")
                                    .asText(p.path("exceptionDetails")
                                            .path("text")
                                            .asText()));
                case "Runtime.consoleAPICalled" -> {
                    if (p.path("type").asText().equals("error")) {
                        List<String> args = new ArrayList<>();
                        p.path("args")
                                .forEach(a -> args.add(a.path("value")
                                        .asText(a.path("description").asText())));
                        errors.add("console.error: " + String.join(" ", args));
                    }
                }
                case "Log.entryAdded" -> {
                    if (p.path("entry").path("level").asText().equals("error")) {
                        errors.add("log: " + p.path("entry").path("text").asText() + " "
                                + p.path("entry").path("url").asText());
                    }
                }
                default -> {}
            }
            event(method).complete(p);
        }

        @Override
        public void close() {
            socket.sendClose(WebSocket.NORMAL_CLOSURE, "done").orTimeout(5, TimeUnit.SECONDS);
        }
    }
}
