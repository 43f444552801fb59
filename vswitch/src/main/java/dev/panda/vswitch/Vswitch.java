package dev.panda.vswitch;

import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import java.util.List;

/** The running vswitch: bridges, ports and pollers. (Data path under construction.) */
public final class Vswitch implements Control, AutoCloseable {

    private Vswitch() {}

    /** Starts the pollers as {@code config.pmd()} says and adds its bridges and ports. */
    public static Vswitch start(VswitchConfig config) {
        throw new UnsupportedOperationException("data path not written yet");
    }

    @Override
    public void addBridge(BridgeConfig bridge) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void delBridge(String bridge) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void addPort(String bridge, PortConfig port) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void delPort(String bridge, String port) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Views.Show show() {
        throw new UnsupportedOperationException();
    }

    @Override
    public Views.Fdb fdb(String bridge) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Views.Stats stats(String port) {
        throw new UnsupportedOperationException();
    }

    @Override
    public List<Views.PmdStatsView> pmdStats() {
        throw new UnsupportedOperationException();
    }

    @Override
    public void clearPmdStats() {
        throw new UnsupportedOperationException();
    }

    @Override
    public VswitchConfig config() {
        throw new UnsupportedOperationException();
    }

    /** Stops the pollers and closes every port. */
    @Override
    public void close() {}
}
