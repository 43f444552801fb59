package dev.panda.vswitch.flow;

/** Why a match is refused; {@link #code} is the OpenFlow 1.3 OFPBMC_* code (error type OFPET_BAD_MATCH). */
public enum MatchError {
    BAD_TYPE(0),
    BAD_LEN(1),
    BAD_TAG(2),
    BAD_DL_ADDR_MASK(3),
    BAD_NW_ADDR_MASK(4),
    /** A value bit set where the mask is 0. */
    BAD_WILDCARDS(5),
    /** A field panda does not match on. */
    BAD_FIELD(6),
    /** A value outside the field's range (e.g. in_port 0, vlan_vid above 0x1fff). */
    BAD_VALUE(7),
    /** A mask on a field that takes none. */
    BAD_MASK(8),
    /** A field whose prerequisite (eth_type, ip_proto, a VLAN tag) is not matched exactly. */
    BAD_PREREQ(9),
    DUP_FIELD(10),
    EPERM(11);

    /** OFPET_BAD_MATCH. */
    public static final int OFPET = 4;

    public final int code;

    MatchError(int code) {
        this.code = code;
    }
}
