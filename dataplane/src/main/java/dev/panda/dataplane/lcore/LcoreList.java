package dev.panda.dataplane.lcore;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;

/**
 * The lcore map from EAL options: {@code -l 0-3}, {@code -l 0,2}, {@code --lcores 0@0,1@1},
 * {@code --lcores (0-1)@1}, or a hex coremask ({@code -c 0x3}). Each lcore id maps to the CPUs its
 * thread is pinned to. The first lcore is the main one; the rest may forward.
 */
public final class LcoreList {

    private final TreeMap<Integer, int[]> lcores;

    private LcoreList(TreeMap<Integer, int[]> lcores) {
        this.lcores = lcores;
    }

    /** Parses a {@code -l} corelist such as {@code 0-2,5}: lcore N runs on CPU N. */
    public static LcoreList parseCoreList(String s) {
        TreeMap<Integer, int[]> map = new TreeMap<>();
        for (int id : parseRange(s, "-l")) {
            map.put(id, new int[] {id});
        }
        return new LcoreList(map);
    }

    /** Parses a hex coremask such as {@code 0x3}. */
    public static LcoreList parseCoreMask(String s) {
        String hex = s.startsWith("0x") || s.startsWith("0X") ? s.substring(2) : s;
        long mask;
        try {
            mask = Long.parseUnsignedLong(hex, 16);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid coremask '" + s + "': expected hex, e.g. 0x3");
        }
        if (mask == 0) {
            throw new IllegalArgumentException("invalid coremask '" + s + "': no core selected");
        }
        TreeMap<Integer, int[]> map = new TreeMap<>();
        for (int i = 0; i < 64; i++) {
            if ((mask & (1L << i)) != 0) {
                map.put(i, new int[] {i});
            }
        }
        return new LcoreList(map);
    }

    /** Parses a {@code --lcores} map: {@code LCORES[@CPUS]} groups, e.g. {@code 0@0,(1-2)@1}. */
    public static LcoreList parseLcores(String s) {
        TreeMap<Integer, int[]> map = new TreeMap<>();
        for (String group : splitTop(s)) {
            String left = group;
            String right = null;
            int at = group.indexOf('@');
            if (at >= 0) {
                left = group.substring(0, at);
                right = group.substring(at + 1);
            }
            int[] ids = parseRange(unparen(left), "--lcores");
            for (int id : ids) {
                int[] cpus = right == null ? new int[] {id} : parseRange(unparen(right), "--lcores");
                if (map.put(id, cpus) != null) {
                    throw new IllegalArgumentException("invalid --lcores '" + s + "': lcore " + id + " given twice");
                }
            }
        }
        return new LcoreList(map);
    }

    private static String unparen(String s) {
        return s.startsWith("(") && s.endsWith(")") ? s.substring(1, s.length() - 1) : s;
    }

    private static List<String> splitTop(String s) {
        List<String> out = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '(') {
                depth++;
            } else if (c == ')') {
                depth--;
            } else if (c == ',' && depth == 0) {
                out.add(s.substring(start, i));
                start = i + 1;
            }
        }
        out.add(s.substring(start));
        return out;
    }

    private static int[] parseRange(String s, String option) {
        List<Integer> ids = new ArrayList<>();
        if (s.isEmpty()) {
            throw new IllegalArgumentException("invalid " + option + " '': expected e.g. 0-1 or 0,2");
        }
        for (String part : s.split(",", -1)) {
            try {
                int dash = part.indexOf('-');
                int lo = Integer.parseInt(
                        dash < 0 ? part.trim() : part.substring(0, dash).trim());
                int hi = dash < 0
                        ? lo
                        : Integer.parseInt(part.substring(dash + 1).trim());
                if (lo < 0 || hi < lo || hi > 1023) {
                    throw new NumberFormatException();
                }
                for (int i = lo; i <= hi; i++) {
                    ids.add(i);
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("invalid " + option + " '" + s
                        + "': expected core numbers 0..1023 and ranges, e.g. 0-1 or 0,2");
            }
        }
        return ids.stream().mapToInt(Integer::intValue).distinct().sorted().toArray();
    }

    /** Lcore ids in order; the first is the main lcore. */
    public int[] ids() {
        return lcores.keySet().stream().mapToInt(Integer::intValue).toArray();
    }

    public int mainLcore() {
        return lcores.firstKey();
    }

    /** CPUs the lcore's thread is pinned to. */
    public int[] cpus(int lcore) {
        int[] c = lcores.get(lcore);
        return c == null ? new int[0] : c.clone();
    }

    /** The first CPU some lcore is mapped to that is not in {@code allowed}, or -1. */
    public int firstCpuNotIn(int[] allowed) {
        for (int[] cpus : lcores.values()) {
            for (int c : cpus) {
                if (Arrays.stream(allowed).noneMatch(a -> a == c)) {
                    return c;
                }
            }
        }
        return -1;
    }

    public int size() {
        return lcores.size();
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        lcores.forEach((id, cpus) -> {
            b.append(b.isEmpty() ? "" : ",").append(id);
            if (cpus.length != 1 || cpus[0] != id) {
                b.append('@')
                        .append(
                                cpus.length == 1
                                        ? Integer.toString(cpus[0])
                                        : Arrays.toString(cpus)
                                                .replace(" ", "")
                                                .replace('[', '(')
                                                .replace(']', ')'));
            }
        });
        return b.toString();
    }
}
