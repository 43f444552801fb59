// SPDX-License-Identifier: GPL-2.0
// panda prefilter: an XDP program that drops by source prefix, drops or passes by 5-tuple, and
// sends the rest either to the AF_XDP socket bound to the receiving queue (XSKMAP) or to the
// kernel stack. Map and program names are a stable interface (xdp-loader/README.md): the Java
// loader, the CLI and the userspace eBPF engine (package dev.panda.xdp.ebpf) use them by name.
//
// Only the helpers bpf_map_lookup_elem and bpf_redirect_map are called, and every packet read
// is bounds-checked against data_end before it happens (the verifier insists; so does a
// malformed frame).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "prefilter.h"

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, PF_MAX_PREFIXES);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct pf_lpm_v4);
    __type(value, __u32);            /* rule id, indexes pf_rule_hits */
} pf_src_v4 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, PF_MAX_PREFIXES);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct pf_lpm_v6);
    __type(value, __u32);
} pf_src_v6 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, PF_MAX_FLOWS);
    __type(key, struct pf_flow);
    __type(value, struct pf_flow_rule);
} pf_flows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct pf_config);
} pf_config SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, PF_MAX_QUEUES);
    __type(key, __u32);
    __type(value, __u32);
} pf_xsks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, PF_MAX_RULES);
    __type(key, __u32);
    __type(value, __u64);
} pf_rule_hits SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, PF_ACT_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} pf_action_hits SEC(".maps");

static __always_inline void count_rule(__u32 rule)
{
    __u64 *n = bpf_map_lookup_elem(&pf_rule_hits, &rule);
    if (n)
        *n += 1;
}

static __always_inline int verdict(__u32 action, int xdp_action)
{
    __u64 *n = bpf_map_lookup_elem(&pf_action_hits, &action);
    if (n)
        *n += 1;
    return xdp_action;
}

/* The packets that match no rule: to the queue's AF_XDP socket or to the stack (pf_config). */
static __always_inline int default_action(struct xdp_md *ctx)
{
    __u32 zero = 0;
    struct pf_config *cfg = bpf_map_lookup_elem(&pf_config, &zero);
    if (cfg && cfg->default_action == PF_DEFAULT_REDIRECT) {
        __u32 q = ctx->rx_queue_index;
        /* flags XDP_PASS: when no socket is bound to this queue the frame goes to the stack */
        int rc = bpf_redirect_map(&pf_xsks, q, XDP_PASS);
        if (rc == XDP_REDIRECT)
            return verdict(PF_ACT_REDIRECT, XDP_REDIRECT);
    }
    return verdict(PF_ACT_PASS, XDP_PASS);
}

SEC("xdp")
int pf_prefilter(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    __u16 proto;
    __u32 off;

    if ((void *)(eth + 1) > data_end)
        return verdict(PF_ACT_MALFORMED, XDP_DROP);
    proto = eth->h_proto;
    off = sizeof(*eth);
    /* up to two VLAN tags (802.1Q / 802.1ad): 2 bytes TCI, 2 bytes inner EtherType */
#pragma unroll
    for (int i = 0; i < 2; i++) {
        if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
            break;
        __u16 *tag = data + off;
        if ((void *)(tag + 2) > data_end)
            return verdict(PF_ACT_MALFORMED, XDP_DROP);
        proto = tag[1];
        off += 4;
    }

    struct pf_flow flow = {};
    __u8 *l4;
    if (proto == bpf_htons(ETH_P_IP)) {
        __u8 *ip = data + off;
        if ((void *)(ip + 20) > data_end)
            return verdict(PF_ACT_MALFORMED, XDP_DROP);
        __u32 ihl = (ip[0] & 0x0f) * 4;
        if ((ip[0] >> 4) != 4 || ihl < 20)
            return verdict(PF_ACT_MALFORMED, XDP_DROP);
        struct pf_lpm_v4 k4 = { .prefixlen = 32 };
        __builtin_memcpy(k4.addr, ip + 12, 4);
        __u32 *rule = bpf_map_lookup_elem(&pf_src_v4, &k4);
        if (rule) {
            count_rule(*rule);
            return verdict(PF_ACT_DROP_PREFIX, XDP_DROP);
        }
        flow.family = 4;
        flow.proto = ip[9];
        __builtin_memcpy(flow.src, ip + 12, 4);
        __builtin_memcpy(flow.dst, ip + 16, 4);
        /* later fragments carry no L4 header: match them with ports 0 */
        if ((ip[6] & 0x1f) | ip[7])
            goto lookup;
        if (ihl > 60)
            return verdict(PF_ACT_MALFORMED, XDP_DROP);
        l4 = ip + ihl;
    } else if (proto == bpf_htons(ETH_P_IPV6)) {
        __u8 *ip6 = data + off;
        if ((void *)(ip6 + 40) > data_end)
            return verdict(PF_ACT_MALFORMED, XDP_DROP);
        if ((ip6[0] >> 4) != 6)
            return verdict(PF_ACT_MALFORMED, XDP_DROP);
        struct pf_lpm_v6 k6 = { .prefixlen = 128 };
        __builtin_memcpy(k6.addr, ip6 + 8, 16);
        __u32 *rule = bpf_map_lookup_elem(&pf_src_v6, &k6);
        if (rule) {
            count_rule(*rule);
            return verdict(PF_ACT_DROP_PREFIX, XDP_DROP);
        }
        flow.family = 6;
        flow.proto = ip6[6];         /* next header; extension headers are not walked */
        __builtin_memcpy(flow.src, ip6 + 8, 16);
        __builtin_memcpy(flow.dst, ip6 + 24, 16);
        l4 = ip6 + 40;
    } else {
        return default_action(ctx);
    }

    if (flow.proto == IPPROTO_TCP || flow.proto == IPPROTO_UDP) {
        if ((void *)(l4 + 4) > data_end)
            return verdict(PF_ACT_MALFORMED, XDP_DROP);
        __builtin_memcpy(&flow.sport, l4, 2);
        __builtin_memcpy(&flow.dport, l4 + 2, 2);
    } else if (flow.proto == IPPROTO_ICMP || flow.proto == 58 /* IPPROTO_ICMPV6 */) {
        /* ICMP: type and code stand in for the ports (sport = type, dport = code) */
        if ((void *)(l4 + 4) > data_end)
            return verdict(PF_ACT_MALFORMED, XDP_DROP);
        flow.sport = bpf_htons(l4[0]);
        flow.dport = bpf_htons(l4[1]);
    }

lookup:;
    struct pf_flow_rule *fr = bpf_map_lookup_elem(&pf_flows, &flow);
    if (fr) {
        count_rule(fr->rule);
        if (fr->action == PF_FLOW_DROP)
            return verdict(PF_ACT_DROP_FLOW, XDP_DROP);
        if (fr->action == PF_FLOW_PASS)
            return verdict(PF_ACT_PASS_FLOW, XDP_PASS);
    }
    return default_action(ctx);
}

char LICENSE[] SEC("license") = "GPL";
