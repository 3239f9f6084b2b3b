"""The doctest-style check of what the handouts quote (vmgrade/quotes.py):
how a block is read and matched. Each test names the drift it catches;
make check runs the check itself on the real handouts."""

from __future__ import annotations

import tempfile
import unittest
from pathlib import Path

from vmgrade import quotes


def block(text: str, note: str | None = None, lang: str = "") -> quotes.Block:
    return quotes.Block(Path("lab3-buddy.md"), 10, lang, text.splitlines(),
                        note, 3)


class Matching(unittest.TestCase):
    def test_a_changed_number_is_caught(self) -> None:
        # Drift: memstat's rows quoted from an older kernel.
        real = "  kernel   198   0\n  free (buddy)  31824  124\n"
        self.assertIsNone(quotes.first_unmatched(
            ["  kernel  198  0", "free (buddy) 31824 124"], real))
        self.assertEqual(quotes.first_unmatched(
            ["  kernel  350  1"], real), "  kernel  350  1")

    def test_order_ellipsis_and_placeholders(self) -> None:
        real = "a 1\nb 2\nc 3\nrerun: make qemu KTEST=x.y SEED=1\n"
        self.assertIsNone(quotes.first_unmatched(
            ["a 1", "...", "c ...", "rerun: make qemu KTEST=<n> SEED=<n>"],
            real))
        # Bug: lines matched in any order.
        self.assertEqual(quotes.first_unmatched(["c 3", "a 1"], real), "a 1")
        # A placeholder is one word, not the rest of the line.
        self.assertIsNotNone(quotes.first_unmatched(["a <n> <n>"], real))


class Notes(unittest.TestCase):
    def test_output_with_no_source_is_a_problem(self) -> None:
        # Drift: a failure quoted from a bug nobody can reproduce.
        got = quotes.parse_note(block("    # RUN buddy.x\n    not ok 1 x"))
        self.assertIsInstance(got, str)
        self.assertIn("say where it comes from", got)

    def test_a_figure_and_plain_text_are_not_checked(self) -> None:
        self.assertIsNone(quotes.parse_note(block("  +---+\n  | x |")))
        self.assertIsNone(quotes.parse_note(block("# RUN a.b", "figure")))

    def test_monitor_sessions_split_by_command(self) -> None:
        q = quotes.parse_note(block("(gdb) continue\nvmlab> buddyinfo\n"
                                    "order: 0\nvmlab> memstat\n  kernel 1"))
        assert isinstance(q, quotes.Quote)
        self.assertEqual(q.kind, "monitor")
        self.assertIsNone(q.seed)           # plain make qemu: no SEED
        self.assertEqual(q.commands, [("buddyinfo", ["order: 0"]),
                                      ("memstat", ["  kernel 1"])])

    def test_notes_are_parsed_strictly(self) -> None:
        q = quotes.parse_note(block("x", "grade buddy.x mutant=free-never "
                                    "seed=3"))
        assert isinstance(q, quotes.Quote)
        self.assertEqual((q.kind, q.ktest, q.mutant, q.seed, q.stub),
                         ("grade", "buddy.x", "free-never", 3, False))
        self.assertIsInstance(quotes.parse_note(block("x", "console")), str)
        self.assertIsInstance(quotes.parse_note(block("x", "grades a.b")),
                              str)
        self.assertIsInstance(quotes.parse_note(
            block("x", "console a.b stub mutant=m")), str)

    def test_a_note_must_sit_on_the_line_before_the_fence(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "lab3-buddy.md"
            p.write_text("<!-- quoted: boot -->\n```\nx\n```\n\n"
                         "<!-- quoted: boot -->\n\ntext\n\n```\ny\n```\n")
            got = quotes.blocks(p, 3)
        self.assertEqual([b.note for b in got], ["boot", None])


class Gdb(unittest.TestCase):
    def test_a_gdb_command_nothing_runs_is_caught(self) -> None:
        # Drift: lab 1's walkthrough quoted a step its twin left out.
        b = block("(gdb) p x    # the value\n(gdb) step\n")
        self.assertEqual(len(quotes.gdb_problems(b, {"p x"})), 1)
        self.assertEqual(quotes.gdb_problems(b, {"p x", "step"}), [])


if __name__ == "__main__":
    unittest.main()
