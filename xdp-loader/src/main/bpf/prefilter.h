// SPDX-License-Identifier: GPL-2.0
// Keys, values and constants of the prefilter maps (prefilter.c). The Java layouts in
// dev.panda.xdp.prefilter.PrefilterMaps mirror these structs byte for byte.
#ifndef PANDA_PREFILTER_H
#define PANDA_PREFILTER_H
#include <linux/types.h>

#define PF_MAX_PREFIXES 16384
#define PF_MAX_FLOWS    65536
#define PF_MAX_QUEUES   64
#define PF_MAX_RULES    1024

/* pf_action_hits indexes */
enum {
    PF_ACT_PASS = 0,        /* matched nothing, to the kernel stack */
    PF_ACT_REDIRECT = 1,    /* matched nothing, to the AF_XDP socket of the queue */
    PF_ACT_DROP_PREFIX = 2, /* source in pf_src_v4 / pf_src_v6 */
    PF_ACT_DROP_FLOW = 3,   /* 5-tuple rule with action drop */
    PF_ACT_PASS_FLOW = 4,   /* 5-tuple rule with action pass (to the stack, never redirected) */
    PF_ACT_MALFORMED = 5,   /* truncated or inconsistent L2/L3/L4 header: dropped */
    PF_ACT_COUNT = 6,
};

/* pf_config.default_action */
#define PF_DEFAULT_PASS     0
#define PF_DEFAULT_REDIRECT 1

/* pf_flow_rule.action */
#define PF_FLOW_DROP 0
#define PF_FLOW_PASS 1

/* LPM trie keys: prefix length in bits, then the address in network order */
struct pf_lpm_v4 {
    __u32 prefixlen;
    __u8 addr[4];
};

struct pf_lpm_v6 {
    __u32 prefixlen;
    __u8 addr[16];
};

/* 5-tuple key, 40 bytes; IPv4 addresses use the first 4 bytes of src/dst, the rest zero;
 * ports in network order; ICMP: sport = type, dport = code (network order) */
struct pf_flow {
    __u8 src[16];
    __u8 dst[16];
    __u16 sport;
    __u16 dport;
    __u8 proto;
    __u8 family;    /* 4 or 6 */
    __u8 pad[2];
};

struct pf_flow_rule {
    __u32 action;   /* PF_FLOW_DROP or PF_FLOW_PASS */
    __u32 rule;     /* index into pf_rule_hits */
};

struct pf_config {
    __u32 default_action;   /* PF_DEFAULT_PASS or PF_DEFAULT_REDIRECT */
    __u32 reserved;
};

#endif
