"""Shared helpers for the grader's tests: tiny kernels, fake trees, boots."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import time
import unittest
from pathlib import Path
from typing import Any, Callable

from vmgrade.qemu import Boot, Machine
from vmgrade.spec import QemuConfig

HERE = Path(__file__).resolve().parent
KERNELS = HERE / "kernels"
LOGS = HERE / "logs"
GRADER = HERE.parent

HAVE_QEMU = all(shutil.which(t) for t in ("qemu-system-x86_64", "as", "ld"))
needs_qemu = unittest.skipUnless(
    HAVE_QEMU, "needs qemu-system-x86_64 and binutils (scripts/deps.sh)")
needs_make = unittest.skipUnless(
    HAVE_QEMU and shutil.which("make"), "needs make, QEMU and binutils")


def run_forked(fn: Callable[[Any], object], arg: Any,
               seconds: float) -> float | None:
    """fn(arg) in a forked child; how long it took, or None if it was still
    running after `seconds` (then the child is killed). A regex that
    backtracks holds the GIL, so only another process can time it out."""
    got = call_forked(_discarding(fn), arg, seconds)
    return None if got is None else got[0]


def _discarding(fn: Callable[[Any], object]) -> Callable[[Any], None]:
    def call(arg: Any) -> None:
        fn(arg)
    call.__name__ = getattr(fn, "__name__", "fn")
    return call


def call_forked(fn: Callable[[Any], object], arg: Any,
                seconds: float) -> tuple[float, Any] | None:
    """run_forked(), and what fn returned (it must pickle)."""
    ctx = multiprocessing.get_context("fork")
    got, put = ctx.Pipe(duplex=False)

    def child() -> None:
        t0 = time.perf_counter()
        result = fn(arg)
        put.send((time.perf_counter() - t0, result))

    proc = ctx.Process(target=child, daemon=True)
    proc.start()
    put.close()                 # so a child that dies is an end of file
    try:
        if not got.poll(seconds):
            proc.kill()
            return None
        took, result = got.recv()
    except EOFError:
        raise AssertionError(f"{getattr(fn, '__name__', fn)} failed in the "
                             "child") from None
    finally:
        proc.join()
        got.close()
    return float(took), result


NOBODY = 65534


def call_unprivileged(fn: Callable[..., object],
                      *args: Any) -> tuple[str, str]:
    """fn(*args) as a user other than root, who cannot read a mode-000
    file: ("", "") if it returned, else the exception's type name and
    message. As root, it runs in a forked child that becomes nobody."""
    if os.geteuid() != 0:
        return _outcome(fn, *args)
    ctx = multiprocessing.get_context("fork")
    got, put = ctx.Pipe(duplex=False)

    def child() -> None:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        put.send(_outcome(fn, *args))

    proc = ctx.Process(target=child, daemon=True)
    proc.start()
    proc.join(30)
    if not got.poll():
        raise AssertionError(f"{fn.__name__} sent nothing back "
                             f"(exit {proc.exitcode})")
    kind, message = got.recv()
    return str(kind), str(message)


def _outcome(fn: Callable[..., object], *args: Any) -> tuple[str, str]:
    try:
        fn(*args)
    except Exception as e:      # the caller judges which ones are right
        return type(e).__name__, str(e)
    return "", ""


def log_text(name: str) -> str:
    """A recorded serial log, decoded the way the grader decodes one."""
    return (LOGS / name).read_bytes().decode("utf-8", "replace")


def assemble(name: str, outdir: Path, **defsyms: int) -> Path:
    """Build grader/tests/kernels/NAME.S into outdir/NAME.elf."""
    obj = outdir / f"{name}.o"
    elf = outdir / f"{name}.elf"
    syms = [a for k, v in defsyms.items() for a in ("--defsym", f"{k}={v}")]
    subprocess.run(["as", "--32", "-I", str(KERNELS), *syms, "-o", str(obj),
                    str(KERNELS / f"{name}.S")], check=True)
    subprocess.run(["ld", "-m", "elf_i386", "-T", str(KERNELS / "kernel.ld"),
                    "-o", str(elf), str(obj)], check=True)
    return elf


def machine(**qemu: Any) -> Machine:
    """A small machine; qemu overrides QemuConfig fields."""
    cfg = dict(wall_backstop_s=30, output_cap_bytes=1 << 20)
    cfg.update(qemu)
    return Machine(QemuConfig(**cfg), "64M", 1)


def fake_boot(log: str, outcome: str = "finished", cmdline: str = "") -> Boot:
    """A Boot as if QEMU had printed log and ended with outcome."""
    status = {"finished": 33, "panic": 35}.get(outcome)
    return Boot(cmdline, outcome, status, log, "", 100.0, 10.0)


FAKE_MAKEFILE = """\
# Builds the fake kernel of kernels/fake.S (a copy of grader/tests/kernels,
# since the sandbox shows a build its own tree only) as OUTDIR/kernel.elf.
# The guard checks what the grader passes: LAB/SOL to solutions/ only.
K := {kernels}
kernel:
\t@{guard}
\tas --32 -I $(K) -o $(O)/fake.o $(K)/fake.S
\tld -m elf_i386 -T $(K)/kernel.ld -o $(O)/kernel.elf $(O)/fake.o
"""
LAB_TREE_GUARD = ('test -z "$(LAB)$(SOL)" || '
                  '{ echo "LAB/SOL given to a lab tree" >&2; exit 1; }')
SOLUTIONS_GUARD = ('test -n "$(LAB)" -a -n "$(SOL)" || '
                   '{ echo "LAB/SOL missing" >&2; exit 1; }')

BROKEN_MAKEFILE = """\
kernel:
\t@echo 'kern/mm/buddy.c:12:5: error: expected ; before }}' >&2
\t@exit 2
"""

FAKE_TESTS: list[dict[str, Any]] = [
    {"name": "demo.first", "lab": 0, "points": 1},
    {"name": "demo.failing", "lab": 1, "points": 2},
    {"name": "demo.crash", "lab": 1, "points": 3},
    {"name": "demo.after", "lab": 1, "points": 4},
    {"name": "demo.absent", "lab": 1, "points": 5},
    {"name": "demo.boom", "lab": 0, "points": 1,
     "expect_panic": "deliberate panic 0x2a",
     "expect_backtrace": "ktest_demo_boom"},
]

STUDENT_FILES = ["answers-lab1.txt", "kern/demo.c"]


def own_kernels(root: Path) -> Path:
    """root (made if need be), with a copy of the test kernels in
    root/kernels; that copy's path relative to root (where make runs)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(KERNELS, root / "kernels", dirs_exist_ok=True)
    return Path("kernels")


