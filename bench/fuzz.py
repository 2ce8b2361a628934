#!/usr/bin/env python3
"""Deterministic fuzzing of holoc: the real binary, fed three kinds of input.

- mutate: a holo program of the conformance fixtures (Tests/HoloTests/Conformance/*.md),
  mutated; checked in both diagnostic formats and, if it still compiles, built dev and
  release (not run: a mutated loop may never end);
- generate: a random well-typed program of the [core] language (every scalar type, wrap,
  shift and division edge cases, casts, if/while/for, templates, bounded recursion), run
  dev (`holoc run`), optimised dev (`-O2`) and release (`--release`), which must agree;
- stress: the sized shapes of issue 8 (operator and cast chains, else-if chains, deep
  nesting, a megabyte line of errors, ...).

Each case ends in one class: ok, or a failure:

- crash: holoc killed by a signal, or an exit status other than 0, 1, 101 and 64;
- hang: a holoc command that took longer than the timeout (10 s);
- unlocated: a `--format json` diagnostic without file, line or column, or a human
  headline that is not one line followed by `FILE:LINE:COLUMN` (a raw control, line
  separator or bidirectional character in it counts as breaking the line);
- mismatch: dev, optimised dev and release disagree on stdout, exit status or runtime
  failure;
- rejected: holoc refused a program that is valid (a generated program, or a valid
  stress shape).

Usage:
    fuzz.py --holoc PATH --cases N --seed S [--out DIR] [--jobs J]
            [--mix mutate=5,generate=4,stress=1] [--mutations text,tokens,quotes,controls]
            [--stress SHAPE[:SIZE],...] [--timeout SECONDS]
    fuzz.py --holoc PATH --replay DIR        # every .holo and .stress file in DIR

Case i of seed S is the same input on every run and machine. It prints the counts per
class and writes each distinct failing input, with what happened, to --out. The exit
status is 1 when any failure was counted.
"""

import argparse
import concurrent.futures
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests" / "HoloTests" / "Conformance"

FAILURE_CLASSES = ("crash", "hang", "unlocated", "mismatch", "rejected")
KINDS = ("mutate", "generate", "stress")
# holoc's documented exit statuses (CLI.md); anything else is a crash.
EXPECTED_STATUSES = {0, 1, 64, 101}


# ---- Running holoc ------------------------------------------------------------------------


@dataclass
class Run:
    command: list
    status: int  # negative: killed by that signal
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool


def kill_session(session):
    """Kills every process of the session holoc was started in: `holoc run` puts its
    program in a process group of its own, so killing holoc's group would leave it."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session:
            try:
                os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass


def run_holoc(holoc, arguments, directory, timeout):
    command = [holoc] + arguments
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=directory,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ, NO_COLOR="1"),
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        kill_session(process.pid)
        stdout, stderr = process.communicate()
        timed_out = True
    return Run(
        command=arguments,
        status=process.returncode,
        stdout=stdout.decode("utf-8", "replace"),
        stderr=stderr.decode("utf-8", "replace"),
        seconds=time.monotonic() - started,
        timed_out=timed_out,
    )


# ---- Classifying ----------------------------------------------------------------------------

HEADLINE = re.compile(r"^(⚒️|💥) ")
LOCATION = re.compile(r"^.+:\d+:\d+$")
# Characters that break a headline's line on a terminal: C0 controls but tab, C1, DEL, the
# Unicode line and paragraph separators, and bidirectional overrides and isolates.
LINE_BREAKING = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def unlocated_human(stderr):
    """(signature, description) of a human-format diagnostic without a location, or
    None. Every headline is one line, then an empty line, then `FILE:LINE:COLUMN`."""
    lines = stderr.split("\n")
    for index, line in enumerate(lines):
        if not HEADLINE.match(line):
            continue
        code = re.search(r"\[E\d+\]", line)
        code = code.group(0) if code else line.split(":")[0]
        breaking = LINE_BREAKING.search(line)
        if breaking:
            return (f"headline {code} with raw {breaking.group(0)!r}",
                    f"headline with a raw control or line-breaking character: {line[:200]!r}")
        following = lines[index + 1 : index + 3]
        if len(following) < 2 or following[0] != "" or not LOCATION.match(following[1]):
            return (f"headline {code} spans lines",
                    f"headline spans lines or has no location: {line[:200]!r}")
    return None


def unlocated_json(stderr):
    """(signature, description) of a `--format json` diagnostic without a location, or
    None."""
    for line in stderr.split("\n"):
        if not line:
            continue
        try:
            diagnostic = json.loads(line)
        except ValueError:
            return "not JSON", f"not a JSON diagnostic: {line[:200]!r}"
        if any(diagnostic.get(key) is None for key in ("file", "line", "column")):
            return (f"json {diagnostic.get('code')} without location",
                    f"diagnostic without a location: {line[:200]}")
    return None


@dataclass
class Outcome:
    kind: str
    label: str  # what the input was: fixture case and mutations, shape, seed and case
    failure: str = "ok"
    detail: str = ""
    signature: str = ""  # what makes two failures of one class the same
    runs: list = field(default_factory=list)
    files: dict = field(default_factory=dict)

    def fail(self, failure, detail, signature):
        """Records the failure; a stress shape's failures are told apart by shape."""
        self.failure, self.detail = failure, detail
        shape = self.label.split(":")[0] if self.kind == "stress" else ""
        self.signature = f"{failure} {shape} {signature}"


