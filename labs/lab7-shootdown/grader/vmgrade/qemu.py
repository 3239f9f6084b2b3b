"""QEMU command lines, and supervising one graded boot.

A graded boot and an interactive `vmrun` share one function for the machine's
flags (base_argv), so what a student reruns by hand is the machine that was
graded. A graded boot adds a serial log file, a QMP socket and -S: QEMU waits
for our QMP connection (wait=on) and then, paused, for our "cont", so no event
can fire before we listen for it. It then ends in exactly one outcome:

  finished      the kernel wrote 0x10 to isa-debug-exit (QEMU exits 33)
  panic         the kernel wrote 0x11 (exit 35)
  timeout       the ib700 watchdog fired: the running test overran its budget
  triple-fault  QMP said SHUTDOWN reason guest-reset (-no-reboot turns the
                reset of a triple fault into an exit with status 0)
  poweroff      QMP said SHUTDOWN reason guest-shutdown: the kernel powered
                off (say through ACPI), which it must never do
  bad-exit-0    exit status 0 and QMP said nothing: never trusted
  flood         the serial log outgrew qemu.output_cap_bytes: QEMU is killed
                and the log cut at the cap
  wall-timeout  the wall-clock backstop (qemu.wall_backstop_s) ran out
  qemu-error    QEMU itself failed (exit 1 with a message on stderr)
  bad-exit-N    any other exit status N (signal-N if a signal killed QEMU)

The ib700 watchdog, as QEMU 7.2 emulates it (measured with a guest that
counts the ACPI PM timer, see grader/tests/kernels/wdt_clock.S):
  - writing a byte V to port 0x443 arms it, or re-arms it from the start,
    to fire after 30 - 2 * (V & 0xF) seconds of *virtual* time
    (QEMU_CLOCK_VIRTUAL, which -icount ties to instructions executed);
    only the low nibble counts, so V = 0x0 gives 30 s, 0xA gives 10 s,
    0xE gives 2 s and 0xF fires at once;
  - writing any byte to port 0x441 disarms it.
  So a test with a budget of S virtual seconds (even, 2..30) arms it with
  V = (30 - S) / 2, and the harness re-arms it before every test.

QEMU runs under limits (limits.py, qemu_limits()): its address space, its
CPU time (a backstop for a grader that died and left it running) and the
size of the files it writes (the serial log may pass the output cap, so a
flood is seen as one, but not by much).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import sys
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import GraderError, ToolMissing, limits, sandbox
from .limits import Limits
from .channel import Channel
from . import channel
from .spec import QemuConfig

QEMU = "qemu-system-x86_64"
EXIT_FINISHED = (0x10 << 1) | 1     # 33
EXIT_PANIC = (0x11 << 1) | 1        # 35
POLL_S = 0.01
INITRD_NAME = "initrd.cpio"
KTAP_MARK = b"KTAP version 1"
SOCKET_PATH_MAX = 100               # sun_path is 108 bytes on Linux
# Address space QEMU may use besides guest RAM. Measured on QEMU 7.2 (TCG,
# -icount, -m 128M -smp 4): VmPeak 1414 MiB, most of it TCG's 1 GiB code
# buffer; it cannot start below about 1.2 GiB and slows down below 1.4. 3 GiB
# leaves room for other versions and hosts (more malloc arenas, say).
QEMU_AS_BASE = 3 << 30


@dataclass(frozen=True)
class Machine:
    """Everything about the virtual machine that a boot needs."""
    qemu: QemuConfig
    mem: str
    smp: int


@dataclass
class Boot:
    """One finished boot: how it ended and what it printed."""
    cmdline: str
    outcome: str
    exit_status: int | None
    log: str
    stderr: str
    wall_ms: float
    first_ktap_ms: float | None
    tmpdir: str | None = None       # set when the temp dir was kept
    channel: Channel | None = None  # the verified result channel, if any

    @property
    def ended_cleanly(self) -> bool:
        return self.outcome == "finished"


def find_qemu() -> str:
    """The QEMU binary, or a one-line ToolMissing telling how to get it."""
    path = shutil.which(QEMU)
    if path is None:
        raise ToolMissing(f"{QEMU} not found: install the Debian package "
                          "qemu-system-x86 (or run scripts/deps.sh)")
    return path


def qemu_limits(m: Machine) -> Limits:
    """The limits a graded boot of machine m runs under."""
    wall = m.qemu.wall_backstop_s
    return Limits(memory_bytes=mem_bytes(m.mem) + QEMU_AS_BASE,
                  cpu_s=int(2 * wall) + 30,
                  file_bytes=m.qemu.output_cap_bytes + (1 << 20),
                  wall_s=wall)


def mem_bytes(mem: str) -> int:
    """A -m size as the spec gives it ("128M", "1G") in bytes."""
    return int(mem[:-1]) << (30 if mem.endswith("G") else 20)


# The longest ktest= and tbudget= values the kernel reads whole: its
# buffers (globs[KTEST_GLOBS_MAX] in kern/os/main.c, budgets[512] in
# kern/test/ktest.c) less the NUL. A longer one would be cut in silence.
KTEST_VALUE_MAX = 1023
TBUDGET_VALUE_MAX = 511


def kernel_cmdline(ktest: list[str] | None, seed: int | None,
                   resume: str | None = None, budget: str = "") -> str:
    """The kernel command line: ktest=, seed=, kresume= and tbudget= as
    given. GraderError for a value the kernel would not read whole."""
    parts = []
    globs = ",".join(ktest or [])
    if len(globs) > KTEST_VALUE_MAX:
        raise GraderError(f"ktest= would be {len(globs)} characters "
                          f"({len(ktest or [])} names or globs); the kernel "
                          f"reads at most {KTEST_VALUE_MAX}: name fewer "
                          "tests, or use globs (--only 'trap.*')")
    if len(budget) > TBUDGET_VALUE_MAX:
        raise GraderError(f"tbudget= would be {len(budget)} characters; the "
                          f"kernel reads at most {TBUDGET_VALUE_MAX}: fewer "
                          "tests with a budget_s of their own in labs.json, "
                          "or a larger buffer in kern/test/ktest.c")
    if budget:
        parts.append("tbudget=" + budget)
    if ktest:
        parts.append("ktest=" + globs)
    if seed is not None:
        parts.append(f"seed={seed}")
    if resume:
        parts.append(f"kresume={resume}")
    return " ".join(parts)


def initrd_of(kernel: Path) -> Path | None:
    """The initrd built beside a kernel (from lab 5: the user programs,
    solutions/user/Makefile), or None."""
    p = kernel.parent / INITRD_NAME
    return p if p.is_file() else None


def base_argv(qemu: str, m: Machine, kernel: Path, cmdline: str) -> list[str]:
    """The machine, the same for a graded boot and an interactive one."""
    argv = [qemu, "-machine", m.qemu.machine, "-cpu", m.qemu.cpu,
            "-m", m.mem, "-smp", str(m.smp),
            "-nodefaults", "-display", "none", "-no-reboot",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-device", "ib700", "-action", "watchdog=pause",
            "-icount", f"shift={m.qemu.icount_shift},sleep=off",
            "-kernel", str(kernel)]
    initrd = initrd_of(kernel)
    if initrd is not None:
        argv += ["-initrd", str(initrd)]
    if cmdline:
        argv += ["-append", cmdline]
    return argv


def graded_argv(qemu: str, m: Machine, kernel: Path, cmdline: str,
                tmp: Path, typed: bool = False) -> list[str]:
    """A graded boot: serial to a file, QMP on a socket, start paused.

    With typed, the serial line is QEMU's stdio instead: the supervisor
    feeds stdin from a file of typed lines and sends stdout to the log.
    """
    serial = "stdio" if typed else "file:" + _opt(tmp / "serial.log")
    return base_argv(qemu, m, kernel, cmdline) + [
        "-serial", serial,
        "-qmp", "unix:" + _opt(tmp / "qmp.sock") + ",server=on,wait=on",
        "-S"]


def interactive_argv(qemu: str, m: Machine, kernel: Path, cmdline: str,
                     gdb_port: int | None,
                     qmp: Path | None = None) -> list[str]:
    """vmrun: serial and monitor on stdio; with gdb, wait for it (-S); with
    qmp, a QMP socket that vmrun watches for the watchdog and for how QEMU
    ends (it does not wait for us: wait=off)."""
    argv = base_argv(qemu, m, kernel, cmdline) + ["-serial", "mon:stdio"]
    if qmp is not None:
        argv += ["-qmp", "unix:" + _opt(qmp) + ",server=on,wait=off"]
    if gdb_port is not None:
        argv += ["-S", "-gdb", f"tcp:127.0.0.1:{gdb_port}"]
    return argv


def _opt(path: Path) -> str:
    """A path inside a QEMU option string, where a comma must be doubled."""
    return str(path).replace(",", ",,")


def make_tmpdir(prefix: str) -> Path:
    """A private temp dir whose socket path fits in sun_path."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    if len(str(tmp / "qmp.sock")) > SOCKET_PATH_MAX:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    return tmp


