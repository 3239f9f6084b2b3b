"""Reports: the table, JSON, JUnit XML and Gradescope results.json.

Each test names the reporting bug it would catch.
"""

from __future__ import annotations

import io
import json
import re
import os
import shlex
import tempfile
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.support import fake_boot
from vmgrade import report, safetext
from vmgrade.build import BuildResult
from vmgrade.job import Grade
from vmgrade.run import Crash, TestRun
from vmgrade.score import score, unbuilt
from vmgrade.spec import Lab, QemuConfig, Spec, TestSpec
from vmgrade.tree import Target

TESTS = [TestSpec("boot.a", 0, 0), TestSpec("trap.ok", 1, 10),
         TestSpec("trap.bad", 1, 5), TestSpec("trap.hang", 1, 5),
         TestSpec("trap.skipped", 1, 2), TestSpec("trap.gone", 1, 3),
         TestSpec("trap.secret", 1, 4, hidden=True),
         TestSpec("trap.after", 1, 0)]


def grade(built: bool = True, sol: int | None = None) -> Grade:
    lab = Lab(1, "trap", "Traps", 1, "64M", ("answers-lab1.txt",))
    spec = Spec(Path("/x/lab.json"), QemuConfig(), {1: lab}, {}, TESTS,
                None if sol is not None else 1)
    target = Target(Path("/x"), spec, 1, sol, True)
    build = BuildResult(built, Path("/o/kernel.elf") if built else None,
                        0 if built else 2, [] if built else
                        ["kern/trap.c:3: error: oops"], 1.5, Path("/o"))
    if not built:
        return Grade(target, 7, build, [], unbuilt(TESTS), 2.0)
    runs = {
        "boot.a": TestRun("boot.a", "pass"),
        "trap.ok": TestRun("trap.ok", "pass"),
        "trap.bad": TestRun("trap.bad", "fail", ["# trap_test.c:9: EXPECT"]),
        "trap.hang": TestRun("trap.hang", "crashed", ["# about to hang"],
                             crash=Crash("timeout", None, ["  last line"])),
        "trap.after": TestRun("trap.after", "crashed",
                              crash=Crash("timeout", None, ["  last line"])),
        "trap.skipped": TestRun("trap.skipped", "skip", reason="no SMP"),
        "trap.secret": TestRun("trap.secret", "pass"),
        "trap.extra": TestRun("trap.extra", "fail"),
    }
    boots = [fake_boot("KTAP version 1\n", "timeout", "ktest=boot.*,trap.*")]
    return Grade(target, 7, build, boots, score(TESTS, runs, lambda n: False),
                 3.0)


