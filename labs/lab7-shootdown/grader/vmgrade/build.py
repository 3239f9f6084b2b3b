"""Building one kernel: `make -C TREE O=OUTDIR kernel` into a private dir.

The build contract: the tree's Makefile writes OUTDIR/kernel.elf. For
solutions/ the grader adds LAB=N SOL=M; a lab tree is built as it is. Each
build gets its own OUTDIR, so builds can run side by side. The environment
is cleaned of make's own variables (MAKEFLAGS and friends), so a grade started
from `make grade FOO=1` builds the same kernel as one started by hand.

The compiler reads the student's files, so the build runs under limits
(limits.py, LIMITS below): stdin is /dev/null and make's output goes to an
unnamed temp file, not a pipe (a student file that does `#include
"/proc/self/fd/1"` made the compiler wait on make's output pipe forever);
each process of the build has an address-space, CPU and file-size limit;
and the whole build a wall-clock limit, after which its process group is
stopped. A build stopped that way fails, with the reason in one line.

Each make runs in the sandbox (sandbox.py) when bwrap is there. A tree with
hidden tests is built in two steps: `make hidden` sees the tree, then
`make kernel` sees it with kern/test/hidden covered, and links the hidden
objects the first step left in OUTDIR. Given the student's files, the build
is refused if one of them read a file it may not (depcheck.py), and a
failed build's output is withheld if it quotes such a file.

make check builds the same kit trees again and again: validity, the
quoted outputs and the gdb walkthroughs each build solutions/ at every
level and every lab tree. With VMLAB_BUILD_CACHE naming a directory (make
check makes a fresh one per run; a grade never sets it), a successful build
is kept there under a digest of the tree's path, of everything the build
reads from the tree (every file but build/, .git and __pycache__) and of
its make variables, and a later build of the same key copies it instead
of compiling. Two
builds of one key at once wait for each other (a lock per key), so the
second copies what the first made. A build into a caller's own outdir
(make's incremental updates, the mutants) never uses it. With
VMLAB_CCACHE naming a directory as well, every build compiles through
ccache (CC="ccache gcc", the directory mounted in the sandbox): solutions/
at LAB=N SOL=N-1 compiles mostly what LAB=N SOL=N did. The working
directory is left out of the hash (CCACHE_NOHASHDIR; the Makefile names
the tree's files by relative paths), so a copy of a tree (a mutant's, the
quoted outputs' copies of a lab tree with the reference's files) reuses
the objects of every file it did not change. Such an object's debug
information names the directory of the copy that compiled it: gdbcheck
gives gdb the tree as a source directory, as `make gdb` does by running in
it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from . import ToolMissing, depcheck, limits, sandbox
from .limits import Limits
from .safetext import clip

TAIL_LINES = 40
TAIL_BYTES = 64 << 10           # read of make's output, from its end
MAKE_ENV_DROP = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES",
                 "GNUMAKEFLAGS")
# The reference kernel builds in 8 s at -j2 and in 64 MiB of address space
# per process (cc1 failed at 32 MiB); its largest output is 0.7 MB.
LIMITS = Limits(memory_bytes=1 << 30, cpu_s=60, file_bytes=64 << 20,
                wall_s=180)
# What make (or the program) prints when a process of the build hit a limit.
HIT_CPU = re.compile(r"CPU time limit exceeded")
HIT_FILE = re.compile(r"File size limit exceeded")
HIT_MEMORY = re.compile(r"out of memory|memory exhausted|Cannot allocate "
                        r"memory|MemoryError|internal compiler error")


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
              jobs: int, goal: str = "kernel") -> list[str]:
    """The make command line for one kernel build."""
    argv = ["make", "-C", str(tree), f"O={outdir}", f"-j{max(1, jobs)}"]
    argv += [f"{k}={v}" for k, v in sorted(make_vars.items())]
    return argv + [goal]


CACHE_ENV = "VMLAB_BUILD_CACHE"
CACHE_SKIP = frozenset({".git", "__pycache__"})


def cache_key(tree: Path, make_vars: dict[str, str], goals: list[str],
              lim: Limits) -> str:
    """A digest of the tree's path and of what a build of it reads from
    it, its make variables, goals and limits: two builds with one key make
    the same kernel."""
    h = hashlib.sha256(json.dumps([str(tree), sorted(make_vars.items()),
                                   goals, repr(lim)]).encode())
    for root, dirs, files in os.walk(tree):
        rel = os.path.relpath(root, tree)
        dirs[:] = sorted(d for d in dirs if d not in CACHE_SKIP
                         and not (rel == "." and d == "build"))
        for f in sorted(files):
            p = os.path.join(root, f)
            h.update(os.path.join(rel, f).encode() + b"\0")
            if os.path.islink(p):
                h.update(b"L" + os.readlink(p).encode() + b"\0")
                continue
            with open(p, "rb") as fh:
                h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()[:32]


def build(tree: Path, make_vars: dict[str, str], jobs: int = 1,
          lim: Limits = LIMITS,
          student_files: tuple[str, ...] = (),
          outdir: Path | None = None) -> BuildResult:
    """Build tree's kernel into a fresh temp dir (the caller removes it),
    or into outdir if given, which make then updates incrementally; within
    lim, sandboxed if bwrap is there; student_files are checked for what
    they read. With VMLAB_BUILD_CACHE set, a fresh-dir build of a tree
    built before in this run is a copy of that build (see above)."""
    check_tools()
    tree = tree.resolve()
    goals = ["kernel"]
    if sandbox.available() and sandbox.has_hidden(tree):
        goals.insert(0, "hidden")
    cache = os.environ.get(CACHE_ENV, "")
    if outdir is None and cache and os.path.isdir(cache):
        key = cache_key(tree, make_vars, goals, lim)
        with open(os.path.join(cache, key + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return _cached_build(Path(cache) / key, tree, make_vars, goals,
                                 jobs, lim, student_files)
    return _build(tree, make_vars, goals, jobs, lim, student_files, outdir)


def _cached_build(kept: Path, tree: Path, make_vars: dict[str, str],
                  goals: list[str], jobs: int, lim: Limits,
                  student_files: tuple[str, ...]) -> BuildResult:
    """The build kept under kept (copied), or a new one that is then kept;
    the caller holds the key's lock."""
    outdir = Path(tempfile.mkdtemp(prefix="vmlab-build-"))
    if kept.is_dir():
        t0 = time.monotonic()
        shutil.copytree(kept, outdir, symlinks=True, dirs_exist_ok=True)
        r = _finish(tree, outdir, 0, False, [f"grader: a copy of {kept}"],
                    time.monotonic() - t0, lim, student_files)
        _cache_log(kept, "copied", tree, make_vars)
        return r
    r = _build(tree, make_vars, goals, jobs, lim, student_files, outdir)
    if r.ok:
        part = kept.with_name(kept.name + ".part")
        shutil.rmtree(part, ignore_errors=True)
        shutil.copytree(outdir, part, symlinks=True)
        part.rename(kept)
        _cache_log(kept, f"built in {r.seconds:.1f} s", tree, make_vars)
    return r