def run_boot(m: Machine, kernel: Path, cmdline: str,
             keep: bool = False, typed: str | None = None) -> Boot:
    """Boot kernel once under supervision and say how it ended.

    A kernel that speaks the result channel (vmgrade/channel.py) gets a
    fresh key and the debugcon device, and the Boot its verified lines.

    typed, if given, is what arrives on the serial line (the monitor's
    input), as if typed from the first instant.
    """
    qemu = find_qemu()
    tmp = make_tmpdir("vmlab-boot-")
    try:
        if typed is not None:
            (tmp / "typed.txt").write_text(typed, encoding="utf-8")
        argv = graded_argv(qemu, m, kernel, cmdline, tmp, typed is not None)
        key = channel.new_key() if channel.speaks_channel(kernel) else None
        if key is not None:
            argv += channel.qemu_args(tmp, key)
        argv = sandbox.boot_argv(argv, tmp, kernel)
        boot = _Supervisor(argv, tmp, m.qemu, qemu_limits(m)).run(cmdline)
        if key is not None:
            boot.channel = channel.read(tmp, key, m.qemu.output_cap_bytes)
        boot.tmpdir = str(tmp) if keep else None
        return boot
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


class QmpGone(Exception):
    """The QMP connection closed or failed: QEMU is going away."""


