#!/usr/bin/env bash
# The demo: sets up the toolchain, then runs examples/live under `holoc dev` and edits its
# source twice while it runs, so you can watch the running program pick up new code
# without losing its state. Status lines from holoc go to stderr, prefixed `holoc dev:`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash toolchain/setup.sh
holoc="$(swift build -c release --show-bin-path)/holoc"

work=$(mktemp -d)
trap 'kill "$dev" 2>/dev/null || true; wait "$dev" 2>/dev/null || true; rm -rf "$work"' EXIT
cp examples/live/main.holo "$work/main.holo"
echo "demo: holoc dev $work/main.holo   (a copy of examples/live/main.holo)" >&2
"$holoc" dev --no-tests "$work/main.holo" </dev/null &
dev=$!

sleep 3
echo "demo: editing describe() to print a bar chart instead of a number" >&2
sed -i 's/`tick {tick}: the ball is at {position}`/`tick {tick}: {bar(position)}`/' "$work/main.holo"
printf '\nfn bar(n: i64) -> string {\n    let text = "";\n    for i in 0..n / 4 { text = `{text}#`; }\n    text\n}\n' >> "$work/main.holo"

sleep 3
echo "demo: editing step() to move the ball three times faster" >&2
sed -i 's/    position + velocity/    position + 3 * velocity/' "$work/main.holo"

sleep 3
echo "demo: done; the program kept its position across both patches" >&2
