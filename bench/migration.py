#!/usr/bin/env python3
"""Measures live migration under `holoc dev` (LANGUAGE.md §13, issue 11): a program whose
one global holds N structs with a string field; each edit adds or removes a field of the
struct (a layout change), so every patch migrates all N values at its safepoint.

For each N it prints:
- edit -> first new output: from the save to the first line printed by the new code
  (median and p90 over K edits);
- the patch's apply_ms as holoc reports it (sending the patch to its acknowledgement: the
  agent links the patch, then the main thread runs the migration at its safepoint), and
  compile_ms;
- the program's resident memory growth over the edits.

The running program prints a line naming the version of its report function, the number
of values, and the last value's fields whenever that line changes (it looks every 1 ms).

Targets (issue 11): migration of 1,000,000 values <= 100 ms; edit -> first new output for
a layout change of a global of 10,000 values <= 30 ms median.

Usage: bench/migration.py --holoc PATH [--values 10000,1000000] [--edits K] [--quick]
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import holobench as hb  # noqa: E402

TARGETS = {10000: ("", "<= 30 ms"), 1000000: ("<= 100 ms", "")}


def program(values, version):
    extra = version % 2 == 1
    field = f", extra: i64 = {version}" if extra else ""
    shown = " {items[items.len() - 1].extra}" if extra else ""
    return f"""struct Item {{ name: string, count: i64{field} }}
global items: [Item] = make();
fn make() -> [Item] {{
  let items: [Item] = [];
  for i in 0..{values} {{ items.push(Item {{ name: `item {{i}}`, count: i % 100 }}); }}
  items;
}}
fn report() -> string {{
  `v{version} {{items.len()}} {{items[items.len() - 1].count}}{shown}`;
}}
fn main() {{
  let last = "";
  while true {{
    let line = report();
    if line != last {{ println(line); last = line; }}
    sleep_ms(1);
  }}
}}
"""


def expected(values, version):
    line = f"v{version} {values} {(values - 1) % 100}"
    return line + (f" {version}" if version % 2 == 1 else "")


def measure(args, values):
    folder = hb.temporary_folder("holo-migration-bench-")
    cache = hb.temporary_folder("holo-migration-bench-cache-")
    root = Path(folder) / "main.holo"
    try:
        root.write_text(program(values, 0))
        hb.log(f"migration: a global of {values} structs: starting holoc dev")
        session = hb.DevSession(args.holoc, "main.holo", folder, cache)
        try:
            session.expect_line(expected(values, 0), session.started + args.timeout, "start-up")
            rss_before = [hb.status_kib(pid, "VmRSS") for pid in hb.child_pids(session.process.pid)]
            latencies, compile_ms, apply_ms, migrated = [], [], [], []
            last_save = time.monotonic()
            for version in range(1, args.edits + 1):
                # holoc takes saves under 50 ms apart as one series: space them out.
                pause = last_save + args.gap_ms / 1000 - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                session.events.poll()
                saved = hb.write_atomically(root, program(values, version))
                last_save = saved
                seen = session.expect_line(expected(values, version), saved + args.timeout,
                                           f"edit {version}")
                latencies.append((seen - saved) * 1000)
                patch, _ = session.events.wait_for(
                    lambda e: e.get("event") == "patch", time.monotonic() + 5)
                if patch:
                    compile_ms.append(patch.get("compile_ms", float("nan")))
                    apply_ms.append(patch.get("apply_ms", float("nan")))
                    migrated.append(sum(m.get("values", 0) for m in patch.get("migrations", [])))
            rss_after = [hb.status_kib(pid, "VmRSS") for pid in hb.child_pids(session.process.pid)]
            restarts = sum(1 for e in session.events.all if e.get("event") == "restart")
        finally:
            session.close()
    finally:
        hb.remove_folder(folder)
        hb.remove_folder(cache)

    apply_target, latency_target = TARGETS.get(values, ("", ""))
    command = "holoc dev --no-tests --events FILE main.holo"
    table = hb.Table(f"holoc dev: a global of {values} structs, {len(latencies)} layout changes")
    table.add("edit -> first new output, median", hb.median(latencies), "ms", "", latency_target,
              command)
    table.add("edit -> first new output, p90", hb.percentile(latencies, 0.9), "ms", "", "", command)
    table.add("patch apply_ms (link + migration at the safepoint), median", hb.median(apply_ms),
              "ms", "", apply_target, command)
    table.add("patch compile_ms, median", hb.median(compile_ms), "ms", "", "", command)
    table.add("values migrated per patch, median", hb.median(migrated), "", "", "", command)
    if restarts:
        table.add("restarts instead of patches", restarts, "", "", "", command)
    table.add("program RSS growth", (sum(rss_after) - sum(rss_before)) / 1024, "MiB", "", "",
              f"over {len(latencies)} migrations")
    return table


def main():
    parser = hb.argument_parser(__doc__)
    parser.add_argument("--holoc", required=True, help="the holoc executable (use a release build)")
    parser.add_argument("--values", default=None,
                        help="comma-separated sizes of the global (default 10000,1000000)")
    parser.add_argument("--edits", type=int, default=None, help="layout changes per size (default 20)")
    parser.add_argument("--gap-ms", type=float, default=60,
                        help="least time between two saves (default 60)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for any output")
    parser.add_argument("--quick", action="store_true", help="small sizes (1000 values, 5 edits)")
    args = parser.parse_args()
    sizes = [int(size) for size in (args.values or ("1000" if args.quick else "10000,1000000")).split(",")]
    if args.edits is None:
        args.edits = 5 if args.quick else 20
    args.holoc = os.path.abspath(args.holoc)
    hb.install_cleanup()
    try:
        version = hb.check_holoc(args.holoc)
        tables = [measure(args, size) for size in sizes]
    except hb.BenchError as error:
        hb.log(f"migration: holoc failed:\n{error}")
        return 1
    except KeyboardInterrupt:
        hb.log("migration: interrupted")
        return 130
    for table in tables:
        table.print(f"python3 bench/migration.py --holoc {args.holoc} --values {','.join(map(str, sizes))}"
                    f" --edits {args.edits}   ({version})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
