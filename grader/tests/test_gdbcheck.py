"""grader/gdbcheck: the in-order pattern matcher, expectation files, the
command line, and real walkthrough runs under QEMU and gdb.

Each test names the bug it would catch.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import tempfile
import time
import unittest
from pathlib import Path
from unittest import mock

from tests.support import GRADER
from vmgrade import build, gdbcheck
from vmgrade.gdbcheck import Pattern

REPO = GRADER.parent
SOLUTIONS = REPO / "solutions"
WALKS = SOLUTIONS / gdbcheck.WALKTHROUGHS

HAVE_TOOLS = all(shutil.which(t) for t in (
    "gdb", "qemu-system-x86_64", "make", "ld")) and bool(
    shutil.which("gcc") or shutil.which("clang"))
needs_tools = unittest.skipUnless(
    HAVE_TOOLS, "needs gdb, qemu-system-x86_64, make, binutils and a C "
    "compiler (scripts/deps.sh)")


def pats(*regexes: str) -> list[Pattern]:
    return [Pattern(r, f"t.expect:{i}") for i, r in enumerate(regexes, 1)]


def running_with(path: Path) -> list[int]:
    """Processes whose command line names path: a QEMU or gdb left behind."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if proc.name.isdigit() and str(path).encode() in cmdline:
            pids.append(int(proc.name))
    return pids


