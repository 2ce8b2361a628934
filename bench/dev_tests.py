#!/usr/bin/env python3
"""Measures save -> affected test result in `holoc dev --no-run` on a program of T tests,
for two holocs side by side (issue 9: <= 30 ms on 1,000 tests).

The program (bench/holobench.py, TestProgram): tests t0..t{T-1}, test t{i} calls f{i},
which calls g{i}; each edit flips the constant of f{T/2} between the value its test
expects and a wrong one, so exactly one test is affected and its verdict (passed, failed,
passed, ...) shows that the edit was compiled in. The latency of an edit is from the save
(the rename of the edited file over the old one) to the `tests` event that carries the
affected test's new verdict.

Both holocs run at once, each its own `holoc dev --no-run --events FILE main.holo` on its
own copy of the program (and its own, fresh HOLO_CACHE_DIR); after both have started (and
run every test once), edits alternate between them (which one goes first alternates too),
one at a time, so both see the same machine. A holoc older than `--no-run` (or any, with
--mode program) runs the program instead, whose `main` prints `ready` and sleeps; it runs
no test at start-up. Reported per holoc: the median, p90, min and max of --edits edits,
the `ms` holoc reports, the affected test's own duration_ms, how its test process got the
code (the event's `test_process`, absent before it existed), and the first run of all the
tests.

Usage: bench/dev_tests.py --holoc PATH [--baseline PATH] [--tests T] [--edits K]
                          [--mode auto|no-run|program]
  e.g. --holoc .build/release/holoc --baseline /work/wt-bench9/.build/release/holoc
"""

import collections
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import holobench as hb  # noqa: E402


def has_no_run(holoc):
    """Whether this holoc's `dev` has `--no-run` (older ones do not)."""
    result = subprocess.run([holoc, "dev", "--help"], capture_output=True, text=True, timeout=30)
    return "--no-run" in result.stdout


class Side:
    """One holoc and its `holoc dev` session on its own copy of the program."""

    def __init__(self, label, holoc, tests, timeout, no_run):
        self.label = label
        self.holoc = holoc
        self.no_run = no_run
        self.program = hb.TestProgram(tests)
        self.folder = hb.temporary_folder(f"holo-devtests-{label}-")
        self.cache = hb.temporary_folder(f"holo-devtests-{label}-cache-")
        self.program.write(self.folder)
        self.timeout = timeout
        self.latencies, self.reported, self.durations = [], [], []
        self.processes = collections.Counter()
        self.last_save = 0.0
        self.first_run = None
        self.session = hb.DevSession(holoc, "main.holo", self.folder, self.cache, tests=True,
                                     extra=["--no-run"] if no_run else [])

    @property
    def mode(self):
        return "--no-run" if self.no_run else "program running"

    def wait_for(self, predicate, deadline, what):
        """The first new event `predicate` accepts, and when it was seen; fails when holoc
        ends or the deadline passes first."""
        while True:
            event, seen = self.session.events.wait_for(predicate, min(deadline, time.monotonic() + 0.5))
            if event is not None:
                return event, seen
            if self.session.process.poll() is not None or time.monotonic() >= deadline:
                self.session.fail(f"no {what}")

    def start(self):
        """Waits for the session to start: under --no-run, for the run of every test
        (kept as `first_run`: seconds since the start, and holoc's `ms`); else for the
        program's `ready` line."""
        if not self.no_run:
            self.session.expect_line("ready", self.session.started + self.timeout, "start-up")
            return
        tests = self.program.tests
        event, seen = self.wait_for(
            lambda e: e.get("event") == "tests" and e.get("selected") == tests,
            self.session.started + self.timeout, f"`tests` event running all {tests} tests")
        if event.get("failed") != 0:
            self.session.fail(f"the first run failed tests: {event.get('failed')}")
        self.first_run = (seen - self.session.started, event.get("ms", float("nan")))

    def edit(self, gap_ms):
        name, passes = self.program.edit()
        want = "passed" if passes else "failed"
        # A save within 50 ms of the previous one is taken as part of a series.
        pause = self.last_save + gap_ms / 1000 - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        self.session.events.poll()
        saved = hb.write_atomically(self.folder / "main.holo", self.program.text())
        self.last_save = saved

        def verdict(event):
            return event.get("event") == "tests" and any(
                r.get("name") == name and r.get("status") == want for r in event.get("results") or [])

        event, seen = self.wait_for(verdict, saved + self.timeout,
                                    f"`tests` event with {name} {want} within {self.timeout} s of the save")
        self.latencies.append((seen - saved) * 1000)
        self.reported.append(event.get("ms", float("nan")))
        self.processes[event.get("test_process", "(no field)")] += 1
        for result in event.get("results") or []:
            if result.get("name") == name:
                self.durations.append(result.get("duration_ms", float("nan")))

    def close(self):
        self.session.close()
        hb.remove_folder(self.folder)
        hb.remove_folder(self.cache)


