"""The KTAP parser on recorded serial logs (grader/tests/logs/).

Each test names the parser bug it would catch.
"""

from __future__ import annotations

import unittest

from tests.support import LOGS, log_text, run_forked
from vmgrade import ktap


def statuses(log: ktap.KtapLog) -> dict[str, str]:
    return {name: r.status for name, r in log.results.items()}


class CleanAndMixed(unittest.TestCase):
    def test_clean_pass_reads_every_leaf_and_no_suite_summary(self) -> None:
        # Bug: "ok 1 boot" (a suite summary) recorded as a test.
        log = ktap.parse(log_text("clean_pass.log"))
        self.assertEqual(statuses(log), {
            "boot.printf_formats": "pass", "boot.string_functions": "pass",
            "boot.cmdline_parse": "pass", "trap.divide_error": "pass",
            "trap.breakpoint": "pass"})
        self.assertTrue(log.done)
        self.assertIsNone(log.running)
        self.assertEqual(log.reports, 1)

    def test_mixed_keeps_each_tests_own_diagnostics(self) -> None:
        # Bug: diagnostics attached to the wrong test, or lost.
        log = ktap.parse(log_text("mixed.log"))
        self.assertEqual(statuses(log), {
            "boot.printf_formats": "pass", "boot.string_functions": "fail",
            "boot.needs_smp": "skip", "boot.memmap_sane": "fail"})
        self.assertEqual(log.results["boot.string_functions"].lines, [
            "# lib_test.c:42: EXPECT_EQ failed: strlen(s) == 3",
            "#   strlen(s) = 4 (0x4)", "#   3 = 3 (0x3)"])
        self.assertEqual(log.results["boot.printf_formats"].lines, [])
        self.assertEqual(log.results["boot.memmap_sane"].lines,
                         ["# memmap_test.c:17: ASSERT_TRUE failed: "
                          "e820_count > 0"])
        self.assertEqual(log.results["boot.needs_smp"].reason, "needs 2 CPUs")


class Times(unittest.TestCase):
    def test_time_line_is_the_tests_time_not_a_diagnostic(self) -> None:
        # Bug: "# time:" shown to students as a failure diagnostic, or the
        # time given to the next test.
        log = ktap.parse("KTAP version 1\n1..1\n    KTAP version 1\n"
                         "    # Subtest: s\n    1..2\n    # RUN s.a\n"
                         "    # note\n    # time: 1234 us\n    ok 1 a\n"
                         "    # RUN s.b\n    ok 2 b\nok 1 s\n")
        a, b = log.results["s.a"], log.results["s.b"]
        self.assertEqual((a.time_us, a.lines), (1234, ["# note"]))
        self.assertIsNone(b.time_us)


class Shapes(unittest.TestCase):
    def test_three_levels_of_nesting(self) -> None:
        # Bug: a nested summary ("not ok 1 walk") taken for a test of hat,
        # or the inner suite's tests named after the outer suite.
        log = ktap.parse(log_text("nested3.log"))
        self.assertEqual(statuses(log), {
            "walk.pae": "pass", "walk.level4": "fail", "walk.level5": "skip",
            "hat.memload_basic": "pass", "boot.printf_formats": "pass"})
        self.assertEqual(log.suites["hat"].deficit, 0)
        self.assertEqual(log.suites["walk"].planned, 3)

    def test_no_indentation_at_all(self) -> None:
        # Bug: relying on indentation to tell a summary from a leaf.
        log = ktap.parse(log_text("flat.log"))
        self.assertEqual(statuses(log), {
            "boot.printf_formats": "pass", "boot.string_functions": "fail",
            "trap.breakpoint": "pass"})
        self.assertEqual(log.results["boot.string_functions"].lines,
                         ["# lib_test.c:42: EXPECT_EQ failed"])

    def test_two_space_indent_and_tap14_header_without_run_lines(self) -> None:
        # Bug: assuming 4-space indents, "KTAP" headers or "# RUN" lines.
        log = ktap.parse(log_text("indent2.log"))
        self.assertEqual(statuses(log), {"seg.map_basic": "pass",
                                         "seg.unmap_middle": "fail"})

    def test_skip_todo_xfail_directives(self) -> None:
        # Bug: a SKIP or TODO test counted as a pass, or the directive
        # glued into the test's name.
        log = ktap.parse(log_text("skip_todo.log"))
        self.assertEqual(statuses(log), {
            "kmem.plain": "pass", "kmem.smp_magazines": "skip",
            "kmem.reap_depot": "skip", "kmem.redzone": "skip",
            "kmem.known_bug": "fail"})
        todo = log.results["kmem.reap_depot"]
        self.assertEqual((todo.directive, todo.reason),
                         ("TODO", "depot reaping is lab 4 part B"))
        self.assertEqual(log.results["kmem.redzone"].directive, "SKIP")


