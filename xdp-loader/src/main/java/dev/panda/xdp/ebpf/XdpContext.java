package dev.panda.xdp.ebpf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.List;

/**
 * The state one engine thread runs eBPF programs with: the packet ({@code struct xdp_md} as
 * the program sees it), its 512-byte stack, the maps, its "CPU" number for per-CPU maps, and
 * what the last run asked for (a redirect target). Not thread-safe: one per polling thread.
 *
 * <p>Registers hold tagged addresses: region in bits 40..63, offset in bits 0..39. Regions are
 * the context, the stack, the packet, map references (an {@code LD_IMM64} of a map) and one
 * value region per map. Every load and store resolves its address against the region's bounds
 * (packet: [data_meta, data_end)) and throws the preallocated {@link BpfFault} outside them, so a
 * program can never touch memory it was not given; pointer differences within one region
 * (data_end - data) are the plain byte counts the program expects.
 */
public final class XdpContext {

    static final int OFF_BITS = 40;
    static final long OFF_MASK = (1L << OFF_BITS) - 1;
    static final int CTX = 1, STACK = 2, PKT = 3, MAPREF = 4, FIRST_MAP = 5;
    static final int STACK_SIZE = 512;
    /** {@code ETH_HLEN}, and {@code sizeof(struct xdp_frame)} kept below the packet by bpf_xdp_adjust_head. */
    static final int ETH_HLEN = 14, XDP_FRAME_SIZE = 40;

    public static final int XDP_ABORTED = 0, XDP_DROP = 1, XDP_PASS = 2, XDP_TX = 3, XDP_REDIRECT = 4;

    static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle ATOMIC32 =
            ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final VarHandle ATOMIC64 =
            ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private final EbpfMap[] maps;
    private final MemorySegment[] mapValues;
    private final MemorySegment stack = Arena.ofAuto().allocate(STACK_SIZE, 8);
    private final int cpu;

    private MemorySegment packet = MemorySegment.NULL;
    private long hardStart, meta, data, dataEnd;
    private int ingressIfindex = 1;
    private int rxQueue;
    private long random = 0x2545F4914F6CDD1DL;
    /** Offset within the segment the last {@link #resolve} returned. */
    private long at;

    private int redirectTarget = -1;
    private long faults;
    private String lastFault = "";

    /** A context on "CPU" {@code cpu} (below the maps' CPU count) over {@code maps}. */
    public XdpContext(List<EbpfMap> maps, int cpu) {
        this.maps = maps.toArray(new EbpfMap[0]);
        this.mapValues = new MemorySegment[this.maps.length];
        for (int i = 0; i < this.maps.length; i++) {
            mapValues[i] = this.maps[i].values();
            if (EbpfMap.perCpu(this.maps[i].spec().type()) && cpu >= this.maps[i].cpus()) {
                throw new IllegalArgumentException(
                        "cpu " + cpu + " but map " + this.maps[i].name() + " has " + this.maps[i].cpus() + " CPUs");
            }
        }
        this.cpu = cpu;
    }

    static long pointer(int region, long offset) {
        return ((long) region << OFF_BITS) | offset;
    }

    static long mapRef(int map) {
        return pointer(MAPREF, map);
    }

    static int mapRegion(int map) {
        return FIRST_MAP + map;
    }

    /** The program's r1. */
    static long ctxPointer() {
        return pointer(CTX, 0);
    }

    /** r10: the top of the stack, which grows down. */
    static long framePointer() {
        return pointer(STACK, STACK_SIZE);
    }

    /**
     * Sets the packet for the next run: bytes {@code [data, dataEnd)} of {@code buffer}, with
     * headroom from {@code hardStart} (what bpf_xdp_adjust_head may grow into). No copy.
     */
    public void setPacket(MemorySegment buffer, long hardStart, long data, long dataEnd) {
        if (hardStart < 0 || data < hardStart || dataEnd < data || dataEnd > buffer.byteSize() || dataEnd > OFF_MASK) {
            throw new IllegalArgumentException("packet [" + data + ", " + dataEnd + ") with headroom from " + hardStart
                    + " does not fit a " + buffer.byteSize() + "-byte buffer");
        }
        this.packet = buffer;
        this.hardStart = hardStart;
        this.meta = data;
        this.data = data;
        this.dataEnd = dataEnd;
        this.redirectTarget = -1;
    }

    /** {@code xdp_md.ingress_ifindex} and {@code rx_queue_index} (BPF_PROG_TEST_RUN defaults: 1 and 0). */
    public void setQueue(int ingressIfindex, int rxQueue) {
        this.ingressIfindex = ingressIfindex;
        this.rxQueue = rxQueue;
    }

