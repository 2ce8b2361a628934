"""Shared pieces of bench/dev_latency.py and bench/build_test.py (Python 3, stdlib only):

- deterministic program generators: N functions in one file or over M files that import
  each other, the C twin of the same program, and a program of N `#[test]` functions;
- one-function body edits that change what the program prints (or which test fails);
- running holoc: every process is started in a session of its own and the whole session
  is killed on exit, Ctrl-C or SIGTERM; temporary folders are removed; a failing holoc
  command stops the benchmark with its stderr;
- the table every script prints.
"""

import argparse
import atexit
import json
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fuzz import kill_session  # every process of a session, as the fuzz driver ends them


# ---- Programs -----------------------------------------------------------------------------

# How many functions the program's `total()` reads (and the edits cycle through), spread
# evenly over the program and so over its files.
OBSERVED = 16


def initial_constant(index):
    return index % 7 + 1


class ChainProgram:
    """N functions `f0 .. f{N-1}`, each calling the one before it (across file boundaries),
    in one file or spread over `files` files under `mods/` that import their neighbours
    (a chain with cycles, so the root's one import loads them all).

    `f{i}(1)` is the constant in `f{i}`'s body; `total()` sums `f{i}(1)` over OBSERVED
    functions spread over the program, so editing one of those constants changes the
    printed total. `mode` is "loop" (print `total()` whenever it changes, forever: for
    `holoc dev`) or "once" (print it and `f{N-1}(3)`, then exit: for `holoc build` and the
    C twin)."""

    def __init__(self, functions, files=1, mode="loop"):
        if functions < 1:
            raise ValueError("functions must be at least 1")
        if files < 1 or files > functions:
            raise ValueError("files must be between 1 and the number of functions")
        self.functions = functions
        self.files = files
        self.mode = mode
        self.constants = [initial_constant(i) for i in range(functions)]
        count = min(OBSERVED, functions)
        self.observed = sorted({int((j + 0.5) * functions / count) for j in range(count)})
        self.edits = 0
        width = len(str(files - 1))
        # file k holds functions [bounds[k], bounds[k+1]).
        self.bounds = [k * functions // files for k in range(files + 1)]
        self.module_names = [f"m{k:0{width}d}" for k in range(files)] if files > 1 else []

    # -- holo

    def function_line(self, index):
        c = self.constants[index]
        if index == 0:
            then = f"(x - 1) + {c}"
        else:
            then = f"f{index - 1}(x - 1) + {c}"
        return f"fn f{index}(x: i64) -> i64 {{ if x > 0 {{ {then} }} else {{ x }} }}"

    def root_file(self):
        return "main.holo"

    def file_of(self, index):
        """The file (relative path) that holds function `index`."""
        if self.files == 1:
            return "main.holo"
        for k in range(self.files):
            if self.bounds[k] <= index < self.bounds[k + 1]:
                return f"mods/{self.module_names[k]}.holo"
        raise IndexError(index)

    def _main_items(self):
        total = " + ".join(f"f{i}(1)" for i in self.observed)
        items = [f"fn total() -> i64 {{ {total} }}"]
        last = self.functions - 1
        if self.mode == "loop":
            items.append(
                "fn main() {\n"
                "    let last = -1;\n"
                "    let spin = 0;\n"
                "    while true {\n"
                "        let v = total();\n"
                "        if v != last {\n"
                "            println(v);\n"
                "            last = v;\n"
                "        }\n"
                f"        spin = f{last}(3) + spin % 1000;\n"
                "        sleep_ms(1);\n"
                "    }\n"
                "}"
            )
        else:
            items.append(f"fn main() {{\n    println(total());\n    println(f{last}(3));\n}}")
        return items

    def file_text(self, path):
        if self.files == 1:
            lines = [self.function_line(i) for i in range(self.functions)] + self._main_items()
            return "\n".join(lines) + "\n"
        if path == "main.holo":
            return f"import mods.{self.module_names[0]};\n" + "\n".join(self._main_items()) + "\n"
        name = Path(path).stem
        k = self.module_names.index(name)
        imports = [self.module_names[j] for j in (k - 1, k + 1) if 0 <= j < self.files]
        lines = [f"import {module};" for module in imports]
        lines += [self.function_line(i) for i in range(self.bounds[k], self.bounds[k + 1])]
        return "\n".join(lines) + "\n"

    def paths(self):
        return ["main.holo"] + [f"mods/{name}.holo" for name in self.module_names]

    def write(self, folder):
        folder = Path(folder)
        for path in self.paths():
            target = folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(self.file_text(path))

    def expected_total(self):
        return sum(self.constants[i] for i in self.observed)

    def expected_output(self):
        """What the "once" program prints (the loop program's first line is the first)."""
        last = self.functions - 1
        # f{last}(3) = f{last-1}(2) + c = f{last-2}(1) + c' + c = c'' + c' + c, down to f0.
        depth = [last - d for d in range(3) if last - d >= 0]
        value = sum(self.constants[i] for i in depth)
        if len(depth) < 3:  # the chain reached f0 with x > 0 left: f0(x) = x - 1 + c0
            value += 3 - len(depth)
        return f"{self.expected_total()}\n{value}\n"

    def edit(self):
        """One real body edit: the constant of the next observed function becomes a value
        it never had (so the printed total changes). Returns the edited file's path."""
        self.edits += 1
        index = self.observed[(self.edits - 1) % len(self.observed)]
        self.constants[index] = 1000 + self.edits
        return self.file_of(index), index

    # -- C twin

    def c_files(self):
        """The same program in C: {relative path: text}. One .c file per holo file, each
        declaring the functions of other files it calls, as a C project's headers would (a
        header of all 50,000 prototypes included by each of 500 files would make C pay for
        a layout no C programmer writes)."""
        header = ["#include <stdint.h>", "#include <stdio.h>"]
        files = {"twin.h": "\n".join(header) + "\n"}

        def prototypes(indices):
            return [f"int64_t f{i}(int64_t x);" for i in sorted(set(indices))]

        def c_function(index):
            c = self.constants[index]
            then = f"(x - 1) + {c}" if index == 0 else f"f{index - 1}(x - 1) + {c}"
            return f"int64_t f{index}(int64_t x) {{ if (x > 0) {{ return {then}; }} else {{ return x; }} }}"

        total = " + ".join(f"f{i}(1)" for i in self.observed)
        last = self.functions - 1
        main = [
            f"int64_t total(void) {{ return {total}; }}",
            "int main(void) {",
            '    printf("%lld\\n", (long long)total());',
            f'    printf("%lld\\n", (long long)f{last}(3));',
            "    return 0;",
            "}",
        ]
        if self.files == 1:
            body = [c_function(i) for i in range(self.functions)]
            files["main.c"] = "\n".join(['#include "twin.h"'] + body + main) + "\n"
        else:
            used = prototypes(list(self.observed) + [last])
            files["main.c"] = "\n".join(['#include "twin.h"'] + used + main) + "\n"
            for k, name in enumerate(self.module_names):
                first, end = self.bounds[k], self.bounds[k + 1]
                called = prototypes([first - 1] if first > 0 else [])
                body = [c_function(i) for i in range(first, end)]
                files[f"{name}.c"] = "\n".join(['#include "twin.h"'] + called + body) + "\n"
        return files


class TestProgram:
    """`tests` tests `t0 .. t{T-1}`; test `t{i}` calls `f{i}`, which calls `g{i}`, so an
    edit of `f{i}` reaches exactly one test. An edit flips `f{k}`'s constant between the
    value its test expects and a wrong one, so the test's verdict shows the edit was
    compiled in. `main` prints `ready` and then sleeps (for `holoc dev`)."""

    def __init__(self, tests):
        self.tests = tests
        self.edited = tests // 2
        self.broken = False

    def text(self):
        lines = []
        for i in range(self.tests):
            c = initial_constant(i) + (1 if self.broken and i == self.edited else 0)
            expected = 2 + i % 5 + initial_constant(i)  # f(2) = g(1) + c = 2 + i % 5 + c
            lines.append(f"fn g{i}(x: i64) -> i64 {{ x * 2 + {i % 5} }}")
            lines.append(f"fn f{i}(x: i64) -> i64 {{ if x > 0 {{ g{i}(x - 1) + {c} }} else {{ x }} }}")
            lines.append(f"#[test]\nfn t{i}() {{ assert(f{i}(2) == {expected}); }}")
        lines.append('fn main() {\n    println("ready");\n    while true { sleep_ms(100); }\n}')
        return "\n".join(lines) + "\n"

    def write(self, folder):
        (Path(folder) / "main.holo").write_text(self.text())

    def edit(self):
        """Flips the edited function; returns (test name, whether it now passes)."""
        self.broken = not self.broken
        return f"t{self.edited}", not self.broken

    def summary(self):
        failed = 1 if self.broken else 0
        return f"{self.tests - failed} passed, {failed} failed"


def write_atomically(path, text):
    """Writes `text` to a temporary file beside `path` and renames it over `path` (what
    editors do). Returns the monotonic time of the rename: the moment of the save."""
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    saved = time.monotonic()
    os.replace(temporary, path)
    return saved


# ---- Processes ----------------------------------------------------------------------------


class BenchError(Exception):
    pass


_sessions = []
_folders = []


def stop(process):
    """Ends a process started by `start` and everything it started: SIGTERM, then after a
    grace period SIGKILL to its whole session."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except OSError:
            pass
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            pass
    kill_session(process.pid)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    if process in _sessions:
        _sessions.remove(process)


def _cleanup():
    for process in list(_sessions):
        stop(process)
    for folder in list(_folders):
        shutil.rmtree(folder, ignore_errors=True)
        _folders.remove(folder)


def _on_signal(number, frame):
    raise SystemExit(128 + number)


def install_cleanup():
    atexit.register(_cleanup)
    # Ctrl-C ends the benchmark even when it was started with SIGINT ignored (a
    # background job of a script): the `finally`s and atexit then stop every holoc.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)


def argument_parser(doc):
    """The command-line parser of a benchmark script whose docstring is `doc`: its first
    line the description, the rest the help's epilog."""
    return argparse.ArgumentParser(description=doc.splitlines()[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter,
                                   epilog="\n".join(doc.splitlines()[1:]))


def temporary_folder(prefix):
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    _folders.append(folder)
    return folder


def remove_folder(folder):
    shutil.rmtree(folder, ignore_errors=True)
    if folder in _folders:
        _folders.remove(folder)


def start(command, env=None, cwd=None, stdout=subprocess.PIPE, stderr=None, stdin=subprocess.DEVNULL):
    process = subprocess.Popen(
        [str(part) for part in command], cwd=cwd, env=env, stdin=stdin, stdout=stdout,
        stderr=stderr, start_new_session=True,
    )
    _sessions.append(process)
    return process


def holo_env(cache_dir):
    return dict(os.environ, HOLO_CACHE_DIR=str(cache_dir), NO_COLOR="1")


def run_timed(command, env=None, cwd=None, timeout=1800, expect_status=(0,)):
    """Runs a command to its end; returns (seconds, stdout, stderr). A status not in
    `expect_status` raises BenchError with the command's output."""
    started = time.monotonic()
    process = start(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(process)
        raise BenchError(f"$ {shown(command)}\ntimed out after {timeout} s")
    elapsed = time.monotonic() - started
    stop(process)
    stdout, stderr = stdout.decode(errors="replace"), stderr.decode(errors="replace")
    if process.returncode not in expect_status:
        raise BenchError(
            f"$ {shown(command)}\nexit status {process.returncode}\n"
            f"--- stdout (last 3000 characters)\n{stdout[-3000:]}\n"
            f"--- stderr (last 6000 characters)\n{stderr[-6000:]}"
        )
    return elapsed, stdout, stderr


def shown(command):
    return " ".join(str(part) for part in command)


class LineReader:
    """Reads the lines of a child's stdout pipe with a deadline."""

    def __init__(self, stream):
        self.fd = stream.fileno()
        self.buffer = b""

    def read_line(self, deadline):
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode(errors="replace")


class EventsFile:
    """Follows the JSON lines `holoc dev --events FILE` writes."""

    def __init__(self, path):
        self.path = Path(path)
        self.offset = 0
        self.partial = b""
        self.all = []

    def poll(self):
        """The events written since the last call."""
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        data = self.partial + data
        lines = data.split(b"\n")
        self.partial = lines.pop()
        events = []
        for line in lines:
            if line.strip():
                try:
                    events.append(json.loads(line))
                except ValueError:
                    continue
        self.all.extend(events)
        return events

    def wait_for(self, predicate, deadline, interval=0.0005):
        """The first new event for which `predicate` holds, and when it was seen; None at
        the deadline. Events that do not match are kept in `skipped`."""
        self.skipped = []
        while time.monotonic() < deadline:
            for event in self.poll():
                if predicate(event):
                    return event, time.monotonic()
                self.skipped.append(event)
            time.sleep(interval)
        return None, None


class DevSession:
    """One `holoc dev` process: stdout read line by line, stderr to a file (shown when it
    fails), events to a file."""

    def __init__(self, holoc, root, folder, cache_dir, tests=False, extra=()):
        self.events_path = Path(folder) / "events.jsonl"
        self.stderr_path = Path(folder) / "holoc-dev.stderr"
        self.command = [holoc, "dev"] + ([] if tests else ["--no-tests"])
        self.command += ["--events", self.events_path, *extra, root]
        self.stderr_file = open(self.stderr_path, "wb")
        self.started = time.monotonic()
        self.process = start(self.command, env=holo_env(cache_dir), cwd=folder,
                             stdout=subprocess.PIPE, stderr=self.stderr_file,
                             stdin=subprocess.PIPE)
        self.reader = LineReader(self.process.stdout)
        self.events = EventsFile(self.events_path)

    def read_line(self, deadline):
        return self.reader.read_line(deadline)

    def expect_line(self, expected, deadline, what):
        line = self.read_line(deadline)
        if line != expected:
            self.fail(f"{what}: expected the line {expected!r}, got {line!r}")
        return time.monotonic()

    def fail(self, message):
        status = self.process.poll()
        self.close()
        stderr = self.stderr_path.read_text(errors="replace")[-6000:]
        events = "\n".join(json.dumps(event) for event in self.events.all[-10:])
        raise BenchError(
            f"$ {shown(self.command)}\n{message}\n"
            f"holoc {'exited with status ' + str(status) if status is not None else 'was still running'}\n"
            f"--- holoc stderr (last 6000 characters)\n{stderr}\n--- last events\n{events}"
        )

    def status_kib(self, key):
        return status_kib(self.process.pid, key)

    def close(self):
        stop(self.process)
        self.stderr_file.close()


def status_kib(pid, key):
    """A /proc/PID/status memory figure (VmRSS, VmHWM) in KiB; 0 if the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def child_pids(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]
    except OSError:
        return []


# ---- Figures ------------------------------------------------------------------------------


def median(values):
    return statistics.median(values) if values else float("nan")


def percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class Table:
    """Rows of (figure, value, unit, cache state, target, measured command)."""

    def __init__(self, title):
        self.title = title
        self.rows = []

    def add(self, figure, value, unit, cache="", target="", command=""):
        self.rows.append((figure, value, unit, cache, target, command))


    def print(self, reproduce):
        print(f"# {self.title}")
        print(f"# reproduce: {reproduce}")
        header = ("figure", "value", "unit", "cache", "target", "measured command")
        cells = [header] + [
            (figure, format_value(value), unit, cache, target, command)
            for figure, value, unit, cache, target, command in self.rows
        ]
        widths = [max(len(row[column]) for row in cells) for column in range(5)]
        for row in cells:
            left = "  ".join(
                row[column].rjust(widths[column]) if column == 1 else row[column].ljust(widths[column])
                for column in range(5)
            )
            print(f"{left}  {row[5]}".rstrip())
        sys.stdout.flush()


def format_value(value):
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if value != value:  # NaN
        return "n/a"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def log(message):
    print(message, file=sys.stderr, flush=True)


def check_holoc(holoc):
    try:
        result = subprocess.run([holoc, "--version"], capture_output=True, text=True, timeout=30)
    except OSError as error:
        raise BenchError(f"cannot run holoc at {holoc}: {error}")
    if result.returncode != 0:
        raise BenchError(f"$ {holoc} --version\nexit status {result.returncode}\n{result.stderr}")
    return result.stdout.strip()
