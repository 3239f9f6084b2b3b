"""The real kernel under the grader: a crash costs one test, a hang seconds.

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
import time
import unittest
from pathlib import Path

from tests.support import GRADER, needs_make

SOLUTIONS = GRADER.parent / "solutions"
VICTIM = "buddy.reverse_free_order"
HIDDEN = Path("kern/test/hidden/buddy_hidden_test.c")
BODY = "KTEST(buddy, reverse_free_order)\n{\n"
CRASH = BODY + "\t*(volatile int *)0 = 1; /* crash: the resume test */\n"


def grade_patched(tmp: str, rel: Path, old: str, new: str, lab: int,
                  *extra: str) -> list[dict]:
    """Grade a copy of solutions/ at lab with one edit of file rel: the
    tests of the JSON report."""
    tree = Path(tmp) / "solutions"
    shutil.copytree(SOLUTIONS, tree, symlinks=True,
                    ignore=shutil.ignore_patterns("build"))
    src = tree / rel
    text = src.read_text()
    assert old in text, f"{rel} has changed: update the test's edit"
    src.write_text(text.replace(old, new, 1))
    out = Path(tmp) / "grade.json"
    subprocess.run(
        [sys.executable, str(GRADER / "grade"), "--tree", str(tree),
         "--lab", str(lab), *extra, "-j", "2", "--json", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        timeout=600, check=False)
    return json.loads(out.read_text())["tests"]


IDT = Path("kern/arch/x86_64/idt.c")
IDT_INIT = "void idt_init(void)\n{\n"
# Spin: cli and hlt would not pass the object checks, a loop does.
HANG = IDT_INIT + "\tfor (;;)\n\t\t__asm__ volatile(\"\" ::: \"memory\");\n"


@needs_make
class ResumeOrder(unittest.TestCase):
    def test_a_crash_in_a_hidden_test_costs_exactly_that_test(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            tests = grade_patched(tmp, HIDDEN, BODY, CRASH, 3, "--hidden")
        lost = sorted(t["name"] for t in tests if t["status"] != "pass")
        self.assertEqual(lost, [VICTIM])
        victim = next(t for t in tests if t["name"] == VICTIM)
        self.assertEqual(victim["status"], "crashed")
        self.assertTrue(any(t["name"].startswith("hat.") and
                            t["status"] == "pass" for t in tests))


@needs_make
class BootHang(unittest.TestCase):
    def test_a_kernel_that_hangs_at_boot_costs_seconds(self) -> None:
        # Bug: with no watchdog armed before the first test, a student's
        # idt_init() spinning with interrupts off ran every boot to the
        # wall-clock backstop (120 s each: ten minutes per submission).
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory() as tmp:
            tests = grade_patched(tmp, IDT, IDT_INIT, HANG, 1,
                                  "--only", "trap.*")
        took = time.monotonic() - t0
        self.assertTrue(tests)
        for t in tests:
            self.assertEqual(t["status"], "crashed", t["name"])
            self.assertEqual(t["outcome"], "timeout", t["name"])
        self.assertLess(took, 100)   # the build and boots; not 120 s each


if __name__ == "__main__":
    unittest.main()