    /** The packet start after the run (moved by bpf_xdp_adjust_head). */
    public long data() {
        return data;
    }

    public long dataEnd() {
        return dataEnd;
    }

    /** The {@link XskMap} target of the last run's {@code XDP_REDIRECT}, or -1. */
    public int redirectTarget() {
        return redirectTarget;
    }

    /** Runs that stopped on a fault (out-of-bounds access, bad map reference); they return XDP_ABORTED. */
    public long faults() {
        return faults;
    }

    public String lastFault() {
        return lastFault;
    }

    public int cpu() {
        return cpu;
    }

    /** Counts the fault that ended a run; the run's verdict is XDP_ABORTED. */
    int fault(BpfFault f) {
        faults++;
        lastFault = pendingFault;
        return XDP_ABORTED;
    }

    BpfFault fault(String reason) {
        pendingFault = reason;
        return BpfFault.INSTANCE;
    }

    /** Registers r0..r10 of the current run, and the instructions it may still execute. */
    final long[] regs = new long[11];
    /**
     * Taken backward jumps a run may make: the kernel's verifier proves termination, the engine
     * (which has no verifier) bounds loops instead.
     */
    static final int LOOP_BUDGET = 1 << 20;

    static final String LOOP_FAULT = "loop budget exhausted (more than 2^20 backward jumps)";
    private String pendingFault = "";

    /** Resolves {@code addr} for a {@code size}-byte access; the offset is left in {@link #at}. */
    private MemorySegment resolve(long addr, int size) {
        int tag = (int) (addr >>> OFF_BITS);
        long off = addr & OFF_MASK;
        if (tag == PKT) {
            if (off < meta || off + size > dataEnd) {
                throw fault("packet access outside [data_meta, data_end)");
            }
            at = off;
            return packet;
        }
        if (tag == STACK) {
            if (off + size > STACK_SIZE) {
                throw fault("stack access outside the 512-byte frame");
            }
            at = off;
            return stack;
        }
        int m = tag - FIRST_MAP;
        if (m >= 0 && m < mapValues.length) {
            MemorySegment s = mapValues[m];
            if (off + size > s.byteSize()) {
                throw fault("map value access outside the map");
            }
            at = off;
            return s;
        }
        throw fault(
                tag == CTX ? "context access other than a 4-byte load of an xdp_md field" : "access to a non-pointer");
    }

    public long ldB(long addr) {
        MemorySegment s = resolve(addr, 1);
        return s.get(ValueLayout.JAVA_BYTE, at) & 0xffL;
    }

    public long ldH(long addr) {
        MemorySegment s = resolve(addr, 2);
        return s.get(LE16, at) & 0xffffL;
    }

    public long ldW(long addr) {
        if ((int) (addr >>> OFF_BITS) == CTX) {
            return ctxField(addr & OFF_MASK);
        }
        MemorySegment s = resolve(addr, 4);
        return s.get(LE32, at) & 0xffffffffL;
    }

    public long ldDW(long addr) {
        MemorySegment s = resolve(addr, 8);
        return s.get(LE64, at);
    }

    /** {@code struct xdp_md} fields as the verifier rewrites their loads (linux/bpf.h). */
    private long ctxField(long off) {
        return switch ((int) off) {
            case 0 -> pointer(PKT, data);
            case 4 -> pointer(PKT, dataEnd);
            case 8 -> pointer(PKT, meta);
            case 12 -> ingressIfindex & 0xffffffffL;
            case 16 -> rxQueue & 0xffffffffL;
            case 20 -> 0;
            default -> throw fault("context load at offset " + off);
        };
    }

    public void stB(long addr, long v) {
        MemorySegment s = resolve(addr, 1);
        s.set(ValueLayout.JAVA_BYTE, at, (byte) v);
    }

    public void stH(long addr, long v) {
        MemorySegment s = resolve(addr, 2);
        s.set(LE16, at, (short) v);
    }

    public void stW(long addr, long v) {
        MemorySegment s = resolve(addr, 4);
        s.set(LE32, at, (int) v);
    }

    public void stDW(long addr, long v) {
        MemorySegment s = resolve(addr, 8);
        s.set(LE64, at, v);
    }

