// SPDX-License-Identifier: GPL-2.0
// The smallest XDP program: every frame goes on to the kernel stack. Used by the loader tests
// (load, attach in each mode, detach) and one array map so map access can be exercised.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} pass_count SEC(".maps");

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
    __u32 zero = 0;
    __u64 *n = bpf_map_lookup_elem(&pass_count, &zero);
    if (n)
        *n += 1;
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