def run_main(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = gdbcheck.main(list(argv))
    return status, out.getvalue(), err.getvalue()


class InOrder(unittest.TestCase):
    TEXT = "Breakpoint 1, trap (rp=0x10)\n$1 = 14\ncr2 0x8000040000\n"

    def test_every_pattern_found_in_order_passes(self) -> None:
        self.assertIsNone(gdbcheck.first_missing(
            pats(r"^Breakpoint 1, trap", r"^\$1 = 14$", r"cr2 0x8"),
            self.TEXT))

    def test_patterns_out_of_order_fail(self) -> None:
        # Bug: each pattern searched from the start of the output, so a
        # walkthrough whose steps got reordered would still pass.
        miss = gdbcheck.first_missing(pats(r"cr2", r"^\$1 = 14$"), self.TEXT)
        self.assertEqual(miss, (2, pats(r"cr2", r"^\$1 = 14$")[1]))

    def test_the_first_missing_pattern_is_the_one_reported(self) -> None:
        # Bug: reporting the last pattern, or a count, instead of naming
        # the step that went stale.
        p = pats(r"^Breakpoint", r"^\$1 = 15$", r"^nothing$")
        self.assertEqual(gdbcheck.first_missing(p, self.TEXT), (2, p[1]))

    def test_one_line_cannot_satisfy_a_pattern_twice(self) -> None:
        # Bug: searching from the previous match's start, not its end.
        self.assertIsNotNone(gdbcheck.first_missing(
            pats(r"cr2", r"cr2"), self.TEXT))

    def test_anchors_are_per_line(self) -> None:
        # Bug: compiling without re.M, so ^ only matches the first line.
        self.assertIsNone(gdbcheck.first_missing(pats(r"^cr2 0x8\d+$"),
                                                 self.TEXT))

    def test_a_pattern_may_span_lines_with_backreferences(self) -> None:
        text = "va1: 0xab 0xcd\nva2: 0xab 0xcd\n"
        self.assertIsNone(gdbcheck.first_missing(
            pats(r"^va1: (\S+) (\S+)\nva2: \1 \2$"), text))
        self.assertIsNotNone(gdbcheck.first_missing(
            pats(r"^va1: (\S+) (\S+)\nva2: \2 \1$"), text))


class Judging(unittest.TestCase):
    def test_a_failed_command_fails_even_if_all_patterns_matched(self) -> None:
        # Bug: a walkthrough whose last command errors passes, because gdb
        # stopped the script after every pattern had already been printed.
        out = "ok\nlab.gdb:9: Error in sourced command file:\nNo symbol\n"
        self.assertIn("a command failed: lab.gdb:9: Error in sourced",
                      gdbcheck._judge(pats("ok"), out))

    def test_only_a_last_continue_may_end_the_session(self) -> None:
        # A walkthrough ends as a student's does: the last `continue` lets
        # the kernel power off. Bug: that pass extended to any failing
        # command followed by the connection closing, or to line 9 when
        # the script goes on.
        out = "ok\nlab.gdb:9: Error in sourced command file:\n" \
              "Remote connection closed\n"
        self.assertEqual(gdbcheck._judge(pats("ok"), out, 9), "")
        self.assertIn("a command failed", gdbcheck._judge(pats("ok"), out, 12))
        other = "ok\nlab.gdb:9: Error in sourced command file:\nNo symbol\n"
        self.assertIn("a command failed",
                      gdbcheck._judge(pats("ok"), other, 9))

    def test_a_helper_traceback_fails(self) -> None:
        out = "Python Exception <class 'KeyError'>: 'x'\nok\n"
        self.assertIn("Python Exception", gdbcheck._judge(pats("ok"), out))

    def test_a_miss_names_the_file_line_and_regex(self) -> None:
        why = gdbcheck._judge(pats("a", "b"), "a\n")
        self.assertEqual(why, "missing pattern 2 of 2 (t.expect:2), after "
                         "the ones before it: b")


class ExpectFiles(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="vmlab-test-gdbcheck-"))

    def tearDown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name: str, text: str) -> Path:
        path = self.tmp / name
        path.write_text(text, encoding="utf-8")
        return path

    def test_comments_and_blank_lines_are_not_patterns(self) -> None:
        path = self.write("lab1-trap.expect",
                          "# a comment\n\n^one$\n#\n\\# two\n#0  trap\n")
        got = gdbcheck.read_patterns(path)
        self.assertEqual([p.regex for p in got], ["^one$", "\\# two",
                                                  "#0  trap"])
        self.assertEqual(got[0].where, "lab1-trap.expect:3")

    def test_a_bad_regex_is_named_by_file_and_line(self) -> None:
        path = self.write("x.expect", "fine\n(unclosed\n")
        with self.assertRaisesRegex(gdbcheck.GraderError,
                                    r"^x\.expect:2: not a regex"):
            gdbcheck.read_patterns(path)

    def test_an_empty_expectation_is_an_error(self) -> None:
        # Bug: a walkthrough with no patterns always passes.
        path = self.write("x.expect", "# nothing\n")
        with self.assertRaisesRegex(gdbcheck.GraderError, "no patterns"):
            gdbcheck.read_patterns(path)

    def test_walkthroughs_are_found_with_their_ktest(self) -> None:
        walks = self.tmp / gdbcheck.WALKTHROUGHS
        walks.mkdir(parents=True)
        (walks / "lab3-buddy.gdb").write_text("# ktest: buddy.x\nbt\n")
        (walks / "lab1-trap.gdb").write_text("bt\n")
        found = gdbcheck.discover(self.tmp)
        self.assertEqual([(w.name, w.lab) for w in found],
                         [("lab1-trap", 1), ("lab3-buddy", 3)])
        self.assertEqual([w.ktest() for w in found], [None, "buddy.x"])

    def test_a_badly_named_walkthrough_is_refused(self) -> None:
        walks = self.tmp / gdbcheck.WALKTHROUGHS
        walks.mkdir(parents=True)
        (walks / "trap.gdb").write_text("bt\n")
        with self.assertRaisesRegex(gdbcheck.GraderError, "labN-NAME"):
            gdbcheck.discover(self.tmp)


