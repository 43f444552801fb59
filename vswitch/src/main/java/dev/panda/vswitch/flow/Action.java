package dev.panda.vswitch.flow;

/** An OpenFlow 1.3 action panda carries out. */
public sealed interface Action permits Action.Output, Action.PushVlan, Action.PopVlan, Action.SetField {

    /**
     * OFPAT_OUTPUT: to a port (its data-path id) or a reserved port of {@link OfPort}.
     *
     * @param maxLen for CONTROLLER, the most bytes sent in the PACKET_IN ({@link OfPort#NO_BUFFER}
     *     for the whole frame); ignored otherwise
     */
    record Output(int port, int maxLen) implements Action {
        public Output(int port) {
            this(port, OfPort.NO_BUFFER);
        }
    }

    /** OFPAT_PUSH_VLAN: adds an outer tag (ethertype 0x8100 or 0x88a8) copying the VID/PCP of an existing one, else 0. */
    record PushVlan(int ethertype) implements Action {}

    /** OFPAT_POP_VLAN: removes the outer tag. */
    record PopVlan() implements Action {}

    /**
     * OFPAT_SET_FIELD of {@link Field#ETH_SRC}, {@link Field#ETH_DST} or {@link Field#VLAN_VID}
     * (the VID as OpenFlow writes it, OFPVID_PRESENT | vid; the present bit is not required).
     */
    record SetField(Field field, long value) implements Action {}

    /** OFPAT_* type numbers. */
    int OUTPUT = 0;

    int PUSH_VLAN = 17;
    int POP_VLAN = 18;
    int SET_FIELD = 25;

    /** This action's OFPAT_* type. */
    default int ofType() {
        return switch (this) {
            case Output o -> OUTPUT;
            case PushVlan p -> PUSH_VLAN;
            case PopVlan p -> POP_VLAN;
            case SetField s -> SET_FIELD;
        };
    }
}