def abnormal(outcome, run):
    """Classifies a run as a crash or a hang; True when it was one."""
    if run.timed_out:
        outcome.fail("hang", f"`holoc {' '.join(run.command)}` ran longer than the timeout",
                     f"{run.command[0]} {outcome.kind}")
        return True
    if run.status < 0 or run.status not in EXPECTED_STATUSES:
        what = f"signal {-run.status}" if run.status < 0 else f"exit status {run.status}"
        # The innermost frame of Swift's backtrace, if it printed one.
        frame = re.search(r"^\d+ .*?0x[0-9a-f]+ (.+?) \+ \d+ in ", run.stderr, re.M)
        outcome.fail("crash", f"`holoc {' '.join(run.command)}` ended with {what}",
                     f"{what} {run.command[0]} {frame.group(1)[:100] if frame else ''}")
        return True
    return False


def check_diagnostics(outcome, holoc, directory, timeout):
    """`holoc check` in both formats: no crash, no hang, every diagnostic located. The
    statuses of the two runs, or None after a failure."""
    json_run = run_holoc(holoc, ["check", "--format", "json", "main.holo"], directory, timeout)
    outcome.runs.append(json_run)
    if abnormal(outcome, json_run):
        return None
    human_run = run_holoc(holoc, ["check", "main.holo"], directory, timeout)
    outcome.runs.append(human_run)
    if abnormal(outcome, human_run):
        return None
    for run, why in ((json_run, unlocated_json(json_run.stderr)),
                     (human_run, unlocated_human(human_run.stderr))):
        if why is not None:
            outcome.fail("unlocated", f"`holoc {' '.join(run.command)}`: {why[1]}", why[0])
            return None
    return json_run.status, human_run.status


BUILD_FLAVOURS = {"dev": [], "dev -O2": ["-O", "2"], "release": ["--release"]}


def runtime_failure(stderr):
    """The headline and location of a runtime failure rendered by holoc, or ""."""
    lines = stderr.split("\n")
    for index, line in enumerate(lines):
        if line.startswith("💥 "):
            return "\n".join(lines[index : index + 3])
    return ""


def run_flavours(outcome, holoc, directory, timeout):
    """Runs main.holo in each build flavour; the runs, or None after a crash or hang."""
    runs = {}
    for name in BUILD_FLAVOURS:
        run = run_holoc(holoc, ["run"] + BUILD_FLAVOURS[name] + ["main.holo"], directory, timeout)
        outcome.runs.append(run)
        if abnormal(outcome, run):
            return None
        why = unlocated_human(run.stderr)
        if why is not None:
            outcome.fail("unlocated", f"`holoc {' '.join(run.command)}`: {why[1]}", why[0])
            return None
        runs[name] = run
    return runs


def nesting_limit_only(stderr):
    """Whether every diagnostic is E0017, the documented nesting limit."""
    headlines = [line for line in stderr.split("\n") if HEADLINE.match(line)]
    return bool(headlines) and all("[E0017]" in line for line in headlines)


def compare_flavours(outcome, runs, expected_stdout=None, nesting_limited=False):
    """Dev, -O2 and release must agree (and print `expected_stdout` when given); a valid
    program must compile, unless it is refused for nesting above the documented limit."""
    if nesting_limited and all(
        run.status == 1 and nesting_limit_only(run.stderr) for run in runs.values()
    ):
        return
    for name, run in runs.items():
        if run.status == 1:
            first = next((l for l in run.stderr.splitlines() if HEADLINE.match(l)), run.stderr[:200])
            outcome.fail("rejected", f"{name}: {first}", re.sub(r"\d+", "N", first)[:80])
            return
    observed = {
        name: (run.status, run.stdout, runtime_failure(run.stderr)) for name, run in runs.items()
    }
    if len(set(observed.values())) > 1:
        outcome.fail("mismatch", "; ".join(
            f"{name}: status {status}, {len(stdout)} bytes of output, failure {failure[:80]!r}"
            for name, (status, stdout, failure) in observed.items()
        ), outcome.label)
        return
    if expected_stdout is not None:
        run = next(iter(runs.values()))
        if run.status != 0 or run.stdout != expected_stdout:
            outcome.fail("mismatch", f"status {run.status}, stdout {run.stdout[:80]!r}, "
                         f"expected {expected_stdout[:80]!r}", outcome.label)


# ---- Conformance fixtures and their mutations ----------------------------------------------

