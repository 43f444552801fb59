package dev.panda.vswitch.capture;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.panda.dataplane.port.Port;
import dev.panda.jextract.Pcap;
import dev.panda.vswitch.VswitchException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The running captures of one vswitch, under {@code <state-dir>/captures/}. Called by the control
 * side only (under the vswitch's lock); the data path sees them through {@link #taps()}. A
 * housekeeping thread applies each capture's retention every few seconds.
 */
public final class Captures implements AutoCloseable {

    /** The default state directory (journals and captures). */
    public static final Path DEFAULT_STATE_DIR = Path.of("/var/lib/panda");

    private final Path root;
    private final Map<String, Capture> running = new LinkedHashMap<>();
    private final Thread retention;
    private volatile List<Capture> list = List.of();
    private volatile boolean closed;

    /** Chronicle's own loggers, held so the level set below stays. */
    private static final java.util.logging.Logger CHRONICLE_LOG = java.util.logging.Logger.getLogger("net.openhft");

    /**
     * Chronicle Queue logs its start-up (version, page sizes, mapping times, a release-notes
     * invitation) at INFO through SLF4J to java.util.logging; panda keeps its warnings only.
     */
    static void quietLibraryLogs() {
        if (CHRONICLE_LOG.getLevel() == null) {
            CHRONICLE_LOG.setLevel(java.util.logging.Level.WARNING);
        }
    }

    public Captures(Path stateDir) {
        quietLibraryLogs();
        this.root = stateDir.resolve("captures");
        this.retention =
                Thread.ofPlatform().name("panda-capture-retention").daemon(true).unstarted(this::retain);
        retention.start();
    }

    public Path root() {
        return root;
    }

    /**
     * Compiles the filter, opens the queue and starts the writer. The caller publishes
     * {@link #taps()} to the data path afterwards.
     *
     * @param slots data-path threads that may offer frames (each runs its own filter copy)
     * @param maxFrame the most bytes a frame on the data path can have (ring slots are no larger)
     */
    public synchronized CaptureView start(CaptureSpec spec, int portId, Port port, int slots, int maxFrame) {
        if (running.containsKey(spec.name())) {
            throw VswitchException.conflict("capture " + spec.name() + " is running (capture stop it first)");
        }
        CbpfProgram filter = compile(spec.filter(), spec.snaplen());
        Path dir = root.resolve(spec.name());
        Capture c;
        try {
            Files.createDirectories(dir);
            writeMeta(dir, spec, portId);
            c = Capture.start(spec, spec.port(), dir, portId, port, filter, slots, maxFrame);
        } catch (IOException | RuntimeException e) {
            throw new VswitchException(500, "capture " + spec.name() + ": cannot open " + dir + ": " + oneLine(e), e);
        }
        running.put(spec.name(), c);
        list = List.copyOf(running.values());
        return view(c, "running");
    }

    /** A filter expression as a validated program, or null for none; 400 with libpcap's message. */
    public static CbpfProgram compile(String expression, int snaplen) {
        if (expression == null) {
            return null;
        }
        if (!Pcap.isAvailable()) {
            throw new VswitchException(
                    500,
                    "filter: libpcap is not available to compile it: "
                            + Pcap.unavailabilityCause().getMessage() + " (install libpcap-dev)");
        }
        long[] insns;
        try {
            insns = Pcap.compile(expression, snaplen);
        } catch (Pcap.CompileException e) {
            throw CaptureSpec.bad("filter: '" + expression + "': " + e.getMessage(), "filter");
        }
        try {
            return CbpfProgram.validate(insns);
        } catch (CbpfProgram.InvalidProgramException e) {
            throw CaptureSpec.bad(
                    "filter: '" + expression + "' compiles to a program refused: " + e.getMessage(), "filter");
        }
    }

    private static void writeMeta(Path dir, CaptureSpec spec, int portId) throws IOException {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("name", spec.name())
                .put("port", spec.port())
                .put("port-id", portId)
                .put("dir", spec.dir());
        n.put("snaplen", spec.snaplen()).put("filter", spec.filter()).put("roll", spec.roll());
        n.put("max-bytes", spec.maxBytes()).put("max-age", spec.maxAge());
        n.put("started", Instant.now().toString());
        Path tmp = dir.resolve("capture.json.tmp");
        Files.writeString(tmp, n.toPrettyString() + "\n", StandardCharsets.UTF_8);
        Files.move(
                tmp,
                dir.resolve("capture.json"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Takes the capture out of the running set; the caller publishes {@link #taps()} and then calls
     * {@link #finish} to drain and close it.
     */
    public synchronized Capture remove(String name) {
        Capture c = running.remove(name);
        if (c == null) {
            throw VswitchException.notFound("no capture " + name + " (capture list)");
        }
        list = List.copyOf(running.values());
        return c;
    }

    /** Stops the tap, drains the ring into the queue, closes it; the final counters. */
    public CaptureView finish(Capture c) {
        c.close();
        return view(c, "stopped");
    }

    /** The taps of the running captures, for the data path. */
    public synchronized Taps taps(int maxPorts) {
        List<CaptureTap> t = new ArrayList<>();
        for (Capture c : running.values()) {
            t.add(c.tap);
        }
        return t.isEmpty() ? Taps.NONE : new Taps(t, maxPorts);
    }

    public synchronized List<CaptureView> list() {
        List<CaptureView> out = new ArrayList<>();
        for (Capture c : running.values()) {
            out.add(view(c, "running"));
        }
        return out;
    }

    private static CaptureView view(Capture c, String state) {
        CaptureSpec s = c.spec;
        long captured = c.captured();
        long dropped = c.tap.dropped() + c.writeErrors();
        long matched = c.tap.matched();
        return new CaptureView(
                s.name(),
                c.portName,
                s.dir(),
                s.snaplen(),
                s.filter(),
                s.roll(),
                s.maxBytes(),
                s.maxAge(),
                c.directory.toString(),
                state,
                c.ringSlots(),
                matched,
                captured,
                dropped,
                Math.max(0, matched - captured - dropped),
                c.capturedBytes(),
                Retention.queueBytes(c.directory));
    }

    private void retain() {
        while (!closed) {
            try {
                Thread.sleep(5_000);
            } catch (InterruptedException e) {
                return;
            }
            for (Capture c : list) {
                Retention.apply(c.directory, c.spec.maxBytes(), c.spec.maxAge() * 1000, System.currentTimeMillis());
            }
        }
    }

    /** Stops every capture (the data path must already be stopped or given {@link Taps#NONE}). */
    @Override
    public synchronized void close() {
        closed = true;
        retention.interrupt();
        for (Capture c : running.values()) {
            c.close();
        }
        running.clear();
        list = List.of();
    }

    static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.strip().replaceAll("\\s*\\R\\s*", " ");
    }
}
