package dev.panda.dataplane.filter;

/**
 * A receive-filter implementation, found through {@link java.util.ServiceLoader} by name the way
 * {@link dev.panda.dataplane.port.PortDriver} is, so dataplane never imports the module that
 * implements it (xdp-loader's userspace eBPF engine provides {@code ebpf} and {@code prefilter}).
 */
public interface RxFilterProvider {

    /** The name an option selects it by, e.g. {@code prefilter}. */
    String name();

    /** One line for {@code --help}: the arguments it takes. */
    String usage();

    /**
     * Opens a filter from {@code args} (the text after {@code NAME,}, possibly empty) for at most
     * {@code maxStreams} streams running at once. Bad arguments throw {@link IllegalArgumentException}
     * with a one-line message.
     */
    RxFilter open(String args, int maxStreams);
}
