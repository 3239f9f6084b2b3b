"""The command lines end to end: make, real QEMU boots of a fake kernel
(grader/tests/kernels/fake.S), scoring and reports, submissions, hand-ins.

Each test names the bug it would catch.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import unittest
from pathlib import Path
from typing import Callable
from unittest import mock

from tests.support import (GRADER, STUDENT_FILES, fake_solutions, fake_tree,
                           needs_make)
from vmgrade import ToolMissing, batch, cli, handin, job, qemu
from vmgrade.spec import Lab

SCRIPT = GRADER / "grade"


def call(fn: Callable[[list[str], Path], int],
         *argv: str) -> tuple[int, str, str]:
    """Run an entry point with streams that encode as a real terminal's
    do: stdout strict UTF-8, stderr with backslash escapes."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8",
                           errors="backslashreplace")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = fn(list(argv), SCRIPT)
    out.flush()
    err.flush()
    return (status, out.buffer.getvalue().decode("utf-8"),  # type: ignore
            err.buffer.getvalue().decode("utf-8"))          # type: ignore


class Base(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="vmlab-test-cli-"))

    def tearDown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def grade(self, *argv: str) -> tuple[int, str, str]:
        return call(cli.grade_main, *argv)

    def one_error_line(self, status: int, err: str) -> None:
        self.assertEqual(status, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertTrue(err.startswith("grader: "), err)
        self.assertNotIn("Traceback", err)


@needs_make
class GradeTree(Base):
    def test_a_lab_tree_end_to_end(self) -> None:
        # Bug anywhere on the path make -> QEMU -> KTAP -> score -> JSON.
        tree = fake_tree(self.tmp / "lab1-demo")
        out_json = self.tmp / "r.json"
        status, out, err = self.grade("--tree", str(tree), "--json",
                                      str(out_json))
        self.assertEqual(status, 0, err)
        data = json.loads(out_json.read_text())
        got = {t["name"]: (t["status"], t["score"]) for t in data["tests"]}
        self.assertEqual(got, {
            "demo.first": ("pass", 1), "demo.failing": ("fail", 0),
            "demo.crash": ("crashed", 0), "demo.after": ("pass", 4),
            "demo.absent": ("missing", 0), "demo.boom": ("pass", 1),
            "demo.extra": ("unexpected", 0)})
        self.assertEqual((data["score"], data["max_score"]), (6, 16))
        self.assertEqual(len(data["boots"]), 3)
        self.assertIn("panic[cpu0]: demo_crash: lab 1", out)
        self.assertIn("KTEST=demo.crash SEED=1", out)

    def test_expect_full_and_seed(self) -> None:
        tree = fake_tree(self.tmp / "t")
        status, out, _ = self.grade("--tree", str(tree), "--expect-full",
                                    "--seed", "5", "--only", "demo.first")
        self.assertEqual(status, 0)
        self.assertIn("seed 5", out)
        status, _, _ = self.grade("--tree", str(tree), "--expect-full")
        self.assertEqual(status, 1)

    def test_make_variables_from_a_parent_make_do_not_leak(self) -> None:
        # Bug: `make grade LAB=3` passes LAB to the lab tree's build.
        tree = fake_tree(self.tmp / "t")
        with mock.patch.dict(os.environ, {"MAKEFLAGS": " -- LAB=3 SOL=2"}):
            status, out, _ = self.grade("--tree", str(tree), "--only",
                                        "demo.first")
        self.assertEqual(status, 0)
        self.assertNotIn("did not build", out)

    def test_build_failure_scores_zero_and_shows_errors(self) -> None:
        tree = fake_tree(self.tmp / "t", broken=True)
        out_json = self.tmp / "r.json"
        status, out, _ = self.grade("--tree", str(tree), "--json",
                                    str(out_json), "--expect-full")
        self.assertEqual(status, 1)
        self.assertIn("error: expected ; before }", out)
        data = json.loads(out_json.read_text())
        self.assertEqual((data["score"], data["build"]["ok"]), (0, False))

    def test_all_grades_every_lab_of_solutions(self) -> None:
        # Bug: LAB/SOL not passed to solutions/, or a lab left out.
        sol = fake_solutions(self.tmp / "solutions")
        status, out, err = self.grade("--tree", str(sol), "--all", "-j", "2")
        self.assertEqual(status, 0, err)
        self.assertIn("solutions LAB=1 SOL=1", out)
        self.assertIn("solutions LAB=2 SOL=2", out)
        self.assertNotIn("build failed", out)


class BadInput(Base):
    def test_usage_errors_are_one_line(self) -> None:
        tree = fake_tree(self.tmp / "t")
        for argv in (["--no-such-option"], ["--tree", str(self.tmp / "no")],
                     ["--tree", str(self.tmp)],
                     ["--tree", str(tree), "--sol", "1"],
                     ["--tree", str(tree), "--lab", "3"],
                     ["--tree", str(tree), "--hidden"],
                     ["--tree", str(tree), "--seed", "x"],
                     ["--tree", str(tree), "--only", "nothing.*"],
                     ["--tree", str(tree), "--repeat", "2"]):
            with self.subTest(argv=argv):
                status, _, err = self.grade(*argv)
                self.one_error_line(status, err)

    def test_a_broken_spec_is_one_line(self) -> None:
        tree = fake_tree(self.tmp / "t")
        (tree / "lab.json").write_text("{ not json")
        status, _, err = self.grade("--tree", str(tree))
        self.one_error_line(status, err)
        self.assertIn("not valid JSON", err)

    def test_missing_qemu(self) -> None:
        tree = fake_tree(self.tmp / "t")
        with mock.patch("shutil.which", lambda name: None):
            status, _, err = self.grade("--tree", str(tree))
        self.one_error_line(status, err)


@needs_make
class Submissions(Base):
    def handin_of(self, tree: Path, name: str, answers: bytes) -> Path:
        files = {"answers-lab1.txt": answers, "kern/demo.c": b"int demo;\n"}
        path = self.tmp / name
        path.write_bytes(handin.tarball("lab1-demo-handin", files))
        return path

    def test_one_submission_and_a_rejected_one(self) -> None:
        tree = fake_tree(self.tmp / "t")
        good = self.handin_of(tree, "good.tar.gz", b"mine\n")
        status, out, err = self.grade("--tree", str(tree), "--submission",
                                      str(good))
        self.assertEqual(status, 0, err)
        self.assertIn("lab 1: 1/4 tests, 4/14 points", out)
        self.assertEqual((tree / "answers-lab1.txt").read_text(),
                         "pristine answers\n")
        bad = self.tmp / "bad.tar.gz"
        bad.write_bytes(b"\x1f\x8b garbage")
        gs = self.tmp / "results.json"
        status, _, err = self.grade("--tree", str(tree), "--submission",
                                    str(bad), "--gradescope", str(gs))
        self.one_error_line(status, err)
        data = json.loads(gs.read_text())
        self.assertEqual(data["score"], 0)
        self.assertIn("corrupt", data["output"])

    def test_a_batch_isolates_each_submission(self) -> None:
        tree = fake_tree(self.tmp / "t")
        subs = self.tmp / "subs"
        subs.mkdir()
        self.handin_of(tree, "subs/alice.tar.gz", b"a\n")
        (subs / "bob.tgz").write_bytes(b"not an archive")
        carol = subs / "carol"
        (carol / "kern").mkdir(parents=True)
        (carol / "answers-lab1.txt").write_text("c\n")
        (carol / "kern" / "demo.c").write_text("int c;\n")
        out_csv, jdir = self.tmp / "out.csv", self.tmp / "json"
        status, out, err = self.grade(
            "--tree", str(tree), "--submissions", str(subs), "--lab", "1",
            "-j", "2", "--csv", str(out_csv), "--json-dir", str(jdir))
        self.assertEqual(status, 0, err)
        with out_csv.open(newline="") as f:
            rows = {r["student"]: r for r in csv.DictReader(f)}
        self.assertEqual(sorted(rows), ["alice", "bob", "carol"])
        self.assertEqual((rows["alice"]["score"], rows["alice"]["max"],
                          rows["alice"]["status"]), ("6", "16", "graded"))
        self.assertEqual(rows["bob"]["status"], "rejected")
        self.assertIn("corrupt", rows["bob"]["detail"])
        self.assertEqual(rows["carol"]["status"], "graded")
        self.assertEqual(sorted(p.name for p in jdir.iterdir()),
                         ["alice.json", "bob.json", "carol.json"])


def latin1(name: bytes) -> str:
    """A file name that is not UTF-8, as Python sees it."""
    return os.fsdecode(name)


def tar_with_member(name: str, data: bytes = b"x") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT) \
            as tf:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@needs_make
