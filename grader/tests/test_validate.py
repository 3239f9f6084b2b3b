"""make check's validity proof: what counts as a valid lab, and the plan.

Each test names the validation bug it would catch.
"""

from __future__ import annotations

import contextlib
import io
import json
import dataclasses
import shutil
import tempfile
import unittest
from dataclasses import replace
from pathlib import Path

from tests.support import fake_solutions, needs_make
from vmgrade import validate
from vmgrade.build import BuildResult
from vmgrade.job import Grade
from vmgrade.score import Score, TestScore
from vmgrade.spec import load


def grade_of(rows: dict[str, str], built: bool = True) -> Grade:
    """A Grade whose tests have the given statuses (lab from the name)."""
    tests = [TestScore(name, None if status == "unexpected" else
                       int(name.split(".")[0][-1]), 1, 1 if status == "pass"
                       else 0, False, status) for name, status in rows.items()]
    build = BuildResult(built, None, 0 if built else 2, ["cc: error"], 1.0,
                        Path("/o"))
    return Grade(None, 1, build, [], Score(tests), 1.0)  # type: ignore[arg-type]


def check(must_fail: set[str]) -> validate.Check:
    return validate.Check(2, "stub LAB=2 SOL=1", None, frozenset(must_fail))


class Judge(unittest.TestCase):
    def test_stub_failing_exactly_its_lab_is_valid(self) -> None:
        ok, line = validate.judge(check({"lab2.a", "lab2.b"}), grade_of({
            "lab0.x": "pass", "lab1.y": "pass", "lab2.a": "fail",
            "lab2.b": "crashed"}))
        self.assertTrue(ok, line)
        self.assertIn("2/2 tests pass (labs 0..1), 2/2 lab 2 tests fail", line)
        self.assertTrue(line.endswith("— ok"))

    def test_a_stub_that_passes_its_own_test_is_invalid(self) -> None:
        # Bug: a test that cannot fail goes unnoticed.
        ok, line = validate.judge(check({"lab2.a"}), grade_of({
            "lab1.y": "pass", "lab2.a": "pass"}))
        self.assertFalse(ok)
        self.assertIn("lab2.a passed but must fail", line)

    def test_an_earlier_lab_broken_by_the_stub_is_invalid(self) -> None:
        ok, line = validate.judge(check({"lab2.a"}), grade_of({
            "lab1.y": "skip", "lab2.a": "fail"}))
        self.assertFalse(ok)
        self.assertIn("lab1.y skip", line)

    def test_missing_and_unexpected_tests_are_invalid(self) -> None:
        # Bug: a test the kernel lacks counted as "failing as it must".
        ok, line = validate.judge(check({"lab2.a"}), grade_of({
            "lab2.a": "missing", "lab2.zz": "unexpected"}))
        self.assertFalse(ok)
        self.assertIn("lab2.a is missing", line)
        self.assertIn("unexpected test lab2.zz", line)

    def test_a_build_failure_is_invalid(self) -> None:
        ok, line = validate.judge(check(set()), grade_of({}, built=False))
        self.assertFalse(ok)
        self.assertIn("did not build (cc: error)", line)

    def test_a_missing_tree_is_invalid(self) -> None:
        c = validate.Check(3, "labs/lab3-buddy", None, frozenset(),
                           "labs/lab3-buddy: no such lab tree (run make labs)")
        ok, line = validate.judge(c, None)
        self.assertFalse(ok)
        self.assertIn("run make labs", line)


class HostProblems(unittest.TestCase):
    def test_exactly_the_labs_programs_must_fail(self) -> None:
        ok = {"test_fmt": "PASS", "test_trap": "FAIL"}
        self.assertEqual(validate.host_problems(ok, {"test_trap"}), [])

    def test_a_stub_that_passes_is_invalid(self) -> None:
        # Bug: the stub tree's own host test passing went unnoticed.
        got = validate.host_problems({"test_trap": "PASS"}, {"test_trap"})
        self.assertEqual(got, ["test_trap passed but must fail"])

    def test_another_failure_or_a_missing_program_is_invalid(self) -> None:
        got = validate.host_problems({"test_fmt": "FAIL"}, {"test_trap"})
        self.assertEqual(got, ["test_trap did not run", "test_fmt failed"])


