"""Tests for the lab generator (vmgrade.labgen, grader/genlabs).

Every test runs the generator on a copy of fixtures/labgen/: a three-lab
solutions tree with LAB and SOL markers, file rules of each kind, a hidden
test, an executable script, and a fake grader. Build products are made at
run time, so an ignore file can never drop them from the fixture. The real
unifdef does the stripping. Each test names the generator bug it catches.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from vmgrade import labgen
from vmgrade.spec import load

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "fixtures" / "labgen"
GENLABS = HERE.parent / "genlabs"
TREES = {1: "lab1-trap", 2: "lab2-pagetable", 3: "lab3-buddy"}
BUILD_PRODUCTS = ("build/kernel.elf", "build/kern/core.o", "kern/core.o",
                  "kern/core.d", "kern/libk.a", "kern/__pycache__/x.pyc",
                  ".gdbport", "user/build/hello")
# Independent of labgen's own regexes, so a broken regex there cannot hide
# a leak here.
LEAK = re.compile(r"#\s*(if|ifdef|ifndef|elif)\b.*\b(LAB|SOL)\b"
                  r"|\b(LAB|SOL)\s*>=")


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file and directory under root with its bytes and mode."""
    snap: dict[str, tuple[bytes, int]] = {}
    for path in sorted(root.rglob("*")):
        data = path.read_bytes() if path.is_file() else b""
        snap[path.relative_to(root).as_posix()] = (data, path.stat().st_mode)
    return snap


def files_of(tree: Path) -> set[str]:
    return {p.relative_to(tree).as_posix()
            for p in tree.rglob("*") if p.is_file()}


def run_main(argv: list[str]) -> tuple[int, str, str]:
    """Run labgen.main in-process; return (status, stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), \
            contextlib.redirect_stderr(stderr):
        try:
            rc = labgen.main(argv)
        except SystemExit as e:
            rc = int(e.code or 0)
    return rc, stdout.getvalue(), stderr.getvalue()


def clean_env() -> dict[str, str]:
    """The environment minus PYTHONPATH, so the script finds its own grader."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


class LabgenTestCase(unittest.TestCase):
    """A scratch repo: solutions/, grader/, handouts/ and labs/."""

    def setUp(self) -> None:
        self.repo = Path(tempfile.mkdtemp(prefix="labgen-test-"))
        self.addCleanup(shutil.rmtree, self.repo)
        self.sol = self.repo / "solutions"
        self.labs = self.repo / "labs"
        shutil.copytree(FIXTURE / "solutions", self.sol)
        shutil.copytree(FIXTURE / "grader", self.repo / "grader")
        (self.repo / "handouts").mkdir()
        (self.repo / "handouts" / "lab1-trap.md").write_text("# Lab 1\n")
        for script in ("solutions/tools/run.sh", "grader/grade",
                       "grader/handin", "grader/genlabs"):
            os.chmod(self.repo / script, 0o755)
        for rel in BUILD_PRODUCTS:
            self.put(rel, "build product\n")

    def put(self, rel: str, text: str) -> Path:
        path = self.sol / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def append(self, rel: str, text: str) -> None:
        with open(self.sol / rel, "a", encoding="utf-8") as f:
            f.write(text)

    def args(self, *extra: str) -> list[str]:
        return ["--solutions", str(self.sol), "--out", str(self.labs),
                "--grader", str(self.repo / "grader"),
                "--handouts", str(self.repo / "handouts"), *extra]

    def genlabs(self, *extra: str, out: Path | None = None
                ) -> tuple[int, str, str]:
        """Run genlabs on the scratch repo; return (status, stdout, stderr)."""
        argv = self.args(*extra)
        if out is not None:
            argv[3] = str(out)
        return run_main(argv)

    def generate(self, *extra: str, out: Path | None = None) -> None:
        rc, _, err = self.genlabs("-q", *extra, out=out)
        self.assertEqual(rc, 0, f"genlabs failed: {err}")

    def tree(self, n: int) -> Path:
        return self.labs / TREES[n]

    def text(self, n: int, rel: str) -> str:
        return (self.tree(n) / rel).read_text()


