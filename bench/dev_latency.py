#!/usr/bin/env python3
"""Measures `holoc dev` on a generated program of N functions, in one file or over M files:

- start-up: from starting `holoc dev` to the program's first line of output (and the
  `build_ms` holoc reports in its `ready` event);
- edit-to-new-output latency: from the save (the rename of a one-function body edit over
  the file) to the first line of output that shows the new behaviour, over K edits
  (median and p90; the medians of the edits that change their file's length, which moves
  every function after them in it, and of those that keep it: each function's first edit
  turns its one-digit constant into four digits, later ones keep four; and the
  `compile_ms` / `apply_ms` holoc reports per patch);
- the resident memory of the program and of holoc itself before and after all the edits
  (each edit is a patch).

The program (bench/holobench.py, ChainProgram): functions f0..f{N-1}, each calling the one
before it; with --files M they are spread over mods/m*.holo, each importing its
neighbours, so the root's one import loads them all. The running program prints the sum of
16 functions' results whenever it changes; edit k rewrites the body of one of those 16
functions (they are spread over the whole program and over its files) to return a value it
never returned, so every edit is a real body edit whose effect is seen in the output.

Every `holoc dev` runs with a fresh, empty HOLO_CACHE_DIR: the start-up is a cold one.

Usage: bench/dev_latency.py --holoc PATH [--functions N] [--files M] [--edits K] [--quick]
  e.g. --functions 1000 | --functions 50000 | --functions 50000 --files 500
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import holobench as hb  # noqa: E402

TARGETS = {
    (1000, 1): "<= 5 ms",
    (50000, 1): "<= 25 ms",
    (50000, 500): "<= 10 ms",
}


def measure(args):
    program = hb.ChainProgram(args.functions, args.files, mode="loop")
    folder = hb.temporary_folder("holo-dev-bench-")
    cache = hb.temporary_folder("holo-dev-bench-cache-")
    try:
        program.write(folder)
        hb.log(f"dev_latency: {args.functions} functions in {args.files} file(s): starting holoc dev")
        session = hb.DevSession(args.holoc, program.root_file(), folder, cache)
        try:
            first = str(program.expected_total())
            started_line = session.expect_line(first, session.started + args.timeout, "start-up")
            startup_ms = (started_line - session.started) * 1000
            ready, _ = session.events.wait_for(lambda e: e.get("event") == "ready", time.monotonic() + 5)
            build_ms = ready.get("build_ms", float("nan")) if ready else float("nan")
            rss_before = [hb.status_kib(pid, "VmRSS") for pid in hb.child_pids(session.process.pid)]
            holoc_before = session.status_kib("VmRSS")
            latencies, compile_ms, apply_ms = [], [], []
            # Whether each edit changed its file's length: one that does moves every
            # function after it in its file, which one that keeps it does not.
            lengths, moved_after = {}, []
            last_save = time.monotonic()
            for _ in range(args.edits):
                path, index = program.edit()
                text = program.file_text(path)
                if path not in lengths:
                    lengths[path] = len((Path(folder) / path).read_text())
                moved_after.append(len(text) != lengths[path])
                lengths[path] = len(text)
                # A save within 50 ms of the previous one is taken as part of a series
                # (holoc then waits for 30 ms of quiet): space the saves out.
                pause = last_save + args.gap_ms / 1000 - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                session.events.poll()
                saved = hb.write_atomically(Path(folder) / path, text)
                last_save = saved
                expected = str(program.expected_total())
                seen = session.expect_line(expected, saved + args.timeout,
                                           f"edit {program.edits} (f{index} in {path})")
                latencies.append((seen - saved) * 1000)
                patch, _ = session.events.wait_for(lambda e: e.get("event") == "patch", time.monotonic() + 2)
                if patch:
                    compile_ms.append(patch.get("compile_ms", float("nan")))
                    apply_ms.append(patch.get("apply_ms", float("nan")))
            rss_after = [hb.status_kib(pid, "VmRSS") for pid in hb.child_pids(session.process.pid)]
            holoc_after = session.status_kib("VmRSS")
            holoc_hwm = session.status_kib("VmHWM")
            restarts = sum(1 for e in session.events.all if e.get("event") == "restart")
        finally:
            session.close()
    finally:
        hb.remove_folder(folder)
        hb.remove_folder(cache)

    shape = f"{args.functions} functions" + (f" over {args.files} files" if args.files > 1 else " in one file")
    command = "holoc dev --no-tests --events FILE main.holo"
    table = hb.Table(f"holoc dev: {shape}, {len(latencies)} one-function edits")
    table.add("holoc dev start-up (start -> first output)", startup_ms, "ms", "cold",
              "<= 1 s (warm)" if args.functions >= 50000 else "", command)
    table.add("  holoc-reported build_ms (ready event)", build_ms, "ms", "cold", "", command)
    target = TARGETS.get((args.functions, args.files), "")
    table.add("edit -> new output, median", hb.median(latencies), "ms", "", target, command)
    table.add("edit -> new output, p90", hb.percentile(latencies, 0.9), "ms", "", "", command)
    for moves, what in ((True, "changing"), (False, "keeping")):
        chosen = [latency for latency, moved in zip(latencies, moved_after) if moved == moves]
        table.add(f"  edits {what} the file's length, median", hb.median(chosen), "ms", "", "",
                  f"{len(chosen)} of the {len(latencies)} edits")
    if latencies:
        table.add("edit -> new output, min / max",
                  f"{min(latencies):.1f} / {max(latencies):.1f}", "ms", "", "", command)
    table.add("  holoc-reported patch compile_ms, median", hb.median(compile_ms), "ms", "", "", command)
    table.add("  holoc-reported patch apply_ms, median", hb.median(apply_ms), "ms", "", "", command)
    if restarts:
        table.add("  restarts instead of patches", restarts, "", "", "", command)
    table.add("program RSS growth", (sum(rss_after) - sum(rss_before)) / 1024, "MiB",
              "", "", f"over {len(latencies)} patches")
    table.add("holoc RSS growth", (holoc_after - holoc_before) / 1024, "MiB", "", "",
              f"over {len(latencies)} patches (VmRSS {holoc_before // 1024} -> {holoc_after // 1024} MiB)")
    table.add("holoc peak RSS (VmHWM)", holoc_hwm / 1024, "MiB", "", "", "")
    return table


def main():
    parser = hb.argument_parser(__doc__)
    parser.add_argument("--holoc", required=True, help="the holoc executable (use a release build)")
    parser.add_argument("--functions", type=int, default=None, help="functions in the program (default 1000)")
    parser.add_argument("--files", type=int, default=1, help="spread them over this many files (default 1)")
    parser.add_argument("--edits", type=int, default=None, help="one-function edits to time (default 50)")
    parser.add_argument("--gap-ms", type=float, default=60,
                        help="least time between two saves (default 60: holoc treats saves <50 ms apart as a series)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for any one output (default 300)")
    parser.add_argument("--quick", action="store_true", help="small sizes for a sanity run (200 functions, 10 edits)")
    args = parser.parse_args()
    if args.functions is None:
        args.functions = 200 if args.quick else 1000
    if args.edits is None:
        args.edits = 10 if args.quick else 50
    if args.files < 1 or args.files > args.functions:
        parser.error("--files must be between 1 and --functions")
    if args.edits < 1:
        parser.error("--edits must be at least 1")

    args.holoc = os.path.abspath(args.holoc)
    hb.install_cleanup()
    try:
        version = hb.check_holoc(args.holoc)
        table = measure(args)
    except hb.BenchError as error:
        hb.log(f"dev_latency: holoc failed:\n{error}")
        return 1
    except KeyboardInterrupt:
        hb.log("dev_latency: interrupted")
        return 130
    table.print(f"python3 bench/dev_latency.py --holoc {args.holoc} --functions {args.functions}"
                f" --files {args.files} --edits {args.edits}   ({version})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
