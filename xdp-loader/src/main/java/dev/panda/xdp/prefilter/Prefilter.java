package dev.panda.xdp.prefilter;

import static java.lang.foreign.MemoryLayout.paddingLayout;
import static java.lang.foreign.MemoryLayout.sequenceLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.panda.xdp.bpf.BpfMap;
import dev.panda.xdp.bpf.BpfObject;
import dev.panda.xdp.ebpf.EbpfMap;
import dev.panda.xdp.ebpf.EbpfObject;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Map;
import java.util.TreeMap;

/**
 * Rules and counters of the prefilter object ({@code src/main/bpf/prefilter.c}) from Java. The
 * layouts mirror {@code prefilter.h}; map and program names are the stable interface the
 * README lists. Rule updates take effect for the next packet the kernel sees: they are plain
 * map updates, no reload. The same class drives the maps of the object run by the userspace engine
 * ({@link #Prefilter(EbpfObject)}): one place knows the key and value encodings for both.
 */
public final class Prefilter implements AutoCloseable {

    public static final String RESOURCE = "/bpf/prefilter.o";
    public static final String PROGRAM = "pf_prefilter";
    public static final String MAP_SRC_V4 = "pf_src_v4";
    public static final String MAP_SRC_V6 = "pf_src_v6";
    public static final String MAP_FLOWS = "pf_flows";
    public static final String MAP_CONFIG = "pf_config";
    public static final String MAP_XSKS = "pf_xsks";
    public static final String MAP_RULE_HITS = "pf_rule_hits";
    public static final String MAP_ACTION_HITS = "pf_action_hits";

    /** pf_action_hits indexes (prefilter.h enum). */
    public enum Action {
        PASS,
        REDIRECT,
        DROP_PREFIX,
        DROP_FLOW,
        PASS_FLOW,
        MALFORMED
    }

    /** What a packet that matches no rule gets (pf_config.default_action). */
    public enum Default {
        PASS,
        REDIRECT
    }

    /** What a 5-tuple rule does (pf_flow_rule.action). */
    public enum FlowAction {
        DROP,
        PASS
    }

    public static final StructLayout LPM_V4 = structLayout(
            JAVA_INT.withName("prefixlen"), sequenceLayout(4, JAVA_BYTE).withName("addr"));
    public static final StructLayout LPM_V6 = structLayout(
            JAVA_INT.withName("prefixlen"), sequenceLayout(16, JAVA_BYTE).withName("addr"));
    public static final StructLayout FLOW = structLayout(
            sequenceLayout(16, JAVA_BYTE).withName("src"),
            sequenceLayout(16, JAVA_BYTE).withName("dst"),
            JAVA_SHORT.withName("sport"),
            JAVA_SHORT.withName("dport"),
            JAVA_BYTE.withName("proto"),
            JAVA_BYTE.withName("family"),
            paddingLayout(2));
    public static final StructLayout FLOW_RULE = structLayout(JAVA_INT.withName("action"), JAVA_INT.withName("rule"));
    public static final StructLayout CONFIG =
            structLayout(JAVA_INT.withName("default_action"), JAVA_INT.withName("reserved"));
    private static final ValueLayout.OfShort NET_SHORT = JAVA_SHORT.withOrder(java.nio.ByteOrder.BIG_ENDIAN);

    private final Table srcV4;
    private final Table srcV6;
    private final Table flows;
    private final Table config;
    private final Table xsks;
    private final Table ruleHits;
    private final Table actionHits;

    /** Over the maps of a loaded prefilter object. */
    public Prefilter(BpfObject object) {
        this(
                object.map(MAP_SRC_V4),
                object.map(MAP_SRC_V6),
                object.map(MAP_FLOWS),
                object.map(MAP_CONFIG),
                object.map(MAP_XSKS),
                object.map(MAP_RULE_HITS),
                object.map(MAP_ACTION_HITS));
    }

    /** Over maps from anywhere with the right names and sizes (e.g. opened from pins). */
    public Prefilter(
            BpfMap srcV4, BpfMap srcV6, BpfMap flows, BpfMap config, BpfMap xsks, BpfMap ruleHits, BpfMap actionHits) {
        this.srcV4 = Table.of(srcV4.withLayouts(LPM_V4, JAVA_INT));
        this.srcV6 = Table.of(srcV6.withLayouts(LPM_V6, JAVA_INT));
        this.flows = Table.of(flows.withLayouts(FLOW, FLOW_RULE));
        this.config = Table.of(config.withLayouts(JAVA_INT, CONFIG));
        this.xsks = Table.of(xsks);
        this.ruleHits = Table.of(ruleHits);
        this.actionHits = Table.of(actionHits);
    }