def _cache_log(kept: Path, what: str, tree: Path,
               make_vars: dict[str, str]) -> None:
    """One line per cached build in the cache's log (make check's V=1)."""
    vs = " ".join(f"{k}={v}" for k, v in sorted(make_vars.items()))
    with open(kept.parent / "log", "a") as f:
        f.write(f"{kept.name} {what}: {tree} {vs}\n")


def _build(tree: Path, make_vars: dict[str, str], goals: list[str],
           jobs: int, lim: Limits, student_files: tuple[str, ...],
           outdir: Path | None) -> BuildResult:
    """make's goals for tree into outdir (a fresh temp dir if None)."""
    if outdir is None:
        outdir = Path(tempfile.mkdtemp(prefix="vmlab-build-"))
    else:
        outdir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    for goal in goals:
        status, timed_out, tail = _make(tree, outdir, goal, make_vars, jobs,
                                        lim)
        if status != 0 or timed_out:
            break
    return _finish(tree, outdir, status, timed_out, tail,
                   time.monotonic() - t0, lim, student_files)


def _finish(tree: Path, outdir: Path, status: int, timed_out: bool,
            tail: list[str], seconds: float, lim: Limits,
            student_files: tuple[str, ...]) -> BuildResult:
    """The BuildResult of a make run into outdir (or of a kept copy)."""
    if student_files:
        refused = depcheck.refused(tree, outdir, student_files)
        if refused is not None:
            return BuildResult(False, None, status, [refused], seconds,
                               outdir)
        tail = depcheck.withhold(tail, tree, student_files)
    kernel = outdir / "kernel.elf"
    if timed_out:
        return BuildResult(False, None, status, tail, seconds, outdir,
                           f"the build took longer than the grader's "
                           f"wall-clock limit of {lim.wall_s:g} s")
    if status == 0 and not kernel.is_file():
        tail = tail + [f"grader: make succeeded but wrote no {kernel}"]
        return BuildResult(False, None, 0, tail, seconds, outdir)
    ok = status == 0
    return BuildResult(ok, kernel if ok else None, status, tail, seconds,
                       outdir, "" if ok else limit_hit(tail, status, lim))


