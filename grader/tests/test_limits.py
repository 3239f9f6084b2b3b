"""Limits on what the grader starts: a build that never ends, fills the disk,
eats memory or CPU is stopped and scored as a build failure with the reason;
QEMU runs under its own limits.

Each test names the hole it would catch. The builds are tiny fake Makefiles
under small limits, so they take a second or two.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import unittest
from pathlib import Path
from unittest import mock

from tests.support import assemble, machine, needs_qemu
from vmgrade import build, limits, qemu, sandbox
from vmgrade.limits import Limits

SMALL = Limits(memory_bytes=256 << 20, cpu_s=2, file_bytes=1 << 20,
               wall_s=20)
needs_make = unittest.skipUnless(shutil.which("make") and shutil.which("gcc"),
                                 "needs make and gcc")


@needs_make
class Build(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="vmlab-test-limits-"))
        # The limits themselves, unsandboxed: the sandbox has no /dev/zero
        # and PIDs of its own (test_sandbox.py covers it).
        sandbox.reset()
        self.addCleanup(sandbox.reset)
        patch = mock.patch.object(sandbox, "find_bwrap", return_value=None)
        patch.start()
        self.addCleanup(patch.stop)

    def tearDown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def build(self, recipe: str, lim: Limits = SMALL) -> build.BuildResult:
        """make kernel with one recipe line, under lim."""
        (self.tmp / "Makefile").write_text(f"kernel:\n\t{recipe}\n")
        made = build.build(self.tmp, {}, 1, lim)
        self.addCleanup(made.remove)
        return made

    def cached(self, recipe: str) -> tuple[Path, Path]:
        """A tree whose build appends a line to a file outside it, and a
        build cache for this test (VMLAB_BUILD_CACHE)."""
        tree, cache = self.tmp / "tree", self.tmp / "cache"
        tree.mkdir()
        cache.mkdir()
        (tree / "Makefile").write_text(
            f"kernel:\n\t{recipe}\n\techo made >> {self.tmp}/count\n")
        patch = mock.patch.dict(os.environ,
                                {build.CACHE_ENV: str(cache)})
        patch.start()
        self.addCleanup(patch.stop)
        return tree, cache

    def made(self, tree: Path, make_vars: dict[str, str] | None = None
             ) -> build.BuildResult:
        made = build.build(tree, make_vars or {}, 1, SMALL)
        self.addCleanup(made.remove)
        return made

    def test_a_kept_build_is_copied_not_made_again(self) -> None:
        # Bug: every build of make check compiled its tree again.
        tree, cache = self.cached("echo elf > $(O)/kernel.elf")
        first, second = self.made(tree), self.made(tree)
        self.assertTrue(first.ok and second.ok)
        self.assertEqual((self.tmp / "count").read_text(), "made\n")
        self.assertNotEqual(first.outdir, second.outdir)
        self.assertEqual(second.kernel.read_text(), "elf\n")
        log = (cache / "log").read_text().splitlines()
        self.assertEqual(len(log), 2)
        self.assertIn("built in", log[0])
        self.assertIn("copied", log[1])

    def test_a_changed_tree_or_variable_is_made_again(self) -> None:
        # Bug: a key that missed the tree's files or the make variables
        # handed out a stale kernel.
        tree, _ = self.cached("echo elf > $(O)/kernel.elf")
        self.made(tree)
        (tree / "a.c").write_text("int a;\n")
        self.made(tree)
        self.made(tree, {"LAB": "3"})
        self.made(tree, {"LAB": "3"})
        self.assertEqual((self.tmp / "count").read_text(), "made\n" * 3)

    def test_a_failed_build_is_not_kept(self) -> None:
        # Bug: a build that failed once failed from the cache ever after.
        tree, cache = self.cached("false")
        self.assertFalse(self.made(tree).ok)
        self.assertFalse(self.made(tree).ok)
        self.assertFalse((cache / "log").exists())

    def test_a_build_into_a_given_outdir_is_never_kept(self) -> None:
        # Bug: the mutants' incremental builds filled the cache.
        tree, cache = self.cached("echo elf > $(O)/kernel.elf")
        out = self.tmp / "out"
        for _ in range(2):
            self.assertTrue(build.build(tree, {}, 1, SMALL, outdir=out).ok)
        self.assertEqual((self.tmp / "count").read_text(), "made\n" * 2)
        self.assertFalse((cache / "log").exists())

    @unittest.skipUnless(shutil.which("ccache"), "needs ccache")
    def test_make_checks_builds_compile_through_ccache(self) -> None:
        # Bug: the kernel builds of make check compiled every file again
        # at every level; a build without the caches must not use ccache.
        tree, cache = self.cached("echo '$(CC)' > $(O)/kernel.elf")
        with mock.patch.dict(os.environ, {build.CCACHE_ENV: ""}):
            self.assertEqual(self.made(tree).kernel.read_text(), "cc\n")
        cc = self.tmp / "ccache"
        cc.mkdir()
        with mock.patch.dict(os.environ, {build.CCACHE_ENV: str(cc)}):
            (tree / "a.c").write_text("int a;\n")
            self.assertEqual(self.made(tree).kernel.read_text(),
                             "ccache gcc\n")
            with mock.patch.dict(os.environ, {build.CACHE_ENV: ""}):
                self.assertEqual(build.compiler_cache(), "")

    def test_a_build_that_never_ends_is_stopped_with_its_children(self) -> None:
        # Bug: the build had no time limit at all.
        t0 = time.monotonic()
        made = self.build("@echo $$$$ > $(O)/pid; exec sleep 1000",
                          Limits(256 << 20, 60, 1 << 20, wall_s=1))
        self.assertLess(time.monotonic() - t0, 60)    # hung, not slow
        self.assertFalse(made.ok)
        self.assertIn("wall-clock limit of 1 s", made.reason)
        pid = int((made.outdir / "pid").read_text())
        self.assertFalse(_alive(pid), "the sleep outlived the build")

    def test_a_compiler_reading_its_own_output_does_not_hang(self) -> None:
        # Bug: `#include "/proc/self/fd/1"` made the compiler read make's
        # output pipe, which nobody would ever close: the grader hung.
        t0 = time.monotonic()
        made = self.build(r"""@printf '#include "/proc/self/fd/1"\n' > """
                          "$(O)/x.c; gcc -E $(O)/x.c -o $(O)/x.i; exit 1")
        self.assertLess(time.monotonic() - t0, 60)    # hung, not slow
        self.assertFalse(made.ok)
        self.assertEqual(made.reason, "")

    def test_a_build_writing_a_huge_file_is_stopped(self) -> None:
        made = self.build("head -c 10M /dev/zero > $(O)/big")
        self.assertFalse(made.ok)
        self.assertIn("file of more than 1 MiB", made.reason)
        self.assertLessEqual((made.outdir / "big").stat().st_size, 1 << 20)

    def test_a_build_eating_memory_is_stopped(self) -> None:
        made = self.build("dd if=/dev/zero of=/dev/null bs=400M count=1")
        self.assertFalse(made.ok)
        self.assertIn("ran out of memory", made.reason)

    def test_a_build_eating_cpu_is_stopped(self) -> None:
        made = self.build("@while :; do :; done",
                          Limits(256 << 20, 1, 1 << 20, wall_s=20))
        self.assertFalse(made.ok)
        self.assertIn("more than 1 s of CPU", made.reason)
        self.assertNotIn("\n", made.reason)
        self.assertTrue(made.tail, "make's own output is kept too")

    def test_the_limits_reach_every_process_of_the_build(self) -> None:
        made = self.build("@ulimit -v; ulimit -t; ulimit -f; exit 1")
        shown = [ln for ln in made.tail if ln.isdigit()]
        self.assertEqual(shown, [str(SMALL.memory_bytes >> 10),
                                         str(SMALL.cpu_s),
                                         str(SMALL.file_bytes // 512)])


class Stop(unittest.TestCase):
    def test_stop_ends_the_whole_process_group(self) -> None:
        proc = limits.start(["sh", "-c", "sleep 1000 & echo $!; wait"],
                            SMALL, stdout=-1)
        assert proc.stdout is not None
        child = int(proc.stdout.readline())
        limits.stop(proc)
        proc.stdout.close()
        self.assertFalse(_alive(child))

    def test_a_program_that_is_not_there(self) -> None:
        with self.assertRaises(limits.GraderError):
            limits.start(["/nonexistent/qemu"], SMALL)


@needs_qemu
class Qemu(unittest.TestCase):
    def test_a_boot_runs_under_qemu_limits(self) -> None:
        # Bug: QEMU ran with no memory, CPU or file-size limit: a grader
        # that died left it running forever.
        tmp = Path(tempfile.mkdtemp(prefix="vmlab-test-limits-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        kernel = assemble("good", tmp)
        m = machine(wall_backstop_s=30, output_cap_bytes=1 << 20)
        seen: list[Limits] = []
        real = limits.start

        def spy(argv: list[str], lim: Limits, **kw: object) -> object:
            seen.append(lim)
            return real(argv, lim, **kw)        # type: ignore[arg-type]

        with mock.patch.object(qemu.limits, "start", spy):
            boot = qemu.run_boot(m, kernel, "")
        self.assertEqual(boot.outcome, "finished")
        self.assertEqual(seen, [qemu.qemu_limits(m)])
        lim = seen[0]
        self.assertEqual(lim.memory_bytes, (64 << 20) + qemu.QEMU_AS_BASE)
        self.assertGreater(lim.file_bytes, m.qemu.output_cap_bytes)
        self.assertGreaterEqual(lim.cpu_s, m.qemu.wall_backstop_s)


def _alive(pid: int) -> bool:
    """Is pid still a live process (not a zombie), after up to 2 s?"""
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(") ", 1)[1].startswith("Z"):
                    return False
        except OSError:
            return False
        time.sleep(0.05)
    return True


if __name__ == "__main__":
    unittest.main()
