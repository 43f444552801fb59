package dev.panda.vswitch.datapath;

import dev.panda.vswitch.bridge.Fdb;

/**
 * A bridge as the data path sees it: its FDB (shared by every snapshot, living as long as the
 * bridge) and its member ports (fixed per snapshot).
 */
public final class BridgeEntry {

    public final String name;
    public final Fdb fdb;
    /** Member ports, filled in when the snapshot is built. */
    PortEntry[] members = new PortEntry[0];

    public BridgeEntry(String name, Fdb fdb) {
        this.name = name;
        this.fdb = fdb;
    }

    public PortEntry[] members() {
        return members;
    }
}