class MarkerTest(LabgenTestCase):
    def test_sol_region_is_stub_in_its_lab_and_solution_after(self) -> None:
        """Bug: SOL set to N (students get the solution) or to N-2."""
        self.generate()
        self.assertIn("SOL1-STUB", self.text(1, "kern/core.c"))
        self.assertNotIn("SOL1-SOLUTION", self.text(1, "kern/core.c"))
        self.assertIn("SOL1-SOLUTION", self.text(2, "kern/core.c"))
        self.assertNotIn("SOL1-STUB", self.text(2, "kern/core.c"))
        self.assertIn("SOL2-STUB", self.text(2, "kern/pt.c"))
        self.assertNotIn("SOL2-SOLUTION", self.text(2, "kern/pt.c"))
        self.assertIn("SOL2-SOLUTION", self.text(3, "kern/pt.c"))
        self.assertNotIn("SOL2-STUB", self.text(3, "kern/pt.c"))
        self.assertIn("SOL3-STUB", self.text(3, "kern/core.c"))

    def test_lab_region_absent_before_its_lab_unmarked_from_it(self) -> None:
        """Bug: LAB set to N-1, or the #if/#endif lines left in place."""
        self.generate()
        for rel in ("kern/core.c", "kern/core.h", "kern/kernel.ld",
                    "kern/entry.S", "kern/test/core_test.c"):
            self.assertNotIn("LAB2-PRESENT", self.text(1, rel), rel)
            self.assertIn("LAB2-PRESENT", self.text(2, rel), rel)
            self.assertIn("LAB2-PRESENT", self.text(3, rel), rel)
        self.assertNotIn("LAB3-PRESENT", self.text(2, "kern/core.h"))
        self.assertIn("LAB3-PRESENT", self.text(3, "kern/core.h"))

    def test_unrelated_conditionals_left_alone(self) -> None:
        """Bug: unifdefall-style stripping, or -k, removing every #if."""
        self.generate()
        core = self.text(3, "kern/core.c")
        for kept in ("#ifdef FOO\nint foo_only;", "#ifdef DEBUG_PT\n",
                     "#ifdef BUDDY_TRACE\n", "#ifndef NDEBUG\n",
                     "#else\nint core_debug;\n#endif"):
            self.assertIn(kept, core)
        self.assertIn("#ifndef CORE_H\n#define CORE_H",
                      self.text(1, "kern/core.h"))
        self.assertTrue(self.text(1, "kern/core.h").rstrip().endswith(
            "#endif /* CORE_H */"))

    def test_assembly_with_apostrophe_in_gas_comment(self) -> None:
        """Bug: .S run through unifdef's C mode, which rejects `# don't`."""
        self.generate()
        self.assertIn("# don't return", self.text(1, "kern/entry.S"))

    def test_no_marker_left_in_any_tree(self) -> None:
        """Bug: a marked file skipped by unifdef, or a marker kind missed."""
        self.generate()
        self.generate("--hidden", "--lab", "3",
                      out=self.repo / "instructor")
        for path in sorted(self.repo.glob("*/lab*-*/**/*")):
            if path.is_file():
                for i, line in enumerate(path.read_text().splitlines(), 1):
                    self.assertIsNone(LEAK.search(line), f"{path}:{i}")

    def test_marker_regex_spellings(self) -> None:
        """Bug: a spelling the regex misses is neither stripped nor caught."""
        for text in ("#if LAB >= 2", "  #  if SOL>=3", "#ifdef LAB",
                     "#ifndef SOL", "#elif SOL >= 1", "#if defined(LAB)",
                     "#\tif (LAB >= 2) && (SOL >= 1)"):
            self.assertTrue(labgen.MARKER.search(text.encode()), text)
        for text in ("#ifdef LABEL", "#if SOLARIS", '#include "LAB.h"',
                     "LAB := 2", "# LAB and SOL come from lab.mk",
                     "#define SOL_MAX 3"):
            self.assertFalse(labgen.MARKER.search(text.encode()), text)

    def test_leaked_marker_is_fatal_with_source_line(self) -> None:
        """Bug: a marker unifdef cannot resolve ships silently, or the
        error gives the line in the stripped output instead of solutions/."""
        src = (self.sol / "kern/core.c").read_text()
        line = src.count("\n") + 2
        self.append("kern/core.c", "\n#if LAB >= 2 && defined(FOO)\n"
                    "int x;\n#endif\n")
        rc, _, err = self.genlabs()
        self.assertEqual(rc, 2)
        self.assertRegex(err, rf"^genlabs: .*kern/core\.c:{line}: marker "
                              r"left in lab 2's tree")
        self.assertEqual(err.count("\n"), 1)
        self.assertFalse(self.labs.exists() and any(self.labs.iterdir()))

    def test_comparison_outside_directive_is_a_leak(self) -> None:
        """Bug: `if (LAB >= 3)` in C code passes into a student tree."""
        self.append("kern/boot1.c", "int later(void) { return LAB >= 3; }\n")
        rc, _, err = self.genlabs()
        self.assertEqual(rc, 2)
        self.assertIn("kern/boot1.c:3: marker left in lab 1", err)


