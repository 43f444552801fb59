package dev.panda.xdp.cli;

import dev.panda.xdp.bpf.BpfFs;
import dev.panda.xdp.bpf.BpfMap;
import dev.panda.xdp.bpf.BpfObject;
import dev.panda.xdp.bpf.BpfSupport;
import dev.panda.xdp.bpf.Xdp;
import dev.panda.xdp.bpf.XdpAttachment;
import dev.panda.xdp.bpf.XdpMode;
import dev.panda.xdp.prefilter.Prefilter;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code panda xdp load|unload|status|map dump|map update}: the operator's view of XDP programs.
 * {@code load} attaches a program for good (it outlives this process) and pins its maps and
 * programs under {@code /sys/fs/bpf/panda/IF}; the other commands work from those pins, and
 * {@code net_af_xdp} ports on IF then reuse the pinned prefilter and its rules.
 */
public final class XdpCommand {

    private static final HexFormat HEX = HexFormat.of();

    private XdpCommand() {}

    public static int run(String[] args, PrintStream out, PrintStream err) {
        try {
            return dispatch(new ArrayList<>(List.of(args)), out);
        } catch (UsageError e) {
            err.println("panda xdp: " + e.getMessage());
            err.println(USAGE);
            return 2;
        } catch (RuntimeException e) {
            err.println("panda xdp: " + e.getMessage());
            return 1;
        }
    }

    static final String USAGE = """
            usage: panda xdp load --iface IF [--mode skb|native|offload] [--object FILE.o --program NAME] [--default pass|redirect]
                   panda xdp unload --iface IF
                   panda xdp status [--iface IF]
                   panda xdp map dump --iface IF MAP
                   panda xdp map update --iface IF MAP KEY VALUE   (hex bytes, or for the prefilter:
                         pf_src_v4/pf_src_v6 KEY = ADDR/LEN and VALUE = rule id; pf_config VALUE = pass|redirect)
                   panda xdp map delete --iface IF MAP KEY
            Pins live under /sys/fs/bpf/panda/IF (a bpffs is mounted at /sys/fs/bpf when none is).""";

    static final class UsageError extends RuntimeException {
        UsageError(String m) {
            super(m);
        }
    }

    private static int dispatch(List<String> a, PrintStream out) {
        if (a.isEmpty()
                || a.get(0).equals("help")
                || a.get(0).equals("--help")
                || a.get(0).equals("-h")) {
            out.println(USAGE);
            return a.isEmpty() ? 2 : 0;
        }
        String cmd = a.remove(0);
        Map<String, String> opt = options(a);
        if (!BpfSupport.isAvailable()
                && List.of("load", "unload", "status", "map").contains(cmd)) {
            throw new IllegalStateException(BpfSupport.unavailabilityCause()); // one line, status 1
        }
        return switch (cmd) {
            case "load" -> load(opt, out);
            case "unload" -> unload(opt, out);
            case "status" -> status(opt, out);
            case "map" -> {
                if (a.isEmpty()) {
                    throw new UsageError("map needs dump, update or delete");
                }
                String sub = a.remove(0);
                yield switch (sub) {
                    case "dump" -> mapDump(opt, a, out);
                    case "update" -> mapUpdate(opt, a, out, false);
                    case "delete" -> mapUpdate(opt, a, out, true);
                    default -> throw new UsageError("unknown map command '" + sub + "'");
                };
            }
            default -> throw new UsageError("unknown command '" + cmd + "'");
        };
    }

