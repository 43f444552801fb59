package dev.panda.xdp.afxdp;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.DeviceSpec;
import dev.panda.dataplane.port.KernelInterface;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortDriver;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.uapi.Uapi;
import dev.panda.xdp.bpf.BpfFs;
import dev.panda.xdp.bpf.BpfObject;
import dev.panda.xdp.bpf.BpfSupport;
import dev.panda.xdp.bpf.Xdp;
import dev.panda.xdp.bpf.XdpMode;
import dev.panda.xdp.prefilter.Prefilter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * {@code net_af_xdp<N>,iface=IF[,start_queue=Q][,queue_count=C][,mode=skb|native][,zerocopy=0|1]
 * [,busy_budget=N][,fill_batch=N]}.
 *
 * <p>Opening attaches the prefilter to {@code IF} in {@code mode} (default native) with its
 * default action set to redirect, unless {@code panda xdp load} already put it there and pinned
 * its maps under {@code /sys/fs/bpf/panda/IF} (then those maps are used and the operator's rules
 * stay). Then one AF_XDP socket per queue is bound, the first registering the pool as UMEM, the
 * others sharing it, and each socket's fd goes into the prefilter's XSKMAP at its queue index.
 * {@code zerocopy=1} demands zero-copy (fails where the driver has none, e.g. veth),
 * {@code zerocopy=0} demands copy mode; unset lets the kernel choose. Without libbpf, opening
 * fails with {@link BpfSupport#unavailabilityCause()} before anything is linked.
 *
 * <p>{@code busy_budget=N} (1..{@value #MAX_BUSY_BUDGET}; default 0, off) sets preferred busy
 * polling on every socket ({@link XskSocket#preferBusyPoll}); the kernel's refusal fails the
 * open with one line. {@code fill_batch=N} (0..{@value PacketBurst#MAX_BURST}, default
 * {@value #DEFAULT_FILL_BATCH}, at most half the fill ring) refills a fill ring once it lacks N
 * buffers, in one bulk allocation and one producer publish; 0 tops it up on every poll. A
 * socket without a NAPI id after opening gets a warning with busy_budget (busy polling then
 * runs nothing).
 */
public final class AfXdpPortDriver implements PortDriver {

    static final String NAME = "net_af_xdp";

    private static final System.Logger LOG = System.getLogger(AfXdpPortDriver.class.getName());

    /** SO_BUSY_POLL_BUDGET is a u16 in the kernel (sk_busy_poll_budget). */
    static final int MAX_BUSY_BUDGET = 65535;

    static final int DEFAULT_FILL_BATCH = 32;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "AF_XDP sockets on a kernel interface, through the prefilter; iface=, start_queue=, queue_count=, mode=skb|native, zerocopy=0|1, busy_budget=N, fill_batch=N";
    }

    @Override
    public Set<String> keys() {
        return Set.of("iface", "start_queue", "queue_count", "mode", "zerocopy", "busy_budget", "fill_batch");
    }

    /** The one line a kernel's refusal of the busy-poll options gives. */
    static DeviceException busyPollRefused(String name, int budget, NativeException e) {
        return new DeviceException(name + ": busy_budget=" + budget + ": " + e.getMessage()
                + (e.errno() == Libc.EPERM() ? ", it needs CAP_NET_ADMIN" : "")
                + "; busy_budget=0 turns busy polling off");
    }

    @Override
    public Port open(DeviceSpec spec, PortContext ctx) {
        spec.requireKnownKeys(NAME, keys());
        if (!BpfSupport.isAvailable()) {
            throw new DeviceException(spec.name() + ": " + BpfSupport.unavailabilityCause());
        }
        String iface = spec.require("iface", "eth0");
        int ifindex = KernelInterface.index(spec, iface);
        int start = spec.getInt("start_queue", 0, 0, 1023);
        int count = spec.getInt("queue_count", Math.max(ctx.rxQueues(), ctx.txQueues()), 1, 64);
        String modeText = spec.get("mode", "native");
        XdpMode mode;
        try {
            mode = XdpMode.parse(modeText);
        } catch (IllegalArgumentException e) {
            throw new DeviceException(spec.name() + ": mode=" + modeText + ": use skb or native");
        }
        if (mode == XdpMode.OFFLOAD) {
            throw new DeviceException(
                    spec.name() + ": mode=offload cannot redirect to AF_XDP sockets: use skb or native");
        }
        int busyBudget = spec.getInt("busy_budget", 0, 0, MAX_BUSY_BUDGET);
        int fillBatch = spec.getInt("fill_batch", DEFAULT_FILL_BATCH, 0, PacketBurst.MAX_BURST);
        String zc = spec.get("zerocopy");
        int bindFlags = Uapi.XDP_USE_NEED_WAKEUP();
        if (zc != null) {
            bindFlags |= spec.getBool("zerocopy", false) ? Uapi.XDP_ZEROCOPY() : Uapi.XDP_COPY();
        }
        PacketPool pool = ctx.pool();
        if (pool.stride() > 4096 && !pool.hugepages()) {
            throw new DeviceException(spec.name() + ": pool buffers of " + pool.stride()
                    + " bytes exceed a 4 KiB page (AF_XDP chunk limit)");
        }
        int ringSize = Integer.highestOneBit(Math.max(64, ctx.rxDescriptors() - 1) << 1);
        int fillSize = ringSize * 2;
        if (fillBatch > ringSize) {
            throw new DeviceException(spec.name() + ": fill_batch=" + fillBatch + " exceeds half the fill ring ("
                    + ringSize + " of " + fillSize + " entries); use 0.." + ringSize);
        }

        Xdp.Loaded loaded = null;
        Prefilter pf;
        Path pins = BpfFs.DEFAULT_DIR.resolve(iface);
        if (Files.exists(pins.resolve(Prefilter.MAP_XSKS))) {
            pf = Prefilter.openPinned(pins);
        } else {
            try {
                loaded = Xdp.load(
                        () -> BpfObject.openResource(Prefilter.RESOURCE), Prefilter.PROGRAM, iface, mode, true);
            } catch (RuntimeException e) {
                throw new DeviceException(
                        spec.name() + ": cannot attach the prefilter to " + iface + ": " + e.getMessage(), e);
            }
            pf = new Prefilter(loaded.object());
            pf.setDefault(Prefilter.Default.REDIRECT);
        }
        XskSocket[] socks = new XskSocket[count];
        Xdp.Loaded toClose = loaded;
        Prefilter pinned = loaded == null ? pf : null;
        try {
            for (int q = 0; q < count; q++) {
                socks[q] = new XskSocket(
                        pool.segment(),
                        (int) pool.stride(),
                        ifindex,
                        start + q,
                        ringSize,
                        fillSize,
                        bindFlags,
                        q == 0 ? -1 : socks[0].fd.value());
                if (busyBudget > 0) {
                    try {
                        socks[q].preferBusyPoll(busyBudget);
                    } catch (NativeException e) {
                        throw busyPollRefused(spec.name(), busyBudget, e);
                    }
                }
                pf.bindQueue(start + q, socks[q].fd.value());
            }
            AfXdpPort port = new AfXdpPort(
                    spec.name(),
                    iface,
                    pool,
                    socks,
                    start,
                    KernelInterface.mac(iface),
                    pf,
                    fillBatch,
                    busyBudget > 0,
                    () -> {
                        if (toClose != null) {
                            toClose.close();
                        }
                        if (pinned != null) {
                            pinned.close();
                        }
                    });
            port.prime(Math.min(ringSize, fillSize - 1));
            if (busyBudget > 0 && port.napiId(0) == 0) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        spec.name() + ": busy_budget=" + busyBudget + ": " + iface + " queue " + start
                                + " has no NAPI id yet (SO_INCOMING_NAPI_ID 0), so busy polling runs nothing until"
                                + " the kernel marks one; drivers that do not tie a NAPI to their queues (veth)"
                                + " never do");
            }
            return port;
        } catch (RuntimeException e) {
            for (XskSocket s : socks) {
                if (s != null) {
                    s.close();
                }
            }
            if (loaded != null) {
                loaded.close();
            } else {
                pf.close();
            }
            if (e instanceof DeviceException d) {
                throw d;
            }
            throw new DeviceException(
                    spec.name() + ": cannot bind AF_XDP sockets on " + iface + " queues " + start + ".."
                            + (start + count - 1) + ": " + e.getMessage(),
                    e);
        }
    }
}
