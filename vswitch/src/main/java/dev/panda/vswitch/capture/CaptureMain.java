package dev.panda.vswitch.capture;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * {@code panda capture export NAME --pcap FILE [--from T] [--to T] [--port P] [--state-dir DIR]}
 * and {@code panda capture tail NAME [--count N] [--from-start] [--state-dir DIR]}: read a
 * capture's queue directory ({@code <state-dir>/captures/NAME}) while the vswitch writes it or after
 * it has exited. A bad argument: one line, exit 2; a capture that cannot be read: one line, exit 1.
 */
public final class CaptureMain {

    static final String USAGE = """
            usage: panda capture export NAME --pcap FILE [--from T] [--to T] [--port P] [--state-dir DIR]
                   panda capture tail NAME [--count N] [--from-start] [--state-dir DIR]
              export        write the capture's frames as pcap with nanosecond timestamps (tcpdump -r, tshark -r)
              tail          print one line per frame as it is captured (from the end; --from-start: all)
              --pcap FILE   the pcap file to write (- for stdout)
              --from T      only frames at or after T: ISO-8601 (2026-12-03T08:00:00Z) or Unix seconds (1733212800.5)
              --to T        only frames before T
              --port P      only frames of port P (its name or id)
              --count N     tail: stop after N frames
              --state-dir D where the vswitch keeps its state (default /var/lib/panda)
            """;

    static final class UsageException extends RuntimeException {
        UsageException(String m) {
            super(m);
        }
    }