class FailureTest(LabgenTestCase):
    def test_unbalanced_marker_fails_and_keeps_old_trees(self) -> None:
        """Bug: unifdef's exit status 2 ignored (a truncated file ships), or
        trees replaced before every tree has built."""
        self.generate()
        before = snapshot(self.labs)
        self.append("kern/core.c", "/* changed */\n")
        self.append("user/hello.c", "#if SOL >= 2\nint x;\n")
        rc, out, err = self.genlabs()
        self.assertEqual(rc, 2)
        self.assertRegex(err, r"^genlabs: .*user/hello\.c:5: Premature EOF "
                              r"\(#if line 3 depth 1\)")
        self.assertEqual(err.count("\n"), 1)
        self.assertEqual(out, "")
        self.assertEqual(snapshot(self.labs), before)

    def test_unbalanced_endif_names_file(self) -> None:
        """Bug: only the first kind of unifdef error is reported."""
        self.append("kern/pt.c", "#endif\n")
        rc, _, err = self.genlabs("--lab", "2")
        self.assertEqual(rc, 2)
        self.assertIn("kern/pt.c:13: Inappropriate #endif", err)

    def test_missing_unifdef_one_line(self) -> None:
        """Bug: a missing unifdef gives a traceback or a vague error."""
        empty = self.repo / "bin"
        empty.mkdir()
        result = subprocess.run(
            [sys.executable, str(GENLABS), *self.args()],
            capture_output=True, text=True, check=False,
            env={**clean_env(), "PATH": str(empty)})
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stderr,
                         "genlabs: unifdef not found: install the Debian "
                         "package unifdef (or run scripts/deps.sh)\n")
        self.assertFalse(self.labs.exists())

    def test_rule_naming_no_file_is_fatal(self) -> None:
        """Bug: a renamed hidden test escapes its rule and ships."""
        os.rename(self.sol / "kern/test/hidden_test.c",
                  self.sol / "kern/test/hidden2_test.c")
        rc, _, err = self.genlabs()
        self.assertEqual(rc, 2)
        self.assertIn("files['kern/test/hidden_test.c'] matches no file", err)

    def test_missing_student_file_is_fatal(self) -> None:
        """Bug: a tree ships without a file its students must edit."""
        (self.sol / "answers-lab2.txt").unlink()
        spec = json.loads((self.sol / "labs.json").read_text())
        del spec["files"]["answers-lab2.txt"]
        (self.sol / "labs.json").write_text(json.dumps(spec))
        rc, _, err = self.genlabs()
        self.assertEqual(rc, 2)
        self.assertIn("lab 2: student file answers-lab2.txt", err)

    def test_reserved_name_in_solutions_is_fatal(self) -> None:
        """Bug: solutions/lab.mk silently overwritten by the generated one."""
        self.put("lab.mk", "LAB := 7\n")
        rc, _, err = self.genlabs()
        self.assertEqual(rc, 2)
        self.assertIn("lab.mk: this name is reserved", err)

    def test_user_errors_are_one_line(self) -> None:
        """Bug: argparse's two-line usage dump, or a SpecError traceback."""
        hidden = ["--solutions", str(self.sol), "--hidden", "--lab", "1"]
        for rc, _, err in (self.genlabs("--lab", "9"),
                           self.genlabs("--lab", "x"), run_main(hidden)):
            self.assertEqual(rc, 2, err)
            self.assertEqual(err.count("\n"), 1, err)
            self.assertTrue(err.startswith("genlabs: "), err)
        (self.sol / "labs.json").write_text("{")
        rc, _, err = self.genlabs()
        self.assertEqual((rc, err.count("\n")), (2, 1), err)


