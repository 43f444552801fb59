package dev.panda.xdp.ebpf;

/**
 * An eBPF object or program the userspace engine refuses: a malformed ELF file, a relocation
 * to nothing, an instruction it does not know. The message names what and where, on one line.
 */
public final class BpfFormatException extends RuntimeException {

    public BpfFormatException(String message) {
        super(message);
    }
}
