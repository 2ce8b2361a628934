#!/usr/bin/env bash
# Fuzzes the lexer, parser and checker, and the rendering of their diagnostics, with the
# Swift toolchain's libFuzzer, until stopped or as libFuzzer's flags say
# (`bash toolchain/libfuzzer.sh -max_total_time=600`). The corpus starts from the programs
# of the conformance fixtures; inputs that crash or take over 10 s are written to
# .build-libfuzzer/findings/, and `.build/debug/holo-fuzz FILE` (after `swift build`)
# replays one without libFuzzer.
#
# SwiftPM builds the front-end modules with coverage instrumentation; swiftc links them
# with Sources/holo-fuzz/HoloFuzz.swift and libFuzzer. SwiftPM cannot link the target
# itself: it renames an executable's entry point (holo_fuzz_main) and so requires one,
# where libFuzzer brings its own `main`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=.build-libfuzzer
flags=(-c release --build-path "$build" -Xswiftc -sanitize=fuzzer)
swift build "${flags[@]}" --target HoloSema
bin=$(swift build "${flags[@]}" --show-bin-path)
objects=()
for module in HoloSource HoloSyntax HoloIR HoloSema; do
  objects+=("$bin/$module.build"/*.o)
done
swiftc -O -sanitize=fuzzer -parse-as-library -D HOLO_LIBFUZZER -module-name HoloFuzz \
  -I "$bin/Modules" Sources/holo-fuzz/HoloFuzz.swift "${objects[@]}" -o "$build/holo-fuzz"

mkdir -p "$build/corpus" "$build/findings"
python3 - "$build/corpus" <<'PYTHON'
import sys
sys.path.insert(0, "bench")
import fuzz
for index, (_, files) in enumerate(fuzz.fixture_programs()):
    with open(f"{sys.argv[1]}/fixture-{index:03d}.holo", "w") as corpus_file:
        corpus_file.write(files["main.holo"])
PYTHON
exec "$build/holo-fuzz" -artifact_prefix="$build/findings/" -timeout=10 "$@" "$build/corpus"