def fake_tree(root: Path, broken: bool = False,
              tests: list[dict[str, Any]] | None = None) -> Path:
    """A lab tree (lab 1 "demo") whose kernel is fake.S."""
    make = BROKEN_MAKEFILE if broken else FAKE_MAKEFILE
    (root / "Makefile").write_text(make.format(kernels=own_kernels(root),
                                               guard=LAB_TREE_GUARD))
    spec = {"tree_lab": 1,
            "qemu": {"wall_backstop_s": 30, "output_cap_bytes": 65536},
            "labs": [{"lab": 1, "name": "demo", "mem": "64M",
                      "student_files": STUDENT_FILES}],
            "files": {},
            "tests": FAKE_TESTS if tests is None else tests}
    (root / "lab.json").write_text(json.dumps(spec, indent=1))
    (root / "answers-lab1.txt").write_text("pristine answers\n")
    (root / "kern").mkdir(exist_ok=True)
    (root / "kern" / "demo.c").write_text("/* pristine */\n")
    return root


def fake_solutions(root: Path) -> Path:
    """A solutions/ tree with labs 1 and 2 whose kernel is fake.S."""
    (root / "Makefile").write_text(FAKE_MAKEFILE.format(
        kernels=own_kernels(root), guard=SOLUTIONS_GUARD))
    labs = [{"lab": n, "name": name, "mem": "64M",
             "student_files": [f"answers-lab{n}.txt"]}
            for n, name in ((1, "demo"), (2, "more"))]
    tests = FAKE_TESTS + [{"name": "demo.later", "lab": 2, "points": 9}]
    spec = {"qemu": {"wall_backstop_s": 30}, "labs": labs, "files": {},
            "tests": tests}
    (root / "labs.json").write_text(json.dumps(spec, indent=1))
    return root
