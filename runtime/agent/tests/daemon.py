#!/usr/bin/env python3
"""A stand-in for `holoc dev` that drives the patch agent of runtime/agent/tests/patchable.c
through one scenario and prints what it observed as JSON (AgentTests.swift asserts on it).

    daemon.py PROGRAM SCENARIO [SEED [COUNT]]

SEED and COUNT are for the `fuzz` scenario: which messages, and how many.

The socket lives in a fresh 0700 temporary directory; the program gets its path in
HOLO_AGENT_SOCKET. Patches are compiled from runtime/agent/tests/patches/*.c with
`cc -c -fPIC`. Wire protocol: docs/PATCHING.md.
"""

import json
import os
import queue
import random
import re
import resource
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

TESTS = os.path.dirname(os.path.abspath(__file__))
RUNTIME_INCLUDE = os.path.join(TESTS, "..", "..", "include")

HELLO, PATCH, PATCH_ACK, STATUS, STATUS_REPLY, FRAMES, FRAMES_REPLY = 1, 2, 3, 4, 5, 6, 7

SLOT_VALUE = "holo.slot.value()->i64"
SLOT_VALUE_WIDE = "holo.slot.value(i64)->i64"
SLOT_TICK = "holo.slot.tick()->()"
SLOT_SPIN = "holo.slot.spin()->()"
SLOT_GREETING = "holo.slot.greeting()->string"
LINE_VALUE = "holo.line.value()->i64"
LINE_FRESH = "holo.line.fresh()->i64"
LINE_TICK = "holo.line.tick()->()"


def string(text):
    data = text if isinstance(text, bytes) else text.encode()
    return struct.pack("<I", len(data)) + data


class Reader:
    def __init__(self, data):
        self.data, self.offset = data, 0

    def take(self, fmt):
        (value,) = struct.unpack_from(fmt, self.data, self.offset)
        self.offset += struct.calcsize(fmt)
        return value

    def string(self):
        length = self.take("<I")
        text = self.data[self.offset : self.offset + length].decode()
        self.offset += length
        return text


