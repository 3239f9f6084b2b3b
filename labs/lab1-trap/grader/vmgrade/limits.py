"""Limits on every process the grader starts: memory, CPU, file size, time.

A student's code reaches three programs: the compiler (through make), QEMU
and, in gdbcheck, gdb. Each is started by start() below:

  - in a session of its own, so stop() ends it and everything it started
    with one signal to its process group;
  - with stdin and file descriptors as the caller gives them (callers give
    /dev/null and files, never a pipe nobody drains);
  - under rlimits that its children inherit: RLIMIT_AS (bytes of address
    space per process), RLIMIT_CPU (seconds of CPU per process: SIGXCPU,
    and SIGKILL 5 s later) and RLIMIT_FSIZE (the largest file it may
    write: SIGXFSZ). A preexec_fn sets them between fork and exec. It
    does nothing but call getrlimit(2) and setrlimit(2) on numbers worked
    out before the fork, so it takes no lock that another grader thread
    could hold, which is what makes a preexec_fn unsafe in a threaded
    program in general;
  - and the caller waits no longer than its wall-clock limit (run() here,
    or the boot supervisor's backstop in qemu.py), then stops it.

Each caller picks its numbers (build.py, qemu.py, gdbcheck.py) and says
why; grader/README.md ("Bad input") lists them.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
from dataclasses import dataclass
from typing import Any, Callable

from . import GraderError

CPU_GRACE_S = 5         # SIGXCPU at the limit, SIGKILL this much later
STOP_GRACE_S = 2.0      # SIGTERM, then SIGKILL this much later


@dataclass(frozen=True)
class Limits:
    memory_bytes: int   # RLIMIT_AS of each process
    cpu_s: int          # RLIMIT_CPU of each process
    file_bytes: int     # RLIMIT_FSIZE: no file written may grow larger
    wall_s: float       # how long the grader waits for the whole thing


def _rlimits(lim: Limits) -> list[tuple[int, int, int]]:
    """(resource, soft, hard) for each limit, never above a hard limit
    this process already has (an unprivileged grader cannot raise one)."""
    wanted = ((resource.RLIMIT_AS, lim.memory_bytes, lim.memory_bytes),
              (resource.RLIMIT_CPU, lim.cpu_s, lim.cpu_s + CPU_GRACE_S),
              (resource.RLIMIT_FSIZE, lim.file_bytes, lim.file_bytes))
    out = []
    for res, soft, hard in wanted:
        ceiling = resource.getrlimit(res)[1]
        if ceiling != resource.RLIM_INFINITY:
            soft, hard = min(soft, ceiling), min(hard, ceiling)
        out.append((res, soft, hard))
    return out


def _preexec(rlimits: list[tuple[int, int, int]]) -> Callable[[], None]:
    def apply() -> None:
        for res, soft, hard in rlimits:
            resource.setrlimit(res, (soft, hard))
    return apply


def start(argv: list[str], lim: Limits, **popen: Any) -> subprocess.Popen[bytes]:
    """Popen(argv) in a new session under lim's rlimits; GraderError if
    the program cannot be run."""
    if shutil.which(argv[0]) is None:
        raise GraderError(f"cannot run {argv[0]}: not found or not "
                          "executable")
    try:
        return subprocess.Popen(argv, start_new_session=True,
                                preexec_fn=_preexec(_rlimits(lim)), **popen)
    except (OSError, subprocess.SubprocessError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else e
        raise GraderError(f"cannot run {argv[0]}: {why}") from None


def run(argv: list[str], lim: Limits, **popen: Any) -> tuple[int, bool]:
    """Run argv to its end, or stop it after lim.wall_s seconds.
    Returns its exit status (-N after signal N) and whether time ran out."""
    proc = start(argv, lim, **popen)
    timed_out = False
    try:
        proc.wait(timeout=lim.wall_s)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        stop(proc)
    return proc.returncode, timed_out


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Make sure a process we started is gone, with its process group if
    it leads one: SIGTERM, then SIGKILL; always reaped."""
    if proc.poll() is not None:
        return
    _signal(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        _signal(proc, signal.SIGKILL)
        proc.wait()


def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
    except ProcessLookupError:
        pass
