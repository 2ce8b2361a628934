#!/usr/bin/env python3
"""A stand-in for `holoc dev` that drives the patch agent of runtime/agent/tests/patchable.c
through one scenario and prints what it observed as JSON (AgentTests.swift asserts on it).

    daemon.py PROGRAM SCENARIO

The socket lives in a fresh 0700 temporary directory; the program gets its path in
HOLO_AGENT_SOCKET. Patches are compiled from runtime/agent/tests/patches/*.c with
`cc -c -fPIC`. Wire protocol: docs/PATCHING.md.
"""

import json
import os
import queue
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

    def patch(self, patch_id, obj, updates, new_slots=(), new_cells=(), data_writes=()):
        self.send(patch_payload(patch_id, obj, updates, new_slots, new_cells, data_writes))
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


def patch_payload(patch_id, obj, updates, new_slots=(), new_cells=(), data_writes=()):
    payload = bytes([PATCH]) + struct.pack("<QI", patch_id, len(new_slots))
    payload += b"".join(string(slot) for slot in new_slots)
    payload += struct.pack("<I", len(new_cells))
    payload += b"".join(string(cell) for cell in new_cells)
    payload += string(obj) + struct.pack("<I", len(updates))
    payload += b"".join(string(slot) + string(function) for slot, function in updates)
    payload += struct.pack("<I", len(data_writes))
    payload += b"".join(string(cell) + struct.pack("<Q", value) for cell, value in data_writes)
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
        [("holo.slot.nothing()->()", "holo.value()->i64#5")],
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
    mode, scenario = SCENARIOS[name]
    workdir = tempfile.mkdtemp(prefix="holo-agent-test-")  # mode 0700
    facts = {}
    try:
        for source, version, value in PREPARED.get(name, []):
            compile_patch(workdir, source, version, value=value)
        session = Session(program, mode, workdir, ADDRESS_SPACE.get(name))
        try:
            scenario(session, workdir, facts)
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