class Table(unittest.TestCase):
    def test_table_lists_this_labs_tests_and_details_the_failures(self) -> None:
        # Bug: a stub's report scrolls its score away, or mixes the given
        # labs' points into the student's ("215/310" for a lab 3 stub).
        text = report.table(grade(), report.Style())
        for name in ("trap.ok", "trap.bad", "trap.gone", "trap.extra"):
            self.assertIn(name, text)
        self.assertNotIn("boot.a", text)        # given, and it passed
        self.assertIn("crashed (timeout)", text)
        self.assertIn("# trap_test.c:9: EXPECT", text)
        self.assertIn("rerun: make qemu KTEST=trap.bad SEED=7", text)
        self.assertIn("make qemu-gdb KTEST=trap.bad SEED=7", text)
        self.assertIn("  last line", text)
        self.assertNotIn("--- trap.ok", text)
        self.assertNotIn("total", text)
        self.assertTrue(text.rstrip().splitlines()[-2].startswith(
            "  lab 1: 2/7 tests, 14/29 points"))
        self.assertIn("given (kit, labs before 1):   1/1", text)
        self.assertNotIn("\033[", text)
        self.assertLess(text.index("--- trap.bad"), text.index("  test "))

    def test_same_failures_share_a_block_and_blocks_are_bounded(self) -> None:
        # Bug: 17 failure blocks that all say the same thing bury the
        # scoreboard.
        many = [TestSpec(f"trap.t{i}", 1, 1) for i in range(20)]
        lab = Lab(1, "trap", "Traps", 1, "64M", ("answers-lab1.txt",))
        spec = Spec(Path("/x/lab.json"), QemuConfig(), {1: lab}, {}, many, 1)
        runs = {t.name: TestRun(t.name, "fail", ["# same reason"])
                for t in many[:10]}
        runs.update({t.name: TestRun(t.name, "fail", [f"# reason {i}"])
                     for i, t in enumerate(many[10:])})
        build = BuildResult(True, Path("/o/k"), 0, [], 1.0, Path("/o"))
        g = Grade(Target(Path("/x"), spec, 1, None, True), 1, build, [],
                  score(many, runs, lambda n: False), 1.0)
        text = report.table(g, report.Style())
        self.assertEqual(text.count("# same reason"), 1)
        self.assertIn("the same failure in 9 more: trap.t1, trap.t2", text)
        self.assertEqual(text.count("\n--- trap."), report.MAX_BLOCKS)
        self.assertIn("5 more failing test(s)", text)
        self.assertIn("V=1", text)
        full = report.table(g, report.Style(verbose=True))
        self.assertEqual(full.count("\n--- trap."), 20)
        self.assertIn("total", full)

    def test_a_boots_log_excerpt_is_shown_once(self) -> None:
        # Bug: thirty tests killed by one early crash repeat its log 30 times.
        text = report.table(grade(), report.Style())
        self.assertEqual(text.count("  last line"), 1)
        self.assertIn("the end of the serial log: as for trap.hang", text)
        data = report.to_gradescope(grade())
        after = next(t for t in data["tests"] if "trap.after" in t["name"])
        self.assertIn("last line", after["output"])

    def test_verbose_details_passing_tests_too(self) -> None:
        text = report.table(grade(), report.Style(verbose=True))
        self.assertIn("--- trap.ok: pass", text)

    def test_repro_for_solutions_names_lab_and_sol(self) -> None:
        # Bug: a rerun of the reference builds the wrong level.
        cmds = report.repro(grade(sol=0), "trap.bad", None)
        assert cmds is not None
        run, gdb = cmds
        self.assertEqual(run, "make qemu LAB=1 SOL=0 KTEST=trap.bad SEED=7")
        self.assertTrue(gdb.startswith("make qemu-gdb LAB=1 SOL=0"))

    def test_build_failure_shows_the_compiler(self) -> None:
        text = report.table(grade(built=False), report.Style())
        self.assertIn("did not build", text)
        self.assertIn("kern/trap.c:3: error: oops", text)
        self.assertIn("0/29 points", text)

    def test_colour_only_when_asked(self) -> None:
        text = report.table(grade(), report.Style(color=True))
        self.assertIn("\033[31m", text)


class Colour(unittest.TestCase):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    def test_no_colour_when_not_a_terminal(self) -> None:
        self.assertFalse(report.use_color(io.StringIO(), {}))

    def test_colour_on_a_terminal(self) -> None:
        self.assertTrue(report.use_color(self.Tty(), {}))

    def test_no_color_wins_even_on_a_terminal(self) -> None:
        # Bug: NO_COLOR ignored.
        self.assertFalse(report.use_color(self.Tty(), {"NO_COLOR": "1"}))

    def test_empty_no_color_is_unset(self) -> None:
        self.assertTrue(report.use_color(self.Tty(), {"NO_COLOR": ""}))