class TreeContentTest(LabgenTestCase):
    def test_file_rules_first_and_last_lab(self) -> None:
        """Bug: a rule's first or last lab ignored, or off by one."""
        self.generate()
        self.assertNotIn("kern/pt.c", files_of(self.tree(1)))
        self.assertIn("kern/pt.c", files_of(self.tree(2)))
        self.assertIn("kern/boot1.c", files_of(self.tree(1)))
        self.assertNotIn("kern/boot1.c", files_of(self.tree(2)))
        for n in TREES:
            answers = {f for f in files_of(self.tree(n))
                       if f.startswith("answers-")}
            self.assertEqual(answers, {f"answers-lab{n}.txt"})
        self.assertNotIn("user/hello.c", files_of(self.tree(2)))
        self.assertIn("user/hello.c", files_of(self.tree(3)))

    def test_hidden_files_and_tests_only_with_hidden(self) -> None:
        """Bug: FileRule.hidden ignored, or trimmed() asked for hidden tests
        in student trees."""
        self.generate()
        inst = self.repo / "instructor"
        self.generate("--hidden", "--lab", "3", out=inst)
        self.assertNotIn("kern/test/hidden_test.c", files_of(self.tree(3)))
        self.assertIn("kern/test/hidden_test.c",
                      files_of(inst / "lab3-buddy"))
        names = {t["name"] for t in json.loads(self.text(3, "lab.json"))
                 ["tests"]}
        self.assertNotIn("buddy.hidden_exhaust", names)
        inst_json = json.loads((inst / "lab3-buddy/lab.json").read_text())
        self.assertIn("buddy.hidden_exhaust",
                      {t["name"] for t in inst_json["tests"]})
        self.assertEqual(sorted(p.name for p in inst.iterdir()),
                         ["lab3-buddy"])

    def test_lab_json_is_spec_trimmed(self) -> None:
        """Bug: lab.json copied whole (later labs' tests) or untrimmed."""
        self.generate()
        spec = load(self.sol / "labs.json")
        for n in TREES:
            want = json.dumps(spec.trimmed(n, False), indent=2) + "\n"
            self.assertEqual(self.text(n, "lab.json"), want)
        self.assertNotIn("labs.json", files_of(self.tree(1)))

    def test_lab_mk(self) -> None:
        """Bug: SOL written as N (the tree's Makefile builds the solution)."""
        self.generate()
        for n in TREES:
            lines = self.text(n, "lab.mk").splitlines()
            self.assertTrue(lines[0].startswith("# Generated"))
            self.assertEqual(lines[1:], [f"LAB := {n}", f"SOL := {n - 1}"])

    def test_build_products_not_copied(self) -> None:
        """Bug: build/, __pycache__, objects or .gdbport copied into trees."""
        self.generate()
        for n in TREES:
            found = files_of(self.tree(n))
            for rel in BUILD_PRODUCTS:
                self.assertNotIn(rel, found)
            self.assertFalse(any("build" in f.split("/") for f in found))

    def test_modes_fixed_and_exec_bit_kept(self) -> None:
        """Bug: exec bit lost, or the author's umask leaking into trees."""
        os.chmod(self.sol / "kern/core.c", 0o600)
        os.chmod(self.sol / "answers-lab1.txt", 0o664)
        os.chmod(self.sol / "kern", 0o700)
        umask = os.umask(0o077)
        try:
            self.generate()
        finally:
            os.umask(umask)
        tree = self.tree(1)
        mode = lambda rel: (tree / rel).stat().st_mode & 0o7777  # noqa: E731
        self.assertEqual(mode("tools/run.sh"), 0o755)
        self.assertEqual(mode("grader/grade"), 0o755)
        self.assertEqual(mode("kern/core.c"), 0o644)
        self.assertEqual(mode("answers-lab1.txt"), 0o644)
        self.assertEqual(mode("kern"), 0o755)
        self.assertEqual(mode("."), 0o755)

    def test_grader_copied_without_private_parts(self) -> None:
        """Bug: labgen, validate, genlabs or the grader's tests shipped."""
        self.generate()
        grader = {f for f in files_of(self.tree(2)) if f.startswith("grader/")}
        self.assertEqual(grader, {
            "grader/README.md", "grader/grade", "grader/handin",
            "grader/vmgrade/__init__.py", "grader/vmgrade/report.py"})

    def test_readme_for_students(self) -> None:
        """Bug: links to the wrong handout, or the reference README shipped."""
        for name in ("lab2-pagetable.md", "lab2-pagetable-gdb.md"):
            (self.repo / "handouts" / name).write_text("# handout\n")
        self.generate()
        readme = self.text(2, "README.md")
        self.assertTrue(readme.startswith("# Lab 2: Page tables and the HAT"))
        self.assertIn("(../../handouts/lab2-pagetable.md)", readme)
        self.assertIn("(../../handouts/lab2-pagetable-gdb.md)", readme)
        self.assertIn("- `kern/pt.c`\n- `answers-lab2.txt`", readme)
        for cmd in ("`make`", "`make qemu`", "`make qemu-gdb`", "`make gdb`",
                    "`make test`", "`make grade`", "`make handin`"):
            self.assertIn(cmd, readme)
        self.assertNotIn("REFERENCE-README", readme)

    def test_readme_never_links_a_missing_handout(self) -> None:
        """Bug: a link to a handout that does not exist yet."""
        self.generate()
        readme = self.text(2, "README.md")
        self.assertNotIn("handouts/lab2-pagetable", readme)
        self.assertIn("handout is not written yet", readme)
        self.assertIn("(../../handouts/lab1-trap.md)", self.text(1, "README.md"))

    def test_summary_lines(self) -> None:
        """Bug: counts wrong, or -q not honoured."""
        rc, out, _ = self.genlabs("--lab", "1")
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"lab1-trap: 17 files written, 5 stripped, "
                              r"5 dropped \(missing: .*lab1-trap-gdb\.md\)\n$")
        self.assertEqual(self.genlabs("--lab", "1", "-q")[1], "")


