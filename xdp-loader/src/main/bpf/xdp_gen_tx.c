// SPDX-License-Identifier: GPL-2.0
// Traffic source for the perf comparisons: run with BPF_PROG_TEST_RUN in live-frames mode
// (BPF_F_TEST_XDP_LIVE_FRAMES, kernel 5.18+) on one end of a veth pair, every frame is sent
// out of that interface (XDP_TX), so the other end receives it at kernel speed.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_gen_tx(struct xdp_md *ctx)
{
    return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
