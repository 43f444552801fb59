package dev.panda.xdp.bpf;

import dev.panda.jextract.ErrnoCalls;
import dev.panda.jextract.Fd;
import dev.panda.jextract.libbpf.Libbpf;
import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.uapi.Uapi;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.BiConsumer;

/**
 * An eBPF map seen from Java: lookup, update, delete, iteration ({@code bpf_map_get_next_key}),
 * per-CPU values (one slot per possible CPU, each rounded up to 8 bytes, as the kernel copies
 * them) summed, and optional typed key/value layouts checked against the map's sizes.
 *
 * <p>Either a map of a loaded {@link BpfObject} (the object owns the fd) or a pinned map opened
 * with {@link #openPinned} (this object owns the fd and closes it). Lookups and updates are
 * control-path calls (a syscall each): the datapath never calls them per packet.
 */
public final class BpfMap implements AutoCloseable {

    private static final int CPUS = BpfNative.possibleCpus();

    private final MemorySegment handle; // libbpf struct bpf_map *, or NULL for a pinned map
    private final Fd ownedFd; // pinned maps only
    private String name;
    private int type;
    private int keySize;
    private int valueSize;
    private int maxEntries;
    private int fd = -1;
    private MemoryLayout keyLayout;
    private MemoryLayout valueLayout;

    private BpfMap(MemorySegment handle, Fd ownedFd) {
        this.handle = handle;
        this.ownedFd = ownedFd;
    }

    static BpfMap ofLibbpf(MemorySegment m) {
        BpfMap map = new BpfMap(m, null);
        map.name = Libbpf.bpf_map__name(m).reinterpret(256).getString(0);
        map.type = Libbpf.bpf_map__type(m);
        map.keySize = Libbpf.bpf_map__key_size(m);
        map.valueSize = Libbpf.bpf_map__value_size(m);
        map.maxEntries = Libbpf.bpf_map__max_entries(m);
        return map;
    }

    void loaded() {
        fd = Libbpf.bpf_map__fd(handle);
        maxEntries = Libbpf.bpf_map__max_entries(handle);
    }

    /** Opens a map pinned on a bpffs ({@code bpf_obj_get}) and reads its type and sizes. */
    public static BpfMap openPinned(String path) {
        Fd f = new Fd(BpfNative.objGet(path));
        try (Arena a = Arena.ofConfined()) {
            // struct bpf_map_info (linux/bpf.h): type, id, key_size, value_size, max_entries,
            // map_flags (u32 each), then char name[16]. The kernel wants unused tail bytes zero.
            MemorySegment info = a.allocate(128, 8);
            MemorySegment len = a.allocateFrom(ValueLayout.JAVA_INT, 128);
            int rc = (int) BpfNative.OBJ_GET_INFO.invokeExact(f.value(), info, len);
            BpfNative.check(rc, "bpf_obj_get_info_by_fd(" + path + ")");
            BpfMap m = new BpfMap(MemorySegment.NULL, f);
            m.type = info.get(ValueLayout.JAVA_INT, 0);
            m.keySize = info.get(ValueLayout.JAVA_INT, 8);
            m.valueSize = info.get(ValueLayout.JAVA_INT, 12);
            m.maxEntries = info.get(ValueLayout.JAVA_INT, 16);
            m.name = info.asSlice(24, 16).getString(0);
            m.fd = f.value();
            return m;
        } catch (Throwable t) {
            f.close();
            throw ErrnoCalls.rethrow(t);
        }
    }

    MemorySegment handle() {
        return handle;
    }

    public String name() {
        return name;
    }

    /** BPF_MAP_TYPE_* of linux/bpf.h. */
    public int type() {
        return type;
    }

    public int keySize() {
        return keySize;
    }

    /** The value size of one CPU's slot for per-CPU maps. */
    public int valueSize() {
        return valueSize;
    }

    public int maxEntries() {
        return maxEntries;
    }

    public int fd() {
        if (fd < 0) {
            throw new IllegalStateException("map " + name + " has no fd: its object is not loaded");
        }
        return fd;
    }

    public boolean perCpu() {
        return type == Uapi.BPF_MAP_TYPE_PERCPU_ARRAY()
                || type == Uapi.BPF_MAP_TYPE_PERCPU_HASH()
                || type == 10 /* BPF_MAP_TYPE_LRU_PERCPU_HASH */;
    }

    /** Possible CPUs, the number of slots in a per-CPU value. */
    public static int possibleCpus() {
        return CPUS;
    }

    /** Bytes a lookup fills: {@code valueSize} or, per CPU, {@code roundUp(valueSize, 8) * cpus}. */
    public long valueBufferSize() {
        return perCpu() ? (long) ((valueSize + 7) & ~7) * CPUS : valueSize;
    }

    /** Declares the key and value layouts; they must have the map's sizes. */
    public BpfMap withLayouts(MemoryLayout key, MemoryLayout value) {
        if (key.byteSize() != keySize || value.byteSize() != valueSize) {
            throw new IllegalArgumentException("map " + name + " has key " + keySize + " bytes and value " + valueSize
                    + " bytes; layouts of " + key.byteSize() + " and " + value.byteSize() + " do not match");
        }
        this.keyLayout = key;
        this.valueLayout = value;
        return this;
    }