class ReproducibleTest(LabgenTestCase):
    def test_two_runs_byte_identical(self) -> None:
        """Bug: scratch paths or unsorted data leaking into the output."""
        self.generate()
        first = snapshot(self.labs)
        self.generate()
        self.assertEqual(snapshot(self.labs), first)
        self.assertEqual(sorted(p.name for p in self.labs.iterdir()),
                         sorted(TREES.values()))

    def test_single_lab_leaves_others(self) -> None:
        """Bug: --lab N regenerating or deleting the other trees."""
        self.generate()
        marker = self.tree(1) / "kern/core.c"
        marker.write_text("edited\n")
        self.generate("--lab", "2")
        self.assertEqual(marker.read_text(), "edited\n")

    def test_stale_tree_removed_and_reported(self) -> None:
        """Bug: a renamed lab's old tree stays in labs/ forever."""
        self.generate()
        (self.labs / "lab9-old").mkdir()
        (self.labs / "notes").mkdir()
        rc, out, _ = self.genlabs("--check")
        self.assertEqual(rc, 1)
        self.assertIn("lab9-old/ (no such lab in the spec)", out)
        self.generate()
        self.assertFalse((self.labs / "lab9-old").exists())
        self.assertTrue((self.labs / "notes").exists())


class KeepWorkTest(LabgenTestCase):
    """make labs never loses a student's work (rule 4 of labgen.py)."""

    def test_edited_student_file_refused_and_named(self) -> None:
        """Bug: make labs silently overwriting a student's trap.c."""
        self.generate()
        mine = self.tree(1) / "kern/core.c"
        mine.write_text("my work\n")
        (self.tree(2) / "notes.txt").write_text("mine too\n")
        before = snapshot(self.labs)
        rc, _, err = self.genlabs("-q")
        self.assertEqual(rc, 2)
        self.assertIn("lab1-trap/kern/core.c (edited)", err)
        self.assertIn("lab2-pagetable/notes.txt (not written", err)
        self.assertIn("FORCE=1", err)
        self.assertEqual(len(err.strip().splitlines()), 1)
        self.assertEqual(snapshot(self.labs), before)
        self.generate("--force")
        self.assertNotEqual(mine.read_text(), "my work\n")
        self.assertFalse((self.tree(2) / "notes.txt").exists())

    def test_instructor_change_to_a_student_file_is_not_work(self) -> None:
        """Bug: every change to a student file in solutions/ (a comment in
        the stub) made make labs refuse until FORCE=1."""
        self.generate()
        self.append("kern/core.c", "/* a clearer comment */\n")
        self.generate()
        self.assertIn("a clearer comment", self.text(1, "kern/core.c"))
        self.assertIn("kern/core.c", self.text(1, ".generated"))

    def test_given_file_edit_is_not_work(self) -> None:
        """Bug: refusing over a file that is not the student's (the kit's
        own files are regenerated as before)."""
        self.generate()
        (self.tree(2) / "kern/core.c").write_text("scribbled\n")
        self.generate()
        self.assertNotEqual(self.text(2, "kern/core.c"), "scribbled\n")

    def test_build_output_and_handin_carried_over(self) -> None:
        """Bug: make labs deleting build/ and the hand-in tarball."""
        self.generate()
        (self.tree(1) / "build").mkdir()
        (self.tree(1) / "build/kernel.elf").write_text("elf\n")
        (self.tree(1) / "lab1-trap-handin.tar.gz").write_text("tgz\n")
        self.generate()
        self.assertEqual(self.text(1, "build/kernel.elf"), "elf\n")
        self.assertEqual(self.text(1, "lab1-trap-handin.tar.gz"), "tgz\n")
        rc, out, _ = self.genlabs("--check")
        self.assertEqual(rc, 0, out)


