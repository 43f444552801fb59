package dev.panda.xdp.bpf;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;

/**
 * Whether libbpf can be used here, probed once (as Netty's {@code Epoll.isAvailable()} and
 * pmd-vfio's {@code Vfio}): entry points that need it ({@code net_af_xdp}, {@code panda xdp})
 * ask first and report {@link #unavailabilityCause()} in one line, instead of failing with an
 * {@code Error} from the static initializer that links libbpf.
 *
 * <p>The library is {@code libbpf.so.1}, found the way {@code dlopen} finds it, unless the system
 * property {@value #PATH_PROPERTY} names another file or soname (tests point it at a missing one
 * to see what a machine without libbpf shows). The hand-linked calls of {@code BpfNative} use the
 * library loaded here; the generated {@code dev.panda.jextract.libbpf.Libbpf} asks for
 * {@code libbpf.so.1}, which {@code dlopen} resolves to the same library once it is loaded (by its
 * soname), so an override should name a libbpf 1.x.
 */
public final class BpfSupport {

    /** System property naming the libbpf shared object to load instead of {@code libbpf.so.1}. */
    public static final String PATH_PROPERTY = "panda.libbpf.path";

    static final String DEFAULT_NAME = "libbpf.so.1";
    /** A libbpf 1.x function panda needs (added in 0.8): its absence means a libbpf too old. */
    private static final String REQUIRED_SYMBOL = "bpf_xdp_attach";

    private static final String NAME = System.getProperty(PATH_PROPERTY, DEFAULT_NAME);
    private static final SymbolLookup LOOKUP;
    private static final String CAUSE;

    static {
        SymbolLookup lookup = null;
        String cause;
        try {
            lookup = SymbolLookup.libraryLookup(NAME, Arena.global());
            cause = lookup.find(REQUIRED_SYMBOL).isPresent() ? null : tooOld(NAME);
        } catch (IllegalArgumentException e) {
            cause = missing(NAME);
        }
        LOOKUP = cause == null ? lookup : null;
        CAUSE = cause;
    }

    private BpfSupport() {}

    public static boolean isAvailable() {
        return CAUSE == null;
    }

    /** Why libbpf cannot be used in this process (one line: what is missing, how to install it), or null. */
    public static String unavailabilityCause() {
        return CAUSE;
    }

    /** Throws {@link IllegalStateException} with {@link #unavailabilityCause()} unless libbpf is available. */
    public static void require() {
        if (CAUSE != null) {
            throw new IllegalStateException(CAUSE);
        }
    }

    /** The loaded libbpf; throws {@link IllegalStateException} (the cause) when there is none. */
    static SymbolLookup lookup() {
        require();
        return LOOKUP;
    }

    /** The probe itself, for {@code name}: null if it loads and is recent enough, else the cause. */
    static String probe(String name) {
        try (Arena arena = Arena.ofConfined()) {
            return SymbolLookup.libraryLookup(name, arena).find(REQUIRED_SYMBOL).isPresent() ? null : tooOld(name);
        } catch (IllegalArgumentException e) {
            return missing(name);
        }
    }

    private static String missing(String name) {
        return "libbpf is not installed (cannot load " + name + where(name)
                + "): apt-get install libbpf1, or run scripts/setup as root";
    }

    private static String tooOld(String name) {
        return name + where(name) + " is not libbpf 1.x (it has no " + REQUIRED_SYMBOL
                + "): apt-get install libbpf1, or run scripts/setup as root";
    }

    private static String where(String name) {
        return name.equals(DEFAULT_NAME) ? "" : ", set by -D" + PATH_PROPERTY;
    }
}