CASE_HEADING = re.compile(r"^## Case: (.+)$")
FENCE = re.compile(r"^```holo(?: file=(\S+))?\s*$")


def fixture_programs():
    """(name, {path: source}) of every fixture case, sorted: main.holo and further files."""
    programs = []
    for fixture in sorted(FIXTURES.glob("*.md")):
        name, files, inside, lines = None, {}, None, []
        for line in fixture.read_text().splitlines():
            heading = CASE_HEADING.match(line)
            if inside is None and heading:
                if name and "main.holo" in files:
                    programs.append((name, files))
                name, files = f"{fixture.stem}: {heading.group(1)}", {}
                continue
            fence = FENCE.match(line)
            if inside is None and fence and name:
                inside, lines = fence.group(1) or "main.holo", []
                continue
            if inside is not None and line.startswith("```"):
                files[inside] = "\n".join(lines) + "\n"
                inside = None
                continue
            if inside is not None:
                lines.append(line)
        if name and "main.holo" in files:
            programs.append((name, files))
    return programs


TOKENS = [
    "fn", "let", "if", "else", "while", "for", "in", "return", "true", "false", "import",
    "extern", "export", "as", "break;", "continue;", "#[test]", "#[bench]", "main", "(", ")",
    "{", "}", "[", "]", ";", ",", ":", "->", "..", "..=", "=", "==", "!=", "<", "<=", ">", ">=",
    "+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "&&", "||", "!", "+=", "<<=",
    "/*", "*/", "//", "\\", "0", "-1", "1i32", "7u32", "2.5f32",
    "0xFF", "0b102", "1e", "1_", "99999999999999999999", "5000000000i32", "1.0e999",
    "i64", "u64", "f64", "string", "bool", "()", "as f32", "as bool", "println(", "assert(",
    "panic(\"x\")", "read_line()", "string_len(", "exit(", "x", "_", "import a.b;",
]

# Openings and closings of literals, kept apart from TOKENS: an unbalanced quote makes a
# literal run over line ends, which is where a token a headline quotes can hold a newline.
QUOTES = ["\"", "`", "'", "`{", "}`", "\\\"", "\\`", "\\{"]

# Characters that must never reach a diagnostic's headline raw (issue 8, "garbled").
CONTROLS = ["\x1b", "\u202e", "\u2028", "\r", "\x00", "\x07", "\x7f", "\ufeff", "\t", "\n"]


def balanced(text):
    return all(text.count(quote) % 2 == 0 for quote in "\"`'")


def mutate_text(rng, text, corpus):
    """An edit of characters, spans or lines that opens or closes no literal: unbalanced
    quotes are the `quotes` mutation's."""
    position = rng.randrange(len(text) + 1)
    length = rng.randint(1, 20)
    span = text[position : position + length]
    choice = rng.randrange(5)
    if choice == 0 and text[position : position + 1] not in ("\"", "`", "'"):
        character = chr(rng.randrange(32, 127))
        character = "_" if character in "\"`'" else character
        return text[:position] + character + text[position + 1 :]
    if choice == 1 and balanced(span):
        return text[:position] + text[position + length :]
    if choice == 2 and balanced(span):
        return text[:position] + span + text[position:]
    lines = text.split("\n")
    if choice == 3:  # a line of another program
        other = rng.choice(rng.choice(corpus)[1]["main.holo"].split("\n"))
        if balanced(other):
            lines.insert(rng.randrange(len(lines) + 1), other)
    else:  # two lines swapped
        a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[a], lines[b] = lines[b], lines[a]
    return "\n".join(lines)


def mutate_tokens(rng, text, corpus):
    position = rng.randrange(len(text) + 1)
    return text[:position] + " " * rng.randint(0, 1) + rng.choice(TOKENS) + text[position:]


def mutate_quotes(rng, text, corpus):
    position = rng.randrange(len(text) + 1)
    return text[:position] + rng.choice(QUOTES) + text[position:]


def mutate_controls(rng, text, corpus):
    """A control, bidirectional or line-separator character, often inside a literal,
    where the lexer keeps it in a token a headline may quote."""
    quotes = [m.end() for m in re.finditer(r"[\"`]", text)]
    if quotes and rng.random() < 0.6:
        position = rng.choice(quotes)
    else:
        position = rng.randrange(len(text) + 1)
    return text[:position] + rng.choice(CONTROLS) * rng.randint(1, 3) + text[position:]


MUTATIONS = {
    "text": mutate_text,
    "tokens": mutate_tokens,
    "quotes": mutate_quotes,
    "controls": mutate_controls,
}


def mutate_case(rng, corpus, mutations):
    name, files = rng.choice(corpus)
    files = dict(files)
    operators = []
    text = files["main.holo"]
    for _ in range(rng.randint(1, 4)):
        operator = rng.choice(mutations)
        operators.append(operator)
        text = MUTATIONS[operator](rng, text, corpus)
    files["main.holo"] = text
    return f"{name} [{' '.join(operators)}]", files


