"""The bubblewrap sandbox every build and boot of a submission runs in.

A student's Makefile cannot change (submission.py takes only student
files), but the compiler still reads whatever a student file names: an
absolute #include, a `.incbin`, a file of the grader's. So make and QEMU
run under bwrap (Debian package bubblewrap) and see only this:

  /usr (and the /bin, /lib, ... links into it)   read-only
  a build: the tree being built                  read-only
           the build's output directory          read-write
  a boot:  the kernel file (and its initrd)      read-only
           the boot's temp dir (log, sockets)    read-write
  /tmp                                           a private, empty tmpfs
  /dev                                           /dev/null alone
  /proc                                          boots only (QEMU), never builds

Everything else is absent: /etc, /home, /root, the grader's own tree,
solutions/, hidden tests (a tmpfs covers the tree's kern/test/hidden), and
every other build. No network and no IPC, PID or UTS namespace is shared
(--unshare-all); the sandbox dies with the grader (--die-with-parent) and
cannot reach its terminal (--new-session). HOME is unset.

Without /proc and with /dev holding only null, `#include "/dev/zero"` or
"/proc/self/fd/1" fails at once with "No such file" instead of reading
forever. Without bwrap the grader says so once and runs unsandboxed; the
depfile check (depcheck.py) still refuses what a student file read, but
only a sandbox stops the read itself, so --hidden refuses to run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from . import ToolMissing

PACKAGE = "bubblewrap"
HIDDEN_DIR = "kern/test/hidden"
SYSTEM_DIRS = ("/usr",)
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")

_lock = threading.Lock()
_state: dict[str, object] = {}


@dataclass(frozen=True)
class Mounts:
    """What one sandboxed command sees besides the system directories."""
    ro: tuple[Path, ...] = ()       # read-only binds, at the same path
    rw: tuple[Path, ...] = ()       # read-write binds, at the same path
    hide: tuple[Path, ...] = ()     # an empty tmpfs over each (inside ro)
    proc: bool = False              # a fresh /proc (QEMU); never for builds


def find_bwrap() -> str | None:
    """The bwrap binary, or None."""
    return shutil.which("bwrap")


def available() -> bool:
    """bwrap is installed and can make a sandbox here (probed once: a
    container may forbid the namespaces it needs)."""
    with _lock:
        if "ok" not in _state:
            _state["ok"] = _probe()
        return bool(_state["ok"])


def reset() -> None:
    """Forget the probe and the warning (tests swap find_bwrap)."""
    with _lock:
        _state.clear()


def _probe() -> bool:
    exe = find_bwrap()
    if exe is None:
        return False
    argv = wrap(["/bin/true"], Mounts(), exe)
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def missing_line() -> str:
    """The one line that says builds and boots are not sandboxed."""
    why = ("bwrap not found" if find_bwrap() is None
           else "bwrap cannot create a sandbox here")
    return (f"{why}: builds and boots run unsandboxed (install the Debian "
            f"package {PACKAGE}, or run scripts/deps.sh)")


def warn_once() -> None:
    """Print missing_line() on stderr, once per process, if it applies."""
    if available():
        return
    with _lock:
        if _state.get("warned"):
            return
        _state["warned"] = True
    print(f"grader: {missing_line()}", file=sys.stderr)


def require() -> None:
    """ToolMissing unless a sandbox can be made (hidden tests need one)."""
    if not available():
        raise ToolMissing(f"{missing_line()}; hidden tests are graded only "
                          "in the sandbox (VMGRADE_UNSANDBOXED=1 overrides)")


def wrap(argv: list[str], mounts: Mounts, exe: str | None = None) -> list[str]:
    """argv run inside a bwrap sandbox that sees only mounts (see the
    module comment); argv[0] must be found in /usr."""
    cmd = [exe or find_bwrap() or "bwrap"]
    for d in SYSTEM_DIRS:
        cmd += ["--ro-bind", d, d]
    for link in SYSTEM_LINKS:
        cmd += _system_link(link)
    cmd += ["--dir", "/dev", "--dev-bind", "/dev/null", "/dev/null",
            "--tmpfs", "/tmp"]
    if mounts.proc:
        cmd += ["--proc", "/proc"]
    for p in mounts.ro:
        cmd += ["--ro-bind", str(p), str(p)]
    for p in mounts.rw:
        cmd += ["--bind", str(p), str(p)]
    for p in mounts.hide:
        cmd += ["--tmpfs", str(p)]
    cmd += ["--unshare-all", "--die-with-parent", "--new-session",
            "--unsetenv", "HOME", "--setenv", "TMPDIR", "/tmp",
            "--chdir", "/"]
    return cmd + ["--"] + argv


def _system_link(path: str) -> list[str]:
    """/bin -> usr/bin on a merged-/usr system, else a read-only bind."""
    if os.path.islink(path):
        return ["--symlink", os.readlink(path), path]
    if os.path.isdir(path):
        return ["--ro-bind", path, path]
    return []


def build_mounts(tree: Path, outdir: Path, hidden_step: bool) -> Mounts:
    """A build of tree into outdir. The hidden step compiles the tree's
    hidden tests alone; every other step has them covered by a tmpfs."""
    hidden = tree / HIDDEN_DIR
    hide = () if hidden_step or not hidden.is_dir() else (hidden,)
    return Mounts(ro=(tree,), rw=(outdir,), hide=hide)


def has_hidden(tree: Path) -> bool:
    """The tree carries hidden tests, to be compiled in a step of their own."""
    return (tree / HIDDEN_DIR).is_dir()


def boot_argv(argv: list[str], tmp: Path, kernel: Path) -> list[str]:
    """A QEMU command line run in the sandbox if one can be made: it sees
    the kernel (read-only) and the boot's temp dir (read-write), and
    neither the tree nor the build's other files."""
    if not available():
        warn_once()
        return argv
    initrd = kernel.parent / "initrd.cpio"
    ro = (kernel.resolve(),) + ((initrd.resolve(),) if initrd.is_file()
                                else ())
    return wrap(argv, Mounts(ro=ro, rw=(tmp.resolve(),), proc=True))
