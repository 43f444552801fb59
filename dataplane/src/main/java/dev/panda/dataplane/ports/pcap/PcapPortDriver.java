package dev.panda.dataplane.ports.pcap;

import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.DeviceSpec;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortDriver;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;

/**
 * {@code net_pcapN[,rx_pcap=in.pcap][,tx_pcap=out.pcap][,infinite_rx=0|1]}: replays a capture on
 * rx and records tx to a capture, as DPDK's net_pcap. Without {@code rx_pcap} rx returns nothing;
 * without {@code tx_pcap} tx frees and counts. One rx and one tx queue.
 *
 * <p>The rx capture is mapped read-only for the life of the port; like any mapped file it must not
 * be truncated by another process meanwhile (the JVM turns the fault into an InternalError).
 */
public final class PcapPortDriver implements PortDriver {

    static final String NAME = "net_pcap";
    static final String RX_PCAP = "rx_pcap";
    static final String TX_PCAP = "tx_pcap";
    static final String INFINITE_RX = "infinite_rx";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "replays a pcap file on rx, records tx to a pcap file; rx_pcap=, tx_pcap=, infinite_rx=";
    }

    @Override
    public Set<String> keys() {
        return Set.of(RX_PCAP, TX_PCAP, INFINITE_RX);
    }

    @Override
    public Port open(DeviceSpec spec, PortContext ctx) {
        Path rxPath = path(spec, RX_PCAP);
        Path txPath = path(spec, TX_PCAP);
        boolean infinite = spec.getBool(INFINITE_RX, false);
        if (infinite && rxPath == null) {
            throw new DeviceException("infinite_rx=1 for device '" + spec.name() + "' needs rx_pcap=FILE");
        }
        if (rxPath != null && txPath != null && sameFile(rxPath, txPath)) {
            throw new DeviceException("rx_pcap and tx_pcap of device '" + spec.name() + "' are the same file (" + rxPath
                    + "): writing it would destroy what rx replays");
        }
        Arena arena = null;
        MemorySegment rxFile = null;
        PcapWriter writer = null;
        try {
            if (rxPath != null) {
                arena = Arena.ofShared();
                rxFile = map(spec, rxPath, arena);
            }
            if (txPath != null) {
                try {
                    writer = PcapWriter.create(txPath);
                } catch (IOException e) {
                    throw new DeviceException(
                            "cannot create tx_pcap=" + txPath + " for device '" + spec.name() + "': " + e, e);
                }
            }
            String rxSource = spec.name() + " rx_pcap=" + rxPath;
            return new PcapPort(spec.name(), ctx.pool(), ctx.portId(), arena, rxFile, rxSource, infinite, writer);
        } catch (RuntimeException e) {
            // Nothing stays open when the device does not.
            if (writer != null) {
                try {
                    writer.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            if (arena != null) {
                arena.close();
            }
            throw e;
        }
    }

    private static Path path(DeviceSpec spec, String key) {
        String v = spec.get(key);
        if (v == null) {
            return null;
        }
        if (v.isEmpty()) {
            throw new DeviceException(key + "= of device '" + spec.name() + "' is empty: expected a file path");
        }
        try {
            return Path.of(v);
        } catch (InvalidPathException e) {
            throw new DeviceException("invalid " + key + " path for device '" + spec.name() + "': " + e.getMessage());
        }
    }

    private static boolean sameFile(Path a, Path b) {
        if (a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize())) {
            return true;
        }
        try {
            return Files.exists(a) && Files.exists(b) && Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }

    /** Maps the capture read-only; its header is checked by {@link PcapReader}. */
    private static MemorySegment map(DeviceSpec spec, Path path, Arena arena) {
        if (!Files.isRegularFile(path)) {
            throw new DeviceException("rx_pcap=" + path + " of device '" + spec.name() + "' "
                    + (Files.exists(path) ? "is not a regular file" : "does not exist"));
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            // The mapping outlives the channel; the arena unmaps it when the port closes.
            return size == 0
                    ? MemorySegment.ofArray(new byte[0])
                    : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        } catch (IOException e) {
            throw new DeviceException("cannot read rx_pcap=" + path + " of device '" + spec.name() + "': " + e, e);
        }
    }
}
