#!/usr/bin/env bash
# Benchmarks holo against C (see bench/bench.py for what it measures and its options).
# Uses $HOLOC when set; otherwise brings the release holoc up to date first, so the
# numbers never come from a stale compiler.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ -n ${HOLOC:-} ]]; then
  holoc=$HOLOC
else
  bash toolchain/setup.sh >&2
  holoc="$(swift build -c release --show-bin-path)/holoc"
fi
[[ -x $holoc ]] || { echo "bench: holoc not found at $holoc" >&2; exit 1; }
exec python3 bench/bench.py --holoc "$holoc" "$@"