class Machine(unittest.TestCase):
    def test_json_is_complete_and_round_trips(self) -> None:
        data = json.loads(json.dumps(report.to_json(grade())))
        self.assertEqual(data["schema"], "vmlab-grade/1")
        self.assertEqual((data["score"], data["max_score"]), (14, 29))
        by_name = {t["name"]: t for t in data["tests"]}
        self.assertEqual(by_name["trap.hang"]["outcome"], "timeout")
        self.assertEqual(by_name["trap.gone"]["status"], "missing")
        self.assertEqual(by_name["trap.extra"]["status"], "unexpected")
        self.assertEqual([lab["label"] for lab in data["labs"]],
                         ["kit", "lab 1"])
        self.assertEqual(data["boots"][0]["outcome"], "timeout")

    def test_junit_parses_and_counts(self) -> None:
        # Bug: malformed XML, or counts that do not match the cases.
        root = ET.fromstring(report.to_junit([grade(), grade(built=False)]))
        self.assertEqual(root.tag, "testsuites")
        suites = root.findall("testsuite")
        self.assertEqual(len(suites), 2)
        first = suites[0]
        cases = first.findall("testcase")
        self.assertEqual(int(first.get("tests", "")), len(cases))
        self.assertEqual(int(first.get("failures", "")),
                         len(first.findall("testcase/failure")))
        self.assertEqual(int(first.get("errors", "")), 3)   # 2 hang, gone
        self.assertEqual(int(first.get("skipped", "")), 1)
        hang = next(c for c in cases if c.get("name") == "hang")
        self.assertEqual(hang.get("classname"), "trap")
        self.assertIn("crashed (timeout)", hang.find("error").get("message"))
        self.assertEqual(suites[1].find("testcase").get("classname"), "build")
        total = sum(int(s.get("tests", "")) for s in suites)
        self.assertEqual(int(root.get("tests", "")), total)

    def test_gradescope_schema(self) -> None:
        # Bug: hidden tests visible before publication; missing fields.
        data = json.loads(json.dumps(report.to_gradescope(grade())))
        self.assertEqual(data["score"], 14)
        self.assertIsInstance(data["output"], str)
        for t in data["tests"]:
            self.assertLessEqual({"name", "score", "max_score", "status",
                                  "output", "visibility"}, set(t))
            self.assertIn(t["status"], ("passed", "failed"))
            self.assertIn(t["visibility"], ("visible", "after_published"))
        vis = {t["name"].split()[0]: t["visibility"] for t in data["tests"]}
        self.assertEqual(vis["trap.secret"], "after_published")
        self.assertEqual(vis["trap.ok"], "visible")
        self.assertNotIn("trap.secret", data["output"])
        self.assertEqual(sum(t["score"] for t in data["tests"]),
                         data["score"])

    def test_gradescope_build_failure_and_error(self) -> None:
        data = report.to_gradescope(grade(built=False))
        self.assertEqual(data["score"], 0)
        self.assertIn("kern/trap.c:3: error: oops", data["output"])
        err = report.gradescope_error("missing student file x")
        self.assertEqual((err["score"], err["tests"]), (0, []))

    def test_reports_are_written_whole(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "sub" / "r.json"
            report.write_json(path, {"a": 1})
            self.assertEqual(json.loads(path.read_text()), {"a": 1})
            self.assertEqual(sorted(p.name for p in path.parent.iterdir()),
                             ["r.json"])


# Every character a serial line or a file name can bring: C0 and C1
# controls, DEL, ESC sequences, a byte smuggled by surrogateescape, the
# XML-forbidden U+FFFE/U+FFFF and a bidirectional override.
HOSTILE = ("".join(map(chr, range(256))) + "\x1b[2J\x1b]0;pwned\x07"
           "\udce9\ufffe\uffff\u202e" + "\r\n")


def hostile_grade() -> Grade:
    g = grade()
    for t in g.score.tests:
        t.lines = [HOSTILE, f"# {HOSTILE}"]
        t.reason = HOSTILE
        if t.crash is not None:
            t.crash = Crash("qemu-error", f"panic[cpu0]: {HOSTILE}",
                            [HOSTILE] * 3, HOSTILE)
    g.score.tests[-1].name = f"trap.{HOSTILE}"     # the unexpected one
    g.build.tail = [HOSTILE]
    return g


class Hostile(unittest.TestCase):
    """What the kernel or a hand-in prints is shown, never obeyed."""

    def assert_inert(self, text: str, where: str) -> None:
        bad = sorted({c for c in text if safetext.UNSAFE.match(c)})
        self.assertEqual(bad, [], f"{where} carries control characters")

    def test_control_bytes_never_reach_the_terminal(self) -> None:
        # Bug: ESC sequences from the serial log reached the instructor's
        # terminal (clear the screen, retitle the window, hide lines).
        text = report.table(hostile_grade(), report.Style(verbose=True))
        self.assert_inert(text, "the table")
        self.assertIn("\\x1b[2J", text)
        self.assertIn("\\xe9", text)      # the smuggled byte, visible
        coloured = report.table(hostile_grade(), report.Style(color=True))
        self.assertEqual(re.sub(r"\x1b\[[0-9]+m", "", coloured).count("\x1b"),
                         0, "an ESC other than our colours")

    def test_junit_is_well_formed_whatever_the_log_holds(self) -> None:
        # Bug: control characters made junit.xml unparseable.
        for g in (hostile_grade(), grade(built=False)):
            g.build.tail = [HOSTILE]
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "junit.xml"
                report.write_text(path, report.to_junit([g]))
                root = ET.parse(path).getroot()
            self.assertEqual(root.tag, "testsuites")
            texts = " ".join((e.text or "") + " ".join(e.attrib.values())
                             for e in root.iter())
            self.assertIn("\\x1b[2J", texts)

    def test_json_and_gradescope_files_are_inert(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            for name, data in (("r.json", report.to_json(hostile_grade())),
                               ("gs.json", report.to_gradescope(
                                   hostile_grade())),
                               ("err.json", report.gradescope_error(
                                   HOSTILE))):
                path = Path(tmp) / name
                report.write_json(path, data)
                raw = path.read_bytes().decode("utf-8")
                self.assert_inert(json.loads(raw).__repr__(), name)
                self.assertNotIn("\\u001b", raw, name)
                self.assertNotIn("\\udce9", raw, name)

    def test_rerun_lines_are_quoted_or_refused(self) -> None:
        # Bug: a test name from the kernel was pasted into the rerun
        # command, so copying it ran "$(touch x)" or "; rm ...".
        g = grade()
        for name in ("trap.x;touch${IFS}pwned", "$(touch x).a", "a.b c",
                     "trap.\x1b[2J", "a.b\n"):
            g.score.tests[-1].name = name
            text = report.table(g, report.Style())
            self.assertNotIn(f"KTEST={name}", text)
            self.assertIn("no rerun command", text, name)
            self.assertEqual(report.to_json(g)["tests"][-1]["repro"], [])
        cmds = report.repro(g, "trap.bad", Path("/tmp/my tree; rm -rf"))
        assert cmds is not None
        run, gdb = cmds
        # The tree may be shown relative to the working directory (which
        # may itself be under /tmp): what matters is that the shell reads
        # back exactly the path and the words.
        for cmd, target in ((run, "qemu"), (gdb, "qemu-gdb")):
            words = shlex.split(cmd)
            self.assertEqual(words[:2], ["make", "-C"], cmd)
            self.assertEqual(os.path.normpath(os.path.join(os.getcwd(),
                                                           words[2])),
                             "/tmp/my tree; rm -rf", cmd)
            self.assertEqual(words[3], target, cmd)
        self.assertEqual(shlex.split(run)[4:6], ["KTEST=trap.bad", "SEED=7"])


class Several(unittest.TestCase):
    def test_scoreboard_and_bench(self) -> None:
        g = grade()
        g.bench = [g.boots, [fake_boot("x", "timeout", "ktest=boot.*,trap.*")]]
        board = report.scoreboard([g, grade(built=False)])
        self.assertIn("14/29", board)
        self.assertIn("(build failed)", board)
        bench = report.bench(g)
        self.assertIn("median of 2 runs", bench)
        self.assertIn("ktest=boot.*,trap.*", bench)


if __name__ == "__main__":
    unittest.main()