    /** Removes {@code --key value} pairs from {@code a}; what stays are positional arguments. */
    private static Map<String, String> options(List<String> a) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < a.size(); ) {
            String s = a.get(i);
            if (s.startsWith("--")) {
                String k = s.substring(2);
                String v;
                int eq = k.indexOf('=');
                if (eq >= 0) {
                    v = k.substring(eq + 1);
                    k = k.substring(0, eq);
                    a.remove(i);
                } else {
                    if (i + 1 >= a.size()) {
                        throw new UsageError("--" + k + " needs a value");
                    }
                    v = a.get(i + 1);
                    a.remove(i);
                    a.remove(i);
                }
                m.put(k, v);
            } else {
                i++;
            }
        }
        return m;
    }

    private static String iface(Map<String, String> opt) {
        String i = opt.get("iface");
        if (i == null) {
            throw new UsageError("--iface IF is required");
        }
        return i;
    }

    static Path pinDir(String iface) {
        return BpfFs.DEFAULT_DIR.resolve(iface);
    }

    private static int load(Map<String, String> opt, PrintStream out) {
        String iface = iface(opt);
        XdpMode mode = XdpMode.parse(opt.getOrDefault("mode", "native"));
        String object = opt.get("object");
        String program = opt.getOrDefault("program", object == null ? Prefilter.PROGRAM : null);
        if (program == null) {
            throw new UsageError("--object needs --program NAME");
        }
        Path pins = pinDir(iface);
        if (Files.exists(pins)) {
            throw new IllegalStateException(pins + " exists: " + iface
                    + " has a program loaded by panda (panda xdp unload --iface " + iface + ")");
        }
        Xdp.Loaded l = Xdp.load(
                () -> object == null ? BpfObject.openResource(Prefilter.RESOURCE) : BpfObject.open(Path.of(object)),
                program,
                iface,
                mode,
                false);
        try (BpfObject obj = l.object()) {
            obj.pinAll(pins);
            if (object == null) {
                new Prefilter(obj)
                        .setDefault(Prefilter.Default.valueOf(
                                opt.getOrDefault("default", "pass").toUpperCase(java.util.Locale.ROOT)));
            }
            out.printf(
                    "loaded %s program %s on %s in %s mode (prog id %d); maps pinned under %s%n",
                    obj.name(), program, iface, mode.label(), l.attachment().programId(), pins);
        } catch (RuntimeException e) {
            l.attachment().close();
            BpfFs.unpinAll(pins);
            throw e;
        }
        return 0;
    }

    private static int unload(Map<String, String> opt, PrintStream out) {
        String iface = iface(opt);
        boolean any = false;
        for (XdpMode m : XdpMode.values()) {
            if (XdpAttachment.detachAny(iface, m)) {
                out.printf("detached the %s-mode XDP program from %s%n", m.label(), iface);
                any = true;
            }
        }
        Path pins = pinDir(iface);
        if (Files.exists(pins)) {
            BpfFs.unpinAll(pins);
            out.printf("removed pins under %s%n", pins);
            any = true;
        }
        if (!any) {
            out.printf("%s runs no XDP program%n", iface);
        }
        return 0;
    }

    private static int status(Map<String, String> opt, PrintStream out) {
        List<String> ifaces = new ArrayList<>();
        if (opt.containsKey("iface")) {
            ifaces.add(opt.get("iface"));
        } else {
            try (var s = Files.list(Path.of("/sys/class/net"))) {
                s.map(p -> p.getFileName().toString()).sorted().forEach(ifaces::add);
            } catch (IOException e) {
                throw new IllegalStateException("cannot list interfaces: " + e.getMessage(), e);
            }
        }
        int shown = 0;
        for (String iface : ifaces) {
            int idx = XdpAttachment.ifindex(iface);
            StringBuilder sb = new StringBuilder();
            for (XdpMode m : XdpMode.values()) {
                int id = XdpAttachment.attachedId(idx, m);
                if (id != 0) {
                    sb.append(' ').append(m.label()).append(":prog-id=").append(id);
                }
            }
            Path pins = pinDir(iface);
            if (sb.isEmpty() && !Files.exists(pins)) {
                if (opt.containsKey("iface")) {
                    out.printf("%s: no XDP program%n", iface);
                }
                continue;
            }
            shown++;
            out.printf("%s:%s%n", iface, sb.isEmpty() ? " no XDP program attached" : sb);
            if (Files.exists(pins.resolve(Prefilter.MAP_ACTION_HITS))) {
                try (Prefilter pf = Prefilter.openPinned(pins)) {
                    out.printf("  pins %s, prefilter actions %s%n", pins, pf.actionCounts());
                }
            }
        }
        if (shown == 0 && !opt.containsKey("iface")) {
            out.println("no interface runs an XDP program");
        }
        return 0;
    }

    private static BpfMap pinnedMap(Map<String, String> opt, List<String> pos) {
        if (pos.isEmpty()) {
            throw new UsageError("which map? e.g. " + Prefilter.MAP_ACTION_HITS);
        }
        Path p = pinDir(iface(opt)).resolve(pos.remove(0));
        if (!Files.exists(p)) {
            throw new IllegalArgumentException("no pinned map " + p + " (panda xdp load first)");
        }
        return BpfMap.openPinned(p.toString());
    }

    private static int mapDump(Map<String, String> opt, List<String> pos, PrintStream out) {
        try (BpfMap m = pinnedMap(opt, pos)) {
            out.printf(
                    "# %s: type %d, key %d bytes, value %d bytes%s, max %d%n",
                    m.name(),
                    m.type(),
                    m.keySize(),
                    m.valueSize(),
                    m.perCpu() ? " per CPU x " + BpfMap.possibleCpus() : "",
                    m.maxEntries());
            int[] n = {0};
            m.forEach((k, v) -> {
                n[0]++;
                String key = HEX.formatHex(k.toArray(ValueLayout.JAVA_BYTE));
                if (m.perCpu() && m.valueSize() == 8) {
                    out.printf("%s: %d%n", key, m.sumSlots(v, 0));
                } else {
                    out.printf(
                            "%s: %s%n",
                            key, HEX.formatHex(v.asSlice(0, m.valueBufferSize()).toArray(ValueLayout.JAVA_BYTE)));
                }
            });
            out.printf("# %d entries%n", n[0]);
        }
        return 0;
    }

    private static int mapUpdate(Map<String, String> opt, List<String> pos, PrintStream out, boolean delete) {
        try (BpfMap m = pinnedMap(opt, pos);
                Arena a = Arena.ofConfined()) {
            if (pos.size() != (delete ? 1 : 2)) {
                throw new UsageError(delete ? "map delete needs MAP KEY" : "map update needs MAP KEY VALUE");
            }
            MemorySegment key = parse(a, m, pos.get(0), m.keySize(), true);
            if (delete) {
                out.println(m.delete(key) ? "deleted" : "no such key");
                return 0;
            }
            MemorySegment value = parse(a, m, pos.get(1), (int) m.valueBufferSize(), false);
            m.update(key, value);
            out.println("updated " + m.name());
        }
        return 0;
    }

    /** Hex bytes, or the prefilter's readable forms (ADDR/LEN, a decimal u32, pass|redirect). */
    private static MemorySegment parse(Arena a, BpfMap m, String text, int size, boolean isKey) {
        MemorySegment s = a.allocate(size, 8);
        if (isKey
                && text.contains("/")
                && (m.name().equals(Prefilter.MAP_SRC_V4) || m.name().equals(Prefilter.MAP_SRC_V6))) {
            try {
                String[] p = text.split("/");
                byte[] addr = InetAddress.getByName(p[0]).getAddress();
                if (4 + addr.length != size) {
                    throw new IllegalArgumentException(text + " is the wrong family for " + m.name());
                }
                s.set(ValueLayout.JAVA_INT, 0, Integer.parseInt(p[1]));
                MemorySegment.copy(addr, 0, s, ValueLayout.JAVA_BYTE, 4, addr.length);
                return s;
            } catch (IOException e) {
                throw new IllegalArgumentException("not an address: " + text, e);
            }
        }
        if (!isKey && m.name().equals(Prefilter.MAP_CONFIG) && (text.equals("pass") || text.equals("redirect"))) {
            s.set(
                    ValueLayout.JAVA_INT,
                    0,
                    Prefilter.Default.valueOf(text.toUpperCase(java.util.Locale.ROOT))
                            .ordinal());
            return s;
        }
        if (text.matches("\\d+") && size == 4) {
            s.set(ValueLayout.JAVA_INT, 0, Integer.parseUnsignedInt(text));
            return s;
        }
        byte[] b = HEX.parseHex(text.replace(":", "").replace(" ", ""));
        if (b.length != size) {
            throw new IllegalArgumentException(
                    m.name() + " wants " + size + " bytes here, " + text + " has " + b.length);
        }
        MemorySegment.copy(b, 0, s, ValueLayout.JAVA_BYTE, 0, b.length);
        return s;
    }
}