class TheRepo(unittest.TestCase):
    """The committed walkthroughs, checked without running them."""

    def test_each_walkthrough_has_patterns_and_a_handout(self) -> None:
        # Bug: a walkthrough added without its expectation file or handout.
        walks = gdbcheck.discover(SOLUTIONS)
        self.assertEqual(sorted({w.lab for w in walks}), [1, 2, 3, 4, 5, 6, 7])
        for w in walks:
            self.assertTrue(gdbcheck.read_patterns(w.expect), w.name)
            md = f"{w.name.removesuffix('-handout')}.md" \
                if w.name.endswith("-handout") else f"{w.name}-gdb.md"
            self.assertTrue((REPO / "handouts" / md).is_file(), w.name)

    def test_the_handout_shows_every_command_of_its_twin(self) -> None:
        # Bug: the handout and its machine-checked twin drift apart. A
        # -handout twin belongs to handouts/labN-NAME.md; a line after a
        # "# Not in the handout" comment is setup the handout need not show.
        for w in gdbcheck.discover(SOLUTIONS):
            name = w.name.removesuffix("-handout")
            md = f"{name}.md" if name != w.name else f"{name}-gdb.md"
            handout = (REPO / "handouts" / md).read_text()
            setup = False
            for line in w.script.read_text().splitlines():
                cmd = line.strip()
                if cmd.startswith("#"):
                    setup = cmd.startswith("# Not in the handout")
                elif cmd and not setup:
                    typed = r"^(?:\(gdb\) | ?>)" + re.escape(cmd) + \
                        r"\s*(?:#.*)?$"
                    self.assertTrue(re.search(typed, handout, re.M),
                                    f"{md} does not show: {cmd}")

    def test_gdb_runs_as_make_gdb_runs_it(self) -> None:
        # Bug: gdbcheck checks a gdb set up differently from the one
        # students get from `make gdb` (other flags, no helpers).
        recipe = (SOLUTIONS / "Makefile").read_text()
        argv = gdbcheck.gdb_argv("gdb", Path("H.py"), Path("K.elf"), 1234,
                                 Path("S.gdb"))
        self.assertIn("gdb -q -nx -iex 'set pagination off' -iex 'set "
                      "confirm off'", recipe)
        self.assertIn("-x $(GDBHELPERS) -ex 'file $(O)/kernel.elf'", recipe)
        self.assertIn(f"GDBHELPERS := {gdbcheck.HELPERS}", recipe)
        self.assertEqual(argv, [
            "gdb", "-q", "-nx", "-batch", "-iex", "set pagination off",
            "-iex", "set confirm off", "-x", "H.py", "-ex", "file K.elf",
            "-ex", "target remote 127.0.0.1:1234", "-x", "S.gdb"])