def measure(args):
    holocs = [("after", args.holoc)] + ([("before", args.baseline)] if args.baseline else [])
    sides = []
    try:
        for label, holoc in holocs:
            no_run = args.mode == "no-run" or (args.mode == "auto" and has_no_run(holoc))
            side = Side(label, holoc, args.tests, args.timeout, no_run)
            hb.log(f"dev_tests: {label}: holoc dev ({side.mode}) on {args.tests} tests ({holoc})")
            sides.append(side)
            # One start-up at a time: under --no-run each runs every test first.
            side.start()
        for round_ in range(args.edits):
            order = sides if round_ % 2 == 0 else list(reversed(sides))
            for side in order:
                side.edit(args.gap_ms)
                # Let the run finish its bookkeeping before the other side's save.
                time.sleep(0.05)
            if (round_ + 1) % 10 == 0:
                hb.log(f"dev_tests: {round_ + 1} of {args.edits} rounds")
    finally:
        for side in sides:
            side.close()
    return sides


def main():
    parser = hb.argument_parser(__doc__)
    parser.add_argument("--holoc", required=True, help="the holoc to measure (use a release build)")
    parser.add_argument("--baseline", help="a holoc to compare with, measured alternately in the same run")
    parser.add_argument("--tests", type=int, default=1000, help="#[test] functions in the program (default 1000)")
    parser.add_argument("--edits", type=int, default=20, help="edits timed per holoc (default 20)")
    parser.add_argument("--gap-ms", type=float, default=60,
                        help="least time between two saves of one session (default 60)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for any one result (default 600)")
    parser.add_argument("--mode", choices=("auto", "no-run", "program"), default="auto",
                        help="--no-run, or the program running (auto: --no-run where the holoc has it)")
    args = parser.parse_args()
    if args.tests < 1 or args.edits < 1:
        parser.error("--tests and --edits must be at least 1")
    args.holoc = os.path.abspath(args.holoc)
    if args.baseline:
        args.baseline = os.path.abspath(args.baseline)

    hb.install_cleanup()
    try:
        versions = [hb.check_holoc(args.holoc)] + ([hb.check_holoc(args.baseline)] if args.baseline else [])
        sides = measure(args)
    except hb.BenchError as error:
        hb.log(f"dev_tests: holoc failed:\n{error}")
        return 1
    except KeyboardInterrupt:
        hb.log("dev_tests: interrupted")
        return 130

    table = hb.Table(f"holoc dev: save -> affected test result, {args.edits} edits per holoc, alternated")
    for side in sides:
        prefix = f"{side.label}: "
        flag = "--no-run " if side.no_run else ""
        command = f"{side.holoc} dev {flag}--events FILE main.holo   ({args.tests} tests, one affected per edit)"
        table.add(prefix + f"save -> affected test result ({side.mode}), median", hb.median(side.latencies),
                  "ms", "warm", "<= 30 ms", command)
        table.add(prefix + "save -> affected test result, p90", hb.percentile(side.latencies, 0.9), "ms")
        table.add(prefix + "save -> affected test result, min / max",
                  f"{min(side.latencies):.1f} / {max(side.latencies):.1f}", "ms")
        table.add(prefix + "  holoc-reported tests ms, median", hb.median(side.reported), "ms")
        table.add(prefix + "  the test's own duration_ms, median", hb.median(side.durations), "ms")
        table.add(prefix + "  test process", ", ".join(f"{k}: {v}" for k, v in sorted(side.processes.items())), "")
        if side.first_run:
            since_start, reported = side.first_run
            table.add(prefix + f"first run of all {args.tests} tests (start -> tests event)", since_start, "s",
                      "cold")
            table.add(prefix + "  holoc-reported ms of that run", reported, "ms", "cold")
    if len(sides) == 2:
        table.add("before / after, medians", hb.median(sides[1].latencies) / hb.median(sides[0].latencies), "x")
    reproduce = f"python3 bench/dev_tests.py --holoc {args.holoc}"
    if args.baseline:
        reproduce += f" --baseline {args.baseline}"
    table.print(f"{reproduce} --tests {args.tests} --edits {args.edits} --mode {args.mode}"
                f"   ({'; '.join(versions)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