class DirtyLogs(unittest.TestCase):
    def test_garbage_interleaved_and_glued(self) -> None:
        # Bug: a half line in front of "ok 2 split" loses the result; a
        # column-0 "ok 7 ..." from a debug print closes the suite early.
        log = ktap.parse(log_text("garbage.log"))
        self.assertEqual(statuses(log), {
            "buddy.alloc_one": "pass", "buddy.split": "pass",
            "buddy.coalesce": "fail", "buddy.exhaustion": "pass"})
        self.assertIn("my debug: order=0 pfn=0x1234",
                      log.results["buddy.alloc_one"].lines)
        self.assertIn("# buddy_test.c:99: EXPECT_EQ failed: nr_free(3) == 1",
                      log.results["buddy.coalesce"].lines)
        self.assertNotIn("buddy.not_a_test_just_noise", log.results)

    def test_crlf_line_endings(self) -> None:
        # Bug: "\r" left on names, so "hat.memload_basic\r" matches nothing.
        log = ktap.parse(log_text("crlf.log"))
        self.assertEqual(statuses(log), {"hat.memload_basic": "pass",
                                         "hat.unload_frees": "fail"})
        self.assertTrue(log.done)

    def test_truncated_mid_line_blames_the_running_test(self) -> None:
        # Bug: a cut-off report raises, or forgets which test was running.
        log = ktap.parse(log_text("truncated.log"))
        self.assertEqual(len(log.results), 2)
        self.assertEqual(log.running, "boot.cmdline_parse")
        self.assertEqual(log.running_lines,
                         ["# cmdline_test.c:3: EXPECT_STREQ fa"])
        self.assertFalse(log.done)

    def test_non_utf8_bytes_are_replaced(self) -> None:
        # Bug: decoding errors, or a replaced byte breaking the structure.
        log = ktap.parse_bytes((LOGS / "non_utf8.log").read_bytes())
        self.assertEqual(statuses(log), {"boot.printf_formats": "fail",
                                         "boot.string_functions": "pass"})
        self.assertIn("\ufffd", log.results["boot.printf_formats"].lines[0])

    def test_every_prefix_of_every_log_parses(self) -> None:
        # Bug: some cut point (mid-header, mid-plan...) raises.
        for path in sorted(LOGS.glob("*.log")):
            data = path.read_bytes()
            for cut in range(0, len(data), 7):
                ktap.parse_bytes(data[:cut])


class Crashes(unittest.TestCase):
    def test_plan_with_missing_tests_has_a_deficit(self) -> None:
        # Bug: a suite that promised 5 and reported 3 looks complete.
        log = ktap.parse(log_text("missing_plan.log"))
        self.assertEqual(log.suites["trap"].deficit, 2)
        self.assertEqual(len(log.results), 3)

    def test_panic_mid_test(self) -> None:
        # Bug: the panic not tied to the running test, or its backtrace lost.
        log = ktap.parse(log_text("panic.log"))
        self.assertEqual(log.running, "buddy.split")
        panic = log.panic
        assert panic is not None
        self.assertEqual(panic.message, "buddy_free: lab 3")
        self.assertEqual(panic.test, "buddy.split")
        self.assertEqual(panic.backtrace, ["panic", "buddy_free",
                                           "ktest_buddy_split",
                                           "ktest_run_all"])
        self.assertEqual(log.running_lines,
                         ["# buddy.c:210: splitting order 3"])
        self.assertEqual(log.suites["buddy"].deficit, 2)

    def test_two_reports_glued_by_a_resume(self) -> None:
        # Bug: the second report's header taken as a nested suite, so its
        # tests vanish or get the wrong suite.
        log = ktap.parse(log_text("resume_glued.log"))
        self.assertEqual(log.reports, 2)
        self.assertEqual(statuses(log), {
            "boot.printf_formats": "pass", "buddy.alloc_one": "pass",
            "buddy.coalesce": "pass"})
        self.assertIsNone(log.running)
        self.assertEqual(log.panics[0].test, "buddy.split")

    def test_panic_text_inside_a_diagnostic_is_not_a_panic(self) -> None:
        # Bug: a test printing the expected panic text fakes a panic.
        log = ktap.parse("KTAP version 1\n1..1\n# Subtest: t\n1..1\n"
                         "# RUN t.x\n# want 'panic[cpu0]: boom'\nok 1 x\n")
        self.assertEqual(log.panics, [])
        self.assertEqual(statuses(log), {"t.x": "pass"})

    def test_a_flood_of_output_keeps_a_bounded_tail(self) -> None:
        # Bug: a test printing forever makes the kept lines unbounded.
        noise = "".join(f"line {i}\n" for i in range(5000))
        log = ktap.parse("KTAP version 1\n1..1\n# Subtest: t\n1..1\n"
                         f"# RUN t.x\n{noise}not ok 1 x\n")
        lines = log.results["t.x"].lines
        self.assertEqual(len(lines), ktap.MAX_TEST_LINES + 1)
        self.assertIn("4800 more lines", lines[-1])


