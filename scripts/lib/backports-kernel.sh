# shellcheck shell=bash
# scripts/lib/backports-kernel.sh — the guest kernel for the vDPA proofs (sourced by scripts/setup).
#
# The host kernel has no vDPA and Debian bookworm's 6.1 neither; bookworm-backports'
# linux-image-6.12.*+deb12-amd64 (the generic flavour: the cloud one has no 9p) ships vdpa, vduse,
# virtio_vdpa, vhost_vdpa, vhost_iotlb and vhost_net as modules. backports_kernel_fetch downloads
# that package with a private apt configuration (its own sources list, naming bookworm-backports on
# the archive the host's own Debian sources use; its own lists and cache directories) and extracts
# it with dpkg-deb into $BACKPORTS_KERNEL_DIR, never installing it on the host:
#
#   $BACKPORTS_KERNEL_DIR/VERSION                      "PACKAGE VERSION RELEASE" (the marker)
#   $BACKPORTS_KERNEL_DIR/boot/vmlinuz-RELEASE
#   $BACKPORTS_KERNEL_DIR/lib/modules/RELEASE/...      modules decompressed (.ko), modules.dep by depmod
#
# Idempotent: nothing is fetched when the marker is there and its files exist.

BACKPORTS_KERNEL_DIR=${BACKPORTS_KERNEL_DIR:-/var/cache/panda/kernels/bookworm-backports}
BACKPORTS_APT_DIR=${BACKPORTS_APT_DIR:-/var/cache/panda/apt-bookworm-backports}

# backports_kernel_ok: 0 when the cache holds a complete kernel (prints "PACKAGE VERSION RELEASE")
backports_kernel_ok() {
  local marker=$BACKPORTS_KERNEL_DIR/VERSION rel
  [[ -s $marker ]] || return 1
  rel=$(awk '{print $3}' "$marker")
  [[ -n $rel && -s $BACKPORTS_KERNEL_DIR/boot/vmlinuz-$rel && -s $BACKPORTS_KERNEL_DIR/lib/modules/$rel/modules.dep ]] || return 1
  cat "$marker"
}

# The host's Debian archive (URIs and Signed-By of the stanza or line that serves bookworm), written
# as a deb822 sources file naming bookworm-backports.
_backports_sources() {
  local f uri="" key=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r $f ]] || continue
    # the first stanza whose Suites name plain bookworm
    read -r uri key < <(awk 'BEGIN{RS=""; FS="\n"}
      { u=""; k=""; s=0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { u = $i; sub(/^URIs:[ \t]*/, "", u); sub(/[ \t].*/, "", u) }
          if ($i ~ /^Signed-By:/) { k = $i; sub(/^Signed-By:[ \t]*/, "", k) }
          if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) s = 1
        }
        if (s && u != "") { print u, k; exit } }' "$f")
    [[ -n $uri ]] && break
  done
  if [[ -z $uri ]] && [[ -r /etc/apt/sources.list ]]; then
    uri=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list)
  fi
  [[ -n $uri ]] || return 1
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\n' "$uri"
  [[ -n $key ]] && printf 'Signed-By: %s\n' "$key"
  return 0
}

# backports_kernel_fetch LOG: fetch and extract (see above); prints "PACKAGE VERSION RELEASE"
backports_kernel_fetch() {
  local log=${1:-/dev/null} apt=$BACKPORTS_APT_DIR pkg ver deb rel tmp
  backports_kernel_ok && return 0
  mkdir -p "$apt/etc/sources.list.d" "$apt/etc/preferences.d" "$apt/lists/partial" "$apt/archives/partial" || return 1
  : >"$apt/etc/sources.list"
  _backports_sources >"$apt/etc/sources.list.d/backports.sources" || {
    echo "no Debian bookworm source in /etc/apt to take the archive from" >>"$log"; return 1; }
  local opts=(
    -o "Dir::Etc::SourceList=$apt/etc/sources.list"
    -o "Dir::Etc::SourceParts=$apt/etc/sources.list.d"
    -o "Dir::Etc::Preferences=$apt/etc/preferences"
    -o "Dir::Etc::PreferencesParts=$apt/etc/preferences.d"
    -o "Dir::State::Lists=$apt/lists"
    -o "Dir::Cache=$apt/cache"
    -o "Dir::Cache::Archives=$apt/archives"
    -o "APT::Get::List-Cleanup=false"
  )
  mkdir -p "$apt/cache"
  apt-get "${opts[@]}" -q update >>"$log" 2>&1 || { echo "apt-get update (bookworm-backports) failed" >>"$log"; return 1; }
  # the newest generic 6.12 image: linux-image-6.12.N+deb12-amd64 (not -unsigned, -dbg, cloud or rt)
  pkg=$(apt-cache "${opts[@]}" pkgnames linux-image-6.12 2>>"$log" | grep -E '^linux-image-6\.12\.[0-9]+\+deb12-amd64$' | sort -V | tail -n1)
  [[ -n $pkg ]] || { echo "bookworm-backports lists no linux-image-6.12.*+deb12-amd64" >>"$log"; return 1; }
  ver=$(apt-cache "${opts[@]}" show "$pkg" 2>>"$log" | awk '/^Version:/ {print $2; exit}')
  (cd "$apt/archives" && apt-get "${opts[@]}" -q download "$pkg" >>"$log" 2>&1) || {
    echo "apt-get download $pkg failed" >>"$log"; return 1; }
  deb=$(ls -t "$apt/archives/${pkg}_"*.deb 2>/dev/null | head -n1)
  [[ -n $deb ]] || return 1
  tmp=$BACKPORTS_KERNEL_DIR.part
  rm -rf "$tmp"
  mkdir -p "$tmp"
  dpkg-deb -x "$deb" "$tmp" >>"$log" 2>&1 || return 1
  rel=$(ls "$tmp/lib/modules" | head -n1)
  [[ -n $rel && -s $tmp/boot/vmlinuz-$rel ]] || { echo "$deb has no boot/vmlinuz-RELEASE" >>"$log"; return 1; }
  # busybox's modprobe loads plain .ko files: decompress, then let depmod write modules.dep
  find "$tmp/lib/modules/$rel" -name '*.ko.xz' -exec xz -d {} + >>"$log" 2>&1 || return 1
  find "$tmp/lib/modules/$rel" -name '*.ko.zst' | grep -q . && { echo "zstd modules not handled" >>"$log"; return 1; }
  depmod -b "$tmp" "$rel" >>"$log" 2>&1 || return 1
  echo "$pkg $ver $rel" >"$tmp/VERSION"
  rm -rf "$BACKPORTS_KERNEL_DIR"
  mv "$tmp" "$BACKPORTS_KERNEL_DIR" || return 1
  rm -f "$deb"
  backports_kernel_ok
}
