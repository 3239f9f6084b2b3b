"""The student release's guarantees, checked on small synthetic releases:
verify() must find every kind of leak, and the generated files must say
what a student needs.

Each test names the release bug it would catch.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import unittest
from pathlib import Path

from vmgrade import release
from vmgrade.spec import load

REPO = Path(__file__).resolve().parent.parent.parent
SOLUTIONS = REPO / "solutions"


class Verify(unittest.TestCase):
    def setUp(self) -> None:
        self.spec = load(SOLUTIONS / "labs.json")
        self.out = Path(tempfile.mkdtemp(prefix="vmlab-rel-test-"))
        self.addCleanup(shutil.rmtree, self.out)
        (self.out / release.STAMP).write_text(json.dumps({"labs": [1, 2, 3]}))
        self.put("README.md", "# course\n[lab 1](lab1-trap/README.md)\n")
        self.put("lab1-trap/README.md", "see [the handout](../README.md)\n")

    def put(self, rel: str, text: str) -> None:
        p = self.out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)

    def problems(self) -> list[str]:
        return release.verify(self.out, self.spec, SOLUTIONS)

    def test_clean_release_passes(self) -> None:
        # Bug caught: verify() so strict that no release can pass.
        self.assertEqual(self.problems(), [])

    def test_hidden_test_name(self) -> None:
        # Bug caught: a hidden test's name (or its file) reaching students.
        name = next(t.name for t in self.spec.tests if t.hidden)
        self.put("lab1-trap/notes.md", f"try {name.split('.', 1)[1]}\n")
        self.assertTrue(any("hidden test" in p for p in self.problems()))

    def test_instructor_files(self) -> None:
        # Bug caught: solutions/, mutants/ or kern/test/hidden copied in.
        self.put("solutions/x.c", "int x;\n")
        self.put("lab1-trap/kern/test/hidden/t.c", "int y;\n")
        got = self.problems()
        self.assertTrue(any(p.startswith("solutions/x.c") for p in got))
        self.assertTrue(any("hidden/t.c" in p for p in got))

    def test_marker(self) -> None:
        # Bug caught: an unstripped LAB/SOL conditional.
        self.put("lab2-pagetable/kern/a.c", "#if SOL >= 2\nint a;\n#endif\n")
        self.assertTrue(any("marker" in p for p in self.problems()))

    def test_solution_of_its_own_lab(self) -> None:
        # Bug caught: lab 3's tree holding lab 3's solution (the stub
        # replaced by the reference), while lab 3's solution in lab 4's
        # tree is expected and fine.
        text = (SOLUTIONS / "kern/mm/buddy.c").read_text()
        lines = release.solution_lines(SOLUTIONS, self.spec, 3)
        line = next(ln for ln in text.splitlines() if ln.strip() in lines)
        self.put("lab3-buddy/kern/mm/buddy.c", line + "\n")
        self.assertTrue(any("solution line of lab 3" in p
                            for p in self.problems()))
        self.assertEqual(release.solution_lines(SOLUTIONS, self.spec, 4)
                         .get(line.strip()), None)

    def test_solution_given_below_its_lab(self) -> None:
        # Bug caught: code marked `#if SOL >= 6 || LAB < 6` (lab 6's
        # solution, which lab 5 runs on) called a leak in lab 5's tree, or
        # let through in lab 6's, where the stub replaces it.
        text = (SOLUTIONS / "kern/vm/vm_anon.c").read_text()
        start = text.index("#if SOL >= 6 || LAB < 6")
        body = text[start:text.index("#else", start)].splitlines()[1:]
        line = next(ln.strip() for ln in body
                    if len(ln.strip()) >= release.MIN_LEAK_CHARS)
        self.assertNotIn(line, release.solution_lines(SOLUTIONS, self.spec, 5))
        self.assertEqual(release.solution_lines(SOLUTIONS, self.spec, 6)
                         .get(line), 6)

    def test_dead_link(self) -> None:
        # Bug caught: a README or handout linking a file not released.
        self.put("lab1-trap/README.md", "[h](../handouts/lab1-trap.md)\n")
        self.assertTrue(any("leads nowhere" in p for p in self.problems()))


class Generated(unittest.TestCase):
    def test_workflow_and_makefile_name_every_released_lab(self) -> None:
        # Bug caught: a lab released but never graded by the workflow, or
        # a reporter runner with no step behind it.
        spec = load(SOLUTIONS / "labs.json")
        wf = release.workflow(spec, [1, 2])
        self.assertIn("make grade LAB=2 CLASSROOM=1", wf)
        self.assertIn("runners: lab1,lab2", wf)
        self.assertIn('LAB2_RESULTS: "${{ steps.lab2.outputs.result }}"', wf)
        self.assertNotIn("LAB=3", wf)
        mk = release.makefile(spec, [1, 2])
        self.assertIn("LAB_2 := lab2-pagetable", mk)
        text = release.readme(spec, [1, 2])
        self.assertIn("git pull upstream main", text)
        self.assertIn("make handin", text)


if __name__ == "__main__":
    unittest.main()
