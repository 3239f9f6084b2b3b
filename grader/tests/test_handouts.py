"""make check's hold of the handouts on their trees: the lists of the
student's and the given functions (handouts.function_problems).

Each test names the drift it catches."""

from __future__ import annotations

import shutil
import tempfile
import unittest
from pathlib import Path

from vmgrade import handouts
from vmgrade.spec import load

REPO = Path(__file__).resolve().parents[2]

SPEC = """{"labs": [{"lab": 2, "name": "demo", "smp": 1, "mem": "64M",
  "student_files": ["kern/demo.c", "kern/entry.S"]}],
  "files": {}, "tests": []}"""

DEMO_C = """\
#include "x.h"

static int
helper(int x)
{
	return x;
}

int
demo_map(int va)
{
#if SOL >= 2
	return helper(va) + 1;
#else
	return 0; /* lab 2 */
#endif
}

#if SOL >= 2
static int
ref_only(void)
{
	return 7;
}
#else
/* lab 2: write demo_lock too, if you like */
static int
demo_stubbed(void)
{
	return 0;
}
#endif
"""

ENTRY_S = """\
	.text
#if SOL >= 2
	.globl demo_entry
demo_entry:
	ret
#else
	/* lab 2: a global label demo_entry */
#endif
given_label:
	ret
"""

GOOD = """\
| your file | what you write |
|---|---|
| `kern/demo.c` | `demo_map()`, `demo_stubbed()`, and any helpers |
| `kern/entry.S` | `demo_entry` |

*Given:* `helper()` and `given_label()`. *Tests:* none.
"""


class FunctionLists(unittest.TestCase):
    def setUp(self) -> None:
        self.sol = Path(tempfile.mkdtemp(prefix="vmlab-test-handouts-"))
        self.addCleanup(shutil.rmtree, self.sol)
        (self.sol / "kern").mkdir()
        (self.sol / "kern" / "demo.c").write_text(DEMO_C)
        (self.sol / "kern" / "entry.S").write_text(ENTRY_S)
        (self.sol / "labs.json").write_text(SPEC)
        self.spec = load(self.sol / "labs.json")
        self.tree = handouts._tree_text(self.sol)

    def problems(self, text: str) -> list[str]:
        return handouts.function_problems(self.spec, 2, text, self.sol,
                                          self.tree)

    def test_a_true_handout_passes(self) -> None:
        self.assertEqual(self.problems(GOOD), [])
        self.assertEqual(handouts.student_functions(
            self.sol, "kern/demo.c", 2), {"demo_map", "demo_stubbed"})

    def test_a_stubbed_function_left_out_is_caught(self) -> None:
        # Drift: a function the stub leaves to the student that the
        # handout forgot (the student does not know to write it).
        got = self.problems(GOOD.replace("`demo_map()`, ", ""))
        self.assertEqual(len(got), 1)
        self.assertIn("demo_map() is the student's", got[0])

    def test_a_given_function_listed_as_the_students_is_caught(self) -> None:
        # Drift: lab 4's handout said slab_create was given, the tree had
        # it as the student's (and the reverse).
        got = self.problems(GOOD.replace("and any helpers", "`helper()`"))
        self.assertTrue(any("names helper(), which has no code" in p
                            for p in got), got)
        got = self.problems(GOOD.replace("`helper()` and", "`demo_map()` and"))
        self.assertTrue(any("*Given:* names demo_map(), which the student"
                            in p for p in got), got)

    def test_a_given_function_gone_from_the_tree_is_caught(self) -> None:
        # Drift: lab 1's walkthrough named a symbol that had been renamed.
        got = self.problems(GOOD.replace("`helper()`", "`old_helper()`"))
        self.assertEqual(got, ["*Given:* names old_helper(), which is not "
                               "in the tree"])

    def test_names_the_stub_asks_for_may_be_listed(self) -> None:
        # A reference helper the stub's comment asks for (kmem_depot_alloc)
        # may be in the table; one it does not mention may not.
        self.assertEqual(self.problems(GOOD.replace(
            "and any helpers", "`demo_lock()`")), [])
        self.assertTrue(self.problems(GOOD.replace(
            "and any helpers", "`ref_only()`")))

    def test_the_kits_handouts_hold(self) -> None:
        # The real handouts against the real solutions/.
        spec = load(REPO / "solutions" / "labs.json")
        tree = handouts._tree_text(REPO / "solutions")
        for n in sorted(spec.labs):
            path = handouts.handout_path(REPO / "handouts", spec, n)
            if path.is_file():
                self.assertEqual(handouts.function_problems(
                    spec, n, path.read_text(), REPO / "solutions", tree), [],
                    path.name)


if __name__ == "__main__":
    unittest.main()
