package dev.panda.xdp.bpf;

import dev.panda.jextract.uapi.Uapi;
import java.util.Locale;

/**
 * Where an XDP program runs: {@code skb} (generic, after the stack allocated an sk_buff; every
 * driver), {@code native} (in the driver's receive path; drivers with ndo_bpf, veth among them),
 * {@code offload} (on the NIC itself; SmartNIC drivers such as nfp only). Kernel docs:
 * Documentation/networking/xdp-rx-metadata and the IFLA_XDP flags of if_link.h.
 */
public enum XdpMode {
    SKB(Uapi.XDP_FLAGS_SKB_MODE(), Uapi.XDP_ATTACHED_SKB()),
    NATIVE(Uapi.XDP_FLAGS_DRV_MODE(), Uapi.XDP_ATTACHED_DRV()),
    OFFLOAD(Uapi.XDP_FLAGS_HW_MODE(), Uapi.XDP_ATTACHED_HW());

    private final int flag;
    private final int attached;

    XdpMode(int flag, int attached) {
        this.flag = flag;
        this.attached = attached;
    }

    /** The XDP_FLAGS_*_MODE bit for bpf_xdp_attach. */
    public int flag() {
        return flag;
    }

    /** The XDP_ATTACHED_* value bpf_xdp_query reports for this mode. */
    public int attachedValue() {
        return attached;
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** {@code skb}, {@code native} (also {@code drv}), {@code offload} (also {@code hw}). */
    public static XdpMode parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "skb", "generic" -> SKB;
            case "native", "drv" -> NATIVE;
            case "offload", "hw" -> OFFLOAD;
            default -> throw new IllegalArgumentException("unknown XDP mode '" + s + "': use skb, native or offload");
        };
    }
}
