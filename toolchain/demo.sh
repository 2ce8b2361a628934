#!/usr/bin/env bash
# The demo: sets up the toolchain, then runs examples/live and examples/particles under
# `holoc dev` and edits each one's source twice while it runs, so you can watch the running
# program pick up new code without losing its state. Status lines from holoc go to stderr,
# prefixed `holoc dev:`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash toolchain/setup.sh
holoc="$(swift build -c release --show-bin-path)/holoc"

work=$(mktemp -d)
dev=
stop_dev() { [[ -z $dev ]] || { kill "$dev" 2>/dev/null || true; wait "$dev" 2>/dev/null || true; }; }
trap 'stop_dev; rm -rf "$work"' EXIT

# Copies examples/NAME/main.holo to $work/FILE and starts holoc dev on it.
start_dev() {
  cp "examples/$1/main.holo" "$work/$2"
  echo "demo: holoc dev $work/$2   (a copy of examples/$1/main.holo)" >&2
  "$holoc" dev --no-tests "$work/$2" </dev/null &
  dev=$!
}

start_dev live main.holo

sleep 3
echo "demo: editing describe() to print a bar chart instead of a number" >&2
sed -i 's/`tick {tick}: the ball is at {position}`/`tick {tick}: {bar(position)}`/' "$work/main.holo"
printf '\nfn bar(n: i64) -> string {\n    let text = "";\n    for i in 0..n / 4 { text = `{text}#`; }\n    text\n}\n' >> "$work/main.holo"

sleep 3
echo "demo: editing step() to move the ball three times faster" >&2
sed -i 's/    position + velocity/    position + 3 * velocity/' "$work/main.holo"

sleep 3
echo "demo: the program kept its position across both patches" >&2
stop_dev

# Data: an array of structs in a global, kept across patches.
start_dev particles particles.holo

sleep 3
echo "demo: editing step() to weaken the gravity" >&2
sed -i 's/next.vel.y -= 1.0;/next.vel.y -= 0.25;/' "$work/particles.holo"

sleep 3
echo "demo: editing summary() to report the average height too" >&2
sed -i 's/    let bounces = 0;/    let bounces = 0;\n    let heights = 0.0;/; s/        bounces += p.bounces;/        bounces += p.bounces;\n        heights += p.pos.y;/; s/at y={highest.pos.y as i64}`/at y={highest.pos.y as i64}, average y={(heights \/ particles.len() as f64) as i64}`/' "$work/particles.holo"

sleep 3
echo "demo: done; the particles kept their places, speeds and bounce counts across both patches" >&2
