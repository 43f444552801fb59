package dev.panda.pmd.vfio;

import dev.panda.dataplane.port.LinkStatus;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortStats;

/** The port of a {@link SoftVirtioNet} whose device loops tx back to rx before every rx burst. */
final class LoopingPort implements Port {

    private final SoftVirtioNet dev;
    private final VirtioPciPort port;

    LoopingPort(SoftVirtioNet dev) {
        this.dev = dev;
        this.port = dev.port();
    }

    @Override
    public String name() {
        return port.name();
    }

    @Override
    public String driverName() {
        return port.driverName();
    }

    @Override
    public int rxQueueCount() {
        return 1;
    }

    @Override
    public int txQueueCount() {
        return 1;
    }

    @Override
    public int rxBurst(int queue, PacketBurst burst) {
        dev.loopback();
        return port.rxBurst(queue, burst);
    }

    @Override
    public int txBurst(int queue, PacketBurst burst, int n) {
        return port.txBurst(queue, burst, n);
    }

    @Override
    public PortStats stats() {
        return port.stats();
    }

    @Override
    public long mac() {
        return port.mac();
    }

    @Override
    public LinkStatus link() {
        return port.link();
    }

    @Override
    public void close() {
        dev.close();
    }
}