class Session:
    """A running patchable program connected to this daemon."""

    def __init__(self, program, mode, workdir, address_space=None):
        self.workdir = workdir
        path = os.path.join(workdir, "agent.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(1)
        server.settimeout(10)
        environment = dict(os.environ, HOLO_AGENT_SOCKET=path)

        def limit_address_space():
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

        self.process = subprocess.Popen(
            [program, mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
            preexec_fn=limit_address_space if address_space else None,
        )
        self.connection, _ = server.accept()
        self.connected_at = time.monotonic()
        server.close()
        self.connection.settimeout(30)
        self.lines = queue.Queue()
        threading.Thread(target=self._collect_output, daemon=True).start()
        try:
            kind, reader = self.receive()
        except EOFError:  # the agent hung up before HELLO
            self.hello = None
            return
        self.hello = {
            "type": kind,
            "version": reader.take("<I"),
            "pid_matches": reader.take("<I") == self.process.pid,
        }

    def _collect_output(self):
        for line in self.process.stdout:
            self.lines.put(line.decode().rstrip("\n"))

    def send(self, payload):
        self.connection.sendall(struct.pack("<I", len(payload)) + payload)

    def _exactly(self, count):
        data = b""
        while len(data) < count:
            chunk = self.connection.recv(count - len(data))
            if not chunk:
                raise EOFError("the agent closed the connection")
            data += chunk
        return data

    def receive(self):
        (length,) = struct.unpack("<I", self._exactly(4))
        payload = self._exactly(length)
        return payload[0], Reader(payload[1:])

    def patch(self, patch_id, obj, updates, new_slots=(), new_cells=(), data_writes=(),
              new_globals=(), safepoint="", restart=False):
        self.send(patch_payload(patch_id, obj, updates, new_slots, new_cells, data_writes,
                                new_globals, safepoint, restart))
        return self.read_ack()

    def read_ack(self):
        kind, reader = self.receive()
        assert kind == PATCH_ACK, kind
        ack = {
            "id": reader.take("<Q"),
            "status": reader.take("<B"),
            "link_us": reader.take("<I"),
            "apply_us": reader.take("<I"),
            "error": reader.string(),
        }
        ack["stale"] = [reader.string() for _ in range(reader.take("<I"))]
        return ack

    def status(self, request_id):
        self.send(bytes([STATUS]) + struct.pack("<Q", request_id))
        kind, reader = self.receive()
        assert kind == STATUS_REPLY, kind
        return {
            "id": reader.take("<Q"),
            "live": reader.take("<I"),
            "freed": reader.take("<I"),
            "rss_kib": reader.take("<Q"),
        }

    def frames(self, request_id):
        self.send(bytes([FRAMES]) + struct.pack("<Q", request_id))
        kind, reader = self.receive()
        assert kind == FRAMES_REPLY, kind
        return {
            "id": reader.take("<Q"),
            "scanned": reader.take("<B"),
            "stale": [reader.string() for _ in range(reader.take("<I"))],
        }

    def next_line(self, pattern, timeout=5.0):
        """The first line from now on matching `pattern`, or None."""
        self.skip_output()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if re.fullmatch(pattern, line):
                return line
        return None

    def take_lines(self, count, timeout=5.0):
        """The next `count` lines (fewer if they do not come in time)."""
        lines = []
        deadline = time.monotonic() + timeout
        while len(lines) < count and time.monotonic() < deadline:
            try:
                lines.append(self.lines.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return lines

    def skip_output(self):
        while True:
            try:
                self.lines.get_nowait()
            except queue.Empty:
                return

    def running(self):
        return self.process.poll() is None

    def llvm_mapped(self):
        """Whether libLLVM is among the program's mapped files."""
        with open(f"/proc/{self.process.pid}/maps") as maps:
            return "/libLLVM" in maps.read()

    def close(self):
        if self.running():
            self.process.kill()
        self.process.wait()
        self.connection.close()
        return self.process.stderr.read().decode()


def patch_payload(patch_id, obj, updates, new_slots=(), new_cells=(), data_writes=(),
                  new_globals=(), safepoint="", restart=False):
    payload = bytes([PATCH]) + struct.pack("<QI", patch_id, len(new_slots))
    payload += b"".join(string(slot) for slot in new_slots)
    payload += struct.pack("<I", len(new_cells))
    payload += b"".join(string(cell) for cell in new_cells)
    payload += string(obj) + struct.pack("<I", len(updates))
    payload += b"".join(string(slot) + string(function) for slot, function in updates)
    payload += struct.pack("<I", len(data_writes))
    payload += b"".join(string(cell) + struct.pack("<Q", value) for cell, value in data_writes)
    payload += struct.pack("<I", len(new_globals))
    payload += b"".join(string(name) + struct.pack("<II", size, alignment)
                        for name, size, alignment in new_globals)
    payload += string(safepoint) + bytes([1 if restart else 0])
    return payload


def compile_patch(workdir, source, version, value=0, text="", delay=0):
    """The object of patches/SOURCE.c, compiled once per work directory."""
    output = os.path.join(workdir, f"{source}-{version}.o")
    if not os.path.exists(output):
        subprocess.run(
            [
                "cc", "-std=c11", "-O2", "-fPIC", "-I", RUNTIME_INCLUDE,
                f'-DVERSION="{version}"', f"-DVALUE={value}", f'-DTEXT="{text}"',
                f"-DDELAY={delay}",
                "-c", os.path.join(TESTS, "patches", source + ".c"), "-o", output,
            ],
            check=True,
        )
    with open(output, "rb") as file:
        return file.read()


def corrupt_symbol_name(obj):
    """The object with its last symbol's name pointing past the string table."""
    data = bytearray(obj)
    (sections,) = struct.unpack_from("<Q", data, 0x28)
    (count,) = struct.unpack_from("<H", data, 0x3C)
    for index in range(count):
        header = sections + index * 64
        if struct.unpack_from("<I", data, header + 4)[0] == 2:  # SHT_SYMTAB
            offset, size = struct.unpack_from("<QQ", data, header + 24)
            struct.pack_into("<I", data, offset + size - 24, 0x7FFFFFFF)
    return bytes(data)


def value_update(version):
    return (SLOT_VALUE, f"holo.value()->i64#{version}")


# ---- Scenarios: each records what it observes in `facts` --------------------------------


def scenario_patches(session, workdir, facts):
    """A body patch; a new signature with several updates at once; rejected patches; the
    daemon going away."""
    facts["hello"] = session.hello
    facts["llvm_mapped"] = session.llvm_mapped()
    facts["before"] = session.next_line(r"value \d+")
    body = compile_patch(workdir, "value", "1", value=2)
    facts["body_ack"] = session.patch(1, body, [value_update(1)])
    facts["after_body"] = session.next_line(r"value 2")

    wide = compile_patch(workdir, "wide", "2")
    facts["wide_ack"] = session.patch(
        2,
        wide,
        [
            (SLOT_VALUE_WIDE, "holo.value(i64)->i64#1"),
            (SLOT_TICK, "holo.tick()->()#1"),
            value_update(2),
        ],
        new_slots=[SLOT_VALUE_WIDE],
    )
    facts["after_wide"] = session.next_line(r"wide 3 70")

    broken = compile_patch(workdir, "broken", "3")
    facts["broken_ack"] = session.patch(3, broken, [value_update(3)])
    facts["garbage_ack"] = session.patch(4, b"not an object", [value_update(4)])
    facts["unknown_slot_ack"] = session.patch(
        5,
        compile_patch(workdir, "value", "5", value=5),
        [("holo.slot.nothing()->()", "holo.nothing()->()#5")],
    )
    session.send(bytes([PATCH]) + struct.pack("<Q", 6) + b"\xff\xff")
    facts["malformed_ack"] = session.read_ack()
    facts["corrupt_ack"] = session.patch(
        7, corrupt_symbol_name(compile_patch(workdir, "value", "7", value=7)), [value_update(7)]
    )
    facts["unfilled_slot_ack"] = session.patch(
        8,
        compile_patch(workdir, "value", "8", value=8),
        [value_update(8)],
        new_slots=["holo.slot.value(bool)->i64"],
    )
    # Names of the wrong kind, found by the wire fuzz: each made the program crash (a slot
    # write into code, a slot pointing at a function of another signature, a data write
    # into a slot).
    value_10 = compile_patch(workdir, "value", "10", value=10)
    facts["not_a_slot_ack"] = session.patch(
        10, value_10, [("holo.value()->i64#0", "holo.value()->i64#10")]
    )
    facts["other_signature_ack"] = session.patch(11, b"", [(SLOT_VALUE, "holo.tick()->()#0")])
    facts["not_a_cell_ack"] = session.patch(12, b"", [], data_writes=[(SLOT_TICK, 12)])
    # A name that is not UTF-8 comes back in the error text as UTF-8.
    facts["not_utf8_ack"] = session.patch(
        13, b"", [(b"holo.slot.v\xff()->()", b"holo.v\xff()->()#1")]
    )
    facts["after_failures"] = session.next_line(r"wide \d+ \d+")
    session.send(bytes([99]) + b"unknown message")
    facts["status"] = session.status(9)
    session.connection.shutdown(socket.SHUT_RDWR)
    facts["after_disconnect"] = session.next_line(r"wide \d+ \d+")
    facts["running"] = session.running()


def scenario_stale(session, workdir, facts):
    """spin() never returns: after its slot is patched it is still on the stack."""
    facts["before"] = session.next_line(r"value 1")
    spin = compile_patch(workdir, "spin", "1")
    facts["spin_ack"] = session.patch(1, spin, [(SLOT_SPIN, "holo.spin()->()#1")])
    value = compile_patch(workdir, "value", "1", value=2)
    facts["value_ack"] = session.patch(2, value, [value_update(1)])
    facts["after"] = session.next_line(r"value 2")
    facts["status"] = session.status(3)
    # Still looping in version 0: asked again, the agent still finds its frame.
    facts["frames"] = session.frames(4)


def scenario_pointer(session, workdir, facts):
    """The stack holds value()'s address but no frame of it: patching value is not stale."""
    facts["before"] = session.next_line(r"value 1")
    value = compile_patch(workdir, "value", "1", value=2)
    facts["value_ack"] = session.patch(1, value, [value_update(1)])
    facts["after"] = session.next_line(r"value 2")
    facts["frames"] = session.frames(2)


def scenario_memory(session, workdir, facts, count=1000):
    """Many successive patches of one function: old versions are freed, memory stays flat."""
    template = compile_patch(workdir, "value", "@@@@", value=2)
    session.patch(1, template.replace(b"#@@@@", b"#0001"), [value_update("0001")])
    facts["first"] = session.status(1)
    failures = []
    link_us, apply_us = [], []
    for version in range(2, count + 2):
        suffix = "%04d" % version
        obj = template.replace(b"#@@@@", b"#" + suffix.encode())
        ack = session.patch(version, obj, [value_update(suffix)])
        if ack["status"] != 0:
            failures.append(ack["error"])
        link_us.append(ack["link_us"])
        apply_us.append(ack["apply_us"])
    facts["failures"] = failures[:5]
    facts["last"] = session.status(2)
    facts["median_link_us"] = sorted(link_us)[len(link_us) // 2]
    facts["median_apply_us"] = sorted(apply_us)[len(apply_us) // 2]
    facts["after"] = session.next_line(r"value 2")


def scenario_busy(session, workdir, facts, count=300):
    """Patches while the program calls value() without pause. Each version spins a little,
    so most safepoints interrupt it: only the scan of the registers keeps it alive."""
    template = compile_patch(workdir, "value", "@@@@", value=2, delay=2000)
    facts["before"] = session.next_line(r"value \d+")
    failures = []
    for version in range(1, count + 1):
        suffix = "%04d" % version
        obj = template.replace(b"#@@@@", b"#" + suffix.encode())
        ack = session.patch(version, obj, [value_update(suffix)])
        if ack["status"] != 0:
            failures.append(ack["error"])
    facts["failures"] = failures[:5]
    facts["status"] = session.status(1)
    facts["after"] = session.next_line(r"value \d+")
    facts["running"] = session.running()


def scenario_blocking(session, workdir, facts):
    """Patches arriving while the program sleeps and while it blocks in read_line."""
    acks = []
    for version in range(1, 4):
        obj = compile_patch(workdir, "value", str(version), value=10 + version)
        acks.append(session.patch(version, obj, [value_update(version)]))
    # The program sleeps 500 ms from just after HELLO: acks sooner than that came mid-sleep.
    acked_ms = (time.monotonic() - session.connected_at) * 1000
    facts["acked_ms"] = acked_ms
    facts["sleep_acks"] = acks
    facts["slept"] = session.next_line(r"slept \d+")
    time.sleep(0.1)  # now blocked in read_line
    obj = compile_patch(workdir, "value", "4", value=20)
    facts["read_ack"] = session.patch(4, obj, [value_update(4)])
    session.skip_output()
    session.process.stdin.write(b"first line\n")
    session.process.stdin.flush()
    facts["first"] = session.take_lines(2)
    obj = compile_patch(workdir, "value", "5", value=30)
    facts["write_ack"] = session.patch(5, obj, [value_update(5)])
    session.process.stdin.write(b"second line\n")
    session.process.stdin.flush()
    facts["second"] = session.take_lines(2)
    session.process.stdin.close()
    session.process.wait(timeout=5)


COUNTER = ("holo.global.counter:i64", 8, 8)


def scenario_globals(session, workdir, facts):
    """A patch adding a global: its safepoint function runs where the main thread polls,
    after the slot update; names of the wrong kind are refused."""
    obj = compile_patch(workdir, "global", "1", value=42)
    facts["added"] = session.patch(1, obj, [value_update(1)], new_globals=[COUNTER],
                                   safepoint="holo.safepoint#1")
    facts["after"] = session.next_line(r"value 42")
    obj = compile_patch(workdir, "global", "2", value=7)
    facts["wrong_function"] = session.patch(2, obj, [value_update(2)], new_globals=[COUNTER],
                                            safepoint="holo.safepoint#1")
    facts["wrong_global"] = session.patch(
        2, obj, [value_update(2)], new_globals=[("holo.slot.counter", 8, 8)],
        safepoint="holo.safepoint#2")
    facts["too_big"] = session.patch(
        2, obj, [value_update(2)], new_globals=[("holo.global.big:i64", 1 << 30, 8)],
        safepoint="holo.safepoint#2")
    # The same global again: its storage is reused, the new safepoint function runs.
    facts["again"] = session.patch(2, obj, [value_update(2)], new_globals=[COUNTER],
                                   safepoint="holo.safepoint#2")
    facts["again_after"] = session.next_line(r"value 7")
    facts["running"] = session.running()


def scenario_no_poll(session, workdir, facts):
    """A main thread that never polls (and never waits in the runtime): the patch that
    needs a cooperative safepoint fails in time and changes nothing; others still apply."""
    session.next_line(r"value 1")
    obj = compile_patch(workdir, "global", "1", value=42)
    started = time.monotonic()
    facts["cooperative"] = session.patch(1, obj, [value_update(1)], new_globals=[COUNTER],
                                         safepoint="holo.safepoint#1")
    facts["waited_ms"] = (time.monotonic() - started) * 1000
    facts["unchanged"] = session.next_line(r"value \d+")
    obj = compile_patch(workdir, "value", "2", value=5)
    facts["plain"] = session.patch(2, obj, [value_update(2)])
    facts["after"] = session.next_line(r"value 5")


def scenario_hold(session, workdir, facts):
    """A string literal of a patch, held by version-0 code, keeps the patch alive."""

    def patch_greeting(version, text):
        obj = compile_patch(workdir, "greeting", str(version), text=text)
        return session.patch(version, obj, [(SLOT_GREETING, f"holo.greeting()->string#{version}")])

    def line():
        session.process.stdin.write(b"\n")
        session.process.stdin.flush()
        return session.take_lines(1)

    facts["acks"] = [patch_greeting(1, "one")]
    facts["held"] = line()
    facts["acks"].append(patch_greeting(2, "two"))
    facts["while_held"] = session.status(1)
    facts["held"] += line()
    facts["acks"].append(patch_greeting(3, "three"))
    facts["after_release"] = session.status(2)
    facts["held"] += line()
    session.process.stdin.close()
    session.process.wait(timeout=5)


def scenario_cells(session, workdir, facts):
    """Data writes: a patch that links nothing and only moves a line-base cell, a patch
    bringing a new cell its code reads, a write to a cell nobody has, a patch without an
    object that only repoints a slot, and a truncated list of data writes."""
    facts["before"] = session.next_line(r"line \d+ value \d+")
    facts["moved_ack"] = session.patch(1, b"", [], data_writes=[(LINE_VALUE, 42)])
    facts["after_move"] = session.next_line(r"line 42 value \d+")
    fresh = compile_patch(workdir, "cells", "2")
    facts["fresh_ack"] = session.patch(
        2,
        fresh,
        [value_update(2)],
        new_cells=[LINE_FRESH],
        data_writes=[(LINE_FRESH, 9), (LINE_VALUE, 43)],
    )
    facts["after_fresh"] = session.next_line(r"line 43 value 9")
    facts["unknown_cell_ack"] = session.patch(
        3, b"", [], data_writes=[(LINE_VALUE, 44), ("holo.line.nothing()->()", 1)]
    )
    facts["after_unknown"] = session.next_line(r"line \d+ value \d+")
    facts["repoint_ack"] = session.patch(4, b"", [(SLOT_VALUE, "holo.value()->i64#0")])
    facts["after_repoint"] = session.next_line(r"line 43 value 1")
    truncated = patch_payload(5, b"", [], data_writes=[(LINE_VALUE, 45)])[:-4]
    session.send(truncated)
    facts["truncated_ack"] = session.read_ack()
    facts["status"] = session.status(6)


def scenario_overflow(session, workdir, facts):
    """A patch whose tick() recurses without end: the crash handler finds the function in
    the patch's registered function table. The program may die before the ack is sent."""
    facts["before"] = session.next_line(r"value 1")
    deep = compile_patch(workdir, "deep", "1")
    try:
        session.patch(
            1,
            deep,
            [(SLOT_TICK, "holo.tick()->()#1")],
            new_cells=[LINE_TICK],
            data_writes=[(LINE_TICK, 12)],
        )
    except (EOFError, ConnectionError):
        pass
    session.process.wait(timeout=10)


def scenario_unloadable(session, workdir, facts):
    """The program cannot map libLLVM (its address space is too small): the agent hangs up
    and the program runs on."""
    facts["hello"] = session.hello
    facts["llvm_mapped"] = session.llvm_mapped()
    facts["before"] = session.next_line(r"value 1")
    facts["running"] = session.running()


# ---- The wire protocol under bad messages -------------------------------------------------

# A slot no code calls (patches/unused.c): the patches the fuzz links put their code here, so
# a mutation that corrupts machine code but still links never runs it (the agent cannot tell
# bad code from good; what it must survive is a bad message).
SLOT_UNUSED = "holo.slot.unused()->i64"
LINE_UNUSED = "holo.line.unused()->i64"

# Names a mutation may put in place of a symbol: other kinds of symbols the process has
# (a slot, a function, a cell, C functions), and names no one has.
SYMBOLS = [
    SLOT_VALUE, SLOT_TICK, SLOT_UNUSED, "holo.value()->i64#0", "holo.tick()->()#0", LINE_VALUE,
    "holo_main", "malloc", "", "holo.slot.", "holo.line.", "x" * 5000,
]

EDGE_COUNTS = [0, 1, 2, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1 << 20]


def fields_string(kind, text):
    data = text if isinstance(text, bytes) else text.encode()
    return [("length", len(data)), (kind, data)]


def patch_fields(patch_id, obj, updates, new_slots=(), new_cells=(), data_writes=()):
    """A PATCH as a list of (kind, value): `count` and `length` are u32 fields a mutation
    may change, `symbol` and `object` the bytes of a string."""
    fields = [("type", PATCH), ("u64", patch_id), ("count", len(new_slots))]
    for slot in new_slots:
        fields += fields_string("symbol", slot)
    fields.append(("count", len(new_cells)))
    for cell in new_cells:
        fields += fields_string("symbol", cell)
    fields += fields_string("object", obj)
    fields.append(("count", len(updates)))
    for slot, function in updates:
        fields += fields_string("symbol", slot) + fields_string("symbol", function)
    fields.append(("count", len(data_writes)))
    for cell, value in data_writes:
        fields += fields_string("symbol", cell) + [("u64", value)]
    fields.append(("count", 0))  # no new globals
    fields += fields_string("symbol", "")  # no safepoint function
    fields.append(("u8", 0))  # no frame restart
    return fields


def serialize(fields):
    payload = b""
    for kind, value in fields:
        if kind in ("type", "u8"):
            payload += bytes([value])
        elif kind == "u64":
            payload += struct.pack("<Q", value)
        elif kind in ("count", "length"):
            payload += struct.pack("<I", value)
        else:
            payload += value
    return payload


def with_lengths(fields):
    """The fields with every string length set to its string's."""
    fixed = list(fields)
    for index in range(len(fixed) - 1):
        if fixed[index][0] == "length":
            fixed[index] = ("length", len(fixed[index + 1][1]))
    return fixed


def corrupt_object(rng, obj):
    """An ELF object with one part damaged: header fields, a section header, a symbol or a
    relocation, random bits, or a cut."""
    data = bytearray(obj)
    (sections,) = struct.unpack_from("<Q", data, 0x28)
    (count,) = struct.unpack_from("<H", data, 0x3C)
    choice = rng.randrange(6)
    if choice == 0:  # e_shoff, e_shentsize, e_shnum or e_shstrndx
        offset, size = rng.choice([(0x28, 8), (0x3A, 2), (0x3C, 2), (0x3E, 2), (0x10, 2), (0x12, 2)])
        data[offset : offset + size] = rng.getrandbits(8 * size).to_bytes(size, "little")
    elif choice in (1, 2, 3):  # a section header, or an entry of a symbol or relocation table
        header = sections + rng.randrange(count) * 64
        kind = struct.unpack_from("<I", data, header + 4)[0]
        entry = {2: 24, 4: 24}.get(kind)  # SHT_SYMTAB, SHT_RELA
        if choice == 1 or entry is None:
            offset, size = rng.choice([(0, 4), (4, 4), (8, 8), (24, 8), (32, 8), (40, 4), (44, 4), (56, 8)])
            target = header + offset
        else:
            start, length = struct.unpack_from("<QQ", data, header + 24)
            if length < entry:
                return bytes(data[: rng.randrange(len(data))])
            target = start + rng.randrange(length // entry) * entry + rng.choice([0, 4, 6, 8, 16])
            size = rng.choice([2, 4, 8])
        value = rng.choice([0, 1, 0xFFFF, 0x7FFFFFFF, rng.getrandbits(8 * size)])
        value &= (1 << (8 * size)) - 1
        data[target : target + size] = value.to_bytes(size, "little")
    elif choice == 4:
        for _ in range(rng.randint(1, 16)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    else:
        return bytes(data[: rng.randrange(len(data))])
    return bytes(data)


def mutate_message(rng, fields):
    """(mutation, payload): one way of damaging a valid message."""
    kinds = ["flip", "truncate", "extend", "count", "type", "random"]
    if any(kind == "symbol" for kind, _ in fields):
        kinds.append("symbol")
    if any(kind == "object" and value for kind, value in fields):
        kinds += ["elf"] * 3  # the linker sees most of the damage here
    mutation = rng.choice(kinds)
    payload = serialize(fields)
    if mutation == "flip":
        data = bytearray(payload)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return mutation, bytes(data)
    if mutation == "truncate":
        return mutation, payload[: rng.randrange(len(payload))]
    if mutation == "extend":
        return mutation, payload + rng.randbytes(rng.randint(1, 64))
    if mutation == "count":
        positions = [i for i, (kind, _) in enumerate(fields) if kind in ("count", "length")]
        if not positions:
            return mutation, payload[:1] + struct.pack("<I", rng.choice(EDGE_COUNTS))
        index = rng.choice(positions)
        damaged = list(fields)
        old = damaged[index][1]
        damaged[index] = (damaged[index][0], rng.choice(EDGE_COUNTS + [old + 1, max(0, old - 1)]))
        return mutation, serialize(damaged)
    if mutation == "type":
        return mutation, bytes([rng.choice([0, 1, 3, 5, 7, 8, 99, 255])]) + payload[1:]
    if mutation == "random":
        return mutation, bytes([rng.choice([PATCH, STATUS, FRAMES])]) + rng.randbytes(rng.randint(0, 300))
    if mutation == "symbol":
        positions = [i for i, (kind, _) in enumerate(fields) if kind == "symbol"]
        damaged = list(fields)
        damaged[rng.choice(positions)] = ("symbol", rng.choice(SYMBOLS).encode())
        return mutation, serialize(with_lengths(damaged))
    damaged = [
        (kind, corrupt_object(rng, value) if kind == "object" else value) for kind, value in fields
    ]
    return mutation, serialize(with_lengths(damaged))


def wait_for_status(session, request_id):
    """Asks for STATUS and reads replies until its answer; any other reply must be a
    well-formed PATCH_ACK or FRAMES_REPLY. The PATCH_ACKs seen, by status."""
    session.send(bytes([STATUS]) + struct.pack("<Q", request_id))
    acks = []
    while True:
        kind, reader = session.receive()
        if kind == STATUS_REPLY:
            if reader.take("<Q") == request_id:  # else the answer to a damaged STATUS
                return acks
        elif kind == PATCH_ACK:
            reader.take("<Q")
            acks.append(reader.take("<B"))
            reader.take("<I")
            reader.take("<I")
            reader.string()
            for _ in range(reader.take("<I")):
                reader.string()
        elif kind == FRAMES_REPLY:
            reader.take("<Q")
            reader.take("<B")
            for _ in range(reader.take("<I")):
                reader.string()
        else:
            raise ValueError(f"unexpected reply type {kind}")


def scenario_fuzz(session, workdir, facts, seed=1, count=400):
    """Seeded damage to valid PATCH, STATUS and FRAMES messages, one at a time; after each,
    the program must still run and its agent answer STATUS. Last, a frame longer than the
    agent accepts: it hangs up, and the program runs on."""
    rng = random.Random(seed)
    template = compile_patch(workdir, "unused", "@@@@@", value=5)
    facts["before"] = session.next_line(r"value 1")
    facts["mutations"] = {}
    facts["acks"] = {"applied": 0, "failed": 0}
    facts["failures"] = []
    session.connection.settimeout(10)
    for index in range(count):
        version = str(10000 + index)
        base = rng.choice(["object", "moves", "status", "frames"])
        if base == "object":
            fields = patch_fields(
                index,
                template.replace(b"#@@@@@", b"#" + version.encode()),
                [(SLOT_UNUSED, "holo.unused()->i64#" + version)],
                new_slots=[SLOT_UNUSED],
                new_cells=[LINE_UNUSED],
                data_writes=[(LINE_VALUE, 7), (LINE_UNUSED, 3)],
            )
        elif base == "moves":
            fields = patch_fields(
                index, b"", [(SLOT_VALUE, "holo.value()->i64#0")], data_writes=[(LINE_VALUE, 7)]
            )
        else:
            fields = [("type", STATUS if base == "status" else FRAMES), ("u64", index)]
        mutation, payload = mutate_message(rng, fields)
        facts["mutations"][mutation] = facts["mutations"].get(mutation, 0) + 1
        try:
            session.send(payload)
            for status in wait_for_status(session, 1_000_000 + index):
                facts["acks"]["applied" if status == 0 else "failed"] += 1
        except (OSError, EOFError, ValueError, struct.error) as error:
            failure = repr(error)
        else:
            failure = None if session.running() else "the program ended"
        if failure is not None:
            facts["failures"].append(
                {"message": index, "base": base, "mutation": mutation, "error": failure,
                 "payload": payload[:256].hex()}
            )
            break
    facts["messages"] = index + 1
    facts["after_messages"] = session.next_line(r"value \d+")
    session.connection.sendall(struct.pack("<I", (256 << 20) + 1) + bytes(64))
    try:
        while session.connection.recv(4096):  # replies still on their way, then the end
            pass
        facts["hung_up"] = True
    except ConnectionResetError:  # it closed with the frame's bytes unread
        facts["hung_up"] = True
    facts["after_hang_up"] = session.next_line(r"value \d+")
    facts["running"] = session.running()


SCENARIOS = {
    "patches": ("sleep", scenario_patches),
    "stale": ("spin", scenario_stale),
    "pointer": ("pointer", scenario_pointer),
    "memory": ("sleep", scenario_memory),
    "busy": ("busy", scenario_busy),
    "blocking": ("read", scenario_blocking),
    "hold": ("hold", scenario_hold),
    "cells": ("cells", scenario_cells),
    "overflow": ("sleep", scenario_overflow),
    "unloadable": ("sleep", scenario_unloadable),
    "fuzz": ("sleep", scenario_fuzz),
    "globals": ("sleep", scenario_globals),
    "no_poll": ("busy", scenario_no_poll),
}

# Address-space limits (bytes): libLLVM alone needs more than 100 MiB, the program far less.
ADDRESS_SPACE = {
    "unloadable": 64 << 20,
}

# Objects to compile before the program starts, where the scenario's timing matters.
PREPARED = {
    "blocking": [("value", str(version), 10 + version) for version in range(1, 4)],
}


def main():
    program, name = sys.argv[1], sys.argv[2]
    arguments = [int(argument) for argument in sys.argv[3:]]
    mode, scenario = SCENARIOS[name]
    workdir = tempfile.mkdtemp(prefix="holo-agent-test-")  # mode 0700
    facts = {}
    try:
        for source, version, value in PREPARED.get(name, []):
            compile_patch(workdir, source, version, value=value)
        session = Session(program, mode, workdir, ADDRESS_SPACE.get(name))
        try:
            scenario(session, workdir, facts, *arguments)
        except Exception as error:  # reported, not raised: the facts so far tell what broke
            facts["daemon_error"] = repr(error)
        finally:
            facts["stderr"] = session.close()
            facts["exit_status"] = session.process.returncode
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(facts, indent=2))


if __name__ == "__main__":
    main()
