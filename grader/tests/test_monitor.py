"""Monitor tests: what is typed, what is expected, and how a run is judged.

The logs below are what the kernel's monitor prints over serial (prompt,
echo of the typed line, the command's output), recorded from real runs.
"""
from __future__ import annotations

import json
import tempfile
import unittest
from pathlib import Path

from tests.support import fake_boot
from vmgrade import run
from vmgrade.spec import SpecError, TestSpec, load

LOG = (
    "vmlab monitor: 'help' lists the commands\r\n"
    "vmlab> intrstat\r\n"
    "  vector  name                          count\r\n"
    "     0x3  #bp Breakpoint                    1\r\n"
    "vmlab> ptwalk zz\r\n"
    "usage: ptwalk VA   (e.g. ptwalk 0xffffffff80100000)\r\n"
    "vmlab> poweroff\r\n"
    "vmlab: powering off\r\n")


def monitor_test(*steps: tuple[str, str]) -> TestSpec:
    return TestSpec("monitor.demo", 1, 5, monitor=tuple(steps))


class Judge(unittest.TestCase):
    def test_outputs_split_at_each_prompt(self) -> None:
        outs = run.monitor_outputs(LOG)
        self.assertEqual([typed for typed, _ in outs],
                         ["intrstat", "ptwalk zz", "poweroff"])
        self.assertIn("#bp Breakpoint", outs[0][1])
        self.assertNotIn("usage", outs[0][1])

    def test_every_expectation_met_passes(self) -> None:
        t = monitor_test(("intrstat", r"^ +0x3 +#bp Breakpoint +1$"),
                         ("ptwalk zz", r"^usage: ptwalk VA"))
        self.assertEqual(run.judge_monitor(t, fake_boot(LOG)).status, "pass")

    def test_output_matched_against_its_own_command_only(self) -> None:
        # Bug: matching the whole log let one command's output satisfy
        # another command's expectation.
        t = monitor_test(("intrstat", r"^usage:"), ("ptwalk zz", r"usage"))
        got = run.judge_monitor(t, fake_boot(LOG))
        self.assertEqual(got.status, "fail")
        self.assertIn("typed 'intrstat': expected /^usage:/ in:", got.lines)

    def test_a_monitor_that_never_answers_fails(self) -> None:
        t = monitor_test(("intrstat", "x"), ("help", "y"), ("cpus", "z"),
                         ("memmap", "w"))
        got = run.judge_monitor(t, fake_boot(LOG))
        self.assertIn("typed 'memmap': the monitor never answered", got.lines)

    def test_a_crash_is_crashed_even_if_the_text_matched(self) -> None:
        t = monitor_test(("intrstat", "count"))
        got = run.judge_monitor(t, fake_boot(LOG, outcome="triple-fault"))
        self.assertEqual(got.status, "crashed")
        assert got.crash is not None
        self.assertEqual(got.crash.outcome, "triple-fault")

    def test_run_alone_types_the_lines_then_poweroff(self) -> None:
        seen: list[tuple[str, str | None]] = []

        def boot(cmdline: str, typed: str | None = None):  # type: ignore
            seen.append((cmdline, typed))
            return fake_boot(LOG)

        t = monitor_test(("intrstat", "count"), ("ptwalk zz", "usage"))
        result, _ = run.run_alone(boot, t, 7)
        self.assertEqual(seen, [("seed=7", "intrstat\nptwalk zz\npoweroff\n")])
        assert result is not None
        self.assertEqual(result.status, "pass")


class Spec(unittest.TestCase):
    def load_tests(self, tests: list[dict]) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "labs.json"
            path.write_text(json.dumps({"labs": [
                {"lab": 1, "name": "trap", "student_files": []}],
                "tests": tests}))
            self.spec = load(path)

    def test_monitor_steps_parse_and_end_the_run(self) -> None:
        self.load_tests([{"name": "monitor.x", "lab": 1, "monitor": [
            {"send": "intrstat", "expect": "count"}]}])
        t = self.spec.tests[0]
        self.assertEqual(t.monitor, (("intrstat", "count"),))
        self.assertTrue(t.ends_run)

    def test_bad_monitor_steps_are_one_line_errors(self) -> None:
        for bad in ([], [{"send": "a\nb", "expect": "x"}],
                    [{"send": "a", "expect": "("}], [{"send": "a"}]):
            with self.assertRaises(SpecError):
                self.load_tests([{"name": "monitor.x", "lab": 1,
                                  "monitor": bad}])


if __name__ == "__main__":
    unittest.main()
