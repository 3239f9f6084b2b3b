"""Scoring: points, per-lab subtotals, crashed, missing and unexpected tests.

Each test names the scoring bug it would catch.
"""

from __future__ import annotations

import unittest

from vmgrade.run import Crash, TestRun
from vmgrade.score import score, unbuilt
from vmgrade.spec import TestSpec

TESTS = [TestSpec("boot.a", 0, 0), TestSpec("boot.b", 0, 0),
         TestSpec("trap.a", 1, 10), TestSpec("trap.b", 1, 5),
         TestSpec("trap.c", 1, 2.5), TestSpec("trap.d", 1, 4),
         TestSpec("trap.secret", 1, 7, hidden=True)]


def runs(**statuses: str) -> dict[str, TestRun]:
    out = {}
    for key, status in statuses.items():
        name = key.replace("_", ".", 1)
        crash = Crash("timeout", None, ["..."]) if status == "crashed" else None
        out[name] = TestRun(name, status, crash=crash)
    return out


def never(name: str) -> bool:
    return False


class Points(unittest.TestCase):
    def test_only_passes_earn_points(self) -> None:
        # Bug: skip or crashed tests earning points.
        s = score(TESTS, runs(boot_a="pass", boot_b="skip", trap_a="pass",
                              trap_b="fail", trap_c="pass", trap_d="crashed",
                              trap_secret="skip"), never)
        self.assertEqual(s.points, 12.5)
        self.assertEqual(s.max_points, 28.5)
        self.assertEqual(s.passed, 3)
        self.assertFalse(s.full)

    def test_per_lab_subtotals_with_kit_first(self) -> None:
        # Bug: lab 0 merged into lab 1, or subtotals out of order.
        s = score(TESTS, runs(boot_a="pass", boot_b="pass", trap_a="pass"),
                  never)
        labs = s.labs()
        self.assertEqual([lt.label for lt in labs], ["kit", "lab 1"])
        self.assertEqual((labs[0].passed, labs[0].total), (2, 2))
        self.assertEqual((labs[1].points, labs[1].max_points,
                          labs[1].passed, labs[1].total), (10, 28.5, 1, 5))

    def test_unreported_test_is_missing(self) -> None:
        # Bug: a test the kernel lacks silently dropped from the grade.
        s = score(TESTS, runs(boot_a="pass"), never)
        statuses = {t.name: t.status for t in s.tests}
        self.assertEqual(statuses["trap.d"], "missing")
        self.assertEqual(len(s.graded), len(TESTS))

    def test_crashed_keeps_its_outcome(self) -> None:
        s = score(TESTS, runs(trap_d="crashed"), never)
        row = next(t for t in s.tests if t.name == "trap.d")
        self.assertEqual(row.label, "crashed (timeout)")
        self.assertEqual(row.points, 0)

    def test_unexpected_tests_earn_nothing_and_are_listed(self) -> None:
        # Bug: a test not in the spec earns points or hides.
        r = runs(trap_a="pass")
        r["trap.extra"] = TestRun("trap.extra", "pass")
        s = score(TESTS, r, never)
        self.assertEqual([t.name for t in s.unexpected], ["trap.extra"])
        self.assertEqual(s.points, 10)
        self.assertEqual(s.max_points, 28.5)

    def test_ignored_tests_are_neither_graded_nor_unexpected(self) -> None:
        # Bug: a hidden test the reference kernel reports shows up as
        # unexpected when grading the public set.
        public = [t for t in TESTS if not t.hidden]
        s = score(public, runs(trap_secret="pass"),
                  lambda n: n == "trap.secret")
        self.assertEqual(s.unexpected, [])
        self.assertNotIn("trap.secret", [t.name for t in s.tests])

    def test_full_means_every_spec_test_passed(self) -> None:
        every = {t.name.replace(".", "_"): "pass" for t in TESTS}
        self.assertTrue(score(TESTS, runs(**every), never).full)

    def test_a_kernel_that_did_not_build_scores_zero(self) -> None:
        s = unbuilt(TESTS)
        self.assertEqual(s.points, 0)
        self.assertEqual(s.max_points, 28.5)
        self.assertTrue(all(t.status == "fail" for t in s.tests))


if __name__ == "__main__":
    unittest.main()
