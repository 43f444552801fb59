package dev.panda.xdp.rxfilter;

import dev.panda.dataplane.filter.RxFilter;
import dev.panda.dataplane.filter.RxFilterProvider;
import dev.panda.xdp.ebpf.BpfFormatException;
import dev.panda.xdp.ebpf.EbpfObject;
import dev.panda.xdp.prefilter.Prefilter;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code ebpf,obj=PATH.o[,prog=NAME][,engine=jit|interp]}: any XDP object the userspace engine
 * can run ({@code PATH.o[,...]} for short). Without {@code prog}, the object's only program.
 */
public class EbpfRxFilterProvider implements RxFilterProvider {

    @Override
    public String name() {
        return "ebpf";
    }

    @Override
    public String usage() {
        return "obj=PATH.o[,prog=NAME][,engine=jit|interp]: an eBPF XDP object run in userspace (also PATH.o[,...])";
    }

    @Override
    public RxFilter open(String args, int maxStreams) {
        Map<String, List<String>> a = parse(args, List.of("obj", "prog", "engine"));
        String obj = one(a, "obj");
        if (obj == null) {
            throw new IllegalArgumentException("obj=PATH.o is required");
        }
        Path path = Path.of(obj);
        if (!Files.isRegularFile(path)) {
            throw new IllegalArgumentException("no eBPF object file " + obj);
        }
        EbpfObject o = openObject(() -> EbpfObject.open(path, maxStreams), obj);
        String prog = one(a, "prog");
        if (prog == null) {
            if (o.programNames().size() != 1) {
                throw new IllegalArgumentException(
                        obj + " has programs " + o.programNames() + ": choose one with prog=NAME");
            }
            prog = o.programNames().getFirst();
        }
        return create(path.getFileName().toString(), o, prog, engine(a), maxStreams);
    }

    static EbpfRxFilter create(String source, EbpfObject o, String prog, EbpfRxFilter.Engine engine, int maxStreams) {
        try {
            return new EbpfRxFilter(source, o, prog, engine, maxStreams);
        } catch (BpfFormatException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    static EbpfObject openObject(java.util.function.Supplier<EbpfObject> open, String what) {
        try {
            return open.get();
        } catch (BpfFormatException e) {
            throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
        }
    }

    static EbpfRxFilter.Engine engine(Map<String, List<String>> a) {
        String e = one(a, "engine");
        if (e == null) {
            return EbpfRxFilter.Engine.JIT;
        }
        return switch (e.toLowerCase(Locale.ROOT)) {
            case "jit", "translator" -> EbpfRxFilter.Engine.JIT;
            case "interp", "interpreter" -> EbpfRxFilter.Engine.INTERP;
            default -> throw new IllegalArgumentException("engine=" + e + ": accepted jit, interp");
        };
    }

    /** {@code key=value} pairs separated by commas; unknown keys are refused, repeated keys kept in order. */
    static Map<String, List<String>> parse(String args, List<String> keys) {
        Map<String, List<String>> m = new LinkedHashMap<>();
        if (args.isEmpty()) {
            return m;
        }
        for (String kv : args.split(",", -1)) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException(
                        "'" + kv + "' is not key=value (keys: " + String.join(", ", keys) + ")");
            }
            String k = kv.substring(0, eq);
            if (!keys.contains(k)) {
                throw new IllegalArgumentException("unknown key '" + k + "' (keys: " + String.join(", ", keys) + ")");
            }
            m.computeIfAbsent(k, x -> new java.util.ArrayList<>()).add(kv.substring(eq + 1));
        }
        return m;
    }

    static String one(Map<String, List<String>> a, String key) {
        List<String> v = a.get(key);
        if (v == null) {
            return null;
        }
        if (v.size() > 1) {
            throw new IllegalArgumentException(key + " given " + v.size() + " times");
        }
        return v.getFirst();
    }

    /**
     * The panda prefilter ({@code prefilter.o} from the class path), with optional source-prefix
     * drop rules {@code drop=ADDR/LEN} (repeatable, rule ids 0, 1, ... in order).
     */
    public static final class PrefilterProvider implements RxFilterProvider {

        @Override
        public String name() {
            return "prefilter";
        }

        @Override
        public String usage() {
            return "[engine=jit|interp][,drop=ADDR/LEN...]: panda's prefilter.o in userspace; rules via Prefilter";
        }

        @Override
        public RxFilter open(String args, int maxStreams) {
            Map<String, List<String>> a = parse(args, List.of("engine", "drop"));
            EbpfRxFilter.Engine engine = engine(a);
            List<String> drops = a.getOrDefault("drop", List.of());
            record Rule(InetAddress addr, int len) {}
            List<Rule> rules = new java.util.ArrayList<>();
            for (String d : drops) {
                int slash = d.indexOf('/');
                if (slash <= 0
                        || !d.substring(0, slash).matches("[0-9a-fA-F.:]+")
                        || !d.substring(slash + 1).matches("[0-9]{1,3}")) {
                    throw new IllegalArgumentException("drop=" + d + ": expected ADDR/LEN, e.g. 198.18.5.0/24");
                }
                try {
                    rules.add(new Rule(
                            InetAddress.getByName(d.substring(0, slash)), Integer.parseInt(d.substring(slash + 1))));
                } catch (UnknownHostException e) {
                    throw new IllegalArgumentException("drop=" + d + ": not an address");
                }
            }
            EbpfObject o =
                    openObject(() -> EbpfObject.openResource(Prefilter.RESOURCE, maxStreams), Prefilter.RESOURCE);
            EbpfRxFilter f = create("prefilter.o", o, Prefilter.PROGRAM, engine, maxStreams);
            Prefilter p = f.prefilter();
            for (int i = 0; i < rules.size(); i++) {
                p.dropSourcePrefix(rules.get(i).addr(), rules.get(i).len(), i);
            }
            return f;
        }
    }
}
