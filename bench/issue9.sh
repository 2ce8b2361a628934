#!/usr/bin/env bash
# Prints every figure of issue 9's targets table: bench/dev_latency.py for the three
# program shapes, then bench/build_test.py. Usage: bench/issue9.sh HOLOC [--quick] [ARGS]
# (ARGS go to build_test.py, e.g. --edits 10000). Timings are printed, never asserted.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
holoc=${1:?usage: bench/issue9.sh HOLOC [--quick] [build_test.py ARGS]}
shift
if [[ ${1:-} == --quick ]]; then
  python3 bench/dev_latency.py --holoc "$holoc" --quick
  python3 bench/dev_latency.py --holoc "$holoc" --quick --functions 500 --files 20
  exec python3 bench/build_test.py --holoc "$holoc" "$@"
fi
python3 bench/dev_latency.py --holoc "$holoc" --functions 1000
python3 bench/dev_latency.py --holoc "$holoc" --functions 10000
python3 bench/dev_latency.py --holoc "$holoc" --functions 50000
python3 bench/dev_latency.py --holoc "$holoc" --functions 50000 --files 500
exec python3 bench/build_test.py --holoc "$holoc" "$@"
