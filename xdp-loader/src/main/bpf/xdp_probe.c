// SPDX-License-Identifier: GPL-2.0
// Passes every frame. The loader attaches it briefly to find which XDP modes an interface
// supports (dev.panda.xdp.bpf.Xdp.workingModes) when a requested mode fails.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_probe(struct xdp_md *ctx)
{
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
