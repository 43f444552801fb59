package dev.panda.xdp.ebpf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * A userspace eBPF map. Values live off-heap in {@link #values()}, one stride (value size rounded
 * up to 8, as the kernel's array and hash maps lay out their elements) per slot and, for per-CPU
 * maps, per "CPU" of the engine: slot {@code s} of CPU {@code c} is at
 * {@code (s * cpus + c) * stride}, so a slot's CPUs are contiguous in the layout the
 * {@code BPF_MAP_LOOKUP_ELEM} syscall uses for per-CPU maps.
 *
 * <p>Program side ({@link #slotOf}, {@link #update(MemorySegment, long, MemorySegment, long, long, int)},
 * {@link #delete(MemorySegment, long)}) allocates nothing and returns the kernel's error numbers
 * negated. Java side: {@link #lookup(byte[])}, {@link #update(byte[], byte[], long)},
 * {@link #delete(byte[])}, {@link #keys()}. Writers serialize on the map; program lookups do not
 * lock (see each type for what a reader may see during a concurrent write).
 */
public abstract sealed class EbpfMap permits ArrayMap, HashTableMap, LpmTrieMap, XskMap {

    static final int EINVAL = 22;
    static final int ENOENT = 2;
    static final int EEXIST = 17;
    static final int E2BIG = 7;
    static final int ENOSPC = 28;
    /** {@code BPF_ANY}, {@code BPF_NOEXIST}, {@code BPF_EXIST} of {@code linux/bpf.h}. */
    public static final long BPF_ANY = 0;

    public static final long BPF_NOEXIST = 1;
    public static final long BPF_EXIST = 2;

    final MapSpec spec;
    final int cpus;
    final int stride;
    final MemorySegment values;

    EbpfMap(MapSpec spec, int cpus, int slots) {
        if (spec.keySize() <= 0 || spec.valueSize() <= 0 || spec.maxEntries() <= 0) {
            throw new BpfFormatException("map " + spec.name() + ": key size " + spec.keySize() + ", value size "
                    + spec.valueSize() + ", max entries " + spec.maxEntries() + " must all be positive");
        }
        this.spec = spec;
        this.cpus = perCpu(spec.type()) ? cpus : 1;
        this.stride = (spec.valueSize() + 7) & ~7;
        long bytes = (long) slots * this.cpus * stride;
        if (bytes > 1L << 30) {
            throw new BpfFormatException("map " + spec.name() + " needs " + bytes + " bytes of values (limit 1 GiB)");
        }
        this.values = Arena.ofAuto().allocate(Math.max(bytes, 8), 8);
    }

    /** A map for {@code spec} whose per-CPU types have {@code cpus} slots per element. */
    public static EbpfMap create(MapSpec spec, int cpus) {
        return switch (spec.type()) {
            case MapSpec.ARRAY, MapSpec.PERCPU_ARRAY -> new ArrayMap(spec, cpus);
            case MapSpec.HASH, MapSpec.PERCPU_HASH -> new HashTableMap(spec, cpus);
            case MapSpec.LPM_TRIE -> new LpmTrieMap(spec);
            case MapSpec.XSKMAP -> new XskMap(spec);
            default ->
                throw new BpfFormatException(
                        "map " + spec.name() + ": " + MapSpec.typeName(spec.type())
                                + " is not supported by the userspace engine (array, hash, percpu_array, percpu_hash, lpm_trie, xskmap are)");
        };
    }

    static boolean perCpu(int type) {
        return type == MapSpec.PERCPU_ARRAY || type == MapSpec.PERCPU_HASH;
    }

    public MapSpec spec() {
        return spec;
    }

    public String name() {
        return spec.name();
    }

    /** Number of value copies per element: the engine's CPUs for per-CPU maps, else 1. */
    public int cpus() {
        return cpus;
    }

    /** Bytes between the CPUs' copies of a per-CPU value: the value size rounded up to 8. */
    public int stride() {
        return stride;
    }

    MemorySegment values() {
        return values;
    }

    /** Offset in {@link #values()} of {@code slot}'s value for {@code cpu}. */
    final long valueOffset(int slot, int cpu) {
        return ((long) slot * cpus + (cpus == 1 ? 0 : cpu)) * stride;
    }

    /** The slot holding {@code key} (read at {@code key[off]}), or -1. */
    abstract int slotOf(MemorySegment key, long off);

    /**
     * {@code bpf_map_update_elem}: from a program ({@code cpu >= 0}; a per-CPU map takes
     * the value for that CPU and a new element's other CPUs start at zero) or from Java
     * ({@code cpu < 0}; a per-CPU map takes {@code cpus * stride} bytes, every CPU's value).
     * @return 0 or a negated errno
     */
    abstract int update(MemorySegment key, long keyOff, MemorySegment value, long valueOff, long flags, int cpu);

    /** {@code bpf_map_delete_elem}: 0 or a negated errno. */
    abstract int delete(MemorySegment key, long off);

    /** The keys present, in the map's iteration order. */
    public abstract List<byte[]> keys();

    /**
     * The value of {@code key}, or null: for a per-CPU map {@code cpus * stride} bytes, each
     * CPU's value at {@code cpu * stride} (see {@link #sumPerCpu}).
     */
    public byte[] lookup(byte[] key) {
        checkKey(key);
        synchronized (this) {
            int slot = slotOf(MemorySegment.ofArray(key), 0);
            if (slot < 0) {
                return null;
            }
            int n = cpus == 1 ? spec.valueSize() : cpus * stride;
            byte[] out = new byte[n];
            MemorySegment.copy(values, valueOffset(slot, 0), MemorySegment.ofArray(out), 0, n);
            return out;
        }
    }

    /** Java-side {@code bpf_map_update_elem}; per-CPU maps take every CPU's value. */
    public int update(byte[] key, byte[] value, long flags) {
        checkKey(key);
        int need = cpus == 1 ? spec.valueSize() : cpus * stride;
        if (value.length != need) {
            throw new IllegalArgumentException(
                    "map " + spec.name() + ": value of " + value.length + " bytes, expected " + need);
        }
        return update(MemorySegment.ofArray(key), 0, MemorySegment.ofArray(value), 0, flags, -1);
    }

    /** Java-side {@code bpf_map_delete_elem}. */
    public int delete(byte[] key) {
        checkKey(key);
        return delete(MemorySegment.ofArray(key), 0);
    }

    private void checkKey(byte[] key) {
        if (key.length != spec.keySize()) {
            throw new IllegalArgumentException(
                    "map " + spec.name() + ": key of " + key.length + " bytes, expected " + spec.keySize());
        }
    }

    /** Sums a per-CPU value of 8-byte counters into one value of {@code valueSize} bytes. */
    public static byte[] sumPerCpu(byte[] perCpu, int valueSize, int cpus) {
        int stride = (valueSize + 7) & ~7;
        if (valueSize % 8 != 0) {
            throw new IllegalArgumentException("per-CPU values of " + valueSize + " bytes are not 8-byte counters");
        }
        java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(perCpu).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(valueSize).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int w = 0; w < valueSize; w += 8) {
            long sum = 0;
            for (int c = 0; c < cpus; c++) {
                sum += in.getLong(c * stride + w);
            }
            out.putLong(w, sum);
        }
        return out.array();
    }

    static int errFlags(long flags) {
        return flags > BPF_EXIST || flags < 0 ? -EINVAL : 0;
    }

    /** Copies a program's or Java's value into {@code slot} (see {@link #update}). */
    final void storeValue(int slot, MemorySegment value, long valueOff, int cpu, boolean fresh) {
        if (cpus == 1) {
            MemorySegment.copy(value, valueOff, values, valueOffset(slot, 0), spec.valueSize());
        } else if (cpu < 0) {
            MemorySegment.copy(value, valueOff, values, valueOffset(slot, 0), (long) cpus * stride);
        } else {
            if (fresh) {
                long end = valueOffset(slot, 0) + (long) cpus * stride;
                for (long o = valueOffset(slot, 0); o < end; o += 8) {
                    values.set(java.lang.foreign.ValueLayout.JAVA_LONG, o, 0L);
                }
            }
            MemorySegment.copy(value, valueOff, values, valueOffset(slot, cpu), spec.valueSize());
        }
    }
}
