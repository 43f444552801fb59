package dev.panda.xdp.ebpf;

/**
 * An eBPF XDP program ready to run in userspace: the {@link Interpreter} or a class made by the
 * {@link Translator}. {@link #run} returns the program's r0 (an XDP action, {@code XDP_ABORTED}
 * after a fault) and leaves the packet bounds and any redirect target in the context.
 */
public interface XdpProgram {

    int run(XdpContext ctx);

    /** The program this was made from. */
    EbpfProgram program();
}