# ---- Random well-typed programs -------------------------------------------------------------

INTEGERS = ("i32", "i64", "u32", "u64")
FLOATS = ("f32", "f64")
NUMERIC = INTEGERS + FLOATS
SCALARS = NUMERIC + ("bool", "string")
BITS = {"i32": 32, "i64": 64, "u32": 32, "u64": 64}


def integer_literal(rng, type_name):
    bits = BITS[type_name]
    signed = type_name.startswith("i")
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    value = rng.choice(
        [0, 1, 2, 3, 7, -1, -2, low, high, low + 1, high - 1, 1 << (bits // 2),
         rng.randint(low, high), rng.randint(-100, 100)]
    )
    value = max(low, min(high, value))
    if value == low and signed:  # -2147483648i32 does not fit: the literal is 2147483648
        return f"({value + 1}{type_name} - 1{type_name})"
    if value < 0:
        return f"(-{-value}{type_name})"
    if rng.random() < 0.2:
        return f"0x{value:X}{type_name}"
    return f"{value}{type_name}"


def float_literal(rng, type_name):
    choices = ["0.0", "1.0", "0.5", "2.5e-3", "1e9", "3.0", "0.1", "123.456", "1e-7", "65504.0"]
    choices += ["1e300", "1.7976931348623157e308", "5e-324"] if type_name == "f64" else ["3.4e38", "1e-45"]
    text = rng.choice(choices) + type_name
    return f"(-{text})" if rng.random() < 0.3 else text


class Scope:
    def __init__(self, parent=None):
        self.parent = parent
        self.names = {}  # name -> (type, assignable)

    def visible(self, type_name, assignable=False):
        found, scope = [], self
        while scope is not None:
            found += [
                n for n, (t, a) in scope.names.items() if t == type_name and (a or not assignable)
            ]
            scope = scope.parent
        return found


class ProgramGenerator:
    """Builds a program of functions f0..fN (each calls only earlier ones), recursive
    functions with a bounded depth, and a main that calls and prints them all. Every
    binary operation and cast is parenthesised, so precedence never decides the type."""

    def __init__(self, rng):
        self.rng = rng
        self.counter = 0
        self.functions = []  # (name, [param types], result type)
        self.lines = []

    def fresh(self, prefix):
        self.counter += 1
        return f"{prefix}{self.counter}"

    def expression(self, type_name, scope, depth):
        rng = self.rng
        if depth <= 0 or rng.random() < 0.25:
            return self.atom(type_name, scope)
        if type_name == "bool":
            return self.boolean(scope, depth)
        if type_name == "string":
            return self.text(scope, depth)
        options = ["binary"] * 5 + ["cast"] * 2 + ["if", "block", "call", "unary"]
        choice = rng.choice(options)
        if choice == "binary":
            return self.arithmetic(type_name, scope, depth)
        if choice == "cast":
            source = rng.choice(NUMERIC + (("bool",) if type_name in INTEGERS else ()))
            return f"({self.expression(source, scope, depth - 1)} as {type_name})"
        if choice == "if":
            return (
                f"(if {self.boolean(scope, depth - 1)} {{ {self.expression(type_name, scope, depth - 1)} }}"
                f" else {{ {self.expression(type_name, scope, depth - 1)} }})"
            )
        if choice == "block":
            inner = Scope(scope)
            name = self.fresh("b")
            bound = rng.choice(SCALARS)
            value = self.expression(bound, scope, depth - 1)
            inner.names[name] = (bound, True)
            return f"{{ let {name}: {bound} = {value}; {self.expression(type_name, inner, depth - 1)} }}"
        if choice == "call":
            call = self.call(type_name, scope, depth)
            if call:
                return call
        if choice == "unary" and type_name not in ("u32", "u64"):
            return f"(-{self.expression(type_name, scope, depth - 1)})"
        return self.arithmetic(type_name, scope, depth)

    def atom(self, type_name, scope):
        names = scope.visible(type_name)
        if names and self.rng.random() < 0.6:
            return self.rng.choice(names)
        if type_name in INTEGERS:
            return integer_literal(self.rng, type_name)
        if type_name in FLOATS:
            return float_literal(self.rng, type_name)
        if type_name == "bool":
            return self.rng.choice(["true", "false"])
        return '"' + self.rng.choice(["", "a", "holo", "tab\\tq\\\"", "ünï", "0"]) + '"'

    def divisor(self, type_name, scope, depth):
        """Mostly a literal that is neither 0 nor -1; sometimes anything, which may fail at
        run time (division by zero, MIN / -1) in every build alike."""
        if self.rng.random() < 0.05:
            return self.expression(type_name, scope, depth - 1)
        value = self.rng.choice([2, 3, 7, 10, 255, 65536])
        if type_name.startswith("i") and self.rng.random() < 0.3:
            return f"(-{value}{type_name})"
        return f"{value}{type_name}"

    def arithmetic(self, type_name, scope, depth):
        rng = self.rng
        left = self.expression(type_name, scope, depth - 1)
        if type_name in FLOATS:
            operator = rng.choice(["+", "-", "*", "/"])
            return f"({left} {operator} {self.expression(type_name, scope, depth - 1)})"
        operator = rng.choice(["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "+", "*"])
        if operator in ("/", "%"):
            right = self.divisor(type_name, scope, depth)
        elif operator in ("<<", ">>") and rng.random() < 0.5:
            right = f"{rng.choice([0, 1, 31, 32, 33, 63, 64, 65, 127])}{type_name}"
        else:
            right = self.expression(type_name, scope, depth - 1)
        return f"({left} {operator} {right})"

    def boolean(self, scope, depth):
        rng = self.rng
        choice = rng.randrange(5)
        if choice == 0:
            numeric = rng.choice(NUMERIC)
            operator = rng.choice(["<", "<=", ">", ">=", "==", "!="])
            return (
                f"({self.expression(numeric, scope, depth - 1)} {operator} "
                f"{self.expression(numeric, scope, depth - 1)})"
            )
        if choice == 1:
            compared = rng.choice(["bool", "string"])
            operator = rng.choice(["==", "!="])
            return (
                f"({self.expression(compared, scope, depth - 1)} {operator} "
                f"{self.expression(compared, scope, depth - 1)})"
            )
        if choice == 2:
            operator = rng.choice(["&&", "||"])
            return f"({self.boolean(scope, depth - 1)} {operator} {self.boolean(scope, depth - 1)})"
        if choice == 3:
            return f"(!{self.boolean(scope, depth - 1)})"
        return self.call("bool", scope, depth) or self.atom("bool", scope)

    def text(self, scope, depth):
        rng = self.rng
        if rng.random() < 0.3:
            return self.call("string", scope, depth) or self.atom("string", scope)
        parts = []
        for _ in range(rng.randint(1, 3)):
            parts.append(rng.choice(["", "v=", " ", "x", "\\{", "\\}", "\\`", "\\t"]))
            if rng.random() < 0.15 and depth > 1:
                parts.append("{ " + self.text(scope, depth - 1) + " }")
            else:
                parts.append("{" + self.expression(rng.choice(SCALARS), scope, depth - 1) + "}")
        return "`" + "".join(parts) + "`"

    def call(self, type_name, scope, depth):
        candidates = [f for f in self.functions if f[2] == type_name]
        if not candidates:
            return None
        name, parameters, _ = self.rng.choice(candidates)
        if name.startswith("rec"):
            # Shallow: a recursive function's step may call an earlier one, and so on.
            depth_argument = f"{self.rng.randint(0, 8)}i64"
            return f"{name}({depth_argument}, {self.expression(type_name, scope, depth - 1)})"
        arguments = ", ".join(self.expression(p, scope, depth - 1) for p in parameters)
        return f"{name}({arguments})"

    def statements(self, scope, depth, count, indent, in_loop=False):
        lines = []
        for _ in range(count):
            lines += self.statement(scope, depth, indent, in_loop)
        return lines

    def statement(self, scope, depth, indent, in_loop):
        rng = self.rng
        pad = "    " * indent
        choice = rng.choice(
            ["let"] * 4 + ["assign"] * 3 + ["print"] * 3 + ["if", "while", "for"]
            + (["break", "continue"] if in_loop else [])
        )
        if choice == "let" or (choice == "assign" and not any(
            scope.visible(t, assignable=True) for t in SCALARS)):
            type_name = rng.choice(SCALARS)
            name = self.fresh("v")
            value = self.expression(type_name, scope, depth)
            scope.names[name] = (type_name, True)
            return [f"{pad}let {name}: {type_name} = {value};"]
        if choice == "assign":
            type_name = rng.choice([t for t in SCALARS if scope.visible(t, assignable=True)])
            name = rng.choice(scope.visible(type_name, assignable=True))
            operators = ["="]
            if type_name in NUMERIC:
                operators += ["+=", "-=", "*="]
            if type_name in INTEGERS:
                operators += ["&=", "|=", "^=", "<<=", ">>=", "/=", "%="]
            operator = rng.choice(operators)
            if operator in ("/=", "%="):
                value = self.divisor(type_name, scope, depth)
            else:
                value = self.expression(type_name, scope, depth)
            return [f"{pad}{name} {operator} {value};"]
        if choice == "print":
            return [f"{pad}println({self.expression(rng.choice(SCALARS), scope, depth)});"]
        if choice == "if":
            lines = [f"{pad}if {self.boolean(scope, depth)} {{"]
            lines += self.statements(Scope(scope), depth - 1, rng.randint(1, 3), indent + 1, in_loop)
            if rng.random() < 0.5:
                lines.append(f"{pad}}} else {{")
                lines += self.statements(Scope(scope), depth - 1, rng.randint(1, 3), indent + 1, in_loop)
            return lines + [f"{pad}}}"]
        if choice == "while":
            counter = self.fresh("w")
            scope.names[counter] = ("i64", False)
            lines = [f"{pad}let {counter}: i64 = 0;", f"{pad}while {counter} < {rng.randint(0, 6)} {{"]
            lines.append(f"{pad}    {counter} += 1;")
            lines += self.statements(Scope(scope), depth - 1, rng.randint(1, 3), indent + 1, True)
            return lines + [f"{pad}}}"]
        if choice == "for":
            type_name = rng.choice(INTEGERS)
            counter = self.fresh("i")
            inner = Scope(scope)
            inner.names[counter] = (type_name, False)
            start = rng.randint(0, 3)
            operator = rng.choice(["..", "..="])
            lines = [f"{pad}for {counter} in {start}{type_name}{operator}{start + rng.randint(0, 5)}{type_name} {{"]
            lines += self.statements(inner, depth - 1, rng.randint(1, 3), indent + 1, True)
            return lines + [f"{pad}}}"]
        keyword = "break" if choice == "break" else "continue"
        return [f"{pad}if {self.boolean(scope, 1)} {{ {keyword}; }}"]

    def function(self, index):
        rng = self.rng
        result = rng.choice(SCALARS)
        if rng.random() < 0.25:
            name = f"rec{index}"
            scope = Scope()
            scope.names["n"] = ("i64", False)
            scope.names["acc"] = (result, False)
            if result == "string":
                # `acc` once, then text that cannot hold it: the result grows by a bounded
                # length per level (a step using `acc` twice doubles it per level, and a
                # depth of 60 would need more memory than any machine has).
                without_acc = Scope()
                without_acc.names["n"] = ("i64", False)
                step = "`{acc}{" + self.expression(result, without_acc, 2) + "}`"
            else:
                step = self.expression(result, scope, 2)  # calls only earlier functions
            self.functions.append((name, ["i64", result], result))
            self.lines += [
                f"fn {name}(n: i64, acc: {result}) -> {result} {{",
                f"    if n <= 0 {{ acc }} else {{ {name}((n - 1), {step}) }}",
                "}",
                "",
            ]
            return
        name = f"f{index}"
        parameters = [rng.choice(SCALARS) for _ in range(rng.randint(0, 3))]
        scope = Scope()
        for position, parameter in enumerate(parameters):
            scope.names[f"p{position}"] = (parameter, True)
        body = self.statements(scope, 3, rng.randint(1, 5), 1)
        value = self.expression(result, scope, 3)
        signature = ", ".join(f"p{i}: {t}" for i, t in enumerate(parameters))
        self.lines += [f"fn {name}({signature}) -> {result} {{"] + body
        self.lines += [f"    let result: {result} = {value};", "    result", "}", ""]
        self.functions.append((name, parameters, result))

    def program(self):
        for index in range(self.rng.randint(1, 5)):
            self.function(index)
        scope = Scope()
        body = self.statements(scope, 3, self.rng.randint(3, 10), 1)
        for name, parameters, result in self.functions:
            body.append(f"    println({self.call_of(name, parameters, scope)});")
        self.lines += ["fn main() {"] + body + ["}"]
        return "\n".join(self.lines) + "\n"

    def call_of(self, name, parameters, scope):
        if name.startswith("rec"):
            return f"{name}({self.rng.randint(0, 60)}, {self.expression(parameters[1], scope, 2)})"
        return f"{name}({', '.join(self.expression(p, scope, 2) for p in parameters)})"


# ---- Stress shapes --------------------------------------------------------------------------


def stress_add_chain(size):
    terms = " + ".join(["a"] * size)
    return f"fn main() {{\n    let a = 1;\n    println({terms});\n}}\n", f"{size}\n"


def stress_cast_chain(size):
    casts = " as i64" * size
    return f"fn main() {{\n    println(7{casts});\n}}\n", "7\n"


def stress_else_if_chain(size):
    arms = " else ".join(f"if n == {i} {{ {i * 2} }}" for i in range(size))
    source = f"fn pick(n: i64) -> i64 {{\n    {arms} else {{ -1 }}\n}}\n"
    source += f"fn main() {{ println(pick({size - 1})); }}\n"
    return source, f"{(size - 1) * 2}\n"


def stress_statements_line(size):
    statements = " ".join(["total += 1;"] * size)
    return f"fn main() {{ let total = 0; {statements} println(total); }}\n", f"{size}\n"


def stress_compare_chain(size):
    return f"fn main() {{\n    let a = 1;\n    println({' < '.join(['a'] * size)});\n}}\n", None


def stress_error_line(size):
    """A line of `size` bytes with a type error every 100 bytes or so."""
    unit = "let e: i64 = true; /*" + "x" * 70 + "*/ "
    return "fn main() { " + unit * (size // len(unit)) + "}\n", None


def stress_far_column(size):
    return "fn main() { let x = 1;" + " " * size + "x + true; }\n", None


def stress_unterminated_templates(size):
    return "fn main() {\n" + "".join(f"    println(`open {i} {{\n" for i in range(size)) + "}\n", None


def nested(open_text, close_text, inner):
    """Deep nesting, which holoc may refuse above its documented limit (E0017)."""

    def shape(size):
        body = open_text * size + inner + close_text * size
        return f"fn f(x: i64) -> i64 {{ x }}\nfn main() {{ println({body}); }}\n", "1\n"

    return shape


# Shapes whose input holoc may refuse with E0017, "expression nests too deeply".
NESTING_LIMITED = {"nesting-parens", "nesting-blocks", "nesting-templates", "nesting-calls"}

STRESS_SHAPES = {
    # name: (build the (source, expected stdout or None for invalid input), default size)
    "add-chain": (stress_add_chain, 100_000),
    "cast-chain": (stress_cast_chain, 100_000),
    "else-if-chain": (stress_else_if_chain, 10_000),
    "nesting-parens": (nested("(", ")", "1"), 10_000),
    "nesting-blocks": (nested("{ let b = ", "; b }", "1"), 10_000),
    "nesting-templates": (nested("`{", "}`", "1"), 10_000),
    "nesting-calls": (nested("f(", ")", "1"), 10_000),
    "error-line": (stress_error_line, 1_000_000),
    "far-column": (stress_far_column, 100_000),
    "statements-line": (stress_statements_line, 40_000),
    "compare-chain": (stress_compare_chain, 10_000),
    "unterminated-templates": (stress_unterminated_templates, 5_000),
}


def parse_stress(text):
    """`SHAPE[:SIZE],...` into [(shape, size)]."""
    shapes = []
    for item in filter(None, text.split(",")):
        name, _, size = item.partition(":")
        if name not in STRESS_SHAPES:
            raise SystemExit(f"fuzz.py: unknown stress shape `{name}` ({', '.join(STRESS_SHAPES)})")
        shapes.append((name, int(size) if size else STRESS_SHAPES[name][1]))
    return shapes


# ---- Cases ----------------------------------------------------------------------------------


@dataclass
class Case:
    kind: str
    label: str
    files: dict
    expected_stdout: str = None  # stress: the output of a valid shape; None for invalid
    nesting_limited: bool = False  # stress: refusing it with E0017 is fine


def make_case(options, corpus, index):
    rng = random.Random(f"{options.seed}:{index}")
    kinds, weights = zip(*options.mix)
    kind = rng.choices(kinds, weights)[0]
    if kind == "mutate":
        label, files = mutate_case(rng, corpus, options.mutations)
        return Case(kind, label, files)
    if kind == "generate":
        source = ProgramGenerator(rng).program()
        return Case(kind, f"generated seed {options.seed} case {index}", {"main.holo": source})
    shape, size = options.stress[index % len(options.stress)]
    return stress_case(shape, size)


def stress_case(shape, size):
    build, _ = STRESS_SHAPES[shape]
    source, expected = build(size)
    return Case(
        "stress", f"{shape}:{size}", {"main.holo": source}, expected, shape in NESTING_LIMITED
    )


def run_case(options, case):
    outcome = Outcome(case.kind, case.label, files=case.files)
    directory = tempfile.mkdtemp(prefix="holo-fuzz-")
    try:
        for path, text in case.files.items():
            target = Path(directory, path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text.encode("utf-8", "surrogatepass"))
        if case.kind == "generate" or case.expected_stdout is not None:
            runs = run_flavours(outcome, options.holoc, directory, options.timeout)
            if runs is not None:
                compare_flavours(outcome, runs, case.expected_stdout, case.nesting_limited)
            return outcome
        statuses = check_diagnostics(outcome, options.holoc, directory, options.timeout)
        if statuses is None or case.kind == "stress":
            return outcome
        if statuses == (0, 0):
            for flavour in (["build", "-o", "program"], ["build", "--release", "-o", "program"]):
                run = run_holoc(options.holoc, flavour + ["main.holo"], directory, options.timeout)
                outcome.runs.append(run)
                if abnormal(outcome, run):
                    break
        return outcome
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def replay_cases(directory):
    """The regression inputs of a folder: `.holo` files (run like generated programs when
    they compile, else checked) and `.stress` files (`SHAPE SIZE`)."""
    cases = []
    for path in sorted(Path(directory).iterdir()):
        if path.suffix == ".holo":
            cases.append(Case("replay", path.name, {"main.holo": path.read_text()}))
        elif path.suffix == ".stress":
            shape, size = path.read_text().split()
            cases.append(stress_case(shape, int(size)))
    return cases


def run_replay_case(options, case):
    """A kept input: checked; when it compiles, its three builds must agree."""
    if case.kind == "stress":
        return run_case(options, case)
    outcome = Outcome(case.kind, case.label, files=case.files)
    directory = tempfile.mkdtemp(prefix="holo-fuzz-")
    try:
        Path(directory, "main.holo").write_text(case.files["main.holo"])
        statuses = check_diagnostics(outcome, options.holoc, directory, options.timeout)
        if statuses == (0, 0):
            runs = run_flavours(outcome, options.holoc, directory, options.timeout)
            if runs is not None:
                compare_flavours(outcome, runs)
        return outcome
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def write_failure(out, number, outcome):
    stem = f"{outcome.failure}-{number:03d}"
    main = outcome.files.get("main.holo", "")
    Path(out, stem + ".holo").write_bytes(main.encode("utf-8", "surrogatepass"))
    report = [f"class: {outcome.failure}", f"input: {outcome.label}", f"what: {outcome.detail}", ""]
    for run in outcome.runs:
        report.append(f"$ holoc {' '.join(run.command)}   # status {run.status}, {run.seconds:.1f} s")
        stderr = run.stderr
        report.append(stderr if len(stderr) < 6000 else f"{stderr[:4000]}\n…\n{stderr[-2000:]}")
    Path(out, stem + ".txt").write_text("\n".join(report))
    return stem


def parse_mix(text):
    mix = []
    for item in text.split(","):
        kind, _, weight = item.partition("=")
        if kind not in KINDS:
            raise SystemExit(f"fuzz.py: unknown case kind `{kind}` ({', '.join(KINDS)})")
        mix.append((kind, float(weight or 1)))
    return mix


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--holoc", required=True, help="the holoc executable to test")
    parser.add_argument("--cases", type=int, default=100, help="how many cases (default 100)")
    parser.add_argument("--seed", type=int, default=1, help="which cases (default 1)")
    parser.add_argument("--out", help="folder for each distinct failing input and its report")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2)")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds after which a holoc command is a hang (default 10)")
    parser.add_argument("--mix", type=parse_mix, default=parse_mix("mutate=5,generate=4,stress=1"),
                        help=f"weights of the kinds of case ({', '.join(KINDS)})")
    parser.add_argument("--mutations", default=",".join(MUTATIONS),
                        help=f"mutations of fixtures to use ({', '.join(MUTATIONS)})")
    parser.add_argument("--stress", type=parse_stress, default=parse_stress(",".join(STRESS_SHAPES)),
                        help=f"stress shapes, in turn, SHAPE[:SIZE] ({', '.join(STRESS_SHAPES)})")
    parser.add_argument("--replay", help="run the .holo and .stress files of this folder instead")
    options = parser.parse_args()
    options.holoc = os.path.abspath(options.holoc)
    options.mutations = [m for m in options.mutations.split(",") if m]
    for mutation in options.mutations:
        if mutation not in MUTATIONS:
            raise SystemExit(f"fuzz.py: unknown mutation `{mutation}` ({', '.join(MUTATIONS)})")

    preflight = tempfile.mkdtemp(prefix="holo-fuzz-")
    Path(preflight, "main.holo").write_text("fn main() { println(1); }\n")
    trial = run_holoc(options.holoc, ["run", "main.holo"], preflight, 60)
    shutil.rmtree(preflight, ignore_errors=True)
    if trial.status != 0 or trial.stdout != "1\n":
        # Every case would fail for the same reason (no runtime, no linker, ...).
        raise SystemExit(f"fuzz.py: {options.holoc} cannot run a program:\n{trial.stderr}")

    if options.replay:
        cases = replay_cases(options.replay)
        runner = run_replay_case
    else:
        corpus = fixture_programs()
        cases = [make_case(options, corpus, index) for index in range(options.cases)]
        runner = run_case
    if options.out:
        os.makedirs(options.out, exist_ok=True)

    counts = {name: 0 for name in ("ok",) + FAILURE_CLASSES}
    kinds = {}
    distinct = {}
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        for outcome in pool.map(lambda case: runner(options, case), cases):
            counts[outcome.failure] += 1
            kinds.setdefault(outcome.kind, {}).setdefault(outcome.failure, 0)
            kinds[outcome.kind][outcome.failure] += 1
            if outcome.failure == "ok" or outcome.signature in distinct:
                continue
            stem = write_failure(options.out, len(distinct) + 1, outcome) if options.out else ""
            distinct[outcome.signature] = stem
            print(f"{outcome.failure}: {outcome.label}: {outcome.detail}"
                  + (f" ({stem})" if stem else ""), flush=True)

    failures = sum(counts[name] for name in FAILURE_CLASSES)
    print(f"{len(cases)} cases in {time.monotonic() - started:.0f} s: "
          + ", ".join(f"{count} {name}" for name, count in counts.items())
          + f"; {len(distinct)} distinct failures")
    for kind, tally in sorted(kinds.items()):
        print(f"  {kind}: " + ", ".join(f"{count} {name}" for name, count in sorted(tally.items())))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