MB = 1 << 20
# Lines that made a regex backtrack, or the parser's state grow, with the
# length of the input: each is about 1.5 MB of a log.
ADVERSARIAL = {
    "directive": "ok 1 a" + " " * (3 * MB // 2) + "b",
    "directive_hashes": "ok 1 a" + "# \t" * (MB // 2) + "b",
    "run": "x # RUN t.a" + " " * (3 * MB // 2) + "b",
    "glued_result": "ok 1" + "1" * (3 * MB // 2),
    "glued_not_ok": "not ok 1" * (MB // 5),
    "backtrace": "panic[cpu0]: x\n" + "[<" + "f" * (3 * MB // 2) + ">]" +
                 " " * 1000 + "?",
    "header": "KTAP version 1" + " " * (3 * MB // 2) + "x",
    # About half a megabyte each: a quadratic parser takes minutes on them.
    "nesting": "".join(" " * (i % 64) + "KTAP version 1\n1..1\n"
                       for i in range(MB // 80)) + "ok 1 x\n" * 10000,
    "flat_headers": "KTAP version 1\n1..1\n" * (MB // 40) +
                    "ok 1 x\n" * 10000,
    "subtests": "KTAP version 1\n" + "".join(
        f"# Subtest: s{i}\n1..1\nok 1 t\n" for i in range(MB // 50)),
    "tabs": "\t" * (3 * MB // 2) + "ok 1 x",
    # Lines under the length cap: the patterns themselves must be linear.
    "directives_capped": ("ok 1 a" + " " * 4000 + "b\n") * 400,
    "runs_capped": ("x # RUN t.a" + " " * 4000 + "b\n") * 400,
    "glued_capped": ("ok 1" + "1" * 4000 + "\n") * 400,
}


class Linear(unittest.TestCase):
    """The parser takes time in proportion to the log, whatever it holds."""

    BOUND_S = 5.0       # each takes under 0.5 s, even on a loaded machine

    def test_adversarial_lines_parse_in_linear_time(self) -> None:
        # Bug: "ok 1 a" + 1.5 MB of spaces + "b" made the directive regex
        # backtrack quadratically: the grader hung on one line of output.
        for name, text in ADVERSARIAL.items():
            with self.subTest(case=name):
                seconds = run_forked(ktap.parse, text, self.BOUND_S)
                self.assertIsNotNone(seconds, f"{name}: parsing took more "
                                     f"than {self.BOUND_S} s")

    def test_a_long_line_is_cut_with_a_marker(self) -> None:
        # Bug: a megabyte line kept whole in diagnostics and reports.
        line = "# " + "y" * (3 * MB)
        log = ktap.parse("KTAP version 1\n1..1\n# Subtest: t\n1..1\n"
                         f"# RUN t.x\n{line}\nnot ok 1 x\n")
        kept = log.results["t.x"].lines[0]
        self.assertLess(len(kept), ktap.MAX_LINE + 100)
        self.assertIn("more characters cut", kept)

    def test_a_long_directive_line_still_reads(self) -> None:
        # Bug: the linear directive split disagrees with the old one.
        for rest, want in (("x # SKIP  why not", ("x", "SKIP", "why not")),
                           ("x#todo", ("x", "TODO", "")),
                           ("x # skipped # XFAIL y", ("x # skipped", "XFAIL",
                                                     "y")),
                           ("x # SKIPPY", ("x # SKIPPY", None, "")),
                           ("  x  ", ("x", None, ""))):
            self.assertEqual(ktap._split_directive(rest), want, rest)


if __name__ == "__main__":
    unittest.main()
