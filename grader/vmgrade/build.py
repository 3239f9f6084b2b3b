"""Building one kernel: `make -C TREE O=OUTDIR kernel` into a private dir.

The build contract: the tree's Makefile writes OUTDIR/kernel.elf. For
solutions/ the grader adds LAB=N SOL=M; a lab tree is built as it is. Each
build gets its own OUTDIR, so builds can run side by side. The environment
is cleaned of make's own variables (MAKEFLAGS and friends), so a grade started
from `make grade FOO=1` builds the same kernel as one started by hand.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import ToolMissing

TAIL_LINES = 40
MAKE_ENV_DROP = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES",
                 "GNUMAKEFLAGS")


@dataclass
class BuildResult:
    """What make did: the kernel it built, or the end of its output."""
    ok: bool
    kernel: Path | None
    status: int
    tail: list[str]             # the last TAIL_LINES lines of make's output
    seconds: float
    outdir: Path
    reason: str = ""            # one line, when a grader limit stopped it

    def remove(self) -> None:
        """Delete the build's private output directory."""
        shutil.rmtree(self.outdir, ignore_errors=True)


def check_tools() -> None:
    """Fail with one line if make or a C compiler is missing."""
    if shutil.which("make") is None:
        raise ToolMissing("make not found: install the Debian package make "
                          "(or run scripts/deps.sh)")
    if shutil.which("gcc") is None and shutil.which("clang") is None:
        raise ToolMissing("gcc not found: install the Debian package gcc "
                          "(or run scripts/deps.sh)")


def make_argv(tree: Path, outdir: Path, make_vars: dict[str, str],
              jobs: int) -> list[str]:
    """The make command line for one kernel build."""
    argv = ["make", "-C", str(tree), f"O={outdir}", f"-j{max(1, jobs)}"]
    argv += [f"{k}={v}" for k, v in sorted(make_vars.items())]
    return argv + ["kernel"]


def build(tree: Path, make_vars: dict[str, str], jobs: int = 1) -> BuildResult:
    """Build tree's kernel into a fresh temp dir (the caller removes it)."""
    check_tools()
    outdir = Path(tempfile.mkdtemp(prefix="vmlab-build-"))
    argv = make_argv(tree, outdir, make_vars, jobs)
    t0 = time.monotonic()
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=_clean_env(), check=False)
    seconds = time.monotonic() - t0
    tail = proc.stdout.decode("utf-8", "replace").splitlines()[-TAIL_LINES:]
    kernel = outdir / "kernel.elf"
    if proc.returncode == 0 and not kernel.is_file():
        tail = tail + [f"grader: make succeeded but wrote no {kernel}"]
        return BuildResult(False, None, 0, tail, seconds, outdir)
    ok = proc.returncode == 0
    return BuildResult(ok, kernel if ok else None, proc.returncode, tail,
                       seconds, outdir)


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in MAKE_ENV_DROP:
        env.pop(name, None)
    return env
