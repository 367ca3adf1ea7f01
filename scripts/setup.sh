#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build and test shmcache.
# Only missing packages are installed; nothing is done when all are present.
# Sourced or run by scripts/demo.sh and scripts/test.sh.
set -euo pipefail

# Build: meson/ninja/gcc/pkg-config, xxhash (header-only use).
# Tests: Criterion, the -m32 toolchain, clang (second compiler, fuzzer),
# and the real programs the end-to-end tests run (busybox-static and a Go
# toolchain for the supervisor's static and Go programs, strace the oracle).
SHMCACHE_PACKAGES=(
  meson ninja-build pkg-config gcc libc6-dev libxxhash-dev
  libcriterion-dev gcc-multilib clang libclang-rt-14-dev
  make python3 tar findutils coreutils file strace
  busybox-static golang-go
)

missing=()
for p in "${SHMCACHE_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
