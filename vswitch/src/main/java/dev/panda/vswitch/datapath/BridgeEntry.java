package dev.panda.vswitch.datapath;

import dev.panda.vswitch.bridge.Fdb;
import dev.panda.vswitch.flow.BridgeFlows;

/**
 * A bridge as the data path sees it: its FDB (shared by every snapshot, living as long as the
 * bridge) and its member ports (fixed per snapshot).
 */
public final class BridgeEntry {

    public final String name;
    public final Fdb fdb;
    /** Its OpenFlow tables (null: none, always NORMAL). */
    public final BridgeFlows flows;
    /** Member ports, filled in when the snapshot is built. */
    PortEntry[] members = new PortEntry[0];

    public BridgeEntry(String name, Fdb fdb) {
        this(name, fdb, null);
    }

    public BridgeEntry(String name, Fdb fdb, BridgeFlows flows) {
        this.name = name;
        this.fdb = fdb;
        this.flows = flows;
    }

    public PortEntry[] members() {
        return members;
    }
}
