"""The mutant runner's own rules: reading a patch, the SOL regions a mutant
must stay in, the stable sample, and the suite in mutants/ itself.

Each test names the runner bug it would catch.
"""

from __future__ import annotations

import shutil
import tempfile
import unittest
from pathlib import Path

from vmgrade import mutants
from vmgrade.spec import load

REPO = Path(__file__).resolve().parent.parent.parent
SOURCE = """\
int f(int x)
{
#if SOL >= 3
\treturn x + 1;
#else
\treturn 0;
#endif
}
#if SOL >= 2
int g(void) { return 2; }
#endif
#if SOL >= 3
#ifdef DEBUG
int h(void) { return 3; }
#endif
#endif
"""


def patch_text(header: str, old: str, new: str,
               path: str = "kern/mm/buddy.c") -> str:
    import difflib
    diff = "".join(difflib.unified_diff(
        old.splitlines(True), new.splitlines(True), f"a/{path}",
        f"b/{path}"))
    return f"{header}\n\n{diff}"


HEADER = ("Mutant: adds two\nFunction: f\nWhy: a student misreads the\n"
          "  spec.\nCaught-by: buddy.every_order_aligned")


class Regions(unittest.TestCase):
    def test_sol_branch_inside_else_branch_outside(self) -> None:
        # Bug caught: the stub's #else branch counted as the student's
        # region, so a "mutant" could change the stub.
        inside = mutants.sol_lines(SOURCE, 3)
        self.assertTrue(inside[3])          # return x + 1
        self.assertFalse(inside[5])         # return 0 (the stub)
        self.assertFalse(inside[2])         # the #if line itself
        self.assertFalse(inside[0])

    def test_other_labs_region_is_outside(self) -> None:
        # Bug caught: any SOL region accepted for a lab-3 mutant.
        inside = mutants.sol_lines(SOURCE, 3)
        self.assertFalse(inside[9])         # int g: lab 2's region
        self.assertTrue(mutants.sol_lines(SOURCE, 2)[9])

    def test_nested_conditional_inside_a_region_stays_inside(self) -> None:
        # Bug caught: an #ifdef nested in a SOL region ends the region.
        self.assertTrue(mutants.sol_lines(SOURCE, 3)[13])

    def test_changes_outside(self) -> None:
        # Bug caught: a patch that rewrites a given function or an #if line
        # passes as a student bug.
        inside_change = SOURCE.replace("x + 1", "x + 2")
        self.assertEqual(mutants.changes_outside(SOURCE, inside_change, 3),
                         [])
        stub_change = SOURCE.replace("return 0;", "return 1;")
        self.assertEqual(mutants.changes_outside(SOURCE, stub_change, 3),
                         [6])
        marker = SOURCE.replace("#if SOL >= 3\n\treturn", "#if 1\n\treturn")
        self.assertEqual(mutants.changes_outside(SOURCE, marker, 3), [3])

    def test_insertion_at_region_edges(self) -> None:
        # Bug caught: a line added just after #if SOL (inside) refused, or
        # one added after #endif (outside) accepted.
        first = SOURCE.replace("#if SOL >= 3\n\treturn x",
                               "#if SOL >= 3\n\tx++;\n\treturn x", 1)
        self.assertEqual(mutants.changes_outside(SOURCE, first, 3), [])
        after = SOURCE.replace("#endif\n}", "#endif\n\tx++;\n}", 1)
        self.assertNotEqual(mutants.changes_outside(SOURCE, after, 3), [])


class Reading(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.tmp)

    def write(self, name: str, text: str) -> Path:
        p = self.tmp / name
        p.write_text(text)
        return p

    def test_header_with_continuation(self) -> None:
        # Bug caught: a wrapped Why: line lost or read as a diff.
        p = mutants.read_patch(self.write("adds-two.patch", patch_text(
            HEADER, SOURCE, SOURCE.replace("x + 1", "x + 2"))), 3)
        self.assertEqual(p.problems, [])
        self.assertEqual(p.header["Why"], "a student misreads the spec.")
        self.assertEqual(p.files, ["kern/mm/buddy.c"])
        self.assertEqual(p.caught_by, ["buddy.every_order_aligned"])
        self.assertEqual(p.kind, "mutant")

    def test_missing_header_fields_and_diff(self) -> None:
        # Bug caught: an undocumented mutant (no Why:, no Caught-by:) or a
        # file with no diff accepted.
        p = mutants.read_patch(self.write("bare.patch", patch_text(
            "Mutant: x", SOURCE, SOURCE.replace("x + 1", "x + 2"))), 3)
        self.assertIn("header lacks Function, Why, Caught-by", p.problems)
        q = mutants.read_patch(self.write("nodiff.patch", HEADER), 3)
        self.assertTrue(any("no unified diff" in s for s in q.problems))

    def test_alternative_by_name(self) -> None:
        # Bug caught: an alternative graded as a mutant (must die) or a
        # mutant header in an alt- file accepted.
        alt = mutants.read_patch(self.write("alt-fifo.patch", patch_text(
            "Alternative: FIFO\nFunction: f\nWhy: any order is fine",
            SOURCE, SOURCE.replace("x + 1", "1 + x"))), 3)
        self.assertEqual((alt.kind, alt.problems), ("alternative", []))
        bad = mutants.read_patch(self.write("alt-x.patch", patch_text(
            HEADER, SOURCE, SOURCE)), 3)
        self.assertTrue(bad.problems)


