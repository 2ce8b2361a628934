#!/usr/bin/env python3
"""Times every program in bench/programs twice: NAME.holo built with `holoc build --release`
and NAME.c built with `cc -O2`. Both must print the same output. Each round runs the two
executables back to back, alternating which goes first; the table reports the median of
each and their ratio (holo / C), then the geometric mean of the ratios.

With `--baseline dev`, it instead times the dev build (`holoc build -O2`: calls through
the patch slots) against the release build (`holoc build --release -O2`), both at -O2;
with `--baseline dev-O0`, the default dev build (`holoc build`, -O0) against the default
release build (`holoc build --release`, -O3): issue 10's "no slower than 3x release".

Usage: bench/bench.py --holoc PATH [--rounds N] [--cc CC] [--baseline c|dev|dev-O0] [NAME ...]
"""

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROGRAMS = Path(__file__).resolve().parent / "programs"


def log(message):
    print(message, file=sys.stderr, flush=True)


def build(command, output):
    """Runs a compiler command that writes `output`; returns its error text, or None."""
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode == 0 and output.is_file():
        return None
    status = f"exit status {result.returncode}" if result.returncode else f"no {output.name} written"
    return f"$ {' '.join(map(str, command))}\n{result.stdout}{result.stderr}({status})"


def run_output(executable):
    result = subprocess.run([executable], capture_output=True, text=True)
    return result.returncode, result.stdout


def time_ms(executable):
    start = time.perf_counter()
    subprocess.run([executable], stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) * 1000.0


def program_names(selected):
    names = sorted(path.stem for path in PROGRAMS.glob("*.holo") if path.with_suffix(".c").exists())
    if not selected:
        return names
    unknown = sorted(set(selected) - set(names))
    if unknown:
        sys.exit(f"bench: no program named {', '.join(unknown)} (have: {', '.join(names)})")
    return [name for name in names if name in selected]


def build_commands(name, holoc, cc, baseline, holo_exe, c_exe):
    """The commands that build the measured program and its baseline."""
    source = PROGRAMS / f"{name}.holo"
    if baseline == "dev":
        return (
            [holoc, "build", "-O2", "-o", holo_exe, source],
            [holoc, "build", "--release", "-O2", "-o", c_exe, source],
        )
    if baseline == "dev-O0":
        return (
            [holoc, "build", "-o", holo_exe, source],
            [holoc, "build", "--release", "-o", c_exe, source],
        )
    return (
        [holoc, "build", "--release", "-o", holo_exe, source],
        [cc, "-O2", "-o", c_exe, PROGRAMS / f"{name}.c", "-lm"],
    )


def prepare(name, holoc, cc, baseline, out_dir):
    """Builds both versions and checks they agree; returns (holo_exe, c_exe) or an error."""
    holo_exe = out_dir / f"{name}.holo.exe"
    c_exe = out_dir / f"{name}.c.exe"
    holo_command, baseline_command = build_commands(name, holoc, cc, baseline, holo_exe, c_exe)
    for error in (build(holo_command, holo_exe), build(baseline_command, c_exe)):
        if error:
            return None, f"build failed:\n{error}"
    holo_run, c_run = run_output(holo_exe), run_output(c_exe)
    if holo_run != c_run:
        return None, (
            "outputs differ:\n"
            f"--- holo (exit {holo_run[0]})\n{holo_run[1]}"
            f"--- C (exit {c_run[0]})\n{c_run[1]}"
        )
    if holo_run[0] != 0:
        return None, f"both exited with status {holo_run[0]}"
    return (holo_exe, c_exe), None


def measure(holo_exe, c_exe, rounds):
    holo_times, c_times = [], []
    for round_index in range(rounds):
        pair = [(holo_exe, holo_times), (c_exe, c_times)]
        if round_index % 2:
            pair.reverse()
        for executable, times in pair:
            times.append(time_ms(executable))
    return statistics.median(holo_times), statistics.median(c_times)


def print_table(rows, baseline):
    width = max([len("program")] + [len(row[0]) for row in rows])
    measured, base = ("holo_ms", "c_ms") if baseline == "c" else ("dev_ms", "release_ms")
    print(f"{'program':<{width}}  {measured:>8}  {base:>10}  {'ratio':>6}")
    for name, holo_ms, c_ms, ratio in rows:
        print(f"{name:<{width}}  {holo_ms:8.1f}  {c_ms:10.1f}  {ratio:6.2f}")
    geomean = math.exp(statistics.fmean(math.log(row[3]) for row in rows))
    print(f"{'geomean':<{width}}  {'':>8}  {'':>10}  {geomean:6.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--holoc", required=True, help="the holoc executable")
    parser.add_argument("--rounds", type=int, default=5, help="timed runs of each (default 5)")
    parser.add_argument("--cc", default=os.environ.get("CC", "cc"), help="C compiler (default $CC or cc)")
    parser.add_argument(
        "--baseline", choices=["c", "dev", "dev-O0"], default="c",
        help="c: holo release vs C (default); dev: holo dev vs holo release, both -O2; "
        "dev-O0: default dev (-O0) vs default release")
    parser.add_argument("names", nargs="*", help="programs to run (default: all)")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    rows, failures = [], []
    with tempfile.TemporaryDirectory(prefix="holo-bench-") as out:
        for name in program_names(args.names):
            log(f"bench: {name}")
            executables, error = prepare(name, args.holoc, args.cc, args.baseline, Path(out))
            if error:
                failures.append(name)
                log(f"bench: {name}: {error}")
                continue
            holo_ms, c_ms = measure(*executables, args.rounds)
            rows.append((name, holo_ms, c_ms, holo_ms / c_ms))

    if rows:
        print_table(rows, args.baseline)
    if failures:
        log(f"bench: failed: {', '.join(failures)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