class UserErrors(unittest.TestCase):
    def one_line(self, status: int, err: str, pattern: str) -> None:
        self.assertEqual(status, 2, err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertRegex(err, pattern)
        self.assertNotIn("Traceback", err)

    def test_no_gdb_names_the_debian_package(self) -> None:
        real = shutil.which
        with mock.patch.object(gdbcheck.shutil, "which", lambda name:
                               None if name == "gdb" else real(name)):
            status, _, err = run_main("--lab", "1")
        self.one_line(status, err, "gdb not found: install the Debian "
                      "package gdb")

    def test_no_qemu_names_the_debian_package(self) -> None:
        real = shutil.which
        with mock.patch("shutil.which", lambda name: None if
                        name == "qemu-system-x86_64" else real(name)):
            status, _, err = run_main("--lab", "1")
        self.one_line(status, err, "install the Debian package "
                      "qemu-system-x86")

    def test_not_a_solutions_tree(self) -> None:
        status, _, err = run_main("--solutions", str(GRADER))
        self.one_line(status, err, "not a solutions/ tree")

    def test_a_kernel_needs_exactly_one_lab(self) -> None:
        status, _, err = run_main("--kernel", "/nonexistent.elf")
        self.one_line(status, err, "--kernel runs the walkthroughs of one lab")

    def test_a_lab_without_a_walkthrough(self) -> None:
        status, _, err = run_main("--lab", "9")
        self.one_line(status, err, "--lab 9: there is no lab9-")


@needs_tools
class EndToEnd(unittest.TestCase):
    """Real runs: lab 1's kernel, built once, under QEMU and gdb."""

    kernel: Path
    made: build.BuildResult

    @classmethod
    def setUpClass(cls) -> None:
        cls.made = build.build(SOLUTIONS, {"LAB": "1", "SOL": "1"}, jobs=2)
        if not cls.made.ok or cls.made.kernel is None:
            cls.made.remove()
            raise AssertionError("build failed:\n" + "\n".join(cls.made.tail))
        cls.kernel = cls.made.kernel

    @classmethod
    def tearDownClass(cls) -> None:
        cls.made.remove()

    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="vmlab-test-gdbcheck-"))

    def tearDown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def copy_solutions(self) -> Path:
        """The spec, helpers and walkthroughs, to edit a walkthrough in."""
        sol = self.tmp / "solutions"
        shutil.copytree(SOLUTIONS / "tools" / "gdb", sol / "tools" / "gdb")
        shutil.copy(SOLUTIONS / "labs.json", sol / "labs.json")
        return sol

    def check(self, sol: Path, *extra: str) -> tuple[int, str]:
        status, out, err = run_main("--solutions", str(sol), "--lab", "1",
                                    "--kernel", str(self.kernel), *extra)
        self.assertEqual(err, "")
        return status, out

    def test_the_lab1_walkthrough_passes(self) -> None:
        t0 = time.monotonic()
        status, out = self.check(SOLUTIONS)
        self.assertEqual(status, 0, out)
        self.assertRegex(out, r"^gdbcheck: ok    lab1-trap +"
                         r"trap\.pf_not_present +gdb\+qemu \d+\.\ds\n"
                         r"gdbcheck: ok    lab1-trap-handout +"
                         r"trap\.pf_not_present +gdb\+qemu \d+\.\ds\n$")
        self.assertLess(time.monotonic() - t0, 120)   # hung, not slow
        self.assertEqual(running_with(self.kernel), [])

    def test_a_stale_pattern_fails_and_is_named(self) -> None:
        # Bug: a walkthrough whose kernel changed under it still passes.
        sol = self.copy_solutions()
        expect = sol / gdbcheck.WALKTHROUGHS / "lab1-trap.expect"
        text = expect.read_text()
        self.assertIn("^\\$2 = 0x8000040000$", text)
        expect.write_text(text.replace("^\\$2 = 0x8000040000$",
                                       "^\\$2 = 0x8000050000$"))
        status, out = self.check(sol)
        self.assertEqual(status, 1, out)
        self.assertIn("gdbcheck: FAIL  lab1-trap", out)
        self.assertRegex(out, r"missing pattern \d+ of \d+ \(lab1-trap\."
                         r"expect:\d+\), after the ones before it: "
                         + re.escape("^\\$2 = 0x8000050000$"))
        self.assertIn("  gdb printed:\n    | vmlab: gdb helpers loaded", out)
        self.assertIn("    | $2 = 0x8000040000", out)

    def test_a_failing_command_stops_and_fails_the_walkthrough(self) -> None:
        sol = self.copy_solutions()
        script = sol / gdbcheck.WALKTHROUGHS / "lab1-trap.gdb"
        script.write_text(script.read_text().replace(
            "vm-regs\n", "vm-regs no_such_symbol\n"))
        status, out = self.check(sol)
        self.assertEqual(status, 1, out)
        self.assertIn("a command failed: ", out)
        self.assertIn("vm-regs: no_such_symbol: No symbol", out)

    def test_a_walkthrough_that_never_stops_is_cut_off(self) -> None:
        # Bug: a continue that never returns hangs make check, or leaves
        # QEMU running after gdbcheck gave up.
        sol = self.copy_solutions()
        script = sol / gdbcheck.WALKTHROUGHS / "lab1-trap.gdb"
        script.write_text("continue\n")  # no ktest: the monitor waits
        t0 = time.monotonic()
        status, out = self.check(sol, "--timeout", "2")
        self.assertEqual(status, 1, out)
        self.assertIn("the wall-clock limit of 2 s ran out", out)
        self.assertLess(time.monotonic() - t0, 60)    # hung, not slow
        self.assertEqual(running_with(self.kernel), [])


if __name__ == "__main__":
    unittest.main()