CCACHE_ENV = "VMLAB_CCACHE"


def compiler_cache() -> str:
    """make check's ccache directory for kernel builds, or '' (see the
    module comment): both caches named, and ccache installed."""
    where = os.environ.get(CCACHE_ENV, "")
    if (where and os.path.isdir(where) and os.environ.get(CACHE_ENV)
            and shutil.which("ccache")):
        return where
    return ""


def _make(tree: Path, outdir: Path, goal: str, make_vars: dict[str, str],
          jobs: int, lim: Limits) -> tuple[int, bool, list[str]]:
    """One make run, sandboxed if it can be: status, timed out, tail."""
    env = _clean_env()
    ccache = compiler_cache()
    if ccache:
        make_vars = {**make_vars, "CC": "ccache gcc"}
        env.update(CCACHE_DIR=ccache, CCACHE_NOHASHDIR="1")
        env.pop("CCACHE_BASEDIR", None)
    argv = make_argv(tree, outdir, make_vars, jobs, goal)
    if ccache:
        # ccache looks for its config under HOME, which the sandbox unsets.
        argv = ["env", f"HOME={ccache}"] + argv
    if sandbox.available():
        mounts = sandbox.build_mounts(tree, outdir, goal == "hidden")
        if ccache:
            mounts = sandbox.Mounts(mounts.ro, mounts.rw + (Path(ccache),),
                                    mounts.hide, mounts.proc)
        argv = sandbox.wrap(argv, mounts)
    else:
        sandbox.warn_once()
    with tempfile.TemporaryFile(prefix="vmlab-make-") as out:
        status, timed_out = limits.run(argv, lim, stdin=subprocess.DEVNULL,
                                       stdout=out, stderr=subprocess.STDOUT,
                                       env=env)
        return status, timed_out, _tail(out)


def _tail(out: IO[bytes]) -> list[str]:
    """The last TAIL_LINES lines of make's output, each cut to a length."""
    size = out.seek(0, os.SEEK_END)
    out.seek(max(0, size - TAIL_BYTES))
    text = out.read(TAIL_BYTES).decode("utf-8", "replace")
    return [clip(ln) for ln in text.splitlines()[-TAIL_LINES:]]


def limit_hit(tail: list[str], status: int, lim: Limits) -> str:
    """Which of the grader's limits stopped a failed build, in one line,
    from what make printed ('' if none did, as far as it says)."""
    text = "\n".join(tail)
    if HIT_CPU.search(text) or status == -24:           # SIGXCPU
        return (f"a build step used more than {lim.cpu_s} s of CPU time "
                "(the grader's limit)")
    if HIT_FILE.search(text) or status == -25:          # SIGXFSZ
        return (f"a build step wrote a file of more than "
                f"{lim.file_bytes >> 20} MiB (the grader's limit)")
    if HIT_MEMORY.search(text):
        return (f"a build step ran out of memory or crashed (the grader "
                f"allows {lim.memory_bytes >> 20} MiB of address space per "
                "process)")
    if status < 0:
        return f"make was killed by signal {-status}"
    return ""


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in MAKE_ENV_DROP:
        env.pop(name, None)
    return env