class Sample(unittest.TestCase):
    def fake(self, lab: int, name: str) -> mutants.Patch:
        kind = "alternative" if name.startswith("alt-") else "mutant"
        return mutants.Patch(Path(name), lab, f"lab{lab}/{name}", kind, {},
                             "", [])

    def test_stable_per_lab_and_alternatives_always(self) -> None:
        # Bug caught: a sample that changes from run to run (make check
        # flaky) or that drops alternatives or a whole lab.
        suite = [self.fake(lab, n) for lab in (1, 2)
                 for n in ("a", "b", "c", "d", "e", "alt-x")]
        one = [p.name for p in mutants.sample(suite, 2, 7)]
        two = [p.name for p in mutants.sample(list(reversed(suite)), 2, 7)]
        self.assertEqual(sorted(one), sorted(two))
        self.assertEqual(len(one), 6)
        self.assertIn("lab1/alt-x", one)
        self.assertIn("lab2/alt-x", one)
        # k alternatives per lab too, as stable, and never none of a lab's.
        suite += [self.fake(2, "alt-y")]
        alts = [p.name for p in mutants.sample(suite, 1, 7)
                if p.kind == "alternative"]
        self.assertEqual(len(alts), 2)
        self.assertEqual(alts, [p.name for p in mutants.sample(
            list(reversed(suite)), 1, 7) if p.kind == "alternative"])

    def test_fewer_alternatives_keeps_every_mutant(self) -> None:
        # Bug caught: trimming the alternatives drops mutants too, or picks
        # different alternatives from run to run.
        suite = [self.fake(lab, n) for lab in (1, 2, 3)
                 for n in ("a", "alt-x", "alt-y")]
        some = mutants.fewer_alternatives(suite, 2, 5)
        self.assertEqual([p.name for p in some if p.kind == "mutant"],
                         ["lab1/a", "lab2/a", "lab3/a"])
        self.assertEqual(sum(p.kind == "alternative" for p in some), 2)
        self.assertEqual(
            sorted(p.name for p in some),
            sorted(p.name for p in mutants.fewer_alternatives(
                list(reversed(suite)), 2, 5)))

    def test_caught_by_only_narrows_mutants_never_alternatives(self) -> None:
        # Bug caught: make check's quick mode grading an alternative on a
        # few tests, so an over-specified test it should expose hides.
        mut = mutants.Patch(Path("m"), 3, "lab3/m", "mutant",
                            {"Caught-by": "buddy.a, buddy.b"}, "", [])
        alt = self.fake(3, "alt-x")
        self.assertEqual(mutants.boot_only(mut, True), ("buddy.a", "buddy.b"))
        self.assertEqual(mutants.boot_only(mut, False), ())
        self.assertEqual(mutants.boot_only(alt, True), ())


class Suite(unittest.TestCase):
    """The real suite in mutants/: every patch well formed, applying, and
    inside its lab's regions (cheap: nothing is built)."""

    def test_every_patch_checks(self) -> None:
        # Bug caught: a patch gone stale after solutions/ changed, found
        # only when a full `make mutants` runs.
        if shutil.which("patch") is None:
            self.skipTest("patch is not installed")
        solutions = REPO / "solutions"
        spec = load(solutions / "labs.json")
        patches = mutants.discover(REPO / "mutants", spec)
        for p in patches:
            mutants.check(p, solutions, spec)
        bad = {p.name: p.problems for p in patches if p.problems}
        self.assertEqual(bad, {})


if __name__ == "__main__":
    unittest.main()
