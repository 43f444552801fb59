package dev.panda.vswitch.openflow;

/** OpenFlow 1.3.5 wire constants (the spec's section 7 names, without their prefixes). */
public final class Of {

    private Of() {}

    public static final int VERSION = 0x04;
    public static final int HEADER = 8;
    /** The largest message either side may send: the 16-bit length field's range. */
    public static final int MAX_MESSAGE = 0xffff;

    // ofp_type
    public static final int HELLO = 0;
    public static final int ERROR = 1;
    public static final int ECHO_REQUEST = 2;
    public static final int ECHO_REPLY = 3;
    public static final int EXPERIMENTER = 4;
    public static final int FEATURES_REQUEST = 5;
    public static final int FEATURES_REPLY = 6;
    public static final int GET_CONFIG_REQUEST = 7;
    public static final int GET_CONFIG_REPLY = 8;
    public static final int SET_CONFIG = 9;
    public static final int PACKET_IN = 10;
    public static final int FLOW_REMOVED = 11;
    public static final int PORT_STATUS = 12;
    public static final int PACKET_OUT = 13;
    public static final int FLOW_MOD = 14;
    public static final int MULTIPART_REQUEST = 18;
    public static final int MULTIPART_REPLY = 19;
    public static final int BARRIER_REQUEST = 20;
    public static final int BARRIER_REPLY = 21;
    public static final int ROLE_REQUEST = 24;
    public static final int ROLE_REPLY = 25;

    // hello elements
    public static final int HELLO_ELEM_VERSIONBITMAP = 1;

    // ofp_error_type and codes
    public static final int ET_HELLO_FAILED = 0;
    public static final int HFC_INCOMPATIBLE = 0;
    public static final int ET_BAD_REQUEST = 1;
    public static final int BRC_BAD_VERSION = 0;
    public static final int BRC_BAD_TYPE = 1;
    public static final int BRC_BAD_MULTIPART = 2;
    public static final int BRC_BAD_EXPERIMENTER = 3;
    public static final int BRC_EPERM = 5;
    public static final int BRC_BAD_LEN = 6;
    public static final int BRC_BUFFER_UNKNOWN = 8;
    public static final int BRC_BAD_TABLE_ID = 9;
    public static final int BRC_BAD_PORT = 11;
    public static final int BRC_BAD_PACKET = 12;
    public static final int ET_BAD_ACTION = 2;
    public static final int BAC_BAD_TYPE = 0;
    public static final int BAC_BAD_LEN = 1;
    public static final int BAC_BAD_OUT_PORT = 4;
    public static final int BAC_BAD_ARGUMENT = 5;
    public static final int BAC_TOO_MANY = 7;
    public static final int BAC_MATCH_INCONSISTENT = 10;
    public static final int BAC_BAD_SET_TYPE = 13;
    public static final int BAC_BAD_SET_LEN = 14;
    public static final int BAC_BAD_SET_ARGUMENT = 15;
    public static final int ET_BAD_INSTRUCTION = 3;
    public static final int BIC_UNKNOWN_INST = 0;
    public static final int BIC_UNSUP_INST = 1;
    public static final int BIC_BAD_TABLE_ID = 2;
    public static final int BIC_BAD_LEN = 7;
    public static final int ET_BAD_MATCH = 4;
    public static final int BMC_BAD_TYPE = 0;
    public static final int BMC_BAD_LEN = 1;
    public static final int BMC_BAD_FIELD = 6;
    public static final int BMC_BAD_VALUE = 7;
    public static final int BMC_BAD_MASK = 8;
    public static final int BMC_BAD_PREREQ = 9;
    public static final int BMC_DUP_FIELD = 10;
    public static final int ET_FLOW_MOD_FAILED = 5;
    public static final int FMFC_UNKNOWN = 0;
    public static final int FMFC_TABLE_FULL = 1;
    public static final int FMFC_BAD_TABLE_ID = 2;
    public static final int FMFC_OVERLAP = 3;
    public static final int FMFC_BAD_TIMEOUT = 5;
    public static final int FMFC_BAD_COMMAND = 6;
    public static final int FMFC_BAD_FLAGS = 7;
    public static final int ET_SWITCH_CONFIG_FAILED = 10;
    public static final int SCFC_BAD_FLAGS = 0;
    public static final int SCFC_BAD_LEN = 1;
    public static final int ET_ROLE_REQUEST_FAILED = 11;
    public static final int RRFC_BAD_ROLE = 2;
    public static final int ET_TABLE_FEATURES_FAILED = 13;
    public static final int TFFC_EPERM = 5;

