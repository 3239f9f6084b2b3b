"""Statuses and points.

Every spec test the target is graded on gets exactly one status:
  pass        reported ok (or, for an expect_panic test, panicked as told)
  fail        reported not ok, or panicked the wrong way
  skip        reported with # SKIP or # TODO: not a pass
  crashed     its boot ended abnormally while it ran (the outcome says how),
              or its suite planned it and never reported it
  missing     never reported and nothing to blame: the kernel lacks it
A reported test that the spec does not list is "unexpected" and earns
nothing. The score is the sum of the points of passed tests; subtotals go
per lab, lab 0 (kit infrastructure) shown as "kit".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .run import Crash, TestRun
from .spec import TestSpec

STATUSES = ("pass", "fail", "skip", "crashed", "missing", "unexpected")


@dataclass
class TestScore:
    """One row of the grade."""
    name: str
    lab: int | None             # None for an unexpected test
    max_points: float
    points: float
    hidden: bool
    status: str
    lines: list[str] = field(default_factory=list)
    crash: Crash | None = None
    reason: str = ""            # a SKIP/TODO reason
    boot: int | None = None     # the boot that crashed it
    time_us: int | None = None  # virtual time it took, as the kernel said

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def label(self) -> str:
        """The status as shown: crashed ones say how they crashed."""
        if self.crash is not None and self.status == "crashed":
            return f"crashed ({self.crash.outcome})"
        return self.status


@dataclass
class LabTotal:
    lab: int
    points: float
    max_points: float
    passed: int
    total: int

    @property
    def label(self) -> str:
        return "kit" if self.lab == 0 else f"lab {self.lab}"


@dataclass
class Score:
    tests: list[TestScore]

    @property
    def graded(self) -> list[TestScore]:
        """The spec tests (everything but the unexpected)."""
        return [t for t in self.tests if t.status != "unexpected"]

    @property
    def unexpected(self) -> list[TestScore]:
        return [t for t in self.tests if t.status == "unexpected"]

    @property
    def points(self) -> float:
        return sum(t.points for t in self.graded)

    @property
    def max_points(self) -> float:
        return sum(t.max_points for t in self.graded)

    @property
    def passed(self) -> int:
        return sum(1 for t in self.graded if t.passed)

    @property
    def full(self) -> bool:
        """Every spec test passed."""
        return all(t.passed for t in self.graded)

    def labs(self) -> list[LabTotal]:
        """Subtotals per lab, in lab order."""
        totals: dict[int, LabTotal] = {}
        for t in self.graded:
            assert t.lab is not None
            lt = totals.setdefault(t.lab, LabTotal(t.lab, 0, 0, 0, 0))
            lt.points += t.points
            lt.max_points += t.max_points
            lt.passed += t.passed
            lt.total += 1
        return [totals[k] for k in sorted(totals)]


def score(tests: list[TestSpec], runs: dict[str, TestRun],
          is_ignored: Callable[[str], bool]) -> Score:
    """Score the spec tests from what the boots said; add the unexpected."""
    rows = [_row(t, runs.get(t.name)) for t in tests]
    wanted = {t.name for t in tests}
    for name, run in runs.items():
        if name not in wanted and not is_ignored(name):
            rows.append(TestScore(name, None, 0, 0, False, "unexpected",
                                  run.lines, run.crash, run.reason))
    return Score(rows)


def _row(t: TestSpec, run: TestRun | None) -> TestScore:
    if run is None:
        return TestScore(t.name, t.lab, t.points, 0, t.hidden, "missing")
    points = t.points if run.status == "pass" else 0
    return TestScore(t.name, t.lab, t.points, points, t.hidden, run.status,
                     run.lines, run.crash, run.reason,
                     run.boot if run.crash else None, run.time_us)


def unbuilt(tests: list[TestSpec]) -> Score:
    """The kernel did not build: every test fails, nothing is earned."""
    return Score([TestScore(t.name, t.lab, t.points, 0, t.hidden, "fail",
                            ["the kernel did not build"]) for t in tests])
