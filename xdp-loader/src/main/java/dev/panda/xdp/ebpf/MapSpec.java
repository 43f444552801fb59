package dev.panda.xdp.ebpf;

/**
 * One map of an eBPF object as libbpf describes it after {@code bpf_object__open_file} (before any
 * load): {@code type} is a {@code BPF_MAP_TYPE_*} of {@code linux/bpf.h}. {@code initial} holds the
 * section bytes of a global-data map ({@code .data}, {@code .rodata}, {@code .bss}), else null.
 */
public record MapSpec(
        String name,
        int type,
        int keySize,
        int valueSize,
        int maxEntries,
        int flags,
        String dataSection,
        byte[] initial) {

    public static final int HASH = 1;
    public static final int ARRAY = 2;
    public static final int PERCPU_HASH = 5;
    public static final int PERCPU_ARRAY = 6;
    public static final int LPM_TRIE = 11;
    public static final int XSKMAP = 17;

    public MapSpec(String name, int type, int keySize, int valueSize, int maxEntries, int flags) {
        this(name, type, keySize, valueSize, maxEntries, flags, null, null);
    }

    public static String typeName(int type) {
        return switch (type) {
            case HASH -> "hash";
            case ARRAY -> "array";
            case PERCPU_HASH -> "percpu_hash";
            case PERCPU_ARRAY -> "percpu_array";
            case LPM_TRIE -> "lpm_trie";
            case XSKMAP -> "xskmap";
            default -> "type " + type;
        };
    }
}