class Plan(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="vmlab-test-validate-"))

    def tearDown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_three_checks_per_lab_and_no_stub_without_tests(self) -> None:
        # Bug: a lab with no tests of its own skipped entirely, so nothing
        # proved that its reference and tree still pass the earlier labs.
        sol = fake_solutions(self.tmp / "solutions")
        (sol / "level.h").write_text("#if LAB >= 2\n#endif\n")
        spec = load(sol / "labs.json")
        # A hidden test of lab 1: only the stub check boots those.
        spec.tests = [dataclasses.replace(t, hidden=True)
                      if t.name == "demo.failing" else t
                      for t in spec.tests if t.lab != 2]
        items = validate.plan(spec, sol, self.tmp / "labs")
        self.assertIn("lab 2: no graded tests of its own yet — "
                      "no stub to prove failing", items)
        checks = [i for i in items if isinstance(i, validate.Check)]
        self.assertEqual([c.what for c in checks],
                         ["reference LAB=1 SOL=1", "stub LAB=1 SOL=0",
                          "labs/lab1-demo", "reference LAB=2 SOL=2",
                          "labs/lab2-more"])
        self.assertEqual(checks[3].must_fail, frozenset())
        stub = checks[1]
        assert stub.target is not None
        self.assertEqual(stub.target.make_vars(), {"LAB": "1", "SOL": "0"})
        self.assertIn("demo.failing", stub.must_fail)
        self.assertNotIn("demo.first", stub.must_fail)
        self.assertIsNone(checks[2].target)
        self.assertIn("run make labs", checks[2].error)

    def test_no_stub_check_without_hidden_tests(self) -> None:
        # Bug: the stub of a lab whose tests are all public built and
        # booted again what its tree's check already fails.
        sol = fake_solutions(self.tmp / "solutions")
        spec = load(sol / "labs.json")
        spec.tests = [dataclasses.replace(t, hidden=False)
                      for t in spec.tests]
        items = validate.plan(spec, sol, self.tmp / "labs")
        whats = [i.what for i in items if isinstance(i, validate.Check)]
        self.assertFalse([w for w in whats if w.startswith("stub")])
        self.assertTrue(any(isinstance(i, str) and "stub not booted" in i
                            for i in items))

    def test_a_level_that_adds_no_code_is_not_booted_again(self) -> None:
        # Bug: with no condition telling LAB=2 from LAB=1, booting lab 2's
        # reference only spends time; but one `LAB >= 2` anywhere (or a
        # Makefile choosing files by LAB) must bring the check back.
        sol = fake_solutions(self.tmp / "solutions")
        (sol / "Makefile").write_text("LAB ?= 2\nkernel:\n\tcc -DLAB=$(LAB)\n")
        spec = load(sol / "labs.json")
        own = [t for t in spec.tests if t.lab == 2]
        spec.tests = [t for t in spec.tests if t.lab != 2]
        items = validate.plan(spec, sol, self.tmp / "labs")
        self.assertIn("lab 2: reference not booted — no LAB/SOL condition "
                      "in solutions/ tells LAB=2 SOL=2 from LAB=1 SOL=1, so "
                      "lab 1's reference proves it", items)
        whats = [i.what for i in items if isinstance(i, validate.Check)]
        self.assertIn("reference LAB=1 SOL=1", whats)
        self.assertNotIn("reference LAB=2 SOL=2", whats)
        # Tests of lab 2's own, or a kit test that starts at lab 2, never
        # ran on lab 1's reference: lab 2's must boot.
        for extra in (own, [replace(spec.tests[0], name="demo.new",
                                    since=2)]):
            spec2 = replace(spec, tests=spec.tests + extra)
            whats = [i.what for i in validate.plan(spec2, sol, self.tmp /
                                                   "labs")
                     if isinstance(i, validate.Check)]
            self.assertIn("reference LAB=2 SOL=2", whats)
        (sol / "mk").mkdir()
        (sol / "mk" / "x.mk").write_text("SRCS-$(LAB) += a.c\n")
        self.assertEqual(validate.horizon(sol), validate.NO_HORIZON)
        (sol / "mk" / "x.mk").write_text("CFLAGS += -DLAB=$(LAB)\n")
        self.assertEqual(validate.horizon(sol), 0)
        (sol / "mk" / "x.mk").write_text(
            "ifneq ($(filter-out 0 1 2,$(LAB)),)\nall: initrd\nendif\n")
        self.assertEqual(validate.horizon(sol), 3)
        (sol / "mk" / "x.mk").write_text("X := $(filter-out 2 3,$(LAB))\n")
        self.assertEqual(validate.horizon(sol), validate.NO_HORIZON)

    def test_a_tree_identical_to_the_last_one_is_not_booted(self) -> None:
        # Bug: booting lab 6's tree when its sources are lab 5's, byte for
        # byte, only spends time; but one changed byte, or a lab with tests
        # of its own, must bring the checks back.
        labs = self.tmp / "labs"
        sol = fake_solutions(self.tmp / "solutions")
        for n, name in ((1, "lab1-demo"), (2, "lab2-more")):
            (labs / name / "kern").mkdir(parents=True)
            (labs / name / "kern" / "a.c").write_text("int a;\n")
            tree_spec = json.loads((sol / "labs.json").read_text())
            tree_spec["tree_lab"] = n
            (labs / name / "lab.json").write_text(json.dumps(tree_spec))
            (labs / name / "lab.mk").write_text(f"LAB := {n}\n")
        a, b = labs / "lab1-demo", labs / "lab2-more"
        self.assertTrue(validate.same_sources(a, b))
        spec = load(sol / "labs.json")
        spec.tests = [t for t in spec.tests if t.lab != 2]
        items = validate.plan(spec, sol, labs)
        self.assertIn("lab 2: labs/lab2-more not booted — its sources are "
                      "byte for byte those of labs/lab1-demo, whose checks "
                      "prove them", items)
        (b / "kern" / "a.c").write_text("int b;\n")
        self.assertFalse(validate.same_sources(a, b))
        (b / "kern" / "a.c").write_text("int a;\n")
        (b / "kern" / "extra.h").write_text("")
        self.assertFalse(validate.same_sources(a, b))

    def test_horizon_reads_each_comparison(self) -> None:
        sol = self.tmp / "s"
        sol.mkdir()
        for text, want in (("#if LAB >= 4\n", 4), ("#if SOL > 2\n", 3),
                           ("  #  elif LAB == 5 && SOL < 3\n", 6),
                           ("\tif (LAB >= 3) x();\n", 3),
                           ("#ifdef LAB\n", validate.NO_HORIZON),
                           ("#if LAB + 1 > 2\n", validate.NO_HORIZON),
                           ("#if FOO\n", 0)):
            (sol / "a.c").write_text(text)
            self.assertEqual(validate.horizon(sol), want, text)

    @needs_make
    def test_main_prints_one_line_per_check_and_fails(self) -> None:
        # The fake kernel fails and crashes tests at every level, so the
        # reference check must fail and the exit status must say so.
        sol = fake_solutions(self.tmp / "solutions")
        spec = json.loads((sol / "labs.json").read_text())
        spec["tests"] = [t for t in spec["tests"] if t["lab"] != 2]
        (sol / "labs.json").write_text(json.dumps(spec))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = validate.main(["--solutions", str(sol), "--labs",
                                    str(self.tmp / "labs"), "-j", "2"])
        lines = out.getvalue().splitlines()
        self.assertEqual(status, 1)
        # lab 1: reference, stub, tree; lab 2: reference (not booted: the
        # fake adds no code at lab 2), no-stub note, tree; then one
        # host-test line per lab (no trees: both fail).
        self.assertEqual(len(lines), 8)
        self.assertTrue(lines[6].startswith("lab 1: host tests in labs/"))
        self.assertIn("FAILED", lines[6])
        self.assertIn("FAILED", lines[7])
        self.assertIn("lab 1: reference LAB=1 SOL=1", lines[0])
        self.assertIn("FAILED", lines[0])
        self.assertIn("demo.crash crashed (panic)", lines[0])


if __name__ == "__main__":
    unittest.main()