    /**
     * A {@code BPF_ATOMIC} operation {@code aop} (imm of the instruction) of {@code size} 4 or 8
     * at {@code addr} with operand {@code v} and, for CMPXCHG, expected value {@code r0}.
     * Returns the old value (zero-extended for 4 bytes), which FETCH variants write to src
     * and CMPXCHG to r0.
     */
    public long atomic(int size, int aop, long addr, long v, long r0) {
        MemorySegment s = resolve(addr, size);
        if (s == packet || (at & (size - 1)) != 0) {
            throw fault("atomic access to the packet or misaligned");
        }
        if (size == 4) {
            int x = (int) v;
            int old = switch (aop & ~Isa.FETCH) {
                case Isa.ADD -> (int) ATOMIC32.getAndAdd(s, at, x);
                case Isa.OR -> (int) ATOMIC32.getAndBitwiseOr(s, at, x);
                case Isa.AND -> (int) ATOMIC32.getAndBitwiseAnd(s, at, x);
                case Isa.XOR -> (int) ATOMIC32.getAndBitwiseXor(s, at, x);
                case Isa.XCHG & ~Isa.FETCH -> (int) ATOMIC32.getAndSet(s, at, x);
                default -> (int) ATOMIC32.compareAndExchange(s, at, (int) r0, x);
            };
            return old & 0xffffffffL;
        }
        return switch (aop & ~Isa.FETCH) {
            case Isa.ADD -> (long) ATOMIC64.getAndAdd(s, at, v);
            case Isa.OR -> (long) ATOMIC64.getAndBitwiseOr(s, at, v);
            case Isa.AND -> (long) ATOMIC64.getAndBitwiseAnd(s, at, v);
            case Isa.XOR -> (long) ATOMIC64.getAndBitwiseXor(s, at, v);
            case Isa.XCHG & ~Isa.FETCH -> (long) ATOMIC64.getAndSet(s, at, v);
            default -> (long) ATOMIC64.compareAndExchange(s, at, r0, v);
        };
    }

    private int mapIndex(long ref) {
        int m = (int) (ref & OFF_MASK);
        if ((int) (ref >>> OFF_BITS) != MAPREF || m >= maps.length) {
            throw fault("helper argument is not a map");
        }
        return m;
    }

    /** A helper call (kernel docs, bpf-helpers(7); ids of {@code enum bpf_func_id}): returns r0. */
    public long call(int id, long r1, long r2, long r3, long r4, long r5) {
        switch (id) {
            case Isa.MAP_LOOKUP_ELEM -> {
                int m = mapIndex(r1);
                EbpfMap map = maps[m];
                MemorySegment k = resolve(r2, map.spec.keySize());
                int slot = map.slotOf(k, at);
                return slot < 0 ? 0 : pointer(FIRST_MAP + m, map.valueOffset(slot, cpu));
            }
            case Isa.MAP_UPDATE_ELEM -> {
                EbpfMap map = maps[mapIndex(r1)];
                MemorySegment k = resolve(r2, map.spec.keySize());
                long kAt = at;
                MemorySegment v = resolve(r3, map.spec.valueSize());
                return map.update(k, kAt, v, at, r4, cpu);
            }
            case Isa.MAP_DELETE_ELEM -> {
                EbpfMap map = maps[mapIndex(r1)];
                MemorySegment k = resolve(r2, map.spec.keySize());
                return map.delete(k, at);
            }
            case Isa.REDIRECT_MAP -> {
                if (!(maps[mapIndex(r1)] instanceof XskMap xsk)) {
                    throw fault("bpf_redirect_map on a map that is not an xskmap");
                }
                if ((r3 & ~3L) != 0) {
                    return XDP_ABORTED;
                }
                int t = xsk.target((int) r2);
                if (t < 0) {
                    return r3 & 3;
                }
                redirectTarget = t;
                return XDP_REDIRECT;
            }
            case Isa.XDP_ADJUST_HEAD -> {
                if (r1 != ctxPointer()) {
                    throw fault("bpf_xdp_adjust_head without the context");
                }
                return adjustHead((int) r2);
            }
            case Isa.KTIME_GET_NS, Isa.KTIME_GET_BOOT_NS -> {
                return System.nanoTime();
            }
            case Isa.GET_PRANDOM_U32 -> {
                random ^= random << 13;
                random ^= random >>> 7;
                random ^= random << 17;
                return random & 0xffffffffL;
            }
            case Isa.GET_SMP_PROCESSOR_ID -> {
                return cpu;
            }
            default -> throw fault("helper " + id);
        }
    }

    /** net/core/filter.c bpf_xdp_adjust_head: data may move within [hard start + xdp_frame + meta, data_end - ETH_HLEN]. */
    private long adjustHead(int delta) {
        long metalen = data - meta;
        long newData = data + delta;
        if (newData < hardStart + XDP_FRAME_SIZE + metalen || newData > dataEnd - ETH_HLEN) {
            return -EbpfMap.EINVAL;
        }
        if (metalen > 0) {
            MemorySegment.copy(packet, meta, packet, meta + delta, metalen);
        }
        meta += delta;
        data = newData;
        return 0;
    }
}
