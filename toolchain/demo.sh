#!/usr/bin/env bash
# The demo: sets up the toolchain, then builds and runs an example program with the
# release holoc. To demo something else, change `demo` below.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

demo=(run examples/hello)

bash toolchain/setup.sh
holoc="$(swift build -c release --show-bin-path)/holoc"
echo "demo: holoc ${demo[*]}"
exec "$holoc" "${demo[@]}"
