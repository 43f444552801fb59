package dev.panda.vswitch.bridge;

import java.util.List;

/**
 * What VLANs a port carries and how they look on its wire, decided once when the port is added.
 *
 * <ul>
 *   <li>access ({@code tag=N}): untagged frames are VLAN N; tagged frames (other than priority
 *       tagged, VID 0) are dropped; frames leave untagged.
 *   <li>trunk ({@code trunks=A,B,...}): frames tagged with a listed VLAN are that VLAN; untagged
 *       frames belong to the native VLAN if one is set, else are dropped; frames leave tagged,
 *       except those of the native VLAN.
 *   <li>all (neither): every VLAN, as an OVS port with no tag and no trunks; untagged frames are
 *       VLAN 0 and leave untagged, tagged frames keep their tag.
 * </ul>
 */
public final class VlanPolicy {

    /** Returned by {@link #ingress} for a frame the port does not carry. */
    public static final int DROP = -1;

    public enum Mode {
        ACCESS,
        TRUNK,
        ALL
    }

    private final Mode mode;
    private final int tag;
    private final int nativeVlan;
    private final long[] members = new long[64]; // 4096 bits

    private VlanPolicy(Mode mode, int tag, int nativeVlan, List<Integer> trunks) {
        this.mode = mode;
        this.tag = tag;
        this.nativeVlan = nativeVlan;
        for (int v : trunks) {
            members[v >>> 6] |= 1L << (v & 63);
        }
        if (mode == Mode.TRUNK && nativeVlan > 0) {
            members[nativeVlan >>> 6] |= 1L << (nativeVlan & 63);
        }
    }

    /**
     * @throws IllegalArgumentException naming what is wrong: a VLAN outside 1..4094, tag together
     *     with trunks, a native VLAN without trunks
     */
    public static VlanPolicy of(Integer tag, List<Integer> trunks, Integer nativeVlan) {
        List<Integer> t = trunks == null ? List.of() : trunks;
        if (tag != null) {
            check("tag", tag);
            if (!t.isEmpty()) {
                throw new IllegalArgumentException("a port has tag (access) or trunks, not both");
            }
            if (nativeVlan != null) {
                throw new IllegalArgumentException("native-vlan needs trunks, not tag");
            }
            return new VlanPolicy(Mode.ACCESS, tag, 0, List.of());
        }
        for (int v : t) {
            check("trunks", v);
        }
        if (nativeVlan != null) {
            check("native-vlan", nativeVlan);
            if (t.isEmpty()) {
                throw new IllegalArgumentException("native-vlan needs trunks");
            }
        }
        if (t.isEmpty()) {
            return new VlanPolicy(Mode.ALL, 0, 0, List.of());
        }
        return new VlanPolicy(Mode.TRUNK, 0, nativeVlan == null ? 0 : nativeVlan, t);
    }

    private static void check(String what, int v) {
        if (v < 1 || v > 4094) {
            throw new IllegalArgumentException(what + ": " + v + " is not a VLAN (1..4094)");
        }
    }

    public static VlanPolicy all() {
        return new VlanPolicy(Mode.ALL, 0, 0, List.of());
    }

    /**
     * The VLAN of a frame received on this port: {@code vid} is the 802.1Q VID of its tag, or -1
     * when it is untagged. Returns {@link #DROP} when the port does not carry it.
     */
    public int ingress(int vid) {
        switch (mode) {
            case ACCESS:
                return vid <= 0 ? tag : DROP;
            case TRUNK:
                if (vid <= 0) {
                    return nativeVlan > 0 ? nativeVlan : DROP;
                }
                return carries(vid) ? vid : DROP;
            default:
                return vid < 0 ? 0 : vid;
        }
    }

    /** True if frames of {@code vlan} may leave through this port. */
    public boolean carries(int vlan) {
        return switch (mode) {
            case ACCESS -> vlan == tag;
            case TRUNK -> vlan > 0 && (members[vlan >>> 6] & (1L << (vlan & 63))) != 0;
            case ALL -> true;
        };
    }

    /** The VID a frame of {@code vlan} carries when it leaves through this port, or 0 for untagged. */
    public int egressTag(int vlan) {
        return switch (mode) {
            case ACCESS -> 0;
            case TRUNK -> vlan == nativeVlan ? 0 : vlan;
            case ALL -> vlan;
        };
    }

    public Mode mode() {
        return mode;
    }

    public String label() {
        return mode.name().toLowerCase(java.util.Locale.ROOT);
    }
}