class Qmp:
    """A minimal QMP client over a unix socket: commands and events."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        # Messages read but not yet handed out: one recv can carry a
        # command's return and the events after it (a guest that trips
        # the watchdog just after "cont", read by a busy host), and those
        # events must not be dropped with the return.
        self.pending: list[dict[str, Any]] = []

    @classmethod
    def connect(cls, path: Path, proc: subprocess.Popen[bytes],
                deadline: float) -> Qmp | None:
        """Connect once QEMU listens; None if QEMU exits or time runs out."""
        while time.monotonic() < deadline and proc.poll() is None:
            if path.exists():
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.connect(str(path))
                    return cls(sock)
                except OSError:
                    sock.close()
            time.sleep(0.005)
        return None

    def close(self) -> None:
        self.sock.close()

    def execute(self, command: str, deadline: float) -> list[dict[str, Any]]:
        """Run a command; return the events that arrived while waiting."""
        try:
            self.sock.sendall(json.dumps({"execute": command}).encode() + b"\n")
        except OSError as e:
            raise QmpGone(str(e)) from None
        events: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            msgs = self.read(POLL_S)
            for i, msg in enumerate(msgs):
                if "return" in msg or "error" in msg:
                    self.pending = msgs[i + 1:] + self.pending
                    return events
                if "event" in msg:
                    events.append(msg)
        raise QmpGone(f"no reply to {command}")

    def read(self, timeout: float) -> list[dict[str, Any]]:
        """Messages that arrive within timeout seconds (maybe none)."""
        if self.pending:
            msgs, self.pending = self.pending, []
            return msgs
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return []
        try:
            chunk = self.sock.recv(65536)
        except OSError as e:
            raise QmpGone(str(e)) from None
        if not chunk:
            raise QmpGone("connection closed")
        self.buf += chunk
        *lines, self.buf = self.buf.split(b"\n")
        return [m for m in map(_json_line, lines) if m is not None]


def _json_line(line: bytes) -> dict[str, Any] | None:
    try:
        msg = json.loads(line)
    except ValueError:
        return None
    return msg if isinstance(msg, dict) else None


class _Supervisor:
    """Runs QEMU, watches QMP, the serial log and the clock, then reaps."""

    def __init__(self, argv: list[str], tmp: Path, cfg: QemuConfig,
                 lim: Limits) -> None:
        self.argv = argv
        self.tmp = tmp
        self.cfg = cfg
        self.lim = lim
        self.serial = tmp / "serial.log"
        self.outcome: str | None = None      # decided by us, not by QEMU
        self.shutdown: str | None = None     # SHUTDOWN reason from QMP
        self.first_ktap: float | None = None
        self.scanned = 0
        self.t0 = 0.0

    def run(self, cmdline: str) -> Boot:
        self.t0 = time.monotonic()
        deadline = self.t0 + self.cfg.wall_backstop_s
        typed = self.tmp / "typed.txt"
        with open(self.tmp / "qemu.stderr", "wb") as err, \
                open(typed if typed.exists() else os.devnull, "rb") as inp, \
                open(self.serial if typed.exists() else os.devnull,
                     "wb") as out:
            proc = limits.start(self.argv, self.lim, cwd=self.tmp, stdin=inp,
                                stdout=out if typed.exists() else err,
                                stderr=err)
            try:
                self._watch(proc, deadline)
            finally:
                stop_process(proc)
        return self._result(cmdline, proc.returncode)

    def _watch(self, proc: subprocess.Popen[bytes], deadline: float) -> None:
        qmp = Qmp.connect(self.tmp / "qmp.sock", proc, deadline)
        try:
            if qmp is not None:
                self._start(qmp, deadline)
            while self.outcome is None and proc.poll() is None:
                self._step(qmp, deadline)
            if self.outcome is None and qmp is not None:
                self._drain(qmp)
        finally:
            if qmp is not None:
                qmp.close()

    def _start(self, qmp: Qmp, deadline: float) -> None:
        try:
            for command in ("qmp_capabilities", "cont"):
                self._events(qmp.execute(command, deadline))
        except QmpGone:
            pass

    def _step(self, qmp: Qmp | None, deadline: float) -> None:
        """One round of watching: QMP events, the log size, the clock."""
        if qmp is not None:
            try:
                self._events(qmp.read(POLL_S))
            except QmpGone:
                time.sleep(POLL_S)
        else:
            time.sleep(POLL_S)
        self._check_serial()
        if self.outcome is None and time.monotonic() > deadline:
            self.outcome = "wall-timeout"

    def _drain(self, qmp: Qmp) -> None:
        """QEMU has exited: read the events it sent on its way out."""
        try:
            while True:
                self._events(qmp.read(0.5))
        except QmpGone:
            pass

    def _events(self, events: list[dict[str, Any]]) -> None:
        for ev in events:
            name = ev.get("event")
            if name == "WATCHDOG" and self.outcome is None:
                self.outcome = "timeout"
            elif name == "SHUTDOWN" and self.shutdown is None:
                data = ev.get("data")
                self.shutdown = str(data.get("reason", "")) if isinstance(
                    data, dict) else ""

    def _check_serial(self) -> None:
        try:
            size = self.serial.stat().st_size
        except OSError:
            return
        if size > self.cfg.output_cap_bytes and self.outcome is None:
            self.outcome = "flood"
        if self.first_ktap is None and size > self.scanned:
            self._scan_for_ktap(size)

    def _scan_for_ktap(self, size: int) -> None:
        start = max(0, self.scanned - len(KTAP_MARK))
        with open(self.serial, "rb") as f:
            f.seek(start)
            if KTAP_MARK in f.read(size - start):
                self.first_ktap = time.monotonic()
        self.scanned = size

    def _result(self, cmdline: str, status: int | None) -> Boot:
        data = self._read_log()
        stderr = _qemu_stderr(self.tmp / "qemu.stderr")
        if self.first_ktap is None and KTAP_MARK in data:
            self.first_ktap = time.monotonic()
        outcome = self.outcome or classify(status, self.shutdown, stderr)
        ms = (time.monotonic() - self.t0) * 1000
        ktap_ms = (self.first_ktap - self.t0) * 1000 if self.first_ktap else None
        return Boot(cmdline, outcome, status, data.decode("utf-8", "replace"),
                    stderr, ms, ktap_ms)

    def _read_log(self) -> bytes:
        try:
            data = self.serial.read_bytes()
        except OSError:
            return b""
        if len(data) > self.cfg.output_cap_bytes:
            self.outcome = self.outcome or "flood"
            data = data[:self.cfg.output_cap_bytes]
        return data


def classify(status: int | None, shutdown: str | None, stderr: str) -> str:
    """The outcome of a QEMU that exited by itself with this status."""
    if status == EXIT_FINISHED:
        return "finished"
    if status == EXIT_PANIC:
        return "panic"
    if status == 0:
        return {"guest-reset": "triple-fault",
                "guest-shutdown": "poweroff"}.get(shutdown or "", "bad-exit-0")
    if status == 1 and stderr:
        return "qemu-error"
    if status is not None and status < 0:
        return f"signal-{-status}"
    return f"bad-exit-{status}"


def _qemu_stderr(path: Path) -> str:
    """QEMU's messages, without its note that it waits for our socket."""
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [ln for ln in text.splitlines()
             if ln.strip() and "QEMU waiting for connection" not in ln]
    return "\n".join(lines)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Make sure a process we started (QEMU, gdb) is gone, with its process
    group: terminate, then kill, and always wait."""
    limits.stop(proc)


def pick_free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


INTERACTIVE_ENDINGS = {
    "finished": (0, "the kernel finished its run"),
    "panic": (1, "the kernel panicked"),
    "timeout": (1, "the watchdog fired: the kernel ran for its whole "
                   "budget of virtual time without finishing (a test or the "
                   "boot is stuck in a loop, perhaps with interrupts off); "
                   "vmrun stopped QEMU"),
    "triple-fault": (1, "the kernel triple-faulted (a fault while "
                        "delivering a double fault: look at the IDT, the "
                        "TSS's IST stacks and the page tables); the CPU "
                        "reset and -no-reboot ended QEMU"),
    "quit": (0, "you quit QEMU"),
    "poweroff": (1, "the kernel powered the machine off, which it must "
                    "never do"),
    "bad-exit-0": (0, "QEMU exited with status 0: you quit it (Ctrl-a x), "
                      "or the kernel triple-faulted"),
}
# SHUTDOWN reasons that mean a person (or make's Ctrl-C) ended QEMU.
QUIT_REASONS = frozenset({"host-ui", "host-signal", "host-qmp-quit",
                          "host-qmp-system-reset"})


class _InteractiveWatch:
    """A thread that listens to an interactive QEMU's QMP socket: on the
    watchdog it tells the terminal at once and quits QEMU; it records the
    SHUTDOWN reason, so the ending can be told truly."""

    def __init__(self, path: Path, proc: subprocess.Popen[bytes]) -> None:
        import threading
        self.path = path
        self.proc = proc
        self.watchdog = False
        self.shutdown: str | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        qmp = Qmp.connect(self.path, self.proc, time.monotonic() + 30)
        if qmp is None:
            return
        try:
            qmp.execute("qmp_capabilities", time.monotonic() + 10)
            while self.proc.poll() is None:
                for msg in qmp.read(0.2):
                    self._event(qmp, msg)
        except QmpGone:
            pass
        finally:
            qmp.close()

    def _event(self, qmp: Qmp, msg: dict[str, Any]) -> None:
        event = msg.get("event")
        if event == "WATCHDOG" and not self.watchdog:
            self.watchdog = True
            sys.stderr.write("\r\nvmrun: the watchdog fired: no test "
                             "finished within its budget of virtual time. "
                             "QEMU is paused; vmrun quits it.\r\n")
            sys.stderr.flush()
            try:
                qmp.sock.sendall(b'{"execute": "quit"}\n')
            except OSError:
                pass
        elif event == "SHUTDOWN" and self.shutdown is None:
            data = msg.get("data")
            if isinstance(data, dict):
                self.shutdown = str(data.get("reason", ""))

    def outcome(self, status: int) -> str:
        self.thread.join(timeout=2)
        if self.watchdog:
            return "timeout"
        if self.shutdown in QUIT_REASONS:
            return "quit"
        return classify(status, self.shutdown, "")


def run_interactive(argv: list[str], qmp: Path | None = None) -> int:
    """Run QEMU on this terminal (vmrun); say how it ended, in words.

    The status QEMU exits with is the kernel's isa-debug-exit code (33
    after a finished run), which make would report as an error; this maps
    it to 0 for a finished run and 1 for a panic, with one line. With qmp
    (the socket interactive_argv was given), the watchdog is reported the
    moment it fires, and a triple fault is told from a quit.
    """
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is QEMU's
    try:
        try:
            proc = subprocess.Popen(argv)
        except OSError as e:
            raise GraderError(f"cannot run {argv[0]}: {e}") from None
        watch = _InteractiveWatch(qmp, proc) if qmp is not None else None
        status = proc.wait()
    finally:
        signal.signal(signal.SIGINT, old)
    outcome = (watch.outcome(status) if watch is not None
               else classify(status, None, ""))
    code, words = INTERACTIVE_ENDINGS.get(
        outcome, (1, f"QEMU ended with {outcome}"))
    print(f"vmrun: {words} (QEMU exit status {status})", file=sys.stderr)
    return code
