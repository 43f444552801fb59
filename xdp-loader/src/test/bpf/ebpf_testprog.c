// SPDX-License-Identifier: GPL-2.0
/*
 * Test program for the userspace eBPF engine (dev.panda.xdp.ebpf): a small prefilter of its own
 * that exercises every map type and helper the engine implements, so the differential test can
 * compare the kernel (BPF_PROG_TEST_RUN) with the interpreter and the translator.
 * Not the production prefilter (that one lives in src/main/bpf on branch xdp).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct vlan_hdr { __be16 tci; __be16 proto; };

struct lpm_v4 { __u32 prefixlen; __u8 addr[4]; };
struct lpm_v6 { __u32 prefixlen; __u8 addr[16]; };

struct flow_key {
	__u8 proto;
	__u8 pad[3];
	__u32 src4, dst4;
	__u16 sport, dport;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v4);
	__type(value, __u32);
	__uint(max_entries, 64);
} drop_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v6);
	__type(value, __u32);
	__uint(max_entries, 64);
} drop_v6 SEC(".maps");

/* 5-tuple rules: value 1 = drop, 2 = pass to the stack, 3 = redirect */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct flow_key);
	__type(value, __u32);
	__uint(max_entries, 64);
} rules SEC(".maps");

/* packets seen per flow, inserted by the program itself */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct flow_key);
	__type(value, __u64);
	__uint(max_entries, 16);
} flows SEC(".maps");

/* per-action and per-rule counters */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 8);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 8);
} bytes_by_proto SEC(".maps");

/* shared totals, updated with atomic adds */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} totals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 4);
} xsks SEC(".maps");

enum { C_MALFORMED, C_LPM_DROP, C_RULE_DROP, C_RULE_PASS, C_REDIRECT, C_PASS, C_OTHER, C_VLAN };

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);
	if (v)
		*v += 1;
}

static __always_inline int verdict(struct xdp_md *ctx, struct flow_key *fk, __u32 len)
{
	__u32 proto = fk->proto;
	__u64 *b = bpf_map_lookup_elem(&bytes_by_proto, &proto);
	if (b) {
		*b += len;
	} else {
		__u64 init = len;
		bpf_map_update_elem(&bytes_by_proto, &proto, &init, BPF_NOEXIST);
	}
	__u64 *n = bpf_map_lookup_elem(&flows, fk);
	if (n) {
		__sync_fetch_and_add(n, 1);
	} else {
		__u64 one = 1;
		bpf_map_update_elem(&flows, fk, &one, BPF_ANY);
	}
	__u32 *action = bpf_map_lookup_elem(&rules, fk);
	if (action) {
		if (*action == 1) { count(C_RULE_DROP); return XDP_DROP; }
		if (*action == 2) { count(C_RULE_PASS); return XDP_PASS; }
		if (*action == 3) {
			count(C_REDIRECT);
			return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_TX);
		}
		if (*action == 4) {
			/* delete the rule once it has matched */
			bpf_map_delete_elem(&rules, fk);
			return XDP_ABORTED;
		}
	}
	count(C_PASS);
	return XDP_PASS;
}

SEC("xdp")
int ebpf_testprog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct flow_key fk = {};
	__u32 zero = 0;
	__u64 *t = bpf_map_lookup_elem(&totals, &zero);
	if (t)
		__sync_fetch_and_add(t, (__u64)(data_end - data));

	if ((void *)(eth + 1) > data_end) {
		count(C_MALFORMED);
		return XDP_ABORTED;
	}
	__u16 proto = eth->h_proto;
	void *l3 = eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vh = l3;
		if ((void *)(vh + 1) > data_end) {
			count(C_MALFORMED);
			return XDP_DROP;
		}
		count(C_VLAN);
		proto = vh->proto;
		l3 = vh + 1;
	}
	void *l4;
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;
		if ((void *)(ip + 1) > data_end || ip->ihl < 5) {
			count(C_MALFORMED);
			return XDP_DROP;
		}
		struct lpm_v4 k = { .prefixlen = 32 };
		__builtin_memcpy(k.addr, &ip->saddr, 4);
		if (bpf_map_lookup_elem(&drop_v4, &k)) {
			count(C_LPM_DROP);
			return XDP_DROP;
		}
		fk.proto = ip->protocol;
		fk.src4 = ip->saddr;
		fk.dst4 = ip->daddr;
		l4 = l3 + ip->ihl * 4;
		/* a changed TTL is visible in the packet the kernel hands back */
		if (ip->ttl == 1)
			ip->ttl = 64;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;
		if ((void *)(ip6 + 1) > data_end) {
			count(C_MALFORMED);
			return XDP_DROP;
		}
		struct lpm_v6 k = { .prefixlen = 128 };
		__builtin_memcpy(k.addr, &ip6->saddr, 16);
		if (bpf_map_lookup_elem(&drop_v6, &k)) {
			count(C_LPM_DROP);
			return XDP_DROP;
		}
		fk.proto = ip6->nexthdr;
		l4 = ip6 + 1;
	} else {
		count(C_OTHER);
		return XDP_PASS;
	}
	if (fk.proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;
		if ((void *)(th + 1) > data_end) {
			count(C_MALFORMED);
			return XDP_DROP;
		}
		fk.sport = th->source;
		fk.dport = th->dest;
	} else if (fk.proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;
		if ((void *)(uh + 1) > data_end) {
			count(C_MALFORMED);
			return XDP_DROP;
		}
		fk.sport = uh->source;
		fk.dport = uh->dest;
	}
	return verdict(ctx, &fk, (__u32)(data_end - data));
}

char _license[] SEC("license") = "GPL";