    private CaptureMain() {}

    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("-h") || args[0].equals("--help") || args[0].equals("help")) {
            (args.length == 0 ? err : out).print(USAGE);
            return args.length == 0 ? 2 : 0;
        }
        String verb = args[0];
        String name = null;
        Path pcap = null;
        Path stateDir = Captures.DEFAULT_STATE_DIR;
        Long from = null;
        Long to = null;
        String port = null;
        long count = Long.MAX_VALUE;
        boolean fromStart = false;
        try {
            if (!verb.equals("export") && !verb.equals("tail")) {
                throw new UsageException("unknown verb '" + verb + "'; verbs: export, tail (see panda capture --help)");
            }
            for (int i = 1; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--pcap", "--from", "--to", "--port", "--state-dir", "--count" -> {
                        if (i + 1 >= args.length) {
                            throw new UsageException(a + " needs a value");
                        }
                        String v = args[++i];
                        switch (a) {
                            case "--pcap" -> pcap = Path.of(v);
                            case "--from" -> from = time(a, v);
                            case "--to" -> to = time(a, v);
                            case "--port" -> port = v;
                            case "--state-dir" -> stateDir = Path.of(v);
                            default -> count = positive(a, v);
                        }
                    }
                    case "--from-start" -> fromStart = true;
                    default -> {
                        if (a.startsWith("-") || name != null) {
                            throw new UsageException("unexpected argument '" + a + "' (see panda capture --help)");
                        }
                        name = a;
                    }
                }
            }
            if (name == null) {
                throw new UsageException(verb + ": no capture NAME given");
            }
            if (verb.equals("export") && pcap == null) {
                throw new UsageException("export: --pcap FILE is required");
            }
            if (verb.equals("tail") && (pcap != null || from != null || to != null)) {
                throw new UsageException("tail: --pcap, --from and --to are for export");
            }
        } catch (UsageException | java.nio.file.InvalidPathException e) {
            err.println("panda capture: " + e.getMessage());
            return 2;
        }
        Path dir = stateDir.resolve("captures").resolve(name);
        try {
            Meta meta = Meta.read(dir);
            int portId = port == null ? -1 : meta.portId(port);
            return verb.equals("export")
                    ? export(dir, pcap, from, to, portId, meta, out, err)
                    : tail(dir, meta, portId, count, fromStart, out, err);
        } catch (IllegalArgumentException e) {
            err.println("panda capture: " + e.getMessage());
            return 1;
        } catch (IOException e) {
            err.println("panda capture: " + e.getMessage());
            return 1;
        }
    }

    /** What capture.json says: the port's name and id, the snap length. */
    record Meta(String port, int portId, int snaplen) {
        static Meta read(Path dir) {
            Path f = dir.resolve("capture.json");
            if (!Files.exists(f)) {
                return new Meta(null, -1, CaptureRecord.MAX_FRAME);
            }
            try {
                JsonNode n = new ObjectMapper().readTree(Files.readAllBytes(f));
                return new Meta(
                        n.path("port").asText(null),
                        n.path("port-id").asInt(-1),
                        n.path("snaplen").asInt(CaptureRecord.MAX_FRAME));
            } catch (IOException e) {
                throw new IllegalArgumentException(f + ": cannot read: " + e.getMessage());
            }
        }

        int portId(String p) {
            if (p.equals(port)) {
                return portId;
            }
            try {
                return Integer.parseInt(p);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(
                        "--port " + p + ": the capture is of port " + port + " (id " + portId + ")");
            }
        }

        String portName(int id) {
            return id == portId && port != null ? port : "port" + id;
        }
    }

    private static int export(
            Path dir, Path file, Long from, Long to, int portId, Meta meta, PrintStream out, PrintStream err)
            throws IOException {
        CaptureRecord r = new CaptureRecord();
        long skipped = 0;
        try (CaptureReader reader = CaptureReader.open(dir, false);
                OutputStream os = file.toString().equals("-") ? out : Files.newOutputStream(file);
                PcapWriter w = new PcapWriter(os, Math.max(meta.snaplen(), 1))) {
            while (reader.next(r)) {
                if ((from != null && r.timestampNanos < from)
                        || (to != null && r.timestampNanos >= to)
                        || (portId >= 0 && r.port != portId)) {
                    skipped++;
                    continue;
                }
                w.write(r.timestampNanos, r.originalLength, r.buffer, CaptureRecord.HEADER, r.capturedLength);
            }
            w.close();
            PrintStream note = file.toString().equals("-") ? err : out;
            note.println("panda capture: " + w.packets() + " packets to " + file
                    + (skipped > 0 ? " (" + skipped + " outside --from/--to/--port)" : "")
                    + (reader.damaged() > 0
                            ? "; " + reader.damaged() + " damaged records skipped, the first: " + reader.firstDamage()
                            : ""));
        }
        return 0;
    }

    private static int tail(
            Path dir, Meta meta, int portId, long count, boolean fromStart, PrintStream out, PrintStream err) {
        CaptureRecord r = new CaptureRecord();
        long printed = 0;
        try (CaptureReader reader = CaptureReader.open(dir, !fromStart)) {
            while (printed < count) {
                if (!reader.next(r)) {
                    out.flush();
                    try {
                        Thread.sleep(10);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                    continue;
                }
                if (portId >= 0 && r.port != portId) {
                    continue;
                }
                out.println(FrameSummary.line(r, meta.portName(r.port)));
                printed++;
            }
            out.flush();
            if (reader.damaged() > 0) {
                err.println("panda capture: " + reader.damaged() + " damaged records skipped, the first: "
                        + reader.firstDamage());
            }
        }
        return 0;
    }

    /** ISO-8601 instant or Unix seconds (with a fraction), as nanoseconds since the epoch. */
    static long time(String opt, String v) {
        try {
            if (v.matches("[0-9]+(\\.[0-9]{1,9})?")) {
                return new BigDecimal(v).movePointRight(9).longValueExact();
            }
            Instant i = Instant.parse(v);
            return Math.addExact(Math.multiplyExact(i.getEpochSecond(), 1_000_000_000L), i.getNano());
        } catch (DateTimeParseException | ArithmeticException e) {
            throw new UsageException(opt + ": '" + v
                    + "' is not a time (ISO-8601 like 2026-12-03T08:00:00Z, or Unix seconds like 1733212800.5)");
        }
    }

    private static long positive(String opt, String v) {
        try {
            long n = Long.parseLong(v);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new UsageException(opt + ": '" + v + "' is not a positive number");
    }
}