    // ports
    public static final int PP_MAX = 0xffffff00;
    public static final int PP_IN_PORT = 0xfffffff8;
    public static final int PP_TABLE = 0xfffffff9;
    public static final int PP_NORMAL = 0xfffffffa;
    public static final int PP_FLOOD = 0xfffffffb;
    public static final int PP_ALL = 0xfffffffc;
    public static final int PP_CONTROLLER = 0xfffffffd;
    public static final int PP_LOCAL = 0xfffffffe;
    public static final int PP_ANY = 0xffffffff;
    public static final int GROUP_ANY = 0xffffffff;
    public static final int NO_BUFFER = 0xffffffff;
    public static final int CML_NO_BUFFER = 0xffff;
    public static final int TT_ALL = 0xff;

    // flow mod commands and flags
    public static final int FC_ADD = 0;
    public static final int FC_MODIFY = 1;
    public static final int FC_MODIFY_STRICT = 2;
    public static final int FC_DELETE = 3;
    public static final int FC_DELETE_STRICT = 4;
    public static final int FF_SEND_FLOW_REM = 1;
    public static final int FF_CHECK_OVERLAP = 2;
    public static final int FF_RESET_COUNTS = 4;
    public static final int FF_NO_PKT_COUNTS = 8;
    public static final int FF_NO_BYT_COUNTS = 16;

    // match
    public static final int MT_OXM = 1;
    public static final int OXM_CLASS_BASIC = 0x8000;
    public static final int VID_PRESENT = 0x1000;

    // instructions
    public static final int IT_GOTO_TABLE = 1;
    public static final int IT_WRITE_METADATA = 2;
    public static final int IT_WRITE_ACTIONS = 3;
    public static final int IT_APPLY_ACTIONS = 4;
    public static final int IT_CLEAR_ACTIONS = 5;
    public static final int IT_METER = 6;

    // actions
    public static final int AT_OUTPUT = 0;
    public static final int AT_PUSH_VLAN = 17;
    public static final int AT_POP_VLAN = 18;
    public static final int AT_SET_FIELD = 25;

    // packet-in and flow-removed reasons, port status reasons
    public static final int R_NO_MATCH = 0;
    public static final int R_ACTION = 1;
    public static final int RR_IDLE_TIMEOUT = 0;
    public static final int RR_HARD_TIMEOUT = 1;
    public static final int RR_DELETE = 2;
    public static final int PR_ADD = 0;
    public static final int PR_DELETE = 1;
    public static final int PR_MODIFY = 2;

    // port state and features
    public static final int PS_LINK_DOWN = 1;
    public static final int PS_LIVE = 4;
    public static final int PF_10GB_FD = 1 << 6;
    public static final int PF_COPPER = 1 << 11;

    // multipart
    public static final int MP_DESC = 0;
    public static final int MP_FLOW = 1;
    public static final int MP_AGGREGATE = 2;
    public static final int MP_TABLE = 3;
    public static final int MP_PORT_STATS = 4;
    public static final int MP_TABLE_FEATURES = 12;
    public static final int MP_PORT_DESC = 13;
    public static final int MPF_MORE = 1;

    // switch features capabilities
    public static final int C_FLOW_STATS = 1;
    public static final int C_TABLE_STATS = 2;
    public static final int C_PORT_STATS = 4;

    // roles
    public static final int CR_ROLE_NOCHANGE = 0;
    public static final int CR_ROLE_EQUAL = 1;
    public static final int CR_ROLE_MASTER = 2;
    public static final int CR_ROLE_SLAVE = 3;

    /** A port number as ovs-ofctl prints it. */
    public static String portName(int port) {
        return switch (port) {
            case PP_IN_PORT -> "IN_PORT";
            case PP_TABLE -> "TABLE";
            case PP_NORMAL -> "NORMAL";
            case PP_FLOOD -> "FLOOD";
            case PP_ALL -> "ALL";
            case PP_CONTROLLER -> "CONTROLLER";
            case PP_LOCAL -> "LOCAL";
            case PP_ANY -> "ANY";
            default -> Integer.toUnsignedString(port);
        };
    }
}
