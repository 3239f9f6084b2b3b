"""A crash in one test costs that test alone, with the real kernel's harness.

The grader carries on after a crash by booting again with kresume=NAME,
and the kernel's harness skips every selected test up to NAME. That is only
right if it skips in the order it runs tests. A suite can be spread over two
files (buddy_test.c and hidden/buddy_hidden_test.c), and the harness runs a
suite as one block, so skipping in (file, line) order would also skip the
tests of every suite whose file sorts between the two (hat_test.c): a bug
in lab 3 would cost lab 2's points.

The test copies solutions/, makes the hidden test buddy.reverse_free_order
crash the kernel (a write through a null pointer: a kernel #PF, BAD TRAP),
grades lab 3 with hidden tests, and requires that exactly that test is lost.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from tests.support import GRADER, needs_make

SOLUTIONS = GRADER.parent / "solutions"
VICTIM = "buddy.reverse_free_order"
HIDDEN = Path("kern/test/hidden/buddy_hidden_test.c")
BODY = "KTEST(buddy, reverse_free_order)\n{\n"
CRASH = BODY + "\t*(volatile int *)0 = 1; /* crash: the resume test */\n"


@needs_make
class ResumeOrder(unittest.TestCase):
    def test_a_crash_in_a_hidden_test_costs_exactly_that_test(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            tree = Path(tmp) / "solutions"
            shutil.copytree(SOLUTIONS, tree, symlinks=True,
                            ignore=shutil.ignore_patterns("build"))
            src = tree / HIDDEN
            text = src.read_text()
            self.assertIn(BODY, text)
            src.write_text(text.replace(BODY, CRASH, 1))
            out = Path(tmp) / "grade.json"
            subprocess.run(
                [sys.executable, str(GRADER / "grade"), "--tree", str(tree),
                 "--lab", "3", "--hidden", "-j", "2", "--json", str(out)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                timeout=600, check=False)
            tests = json.loads(out.read_text())["tests"]
        lost = sorted(t["name"] for t in tests if t["status"] != "pass")
        self.assertEqual(lost, [VICTIM])
        victim = next(t for t in tests if t["name"] == VICTIM)
        self.assertEqual(victim["status"], "crashed")
        self.assertTrue(any(t["name"].startswith("hat.") and
                            t["status"] == "pass" for t in tests))


if __name__ == "__main__":
    unittest.main()