class HostileBatch(Base):
    """A batch writes one row per entry, whatever the entries are called
    or hold, and stops only when nothing at all can be graded."""

    def setUp(self) -> None:
        super().setUp()
        self.tree = fake_tree(self.tmp / "t")
        self.subs = self.tmp / "subs"
        self.subs.mkdir()

    def batch(self, *extra: str) -> tuple[int, str, str]:
        return self.grade("--tree", str(self.tree), "--submissions",
                          str(self.subs), "--csv", str(self.tmp / "out.csv"),
                          "--json-dir", str(self.tmp / "json"), *extra)

    def rows(self) -> dict[str, dict[str, str]]:
        raw = (self.tmp / "out.csv").read_bytes().decode("utf-8")
        return {r["student"]: r for r in csv.DictReader(io.StringIO(raw))}

    def test_names_that_are_not_utf8_get_rows(self) -> None:
        # Bug: a Latin-1 file name made the CSV writer raise
        # UnicodeEncodeError: exit 1, the CSV cut at that row, no JSON.
        dora = self.subs / "dora"
        (dora / "kern").mkdir(parents=True)
        (dora / "answers-lab1.txt").write_text("d\n")
        (dora / "kern" / "demo.c").write_text("int d;\n")
        (dora / latin1(b"caf\xe9.c")).write_text("x")
        (self.subs / "eve.tar.gz").write_bytes(
            tar_with_member(latin1(b"kern/\xff\x1b[2J.c")))
        (self.subs / latin1(b"jos\xe9.tar.gz")).write_bytes(b"junk")
        status, out, err = self.batch()
        self.assertEqual(status, 0, err)
        rows = self.rows()
        self.assertEqual(sorted(rows), ["dora", "eve", "jos\\xe9"])
        self.assertIn("unexpected file caf\\xe9.c", rows["dora"]["detail"])
        self.assertIn("kern/\\xff\\x1b[2J.c", rows["eve"]["detail"])
        self.assertNotIn("\x1b", out + err)
        self.assertEqual(sorted(p.name for p in (self.tmp / "json").iterdir()),
                         ["dora.json", "eve.json", "jos\\xe9.json"])
        self.assertEqual(len(out.splitlines()), 3)

    def test_every_entry_gets_a_row(self) -> None:
        # Bug: a .zip hand-in (and anything else not .tar.gz, .tgz, .tar
        # or a directory) was left out of the CSV without a word.
        (self.subs / "alice.zip").write_bytes(b"PK\x03\x04" + bytes(60))
        (self.subs / "bob.txt").write_text("my answers")
        os.mkfifo(self.subs / "carol.tar.gz")
        (self.subs / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
        status, _, err = self.batch()
        self.assertEqual(status, 0, err)
        rows = self.rows()
        self.assertEqual(sorted(rows), [".DS_Store", "alice.zip", "bob.txt",
                                        "carol"])
        self.assertTrue(all(r["status"] == "rejected" for r in rows.values()))
        self.assertIn("zip archive is not accepted", rows["alice.zip"]["detail"])
        self.assertIn("not a file or a directory", rows["carol"]["detail"])

    def test_a_cell_never_starts_a_formula(self) -> None:
        # Bug: a member named "=HYPERLINK(...)" became a live formula in
        # the spreadsheet the instructor opens.
        (self.subs / "=cmd.tar.gz").write_bytes(
            tar_with_member("=HYPERLINK(1)"))
        self.batch()
        rows = self.rows()
        self.assertEqual(sorted(rows), ["'=cmd"])
        self.assertTrue(rows["'=cmd"]["detail"].startswith("unexpected"))

    def test_missing_qemu_stops_the_batch_before_anything_is_graded(self) -> None:
        # Bug: with no QEMU every student was scored "rejected", as if it
        # were their fault.
        (self.subs / "a.tar.gz").write_bytes(b"x")
        which = shutil.which
        gone = lambda n, *a, **k: None if n == qemu.QEMU else which(n, *a, **k)
        with mock.patch("shutil.which", gone), \
                mock.patch.object(batch, "grade_submission") as graded:
            status, _, err = self.batch()
        self.one_error_line(status, err)
        self.assertIn("qemu-system-x86", err)
        self.assertEqual(graded.call_count, 0)
        self.assertFalse((self.tmp / "out.csv").exists())

    def test_qemu_vanishing_mid_batch_stops_it(self) -> None:
        for n in "abc":
            (self.subs / f"{n}.tar.gz").write_bytes(b"x")
        with mock.patch.object(batch, "grade_submission", side_effect=
                               ToolMissing("qemu-system-x86_64 not found: "
                                           "install qemu-system-x86")) as g:
            status, _, err = self.batch("-j", "1")
        self.one_error_line(status, err)
        self.assertEqual(g.call_count, 1)


class HostileSubmission(Base):
    """One submission that cannot be graded: one line, exit 2, and the
    Gradescope file still says why."""

    def grade_one(self, path: Path, *patches: object
                  ) -> tuple[int, str, dict[str, object]]:
        tree = fake_tree(self.tmp / "t")
        gs = self.tmp / "results.json"
        with contextlib.ExitStack() as stack:
            stack.enter_context(mock.patch.object(cli, "check_tools",
                                                  lambda: None))
            for p in patches:
                stack.enter_context(p)      # type: ignore[arg-type]
            status, _, err = self.grade("--tree", str(tree), "--submission",
                                        str(path), "--gradescope", str(gs))
        self.one_error_line(status, err)
        return status, err, json.loads(gs.read_text())

    def test_a_terabyte_long_name_is_one_line(self) -> None:
        info = tarfile.TarInfo("././@LongLink")
        info.type, info.size = tarfile.GNUTYPE_LONGNAME, 1 << 40
        path = self.tmp / "s.tar.gz"
        path.write_bytes(gzip.compress(info.tobuf(tarfile.GNU_FORMAT)))
        _, err, gs = self.grade_one(path)
        self.assertIn("name longer than", err)
        self.assertIn("name longer than", str(gs["output"]))

    def test_an_internal_error_is_one_line_too(self) -> None:
        # Bug: anything unforeseen was a traceback and no results.json.
        path = self.tmp / "s.tar.gz"
        path.write_bytes(b"x")
        _, err, gs = self.grade_one(path, mock.patch.object(
            batch.submission, "read", side_effect=MemoryError()))
        self.assertIn("internal error", err)
        self.assertIn("could not be graded", str(gs["output"]))

    def test_missing_qemu_names_the_package_and_builds_nothing(self) -> None:
        tree = fake_tree(self.tmp / "t")
        sub = self.tmp / "s.tar.gz"
        sub.write_bytes(handin.tarball("lab1-demo-handin", {
            "answers-lab1.txt": b"a\n", "kern/demo.c": b"int d;\n"}))
        which = shutil.which
        gone = lambda n, *a, **k: None if n == qemu.QEMU else which(n, *a, **k)
        with mock.patch("shutil.which", gone), mock.patch.object(
                cli.build, "check_tools", lambda: None), mock.patch.object(
                job.buildmod, "build", side_effect=AssertionError("built")):
            status, _, err = self.grade("--tree", str(tree), "--submission",
                                        str(sub))
        self.one_error_line(status, err)
        self.assertIn("install the Debian package qemu-system-x86", err)


GENLABS = """#!{python}
# A stand-in for grader/genlabs: copies a prepared instructor tree.
import shutil, sys
args = sys.argv[1:]
assert "--hidden" in args and args[args.index("--lab") + 1] == "1", args
shutil.copytree({template!r}, args[args.index("--out") + 1] + "/lab1-demo")
"""


@needs_make
class HiddenSubmission(Base):
    def test_hidden_grading_uses_a_generated_instructor_tree(self) -> None:
        # Bug: --hidden grading on the public tree (hidden tests never run)
        # or on solutions/ itself (a submission overlaid on the reference).
        repo = self.tmp / "repo"
        fake_solutions(repo / "solutions")
        template = fake_tree(self.tmp / "template", tests=[
            {"name": "demo.first", "lab": 0, "points": 1},
            {"name": "demo.after", "lab": 1, "points": 4, "hidden": True}])
        (repo / "grader").mkdir()
        genlabs = repo / "grader" / "genlabs"
        genlabs.write_text(GENLABS.format(python=sys.executable,
                                          template=str(template)))
        files = {"answers-lab1.txt": b"x\n", "kern/demo.c": b"int d;\n"}
        sub = self.tmp / "s.tar.gz"
        sub.write_bytes(handin.tarball("lab1-demo-handin", files))
        out_json = self.tmp / "r.json"
        status, _, err = self.grade("--tree", str(repo), "--submission",
                                    str(sub), "--lab", "1", "--hidden",
                                    "--json", str(out_json))
        self.assertEqual(status, 0, err)
        tests = json.loads(out_json.read_text())["tests"]
        hidden = [t for t in tests if t["name"] == "demo.after"]
        self.assertEqual((hidden[0]["status"], hidden[0]["hidden"]),
                         ("pass", True))
        status, _, err = self.grade("--tree", str(repo), "--submission",
                                    str(sub), "--hidden")
        self.one_error_line(status, err)
        self.assertIn("--lab", err)


class HandinAndVmrun(Base):
    def test_handin_writes_the_tarball_into_the_tree(self) -> None:
        tree = fake_tree(self.tmp / "t")
        status, out, _ = call(cli.handin_main, "--tree", str(tree))
        self.assertEqual(status, 0)
        self.assertTrue((tree / "lab1-demo-handin.tar.gz").is_file())
        lab = Lab(1, "demo", "demo", 1, "64M", tuple(STUDENT_FILES))
        self.assertEqual(handin.collect(tree, lab)["kern/demo.c"],
                         b"/* pristine */\n")
        (tree / "kern" / "demo.c").unlink()
        status, _, err = call(cli.handin_main, "--tree", str(tree))
        self.one_error_line(status, err)
        self.assertIn("kern/demo.c", err)

    def vmrun(self, *argv: str) -> tuple[int, list[str], str]:
        seen: list[str] = []
        self.gdbport_during_run: str | None = None

        def fake_run(argv_q: list[str], qmp: object = None) -> int:
            seen.extend(argv_q)
            note = self.tmp / ".gdbport"
            if note.exists():
                self.gdbport_during_run = note.read_text().strip()
            return 0

        with mock.patch.object(qemu, "run_interactive", fake_run), \
                mock.patch.object(qemu, "find_qemu", lambda: "qemu"):
            status, _, err = call(cli.vmrun_main, *argv)
        return status, seen, err

    def test_vmrun_boots_the_graded_machine_on_stdio(self) -> None:
        tree = fake_tree(self.tmp / "t")
        kernel = self.tmp / "kernel.elf"
        kernel.write_bytes(b"\x7fELF")
        status, argv, _ = self.vmrun("--tree", str(tree), "--ktest",
                                     "demo.crash", "--seed", "4", str(kernel))
        self.assertEqual(status, 0)
        self.assertEqual(argv[argv.index("-append") + 1],
                         "ktest=demo.crash seed=4")
        self.assertIn("mon:stdio", argv)
        self.assertEqual(argv[argv.index("-m") + 1], "64M")

    def test_vmrun_without_ktest_and_with_gdb(self) -> None:
        tree = fake_tree(self.tmp / "t")
        kernel = self.tmp / "kernel.elf"
        kernel.write_bytes(b"\x7fELF")
        status, argv, err = self.vmrun("--tree", str(tree), "--gdb",
                                       str(kernel))
        self.assertEqual(status, 0)
        self.assertNotIn("-append", argv)
        port = self.gdbport_during_run
        self.assertIsNotNone(port)
        self.assertIn(f"tcp:127.0.0.1:{port}", argv)
        self.assertIn("-S", argv)
        self.assertIn(f"127.0.0.1:{port}", err)
        # Bug: a port file left behind sends `make gdb` to a dead QEMU.
        self.assertFalse((self.tmp / ".gdbport").exists())

    def test_vmrun_maps_qemu_status_to_words(self) -> None:
        # Bug: make reported the kernel's "finished" status 33 as an error.
        for status, code, words in ((33, 0, "finished"), (35, 1, "panicked"),
                                    (0, 0, "triple-faulted")):
            with mock.patch.object(qemu.subprocess, "Popen",
                                   lambda *a, **k: mock.Mock(
                                       wait=lambda s=status: s)):
                err = io.StringIO()
                with contextlib.redirect_stderr(err):
                    got = qemu.run_interactive(["qemu"])
            self.assertEqual(got, code)
            self.assertIn(words, err.getvalue())

    def test_vmrun_missing_kernel(self) -> None:
        tree = fake_tree(self.tmp / "t")
        status, _, err = self.vmrun("--tree", str(tree),
                                    str(self.tmp / "none.elf"))
        self.one_error_line(status, err)


if __name__ == "__main__":
    unittest.main()