class CheckTest(LabgenTestCase):
    def test_in_sync(self) -> None:
        """Bug: --check differing from a fresh generate (e.g. README links
        computed from the scratch directory)."""
        self.generate()
        rc, out, _ = self.genlabs("--check")
        self.assertEqual(rc, 0)
        self.assertEqual(len(out.splitlines()), 1)
        self.assertIn("in sync", out)

    def test_one_byte_edit(self) -> None:
        """Bug: --check comparing names or sizes only."""
        self.generate()
        path = self.tree(2) / "kern/core.c"
        data = bytearray(path.read_bytes())
        data[10] ^= 1
        path.write_bytes(bytes(data))
        before = snapshot(self.labs)
        rc, out, _ = self.genlabs("--check")
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"\n  change .*lab2-pagetable/kern/core\.c\n")
        self.assertEqual(len(out.splitlines()), 2)
        self.assertEqual(snapshot(self.labs), before)

    def test_added_removed_and_mode(self) -> None:
        """Bug: --check blind to extra files, missing files or exec bits."""
        self.generate()
        (self.tree(1) / "stray.txt").write_text("x\n")
        (self.tree(2) / "kern/pt.c").unlink()
        os.chmod(self.tree(3) / "tools/run.sh", 0o644)
        rc, out, _ = self.genlabs("--check")
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"remove .*lab1-trap/stray\.txt")
        self.assertRegex(out, r"add +.*lab2-pagetable/kern/pt\.c")
        self.assertRegex(out, r"chmod +.*lab3-buddy/tools/run\.sh")

    def test_source_change_detected(self) -> None:
        """Bug: --check comparing labs/ with itself, not with solutions/."""
        self.generate()
        self.append("kern/pt.c", "/* new */\n")
        rc, out, _ = self.genlabs("--check", "--lab", "3")
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"change .*lab3-buddy/kern/pt\.c")
        rc, _, _ = self.genlabs("--check", "--lab", "1")
        self.assertEqual(rc, 0)

    def test_missing_tree(self) -> None:
        """Bug: --check passing when labs/ was never generated."""
        rc, out, _ = self.genlabs("--check")
        self.assertEqual(rc, 1)
        self.assertIn("lab1-trap/ (the whole tree)", out)


class EntryScriptTest(LabgenTestCase):
    def test_genlabs_script_runs(self) -> None:
        """Bug: the entry script cannot import vmgrade from any cwd."""
        result = subprocess.run(
            [sys.executable, str(GENLABS), *self.args("--lab", "1")],
            capture_output=True, text=True, check=False, cwd=self.repo,
            env=clean_env())
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("labs/lab1-trap: 17 files written", result.stdout)


if __name__ == "__main__":
    unittest.main()