    public MemoryLayout keyLayout() {
        return keyLayout;
    }

    public MemoryLayout valueLayout() {
        return valueLayout;
    }

    /** A zeroed key segment of the map's key size. */
    public MemorySegment newKey(Arena arena) {
        return arena.allocate(keySize, 8);
    }

    /** A zeroed value segment large enough for a lookup (all CPUs for per-CPU maps). */
    public MemorySegment newValue(Arena arena) {
        return arena.allocate(valueBufferSize(), 8);
    }

    /** Copies the value of {@code key} into {@code value}; false when there is no such key. */
    public boolean lookup(MemorySegment key, MemorySegment value) {
        checkSizes(key, value);
        int rc = Libbpf.bpf_map_lookup_elem(fd(), key, value);
        if (rc == -Libc.ENOENT()) {
            return false;
        }
        BpfNative.check(rc, "bpf_map_lookup_elem(" + name + ")");
        return true;
    }

    /** Sets {@code key} to {@code value}; {@code flags} is BPF_ANY, BPF_NOEXIST or BPF_EXIST. */
    public void update(MemorySegment key, MemorySegment value, long flags) {
        checkSizes(key, value);
        BpfNative.check(Libbpf.bpf_map_update_elem(fd(), key, value, flags), "bpf_map_update_elem(" + name + ")");
    }

    public void update(MemorySegment key, MemorySegment value) {
        update(key, value, Uapi.BPF_ANY());
    }

    /** Removes {@code key}; false when it was not there. */
    public boolean delete(MemorySegment key) {
        if (key.byteSize() < keySize) {
            throw new IllegalArgumentException(
                    "key of " + key.byteSize() + " bytes for map " + name + " (" + keySize + ")");
        }
        int rc = Libbpf.bpf_map_delete_elem(fd(), key);
        if (rc == -Libc.ENOENT()) {
            return false;
        }
        BpfNative.check(rc, "bpf_map_delete_elem(" + name + ")");
        return true;
    }

    /**
     * Writes the key after {@code key} (or the first key when {@code key} is null) into
     * {@code next}; false at the end.
     */
    public boolean nextKey(MemorySegment key, MemorySegment next) {
        int rc = Libbpf.bpf_map_get_next_key(fd(), key == null ? MemorySegment.NULL : key, next);
        if (rc == -Libc.ENOENT()) {
            return false;
        }
        BpfNative.check(rc, "bpf_map_get_next_key(" + name + ")");
        return true;
    }

    /**
     * Calls {@code action} with each key and its value (per-CPU maps: all slots). The segments are
     * reused between calls. Entries removed meanwhile are skipped; iteration of a hash map being
     * updated may restart from the first key, as the kernel documents for get_next_key.
     */
    public void forEach(BiConsumer<MemorySegment, MemorySegment> action) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cur = newKey(a);
            MemorySegment next = newKey(a);
            MemorySegment value = newValue(a);
            boolean has = nextKey(null, next);
            while (has) {
                cur.copyFrom(next);
                if (lookup(cur, value)) {
                    action.accept(cur, value);
                }
                has = nextKey(cur, next);
            }
        }
    }

    /** The sum over CPUs of the u64 at {@code offset} of {@code key}'s value; 0 when absent. */
    public long sumLong(MemorySegment key, long offset) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = newValue(a);
            if (!lookup(key, v)) {
                return 0;
            }
            return sumSlots(v, offset);
        }
    }

    /** Sums the u64 at {@code offset} of each CPU slot of a looked-up value. */
    public long sumSlots(MemorySegment value, long offset) {
        if (!perCpu()) {
            return value.get(ValueLayout.JAVA_LONG_UNALIGNED, offset);
        }
        long slot = (valueSize + 7) & ~7;
        long s = 0;
        for (int c = 0; c < CPUS; c++) {
            s += value.get(ValueLayout.JAVA_LONG_UNALIGNED, c * slot + offset);
        }
        return s;
    }

    /** The summed u64 counter at index {@code index} of an (per-CPU) array map. */
    public long sumCounter(int index) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment k = a.allocateFrom(ValueLayout.JAVA_INT, index);
            return sumLong(k, 0);
        }
    }

    private void checkSizes(MemorySegment key, MemorySegment value) {
        if (key.byteSize() < keySize) {
            throw new IllegalArgumentException(
                    "key of " + key.byteSize() + " bytes for map " + name + " (" + keySize + ")");
        }
        if (value.byteSize() < valueBufferSize()) {
            throw new IllegalArgumentException(
                    "value of " + value.byteSize() + " bytes for map " + name + " (" + valueBufferSize() + ")");
        }
    }

    /** Closes the fd of a pinned map opened here; a map of an object is closed by its object. */
    @Override
    public void close() {
        if (ownedFd != null) {
            ownedFd.close();
        }
    }

    @Override
    public String toString() {
        return "BpfMap[" + name + ", type " + type + ", key " + keySize + ", value " + valueSize + ", max " + maxEntries
                + "]";
    }
}
