package dev.panda.pmd.virtio.guest;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The cases a guest's JVM runs, one line each on the console: {@code PANDA-CASE name ok|FAIL ms
 * detail}. The guest side is {@link #run}; the host side {@link #check} reads the lines back,
 * prints them and asserts that exactly the expected cases passed.
 */
public final class GuestCases {

    public static final Pattern CASE = Pattern.compile("PANDA-CASE (\\S+) (ok|FAIL) (\\d+) ms ?(.*)");

    /** A case: returns its detail line, throws when it fails. */
    public interface Case {
        String run() throws Throwable;
    }

    private final PrintStream out;
    private int failures;

    public GuestCases(PrintStream out) {
        this.out = out;
    }

    /** Guest side: runs one case and prints its line (and the stack trace of a failure). */
    public void run(String name, Case c) {
        long t0 = System.nanoTime();
        try {
            String detail = c.run();
            out.printf("PANDA-CASE %s ok %d ms %s%n", name, (System.nanoTime() - t0) / 1_000_000, oneLine(detail));
        } catch (Throwable t) {
            failures++;
            out.printf(
                    "PANDA-CASE %s FAIL %d ms %s%n", name, (System.nanoTime() - t0) / 1_000_000, oneLine(t.toString()));
            t.printStackTrace(out);
        }
    }

    public int failures() {
        return failures;
    }

    /** Fails the case with {@code what} unless {@code ok}. */
    public static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    private static String oneLine(String s) {
        return String.valueOf(s).replace('\n', ' ');
    }

    /** Host side: the cases' results in console order (a name seen twice keeps its last result). */
    public static Map<String, String> parse(String console) {
        Map<String, String> out = new LinkedHashMap<>();
        Matcher m = CASE.matcher(console);
        while (m.find()) {
            out.put(m.group(1), m.group(2) + " " + m.group(3) + " ms " + m.group(4));
        }
        return out;
    }

    /** Host side: prints every case, asserts none failed and that {@code expected} passed, in order. */
    public static void check(String console, List<String> expected) {
        Matcher m = CASE.matcher(console);
        List<String> passed = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        while (m.find()) {
            System.out.printf("  %-24s %-4s %6s ms  %s%n", m.group(1), m.group(2), m.group(3), m.group(4));
            if (m.group(2).equals("ok")) {
                passed.add(m.group(1));
            } else {
                failed.add(m.group(1) + ": " + m.group(4));
            }
        }
        String tail = tail(console, 80);
        // plain AssertionErrors: this class also runs in the guest, where JUnit is not on the classpath
        if (!failed.isEmpty()) {
            throw new AssertionError("failed cases " + failed + "\n" + tail);
        }
        if (!expected.equals(passed)) {
            throw new AssertionError("cases that passed: " + passed + ", expected " + expected + "\n" + tail);
        }
    }

    /** The last {@code n} lines of a console. */
    public static String tail(String console, int n) {
        String[] lines = console.split("\n");
        return String.join("\n", List.of(lines).subList(Math.max(0, lines.length - n), lines.length));
    }
}