    /**
     * Over the maps of the prefilter object opened in the userspace engine; updates take effect
     * at the next packet a stream runs, since the engine looks the maps up per packet.
     */
    public Prefilter(EbpfObject object) {
        this.srcV4 = Table.of(object.map(MAP_SRC_V4));
        this.srcV6 = Table.of(object.map(MAP_SRC_V6));
        this.flows = Table.of(object.map(MAP_FLOWS));
        this.config = Table.of(object.map(MAP_CONFIG));
        this.xsks = Table.of(object.map(MAP_XSKS));
        this.ruleHits = Table.of(object.map(MAP_RULE_HITS));
        this.actionHits = Table.of(object.map(MAP_ACTION_HITS));
    }

    /** Maps pinned by {@code panda xdp load} under {@code dir}. */
    public static Prefilter openPinned(java.nio.file.Path dir) {
        return new Prefilter(
                BpfMap.openPinned(dir.resolve(MAP_SRC_V4).toString()),
                BpfMap.openPinned(dir.resolve(MAP_SRC_V6).toString()),
                BpfMap.openPinned(dir.resolve(MAP_FLOWS).toString()),
                BpfMap.openPinned(dir.resolve(MAP_CONFIG).toString()),
                BpfMap.openPinned(dir.resolve(MAP_XSKS).toString()),
                BpfMap.openPinned(dir.resolve(MAP_RULE_HITS).toString()),
                BpfMap.openPinned(dir.resolve(MAP_ACTION_HITS).toString()));
    }

