"""Boot planning: resumes after a crash, blame, alone-boots for panics.

Boots are replayed from scripted logs, so every path is exercised without
QEMU. Each test names the planning bug it would catch.
"""

from __future__ import annotations

import threading
import unittest

from tests.support import fake_boot, log_text
from vmgrade import run
from vmgrade.qemu import Boot
from vmgrade.spec import TestSpec

RESUMED = """KTAP version 1
1..1
    KTAP version 1
    # Subtest: buddy
    1..1
    # RUN buddy.coalesce
    ok 1 coalesce
ok 1 buddy
# vmlab: tests done
"""


class Script:
    """A boot function that answers each command line from a table."""

    def __init__(self, answers: dict[str, tuple[str, str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, cmdline: str) -> Boot:
        with self.lock:
            self.asked.append(cmdline)
        log, outcome = self.answers.get(cmdline, ("", "finished"))
        return fake_boot(log, outcome, cmdline)


def specs(*names: str) -> list[TestSpec]:
    return [TestSpec(n, 1, 1) for n in names]


BUDDY = ["boot.printf_formats", "buddy.alloc_one", "buddy.split",
         "buddy.coalesce"]
MAIN = "ktest=boot.*,buddy.* seed=1"


class Chain(unittest.TestCase):
    def test_crash_is_blamed_and_the_rest_resumed(self) -> None:
        # Bug: a panic loses every later test instead of resuming after it.
        script = Script({
            MAIN: (log_text("panic.log"), "panic"),
            MAIN + " kresume=buddy.split": (RESUMED, "finished")})
        result = run.run_all(script, specs(*BUDDY), 1)
        self.assertEqual(script.asked, [MAIN, MAIN + " kresume=buddy.split"])
        self.assertEqual({n: r.status for n, r in result.runs.items()}, {
            "boot.printf_formats": "pass", "buddy.alloc_one": "pass",
            "buddy.split": "crashed", "buddy.coalesce": "pass"})
        split = result.runs["buddy.split"]
        assert split.crash is not None
        self.assertEqual(split.crash.outcome, "panic")
        self.assertEqual(split.crash.panic, "panic[cpu0]: buddy_free: lab 3")
        self.assertEqual(split.lines, ["# buddy.c:210: splitting order 3"])
        self.assertIn("    [<ffffffff80101234>] ktest_run_all+0x130",
                      split.crash.excerpt)
        self.assertEqual((split.boot, result.runs["buddy.coalesce"].boot),
                         (0, 1))

    def test_death_before_any_run_crashes_everything_once(self) -> None:
        # Bug: resuming with no test to resume after (an endless loop), or
        # leaving the unreported tests "missing" instead of crashed.
        script = Script({MAIN: ("vmlab: early\npanic[cpu0]: early boom\n",
                                "panic")})
        result = run.run_all(script, specs(*BUDDY), 1)
        self.assertEqual(len(script.asked), 1)
        for name in BUDDY:
            crash = result.runs[name].crash
            assert crash is not None
            self.assertEqual((result.runs[name].status, crash.outcome),
                             ("crashed", "panic"))
            self.assertEqual(crash.panic, "panic[cpu0]: early boom")

    def test_a_kernel_that_ignores_kresume_cannot_loop(self) -> None:
        # Bug: the same crash booted again and again.
        log = log_text("panic.log")
        script = Script({MAIN: (log, "timeout"),
                         MAIN + " kresume=buddy.split": (log, "timeout")})
        result = run.run_all(script, specs(*BUDDY), 1)
        self.assertEqual(len(script.asked), 2)
        self.assertEqual(result.runs["buddy.coalesce"].status, "crashed")

    def test_two_wall_timeouts_end_the_chain(self) -> None:
        # Bug: a kernel that hangs past the watchdog in every test costs a
        # wall-clock backstop per test: hours for one submission.
        def hang_in(name: str) -> tuple[str, str]:
            return (f"KTAP version 1\n1..1\n    # Subtest: buddy\n"
                    f"    1..3\n    # RUN {name}\n", "wall-timeout")

        script = Script({
            MAIN: hang_in("buddy.alloc_one"),
            MAIN + " kresume=buddy.alloc_one": hang_in("buddy.split")})
        result = run.run_all(script, specs(*BUDDY), 1)
        self.assertEqual(script.asked,
                         [MAIN, MAIN + " kresume=buddy.alloc_one"])
        coalesce = result.runs["buddy.coalesce"]
        assert coalesce.crash is not None
        self.assertEqual(coalesce.status, "crashed")
        self.assertEqual(coalesce.crash.outcome, run.WALL_GIVE_UP)
        self.assertEqual(result.runs["buddy.split"].crash.outcome,
                         "wall-timeout")

    def test_resumes_are_bounded_by_the_number_of_tests(self) -> None:
        # Bug: a kernel crashing in a new (unexpected) test each boot.
        def boot(cmdline: str) -> Boot:
            n = cmdline.count("kresume") and int(cmdline[-1]) + 1
            return fake_boot(f"KTAP version 1\n1..1\n# Subtest: x\n1..9\n"
                             f"# RUN x.t{n}\n", "timeout", cmdline)

        asked: list[str] = []
        result = run.run_chain(lambda c: asked.append(c) or boot(c),
                               ["x.*"], 1, ["x.a", "x.b"])
        self.assertEqual(len(asked), 3)
        self.assertEqual(result.runs["x.a"].status, "crashed")

    def test_a_plan_that_never_reports_marks_its_tests_crashed(self) -> None:
        # Bug: tests a suite planned but never reported look "missing".
        names = ["trap.divide_error", "trap.breakpoint",
                 "trap.page_fault_decode", "trap.gp_fault", "other.thing"]
        script = Script({"ktest=trap.*,other.* seed=1":
                         (log_text("missing_plan.log"), "finished")})
        result = run.run_all(script, specs(*names), 1)
        crash = result.runs["trap.gp_fault"].crash
        assert crash is not None
        self.assertEqual(crash.outcome, run.NO_RESULT)
        self.assertNotIn("other.thing", result.runs)

    def test_suite_globs_leave_out_suites_of_alone_tests(self) -> None:
        tests = specs("boot.a", "trap.b") + [
            TestSpec("only.panics", 0, 0, expect_panic="x")]
        self.assertEqual(run.suite_globs(tests), ["boot.*", "trap.*"])


BOOM = TestSpec("demo.boom", 0, 1, expect_panic="deliberate panic 0x2a",
                expect_backtrace="ktest_demo_boom")
BOOM_LOG = """KTAP version 1
1..1
    KTAP version 1
    # Subtest: demo
    1..1
    # RUN demo.boom
panic[cpu0]: {msg}
    [<ffffffff80101234>] {sym}+0x1c
"""


class Alone(unittest.TestCase):
    def judge(self, log: str, outcome: str) -> run.TestRun | None:
        return run.judge_alone(BOOM, fake_boot(log, outcome),
                               run.ktap.parse(log))

    def boom(self, msg: str = "ktest: deliberate panic 0x2a",
             sym: str = "ktest_demo_boom") -> str:
        return BOOM_LOG.format(msg=msg, sym=sym)

    def test_the_expected_panic_passes(self) -> None:
        r = self.judge(self.boom(), "panic")
        assert r is not None
        self.assertEqual(r.status, "pass")

    def test_the_wrong_message_fails(self) -> None:
        # Bug: any panic accepted.
        r = self.judge(self.boom(msg="page fault"), "panic")
        assert r is not None
        self.assertEqual(r.status, "fail")
        self.assertIn("expected a panic containing", r.lines[-1])

    def test_the_wrong_backtrace_fails(self) -> None:
        # Bug: expect_backtrace not checked.
        r = self.judge(self.boom(sym="somewhere_else"), "panic")
        assert r is not None
        self.assertEqual(r.status, "fail")
        self.assertIn("somewhere_else", r.lines[-1])

    def test_returning_instead_of_panicking_fails(self) -> None:
        log = self.boom().split("panic[")[0] + "    ok 1 boom\n"
        r = self.judge(log, "finished")
        assert r is not None
        self.assertEqual(r.status, "fail")

    def test_a_panic_before_the_test_ran_is_a_crash(self) -> None:
        # Bug: an early-boot panic with the right words passes the test.
        r = self.judge("panic[cpu0]: ktest: deliberate panic 0x2a\n", "panic")
        assert r is not None
        self.assertEqual(r.status, "crashed")

    def test_a_test_the_kernel_lacks_is_missing(self) -> None:
        self.assertIsNone(self.judge("KTAP version 1\n1..0\n", "finished"))

    def test_run_all_boots_alone_tests_next_to_the_main_boot(self) -> None:
        script = Script({
            "ktest=demo.* seed=3": (RESUMED.replace("buddy", "demo"),
                                    "finished"),
            "ktest=demo.boom seed=3": (self.boom(), "panic")})
        tests = specs("demo.coalesce") + [BOOM]
        result = run.run_all(script, tests, 3)
        self.assertEqual(sorted(script.asked), ["ktest=demo.* seed=3",
                                                "ktest=demo.boom seed=3"])
        self.assertEqual(result.runs["demo.boom"].status, "pass")
        self.assertEqual(result.runs["demo.boom"].boot, 1)
        self.assertEqual(len(result.boots), 2)


if __name__ == "__main__":
    unittest.main()


class CommandLine(unittest.TestCase):
    def test_a_value_the_kernel_would_cut_is_refused(self) -> None:
        # Bug caught: --only with many names, or many budgets, cut short by
        # the kernel's buffer, so the last tests silently never run (they
        # showed as "missing") or run on the default budget.
        from vmgrade import GraderError
        from vmgrade.qemu import KTEST_VALUE_MAX, kernel_cmdline
        names = [f"suite.test_number_{i:03d}" for i in range(60)]
        with self.assertRaisesRegex(GraderError, "reads at most 1023"):
            kernel_cmdline(names, 1)
        with self.assertRaisesRegex(GraderError, "tbudget="):
            kernel_cmdline(["a.*"], 1, None, "2," + "x" * 510)
        fits = ["t" * (KTEST_VALUE_MAX - 2)]
        self.assertIn("ktest=" + fits[0], kernel_cmdline(fits, 1))
