"""The sandbox and the depfile check: cheap ways for a student file to read
what it must not (sandbox.py, depcheck.py).

Each attack is a tiny lab tree whose Makefile compiles the student's
kern/demo.c and kern/entry.S the way the real one does (gcc -MD, gas
--MD), then links the fake kernel. Every attack runs twice: in the bwrap
sandbox, and unsandboxed as on a machine without bwrap, where only the
depfile check and the withheld output protect the report.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import tempfile
import time
import unittest
import zipfile
from pathlib import Path
from unittest import mock

from tests.support import GRADER, fake_solutions, needs_make, own_kernels
from vmgrade import ToolMissing, autograder, cli, depcheck, sandbox
from vmgrade import tree as treemod
from vmgrade.job import Grade, Options, Slots, grade

STUDENT = ["answers-lab1.txt", "kern/demo.c", "kern/entry.S"]
MAKEFILE = """\
K := {kernels}
CFLAGS := -nostdinc -isystem $(shell gcc -print-file-name=include) \\
	-Ikern/include -MD -MP
kernel:
\tmkdir -p $(O)/kern
\tgcc $(CFLAGS) -c kern/demo.c -o $(O)/kern/demo.c.o
\tgcc $(CFLAGS) -Wa,--MD,$(O)/kern/entry.S.asd -c kern/entry.S \\
\t\t-o $(O)/kern/entry.S.o
\tas --32 -I $(K) -o $(O)/fake.o $(K)/fake.S
\tld -m elf_i386 -T $(K)/kernel.ld -o $(O)/kernel.elf $(O)/fake.o
hidden:
\tmkdir -p $(O)/hidden
\tgcc $(CFLAGS) -c kern/test/hidden/secret_test.c -o $(O)/hidden/secret.o
"""
SECRET = "the_hidden_answer_is_forty_two"
PASSWD_TEXT = "root:x:0:0"


def attack_tree(root: Path, demo: str, entry: str = "") -> Path:
    """A lab tree with a hidden test, whose student files are demo, entry."""
    (root / "Makefile").write_text(MAKEFILE.format(
        kernels=own_kernels(root)))
    spec = {"tree_lab": 1, "qemu": {"wall_backstop_s": 30},
            "labs": [{"lab": 1, "name": "demo", "mem": "64M",
                      "student_files": STUDENT}],
            "files": {}, "tests": [{"name": "demo.first", "lab": 1,
                                    "points": 1}]}
    (root / "lab.json").write_text(json.dumps(spec))
    (root / "answers-lab1.txt").write_text("answers\n")
    for d in ("kern/include", "kern/test/hidden"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "kern/include/public.h").write_text("int public_one;\n")
    (root / "kern/test/hidden/secret_test.c").write_text(
        f'const char *secret = "{SECRET}";\n')
    (root / "kern/demo.c").write_text(demo)
    (root / "kern/entry.S").write_text(entry)
    return root


class Attacks:
    """The attacks; a subclass says whether the sandbox is on."""
    sandboxed = True

    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="vmlab-test-sandbox-"))
        sandbox.reset()
        self.addCleanup(sandbox.reset)
        if not self.sandboxed:
            patch = mock.patch.object(sandbox, "find_bwrap",
                                      return_value=None)
            patch.start()
            self.addCleanup(patch.stop)
        elif not sandbox.available():
            self.skipTest("bwrap cannot make a sandbox here")

    def tearDown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def grade(self, demo: str, entry: str = "") -> Grade:
        root = attack_tree(self.tmp / "tree", demo, entry)
        target = treemod.lab_target(treemod.locate(str(root), GRADER))
        with contextlib.redirect_stderr(io.StringIO()):
            g = grade(target, Options(), Slots(1))
        self.assertTrue(g.build.outdir.name.startswith("vmlab-build-"))
        return g

    def refused(self, demo: str, entry: str = "",
                never_shown: str | list[str] = "") -> str:
        """The build fails; its tail quotes none of never_shown."""
        t0 = time.monotonic()
        g = self.grade(demo, entry)
        self.assertLess(time.monotonic() - t0, 30, "the build was not fast")
        self.assertFalse(g.build.ok, "the build was accepted")
        self.assertEqual(g.score.points, 0)
        tail = "\n".join(g.build.tail)
        for text in [never_shown] if isinstance(never_shown, str) \
                else never_shown:
            if text:
                self.assertNotIn(text, tail)
        return tail

    def test_public_headers_and_own_files_build(self) -> None:
        g = self.grade('#include <public.h>\n#include <stdarg.h>\n',
                       ".text\n")
        self.assertTrue(g.build.ok, g.build.tail)

    def test_a_hidden_test_included_by_relative_path_is_refused(self) -> None:
        # Bug: the hidden tests were compiled in the student's tree, so
        # #include "test/hidden/..." put them in the student's kernel.
        self.refused('#include "test/hidden/secret_test.c"\n',
                     never_shown=SECRET)

    def test_an_absolute_include_of_etc_passwd_is_refused_unquoted(
            self) -> None:
        # Bug: gcc read /etc/passwd and quoted it in the build failure.
        self.refused('#include "/etc/passwd"\n', never_shown=PASSWD_TEXT)

    def test_a_path_escaping_the_system_headers_is_refused(self) -> None:
        # Bug: a header reached through -isystem and ".." (here /dev/null,
        # which compiles) was taken for the compiler's own.
        self.refused("#include <../../../../../../../../dev/null>\n")

    def test_a_grader_file_included_is_refused_unquoted(self) -> None:
        # Bug: the build could read the grader's own tree.
        path = GRADER / "vmgrade" / "__init__.py"
        lines = [ln.strip() for ln in path.read_text().splitlines()
                 if len(ln.strip()) > 20]
        self.refused(f'#include "{path}"\n', never_shown=lines)

    def test_asm_incbin_and_include_of_absolute_paths_are_unquoted(
            self) -> None:
        # Bug: gas quoted /etc/passwd line by line in its error messages.
        self.refused("", '.include "/etc/passwd"\n', never_shown=PASSWD_TEXT)
        shutil.rmtree(self.tmp / "tree")
        self.refused("", '.incbin "/etc/passwd"\n')

    def test_proc_self_fd_and_dev_zero_fail_fast(self) -> None:
        # Bug: the compiler read its own output pipe, or /dev/zero, forever.
        self.refused('#include "/proc/self/fd/1"\n')
        shutil.rmtree(self.tmp / "tree")
        self.refused('#include "/dev/zero"\n')


@needs_make
class SandboxedAttacks(Attacks, unittest.TestCase):
    sandboxed = True

    def test_hidden_tests_are_compiled_apart_and_kept(self) -> None:
        g = self.grade("int ok;\n")
        self.assertTrue(g.build.ok, g.build.tail)
        self.assertFalse(sandbox.build_mounts(
            self.tmp / "tree", g.build.outdir, True).hide)


@needs_make
class UnsandboxedAttacks(Attacks, unittest.TestCase):
    sandboxed = False


class Wrap(unittest.TestCase):
    def test_the_sandbox_shows_only_what_it_is_given(self) -> None:
        tree, out = Path("/x/tree"), Path("/x/out")
        argv = sandbox.wrap(["make"], sandbox.build_mounts(tree, out, False),
                            "bwrap")
        text = " ".join(argv)
        self.assertIn("--ro-bind /x/tree /x/tree", text)
        self.assertIn("--bind /x/out /x/out", text)
        for flag in ("--unshare-all", "--die-with-parent", "--new-session",
                     "--tmpfs /tmp", "--unsetenv HOME"):
            self.assertIn(flag, text)
        self.assertNotIn("--proc", text)
        self.assertNotIn("/home", text)
        self.assertEqual(argv[-2:], ["--", "make"])

    def test_a_boot_sees_its_kernel_and_temp_dir_only(self) -> None:
        sandbox.reset()
        self.addCleanup(sandbox.reset)
        with mock.patch.object(sandbox, "available", return_value=True):
            argv = sandbox.boot_argv(["qemu"], Path("/b/tmp"),
                                     Path("/o/kernel.elf"))
        text = " ".join(argv)
        self.assertIn("--ro-bind /o/kernel.elf /o/kernel.elf", text)
        self.assertIn("--bind /b/tmp /b/tmp", text)
        self.assertIn("--proc /proc", text)
        self.assertNotIn("/o ", text)

    def test_without_bwrap_one_line_names_the_package(self) -> None:
        sandbox.reset()
        self.addCleanup(sandbox.reset)
        err = io.StringIO()
        with mock.patch.object(sandbox, "find_bwrap", return_value=None), \
                contextlib.redirect_stderr(err):
            sandbox.warn_once()
            sandbox.warn_once()
            with self.assertRaises(ToolMissing) as cm:
                sandbox.require()
        lines = err.getvalue().splitlines()
        self.assertEqual(len(lines), 1)
        self.assertIn("bubblewrap", lines[0])
        self.assertIn("hidden tests", str(cm.exception))

    @unittest.skipUnless(shutil.which("bwrap"), "needs bwrap")
    def test_bwrap_works_here(self) -> None:
        sandbox.reset()
        self.assertTrue(sandbox.available())


class Depfiles(unittest.TestCase):
    def test_depfile_paths_drops_targets_and_joins_lines(self) -> None:
        text = "a.o: a.c /x/y.h \\\n /etc/pass\\ wd\ny.h:\n"
        self.assertEqual(depcheck.depfile_paths(text),
                         ["a.c", "/x/y.h", "/etc/pass wd"])

    def test_withheld_output_names_the_file_not_its_text(self) -> None:
        tail = ["/etc/passwd: Assembler messages:",
                "/etc/passwd:1: Error: no such instruction: `root:x:0:0'"]
        got = depcheck.withhold(tail, Path("/nonexistent"), ("a.S",))
        self.assertEqual(len(got), 1)
        self.assertIn("/etc/passwd", got[0])
        self.assertNotIn(PASSWD_TEXT, got[0])


if __name__ == "__main__":
    unittest.main()


class HiddenNeedsTheSandbox(unittest.TestCase):
    @needs_make
    def test_hidden_grading_without_bwrap_exits_2_naming_the_package(
            self) -> None:
        tmp = Path(tempfile.mkdtemp(prefix="vmlab-test-sandbox-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        sandbox.reset()
        self.addCleanup(sandbox.reset)
        root = fake_solutions(tmp / "solutions")
        err = io.StringIO()
        with mock.patch.object(sandbox, "find_bwrap", return_value=None), \
                mock.patch.dict("os.environ", {"VMGRADE_UNSANDBOXED": ""}), \
                contextlib.redirect_stderr(err), \
                contextlib.redirect_stdout(io.StringIO()):
            status = cli.grade_main(["--tree", str(root), "--lab", "1",
                                     "--hidden"], GRADER / "grade")
        self.assertEqual(status, 2)
        lines = err.getvalue().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("Debian package bubblewrap", lines[0])


@unittest.skipUnless(shutil.which("unifdef"), "needs unifdef (genlabs)")
class AutograderZip(unittest.TestCase):
    def test_the_zip_holds_one_instructor_tree_and_never_solutions(
            self) -> None:
        # Bug: the documented zip was the whole repository, solutions/
        # (every lab's reference and hidden tests) included.
        tmp = Path(tempfile.mkdtemp(prefix="vmlab-test-zip-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        out = tmp / "lab1.zip"
        autograder.make_zip(GRADER.parent, 1, out)
        with zipfile.ZipFile(out) as zf:
            names = zf.namelist()
        self.assertIn("setup.sh", names)
        self.assertIn("run_autograder", names)
        self.assertIn("lab1-trap/lab.json", names)
        self.assertIn("lab1-trap/kern/test/hidden/trap_hidden_test.c", names)
        tops = {n.split("/", 1)[0] for n in names}
        self.assertEqual(tops, {"setup.sh", "run_autograder", "lab1-trap"})
        for name in names:
            self.assertNotIn("solutions/", name)
            self.assertNotIn(".git/", name)
            self.assertFalse(name.endswith(("buddy_hidden_test.c",
                                            "autograder.py", "labgen.py")),
                             name)
