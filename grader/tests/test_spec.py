"""The spec's 'since': a kit test that exists only from a later lab on."""
from __future__ import annotations

import json
import tempfile
import unittest
from pathlib import Path

from vmgrade.spec import SpecError, load

LABS = [{"lab": n, "name": f"l{n}", "student_files": []} for n in (1, 2, 3, 4)]


def spec_with(tests: list[dict]):  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "labs.json"
        path.write_text(json.dumps({"labs": LABS, "tests": tests}))
        return load(path)


class Since(unittest.TestCase):
    def test_a_kit_test_joins_trees_from_its_lab_on(self) -> None:
        # Bug: lab 1-3 trees expected smp.* tests their kernels lack.
        spec = spec_with([{"name": "smp.x", "lab": 0, "since": 4},
                          {"name": "boot.y", "lab": 0}])
        self.assertEqual([t.name for t in spec.tests_upto(3, True)],
                         ["boot.y"])
        self.assertEqual([t.name for t in spec.tests_upto(4, True)],
                         ["smp.x", "boot.y"])
        self.assertEqual(spec.trimmed(4, False)["tests"][0]["since"], 4)

    def test_since_before_the_tests_own_lab_is_refused(self) -> None:
        with self.assertRaises(SpecError):
            spec_with([{"name": "hat.x", "lab": 3, "since": 2}])


class Budgets(unittest.TestCase):
    """Per-test budgets in virtual seconds: what the kernel is told, and
    what make check holds them to."""

    def test_budget_reaches_the_command_line_and_the_tree(self) -> None:
        # Bug: a test's budget_s lost on the way to the kernel or to the
        # lab tree's lab.json, so the grader and the student disagree.
        from vmgrade import run
        spec = spec_with([{"name": "smp.x", "lab": 1, "budget_s": 8},
                          {"name": "boot.y", "lab": 1}])
        self.assertEqual(run.budget_arg(spec.tests, 2), "2,smp.x:8")
        self.assertEqual(spec.trimmed(1, False)["tests"][0]["budget_s"], 8)

    def test_a_budget_the_watchdog_cannot_time_is_refused(self) -> None:
        # Bug: budget_s 3 or 60 silently becomes the kernel's default.
        for bad in (3, 0, 32, "4"):
            with self.subTest(bad=bad), self.assertRaises(SpecError):
                spec_with([{"name": "a.b", "lab": 1, "budget_s": bad}])

    def test_validity_flags_a_budget_under_ten_times_the_reference(
            self) -> None:
        # Bug: a budget so tight that a correct but slower design times
        # out, or one never checked after a test grew.
        from pathlib import Path
        from vmgrade import validate
        from vmgrade.build import BuildResult
        from vmgrade.job import Grade
        from vmgrade.score import Score, TestScore
        from vmgrade.tree import Target
        spec = spec_with([{"name": "a.slow", "lab": 1, "budget_s": 4},
                          {"name": "a.fast", "lab": 1}])
        rows = [TestScore("a.slow", 1, 1, 1, False, "pass", time_us=450_000),
                TestScore("a.fast", 1, 1, 1, False, "pass", time_us=150_000)]
        g = Grade(Target(Path("/x"), spec, 1, 1, True), 1,
                  BuildResult(True, None, 0, [], 1.0, Path("/o")), [],
                  Score(rows), 1.0)
        got = validate.budget_problems(g)
        self.assertEqual(len(got), 1)
        self.assertIn("a.slow took 450.0 ms", got[0])
        self.assertIn('"budget_s": 6', got[0])


if __name__ == "__main__":
    unittest.main()
