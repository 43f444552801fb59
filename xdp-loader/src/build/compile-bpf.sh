#!/usr/bin/env bash
# compile-bpf.sh SRC_DIR OUT_DIR — compile every SRC_DIR/*.c into OUT_DIR/<name>.o with
# clang -O2 -g -target bpf (BTF included, so libbpf can load maps declared in .maps).
# Run by Maven (exec-maven-plugin) in generate-resources / generate-test-resources.
# A source is rebuilt only when it (or a header next to it) is newer than its object.
set -euo pipefail
src=$1 out=$2
shopt -s nullglob
sources=("$src"/*.c)
((${#sources[@]})) || exit 0
CLANG=${CLANG:-clang}
if ! command -v "$CLANG" >/dev/null 2>&1; then
  echo "xdp-loader: '$CLANG' not found: the eBPF programs in $src need clang with the BPF target." >&2
  echo "xdp-loader: install the Debian package 'clang' (and 'libbpf-dev' for <bpf/bpf_helpers.h>)," >&2
  echo "xdp-loader: e.g. 'sudo apt-get install clang libbpf-dev', or run scripts/setup." >&2
  exit 1
fi
if [[ ! -f /usr/include/bpf/bpf_helpers.h ]]; then
  echo "xdp-loader: /usr/include/bpf/bpf_helpers.h missing: install the Debian package 'libbpf-dev'." >&2
  exit 1
fi
# <asm/types.h> lives under the multiarch include directory, which -target bpf does not search.
multiarch=$(gcc -print-multiarch 2>/dev/null || echo "$(uname -m)-linux-gnu")
mkdir -p "$out"
newest_header=$(find "$src" -maxdepth 1 -name '*.h' -printf '%T@\n' 2>/dev/null | sort -n | tail -n1)
for c in "${sources[@]}"; do
  o=$out/$(basename "${c%.c}").o
  if [[ -f $o && ! $c -nt $o ]]; then
    if [[ -z $newest_header ]] || (( $(stat -c %Y "$o") >= ${newest_header%.*} )); then continue; fi
  fi
  echo "xdp-loader: clang -target bpf $c -> $o"
  "$CLANG" -O2 -g -Wall -Werror -target bpf -I "$src" -I "/usr/include/$multiarch" -c "$c" -o "$o"
done
