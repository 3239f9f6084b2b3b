"""One grading job -- build a target's kernel, boot it, score it -- and the
pool that runs many jobs at once.

Concurrency: every job, resume chain and alone-boot gets a thread, and a
shared semaphore (Slots) lets at most -j builds and boots run at any moment.
Threads only wait; the slots bound the real work, so nothing can deadlock by
waiting for a worker that waits in turn.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, TypeVar

from . import build as buildmod
from . import objcheck, qemu, run
from .build import BuildResult
from .qemu import Boot
from .score import Score, score, unbuilt
from .tree import Target

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Options:
    seed: int = 1
    jobs: int = 1
    keep: bool = False
    repeat: int = 1             # --bench: boot the same kernel K times


class Slots:
    """At most n builds and boots at once, across every thread."""

    def __init__(self, n: int) -> None:
        self.sem = threading.BoundedSemaphore(max(1, n))

    def __enter__(self) -> None:
        self.sem.acquire()

    def __exit__(self, *exc: object) -> None:
        self.sem.release()


@dataclass
class Grade:
    """Everything one job produced, for the reports."""
    target: Target
    seed: int
    build: BuildResult
    boots: list[Boot]
    score: Score
    seconds: float
    bench: list[list[Boot]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)   # "needs review": why


def grade(target: Target, opts: Options, slots: Slots) -> Grade:
    """Build the target's kernel, run its boots, and score it."""
    t0 = time.monotonic()
    with slots:
        built = buildmod.build(target.tree, target.make_vars(), opts.jobs,
                               student_files=target.student_files)
    try:
        review = objcheck.judge(target, built)
        if not built.ok:
            return Grade(target, opts.seed, built, [], unbuilt(target.tests()),
                         time.monotonic() - t0)
        reps = run_boots(target, built, opts, slots)
    finally:
        if not opts.keep:
            built.remove()
    first = reps[0]
    g = Grade(target, opts.seed, built, first.boots,
              score(target.tests(), first.runs, target.is_ignored),
              time.monotonic() - t0, [r.boots for r in reps], review=review)
    if opts.keep:
        g.kept = [str(built.outdir)] + [b.tmpdir for r in reps
                                         for b in r.boots if b.tmpdir]
    return g


def run_boots(target: Target, built: BuildResult, opts: Options,
           slots: Slots) -> list[run.RunResult]:
    machine = target.machine()
    assert built.kernel is not None
    kernel = built.kernel

    def boot(cmdline: str, typed: str | None = None) -> Boot:
        with slots:
            return qemu.run_boot(machine, kernel, cmdline, opts.keep, typed)

    tests = target.tests()
    budget = run.budget_arg(tests, target.spec.qemu.test_timeout_s)
    return [run.run_all(boot, tests, opts.seed, target.only, budget)
            for _ in range(max(1, opts.repeat))]


def parallel(fn: Callable[[T], R], items: list[T],
             width: int | None = None) -> list[R]:
    """fn over items on up to width threads (default: one per item),
    results in order; Slots bound the real work either way."""
    n = min(len(items), width or len(items))
    if n <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(fn, items))


def grade_many(targets: list[Target], opts: Options) -> list[Grade]:
    """Grade several targets at once, sharing -j slots."""
    slots = Slots(opts.jobs)
    return parallel(lambda t: grade(t, opts, slots), targets)
