package dev.panda.vswitch.flow;

/**
 * Why a flow mod was refused, as the OpenFlow 1.3 error it is sent as: {@link #type} is the
 * OFPET_* type, {@link #code} the code within it.
 */
public enum FlowError {
    // OFPET_BAD_REQUEST (1): refusals of a PACKET_OUT as a whole
    REQUEST_EPERM(1, 5),
    BAD_REQUEST_LEN(1, 6),
    BAD_PORT(1, 11),
    // OFPET_BAD_ACTION (2)
    BAD_ACTION_TYPE(2, 0),
    BAD_ACTION_LEN(2, 1),
    BAD_OUT_PORT(2, 4),
    BAD_ACTION_ARGUMENT(2, 5),
    TOO_MANY_ACTIONS(2, 7),
    BAD_OUT_GROUP(2, 9),
    MATCH_INCONSISTENT(2, 10),
    BAD_SET_TYPE(2, 13),
    BAD_SET_ARGUMENT(2, 15),
    // OFPET_BAD_INSTRUCTION (3)
    UNKNOWN_INST(3, 0),
    UNSUP_INST(3, 1),
    BAD_INST_TABLE_ID(3, 2),
    // OFPET_BAD_MATCH (4): one per MatchError
    BAD_MATCH_TYPE(4, 0),
    BAD_MATCH_LEN(4, 1),
    BAD_MATCH_TAG(4, 2),
    BAD_DL_ADDR_MASK(4, 3),
    BAD_NW_ADDR_MASK(4, 4),
    BAD_WILDCARDS(4, 5),
    BAD_FIELD(4, 6),
    BAD_VALUE(4, 7),
    BAD_MASK(4, 8),
    BAD_PREREQ(4, 9),
    DUP_FIELD(4, 10),
    MATCH_EPERM(4, 11),
    // OFPET_FLOW_MOD_FAILED (5)
    UNKNOWN(5, 0),
    TABLE_FULL(5, 1),
    BAD_TABLE_ID(5, 2),
    OVERLAP(5, 3),
    EPERM(5, 4),
    BAD_TIMEOUT(5, 5),
    BAD_COMMAND(5, 6),
    BAD_FLAGS(5, 7);

    public static final int OFPET_BAD_ACTION = 2;
    public static final int OFPET_BAD_INSTRUCTION = 3;
    public static final int OFPET_BAD_MATCH = 4;
    public static final int OFPET_FLOW_MOD_FAILED = 5;

    public final int type;
    public final int code;

    FlowError(int type, int code) {
        this.type = type;
        this.code = code;
    }

    /** The OFPET_BAD_MATCH error for {@code e}. */
    public static FlowError of(MatchError e) {
        for (FlowError f : values()) {
            if (f.type == OFPET_BAD_MATCH && f.code == e.code) {
                return f;
            }
        }
        throw new AssertionError(e);
    }
}
