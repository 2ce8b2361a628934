#!/usr/bin/env bash
# Installs the system packages holoc needs (LLVM 19, libffi; cmake and pkg-config for C
# projects using holo; nginx, the remote cache the tests run against; valgrind, which the
# leak tests run programs under) and builds the release holoc.
# Safe to run again: installed packages are left alone and the build is incremental.
#
#   bash toolchain/setup.sh                  packages, then the release holoc
#   bash toolchain/setup.sh --packages-only  packages only
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly packages=(llvm-19-dev libffi-dev cmake pkg-config nginx valgrind)

say() { echo "setup: $*"; }
fail() { echo "setup: $*" >&2; exit 1; }

is_installed() {
  dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed$'
}

as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    fail "need root or sudo to run: $*"
  fi
}

install_packages() {
  local missing=() package
  for package in "${packages[@]}"; do
    is_installed "$package" || missing+=("$package")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    say "packages present (${packages[*]})"
    return
  fi
  say "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# SwiftPM's progress output is noise on success; show it only when the build fails.
build_holoc() {
  command -v swift >/dev/null || fail "swift is not on PATH (a Swift 6 toolchain is needed)"
  say "building holoc (release)"
  local log
  log=$(mktemp)
  if ! swift build -c release --product holoc >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    fail "holoc build failed"
  fi
  rm -f "$log"
  say "holoc is at $(swift build -c release --show-bin-path)/holoc"
}

case "${1:-}" in
  --packages-only) install_packages ;;
  "") install_packages; build_holoc ;;
  *)
    echo "usage: bash toolchain/setup.sh [--packages-only]" >&2
    exit 64
    ;;
esac
