/*
 * libbpf (Debian libbpf-dev 1.1) for the xdp-loader: open/load BPF objects, find programs
 * and maps, attach XDP, map element access, test runs. Input to scripts/jextract
 * (package dev.panda.jextract.libbpf, header class Libbpf; loads libbpf.so.1).
 * libbpf 1.x no longer ships xsk.h (it moved to libxdp); AF_XDP rings are done in Java
 * from the if_xdp.h layouts in dev.panda.jextract.uapi.
 */
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
