package dev.panda.xdp.ebpf;

/**
 * A run stopped: an access outside the regions the program was given, or a helper used wrongly.
 * One preallocated instance without a stack trace, so a fault allocates nothing; the engine
 * turns it into {@code XDP_ABORTED} and a count ({@link XdpContext#faults()}).
 */
final class BpfFault extends RuntimeException {

    static final BpfFault INSTANCE = new BpfFault();

    private BpfFault() {
        super("eBPF fault", null, false, false);
    }
}
