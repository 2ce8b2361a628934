#!/usr/bin/env python3
"""Measures `holoc dev` on a generated program of 1,000 functions:

- start-up: from starting `holoc dev` to the program's first line of output;
- edit-to-new-output latency: from writing a one-function edit to the file to the first
  line of output that shows the new behaviour, over many edits (median and p90);
- the resident memory of the program and of holoc itself before and after all the edits
  (each edit is a patch).

Usage: bench/dev_latency.py --holoc PATH [--functions N] [--edits N]
"""

import argparse
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def program(functions, value):
    """A program whose main loop prints `value()` whenever it changes. The other
    functions form call chains the loop exercises, so they are live code, not dead weight."""
    lines = []
    for index in range(functions):
        callee = f"f{index - 1}(x - 1)" if index else "x"
        lines.append(f"fn f{index}(x: i64) -> i64 {{ if x > 0 {{ {callee} + {index % 7} }} else {{ x }} }}")
    lines.append(f"fn value() -> i64 {{ {value} }}")
    lines.append(
        """fn main() {
    let last = -1;
    let spin = 0;
    while true {
        let v = value();
        if v != last {
            println(v);
            last = v;
        }
        spin = f%d(3) + spin %% 1000;
        sleep_ms(1);
    }
}""" % (functions - 1)
    )
    return "\n".join(lines) + "\n"


def write_atomically(path, text):
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def read_line(stream, deadline):
    """The next line of the child's stdout, or None at the deadline."""
    line = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        byte = os.read(stream.fileno(), 1)
        if not byte:
            return None
        if byte == b"\n":
            return line.decode()
        line += byte
    return None


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def program_rss_kib(holoc_pid):
    """Resident memory of the program `holoc dev` runs (its child process)."""
    with open(f"/proc/{holoc_pid}/task/{holoc_pid}/children") as children:
        for pid in children.read().split():
            return rss_kib(pid)
    return 0


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--holoc", required=True)
    parser.add_argument("--functions", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=50)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="holo-dev-bench-") as folder:
        source = Path(folder) / "main.holo"
        source.write_text(program(args.functions, 0))
        events = Path(folder) / "events.jsonl"
        started = time.monotonic()
        child = subprocess.Popen(
            [args.holoc, "dev", "--no-tests", "--events", str(events), str(source)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.PIPE,
        )
        try:
            first = read_line(child.stdout, started + 60)
            if first != "0":
                sys.exit(f"dev_latency: expected the first line `0`, got {first!r}")
            startup_ms = (time.monotonic() - started) * 1000
            rss_before = program_rss_kib(child.pid)
            holoc_before = rss_kib(child.pid)
            latencies = []
            for edit in range(1, args.edits + 1):
                time.sleep(0.05)
                text = program(args.functions, edit)
                written = time.monotonic()
                write_atomically(source, text)
                line = read_line(child.stdout, written + 10)
                if line != str(edit):
                    sys.exit(f"dev_latency: edit {edit}: expected `{edit}`, got {line!r}")
                latencies.append((time.monotonic() - written) * 1000)
            rss_after = program_rss_kib(child.pid)
            holoc_after = rss_kib(child.pid)
        finally:
            child.terminate()
            child.wait(timeout=10)

    print(f"functions              {args.functions}")
    print(f"startup_ms             {startup_ms:.0f}")
    print(f"edits                  {len(latencies)}")
    print(f"edit_to_output_median  {statistics.median(latencies):.1f} ms")
    print(f"edit_to_output_p90     {percentile(latencies, 0.9):.1f} ms")
    print(f"program_rss_growth     {(rss_after - rss_before) / 1024:.1f} MiB over {len(latencies)} patches")
    print(f"holoc_rss_growth       {(holoc_after - holoc_before) / 1024:.1f} MiB over {len(latencies)} patches")
    return 0


if __name__ == "__main__":
    sys.exit(main())
