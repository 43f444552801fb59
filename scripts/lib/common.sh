# shellcheck shell=bash
# Sourced by scripts/panda, scripts/setup and scripts/test. Not executable on its own.
#
# Sets REPO (the reactor root), picks a JDK 25+ into JAVA_HOME/PATH, and provides:
#   mvnw ARGS...          the Maven wrapper in batch mode without transfer progress
#   need_root STEP CMD    returns 0 as root; otherwise prints one line and returns 1
#   java_major DIR        the feature version (e.g. 25) of the JDK in DIR, or nothing

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
export REPO

PANDA_MIN_JDK=25

# Feature version of the JDK at $1: from its `release` file, else from `java -version`.
java_major() {
  local dir=$1 v=
  [[ -x $dir/bin/java ]] || return 0
  if [[ -r $dir/release ]]; then
    v=$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$dir/release" | head -n1)
  fi
  if [[ -z $v ]]; then
    v=$("$dir/bin/java" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)
  fi
  v=${v#1.}            # 1.8.0 -> 8.0
  v=${v%%[.+-]*}       # 25.0.3 -> 25, 26-ea -> 26
  [[ $v =~ ^[0-9]+$ ]] && printf '%s\n' "$v"
  return 0
}

# Newest JDK >= PANDA_MIN_JDK under $PANDA_JVM_DIR (/usr/lib/jvm): temurin-25* or any
# directory whose `release` file says JAVA_VERSION >= 25.
PANDA_JVM_DIR=${PANDA_JVM_DIR:-/usr/lib/jvm}
_panda_find_jdk() {
  local d m ver
  for d in "$PANDA_JVM_DIR"/*/; do
    d=$(cd "$d" 2>/dev/null && pwd -P) || continue
    m=$(java_major "$d")
    if [[ -z $m ]] || (( m < PANDA_MIN_JDK )); then continue; fi
    ver=$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$d/release" 2>/dev/null | head -n1)
    printf '%s.%s\t%s\n' "$m" "${ver:-0}" "$d"
  done | sort -V | tail -n1 | cut -f2-
}

_panda_pick_java_home() {
  local m
  if [[ -n ${JAVA_HOME-} ]]; then
    m=$(java_major "$JAVA_HOME")
    if [[ -n $m ]] && (( m >= PANDA_MIN_JDK )); then
      return 0
    fi
  fi
  local found
  found=$(_panda_find_jdk)
  if [[ -z $found ]]; then
    echo "panda needs a JDK ${PANDA_MIN_JDK}+ (JAVA_HOME=${JAVA_HOME:-unset} is not one) and none found under $PANDA_JVM_DIR; install one (e.g. Temurin 25) or set JAVA_HOME" >&2
    exit 1
  fi
  JAVA_HOME=$found
}

_panda_pick_java_home
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"

# The Maven wrapper, batch mode, no download progress.
mvnw() {
  "$REPO/mvnw" -B -ntp "$@"
}

# need_root STEP COMMAND: 0 when running as root; otherwise one line naming the step
# and what to run instead, and status 1.
need_root() {
  if [[ $(id -u) -eq 0 ]]; then
    return 0
  fi
  echo "panda: '$1' needs root; skipped. Run: ${2:-sudo $0}" >&2
  return 1
}