    public void setDefault(Default d) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(CONFIG);
            v.set(JAVA_INT, 0, d.ordinal());
            config.update(a.allocateFrom(JAVA_INT, 0), v);
        }
    }

    /** Drops packets whose source lies in {@code addr/prefixLen}; {@code rule} indexes the hit counters. */
    public void dropSourcePrefix(InetAddress addr, int prefixLen, int rule) {
        checkRule(rule);
        try (Arena a = Arena.ofConfined()) {
            boolean v4 = addr instanceof Inet4Address;
            MemorySegment k = lpmKey(a, addr, prefixLen);
            (v4 ? srcV4 : srcV6).update(k, a.allocateFrom(JAVA_INT, rule));
        }
    }

    /** Removes a source-prefix rule; false when there was none. */
    public boolean removeSourcePrefix(InetAddress addr, int prefixLen) {
        try (Arena a = Arena.ofConfined()) {
            return (addr instanceof Inet4Address ? srcV4 : srcV6).delete(lpmKey(a, addr, prefixLen));
        }
    }

    private static MemorySegment lpmKey(Arena a, InetAddress addr, int prefixLen) {
        byte[] b = addr.getAddress();
        if (prefixLen < 0 || prefixLen > b.length * 8) {
            throw new IllegalArgumentException("prefix length " + prefixLen + " for " + addr.getHostAddress());
        }
        MemorySegment k = a.allocate(b.length == 4 ? LPM_V4 : LPM_V6);
        k.set(JAVA_INT, 0, prefixLen);
        MemorySegment.copy(b, 0, k, JAVA_BYTE, 4, b.length);
        return k;
    }

    /**
     * A 5-tuple rule: {@code proto} 6 (TCP), 17 (UDP), 1 / 58 (ICMP / ICMPv6: ports are type and
     * code). Both addresses must be of one family.
     */
    public void flowRule(
            InetAddress src, InetAddress dst, int proto, int sport, int dport, FlowAction action, int rule) {
        checkRule(rule);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(FLOW_RULE);
            v.set(JAVA_INT, 0, action.ordinal());
            v.set(JAVA_INT, 4, rule);
            flows.update(flowKey(a, src, dst, proto, sport, dport), v);
        }
    }

    public boolean removeFlowRule(InetAddress src, InetAddress dst, int proto, int sport, int dport) {
        try (Arena a = Arena.ofConfined()) {
            return flows.delete(flowKey(a, src, dst, proto, sport, dport));
        }
    }

    private static MemorySegment flowKey(Arena a, InetAddress src, InetAddress dst, int proto, int sport, int dport) {
        byte[] s = src.getAddress();
        byte[] d = dst.getAddress();
        if (s.length != d.length) {
            throw new IllegalArgumentException("5-tuple with mixed families: " + src + " -> " + dst);
        }
        MemorySegment k = a.allocate(FLOW);
        MemorySegment.copy(s, 0, k, JAVA_BYTE, 0, s.length);
        MemorySegment.copy(d, 0, k, JAVA_BYTE, 16, d.length);
        k.set(NET_SHORT, 32, (short) sport);
        k.set(NET_SHORT, 34, (short) dport);
        k.set(JAVA_BYTE, 36, (byte) proto);
        k.set(JAVA_BYTE, 37, (byte) (s.length == 4 ? 4 : 6));
        return k;
    }

    /** Points queue {@code queue}'s XSKMAP slot at an AF_XDP socket fd. */
    public void bindQueue(int queue, int xskFd) {
        try (Arena a = Arena.ofConfined()) {
            xsks.update(a.allocateFrom(JAVA_INT, queue), a.allocateFrom(JAVA_INT, xskFd));
        }
    }

    public boolean unbindQueue(int queue) {
        try (Arena a = Arena.ofConfined()) {
            return xsks.delete(a.allocateFrom(JAVA_INT, queue));
        }
    }

    /** The packets that ended with {@code action}, summed over CPUs. */
    public long actionCount(Action action) {
        return actionHits.sumCounter(action.ordinal());
    }

    /** The packets rule {@code rule} matched, summed over CPUs. */
    public long ruleCount(int rule) {
        return ruleHits.sumCounter(rule);
    }

    /** Every action counter by name. */
    public Map<String, Long> actionCounts() {
        Map<String, Long> m = new TreeMap<>();
        for (Action a : Action.values()) {
            m.put(a.name().toLowerCase(java.util.Locale.ROOT), actionCount(a));
        }
        return m;
    }

    private void checkRule(int rule) {
        if (rule < 0 || rule >= ruleHits.maxEntries()) {
            throw new IllegalArgumentException("rule id " + rule + " outside 0.." + (ruleHits.maxEntries() - 1));
        }
    }

    /** Closes the map fds of a prefilter opened from pins; maps of an object stay with the object. */
    @Override
    public void close() {
        for (Table m : new Table[] {srcV4, srcV6, flows, config, xsks, ruleHits, actionHits}) {
            m.close();
        }
    }

    /** The few map operations rules and counters need, on a kernel map or a userspace engine map. */
    private interface Table {
        void update(MemorySegment key, MemorySegment value);

        boolean delete(MemorySegment key);

        long sumCounter(int index);

        int maxEntries();

        void close();

        static Table of(BpfMap m) {
            return new Table() {
                public void update(MemorySegment k, MemorySegment v) {
                    m.update(k, v);
                }

                public boolean delete(MemorySegment k) {
                    return m.delete(k);
                }

                public long sumCounter(int i) {
                    return m.sumCounter(i);
                }

                public int maxEntries() {
                    return m.maxEntries();
                }

                public void close() {
                    m.close();
                }
            };
        }

        static Table of(EbpfMap m) {
            return new Table() {
                public void update(MemorySegment k, MemorySegment v) {
                    int rc = m.update(
                            bytes(k, m.spec().keySize()), bytes(v, m.spec().valueSize()), EbpfMap.BPF_ANY);
                    if (rc != 0) {
                        throw new IllegalStateException(
                                "update of userspace map " + m.name() + " failed: errno " + -rc);
                    }
                }

                public boolean delete(MemorySegment k) {
                    return m.delete(bytes(k, m.spec().keySize())) == 0;
                }

                public long sumCounter(int i) {
                    byte[] v = m.lookup(bytes(MemorySegment.ofArray(new int[] {i}), 4));
                    if (v == null) {
                        return 0;
                    }
                    MemorySegment s = MemorySegment.ofArray(v);
                    long sum = 0;
                    for (int c = 0; c < m.cpus(); c++) {
                        sum += s.get(
                                ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN),
                                (long) c * m.stride());
                    }
                    return sum;
                }

                public int maxEntries() {
                    return m.spec().maxEntries();
                }

                public void close() {}
            };
        }

        private static byte[] bytes(MemorySegment s, int size) {
            if (s.byteSize() < size) {
                throw new IllegalArgumentException(s.byteSize() + "-byte segment for a " + size + "-byte map field");
            }
            return s.asSlice(0, size).toArray(JAVA_BYTE);
        }
    }
}
