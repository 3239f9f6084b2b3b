"""The object checks: every forged-report attack is rejected on a small
object compiled here with the kernel's own flags, and the reference and
the stub of every lab pass with nothing to review."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from vmgrade import objcheck, spec

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO / "solutions"
CHECKED_LABS = (1, 2, 3, 4)
HAVE_TOOLS = all(shutil.which(t) for t in ("gcc", "make", "objdump"))


def kernel_cflags() -> list[str]:
    """CFLAGS as solutions/Makefile sets them (paths relative to it)."""
    out = subprocess.run(
        ["make", "-s", "--no-print-directory", "-C", str(SOLUTIONS),
         "--eval", "print-cflags: ; @echo $(CFLAGS)", "print-cflags"],
        capture_output=True, text=True, check=True).stdout
    return [f for f in out.split() if f not in ("-MMD", "-MP")]


@unittest.skipUnless(HAVE_TOOLS and SOLUTIONS.is_dir(),
                     "needs gcc, make, objdump and solutions/")
class Attacks(unittest.TestCase):
    """Each attack is compiled as if it were lab 3's kern/mm/buddy.c."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.spec = spec.load(SOLUTIONS / "labs.json")
        cls.allow = objcheck.Allow.of(cls.spec.lab(3))
        cls.cflags = kernel_cflags()
        cls.tmp = Path(tempfile.mkdtemp(prefix="vmlab-objcheck-"))

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def compile(self, source: str, suffix: str = ".c",
                allow: objcheck.Allow | None = None) -> objcheck.Verdict:
        src = self.tmp / f"{self.id().rsplit('.', 1)[-1]}{suffix}"
        src.write_text(source)
        obj = src.with_name(src.name + ".o")
        flags = self.cflags + (["-D__ASSEMBLER__"] if suffix == ".S" else [])
        subprocess.run(["gcc"] + flags + ["-c", str(src), "-o", str(obj)],
                       cwd=SOLUTIONS, check=True, capture_output=True)
        v = objcheck.check_object("kern/mm/buddy.c", obj, allow or self.allow)
        v.rejected += objcheck.check_source("kern/mm/buddy.c", source)
        return v

    def assertRejected(self, v: objcheck.Verdict, *words: str) -> None:
        hit = [r for r in v.rejected if all(w in r for w in words)]
        self.assertTrue(hit, f"no rejection naming {words}: {v.rejected}")
        self.assertTrue(all(r.startswith("kern/mm/buddy.c: ") for r in hit))

    def test_own_test_registry_entry_rejected(self) -> None:
        v = self.compile(
            'struct fake_test { const char *suite, *name; void (*fn)(void); };\n'
            'static void always_passes(void) {}\n'
            'static const struct fake_test forged\n'
            '    __attribute__((used, section(".ktests"), aligned(8))) =\n'
            '    { "buddy", "split_counts", always_passes };\n')
        self.assertRejected(v, "section .ktests is not allowed")

    def test_monitor_command_rejected(self) -> None:
        src = ('struct cmd { const char *n, *u, *h; int (*fn)(int, char **); };\n'
               'static int run(int c, char **v) { (void)c; (void)v; return 0; }\n'
               'static const struct cmd mine\n'
               '    __attribute__((used, section(".moncmds"), aligned(8))) =\n'
               '    { "test", "", "runs nothing", run };\n')
        self.assertRejected(self.compile(src), "section .moncmds")
        lab4 = objcheck.Allow.of(self.spec.lab(4))
        self.assertRejected(self.compile(src, allow=lab4),
                            ".moncmds must hold exactly", "kmastat")

    def test_harness_calls_and_registry_rejected(self) -> None:
        v = self.compile(
            'void ktest_run_all(void); void monitor(void);\n'
            'void serial_putc(char c); extern const char __ktests_start[];\n'
            'const void *page_hook(void) {\n'
            '    ktest_run_all(); serial_putc(\'x\'); monitor();\n'
            '    return __ktests_start; }\n')
        for sym in ("ktest_run_all", "serial_putc", "monitor",
                    "__ktests_start"):
            self.assertRejected(v, f"uses {sym},")

    def test_cr0_write_and_port_io_rejected(self) -> None:
        v = self.compile(
            'static inline unsigned long rd(void) { unsigned long x;\n'
            '    __asm__ volatile("mov %%cr0, %0" : "=r"(x)); return x; }\n'
            'void page_alloc_pages(void) {\n'
            '    __asm__ volatile("mov %0, %%cr0" :: "r"(rd() & ~0x10000UL));\n'
            '    __asm__ volatile("outb %0, %1" :: "a"((char)1), "Nd"((short)0xf4));\n'
            '    unsigned char b; __asm__ volatile("inb %1, %0" : "=a"(b) : "Nd"((short)0x3f8));\n'
            '    (void)b; }\n')
        self.assertRejected(v, "privileged instruction mov to %cr0")
        self.assertRejected(v, "privileged instruction out ")
        self.assertRejected(v, "privileged instruction in ")

    def test_incbin_rejected(self) -> None:
        v = self.compile('.section .rodata\n.incbin "/etc/passwd"\n', ".S")
        self.assertRejected(v, ".incbin is not allowed")
        v = self.compile('__asm__(".pushsection .rodata\\n.incbin \\"/etc/hostname\\"\\n.popsection");\n')
        self.assertRejected(v, ".incbin is not allowed")

    def test_include_of_a_path_rejected(self) -> None:
        for line in ('#include "/etc/passwd"', "#include <../../etc/passwd>",
                     "#define P <page.h>\n#include P", '.include "x.S"'):
            with self.subTest(line=line):
                self.assertTrue(objcheck.check_source("kern/mm/buddy.c",
                                                      line + "\n"))
        self.assertEqual(objcheck.check_source(
            "kern/mm/buddy.c", "#include <page.h>\n# include \"kenv.h\"\n"), [])

    def test_extra_global_is_flagged_not_rejected(self) -> None:
        # A global beyond the interface is most often an honest helper
        # without `static`: it must not cost marks, but a person looks.
        # (One named like a kernel function fails at the link: no weak
        # symbols in the kernel.)
        v = self.compile('void ktest_report(const char *n) { (void)n; }\n'
                         'int page_alloc_pages(int o) { return o; }\n')
        self.assertEqual(v.rejected, [])
        self.assertTrue(any("defines global ktest_report" in r
                            for r in v.review), v.review)
        self.assertFalse([r for r in v.review if "page_alloc_pages" in r])

    def test_init_array_and_writable_text_rejected(self) -> None:
        v = self.compile('volatile int seen;\n'
                         '__attribute__((constructor)) static void early(void)'
                         ' { seen = 1; }\n'
                         '__asm__(".section .data.x,\\"awx\\"\\nnop\\n.previous");\n')
        self.assertRejected(v, "section .init_array is not allowed")
        self.assertRejected(v, "section .data.x has the wrong permissions")

    def test_forged_ktap_strings_need_review(self) -> None:
        v = self.compile(
            'int kprintf(const char *f, ...);\n'
            'void page_free_pages(int i) { kprintf("ok %d buddy\\n", i); }\n',
            allow=objcheck.Allow(self.allow.interface,
                                 self.allow.may_call | {"kprintf"},
                                 frozenset()))
        self.assertEqual(v.rejected, [])
        self.assertTrue(any("looks like the test harness" in r
                            for r in v.review), v.review)

    def test_call_to_a_constant_address_needs_review(self) -> None:
        v = self.compile(
            'void page_free_pages(void) {\n'
            '    ((void (*)(void))0xffffffff80101234UL)(); }\n')
        self.assertEqual(v.rejected, [])
        self.assertTrue(any("constant address" in r for r in v.review),
                        v.review)

    def test_a_rejection_fails_the_build_before_any_boot(self) -> None:
        from vmgrade.build import BuildResult
        from vmgrade.tree import Target
        out = self.tmp / "build"
        obj = out / "kern/mm/buddy.c.o"
        obj.parent.mkdir(parents=True)
        src = self.tmp / "forged.c"
        src.write_text("void ktest_run_all(void);\n"
                       "void page_free_pages(void) { ktest_run_all(); }\n")
        subprocess.run(["gcc"] + self.cflags + ["-c", str(src), "-o",
                        str(obj)], cwd=SOLUTIONS, check=True)
        built = BuildResult(True, out / "kernel.elf", 0, [], 1.0, out)
        target = Target(SOLUTIONS, self.spec, 3, 3, False)
        self.assertEqual(objcheck.judge(target, built), [])
        self.assertFalse(built.ok)
        self.assertIsNone(built.kernel)
        self.assertEqual(built.reason, "rejected by the object checks: "
                         "kern/mm/buddy.c: uses ktest_run_all, which the "
                         "lab's files may not call or reference")

    def test_honest_indirect_call_not_flagged(self) -> None:
        v = self.compile(
            'static void a(void) {} static void b(void) {}\n'
            'static void (*volatile pick[2])(void) = { a, b };\n'
            'void page_free_pages(int i) { pick[i & 1](); }\n')
        self.assertEqual((v.rejected, v.review), ([], []))


@unittest.skipUnless(HAVE_TOOLS and SOLUTIONS.is_dir(),
                     "needs gcc, make, objdump and solutions/")
class HonestSubmissions(unittest.TestCase):
    """The reference and the stub of every lab pass, with nothing flagged,
    and labs.json's allowlists are exactly what they derive."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.spec = spec.load(SOLUTIONS / "labs.json")
        cls.tmp = Path(tempfile.mkdtemp(prefix="vmlab-objcheck-"))

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_reference_and_stub_pass_and_allowlists_derive(self) -> None:
        top = max(self.spec.labs)
        for n in CHECKED_LABS:
            lab = self.spec.lab(n)
            with self.subTest(lab=n):
                work = self.tmp / f"lab{n}"
                derived = objcheck.derive_lab(SOLUTIONS, work, lab, top)
                self.assertEqual(derived, {
                    "interface": sorted(lab.interface or ()),
                    "may_call": sorted(lab.may_call),
                    "privileged": sorted(lab.privileged),
                    "moncmds": sorted(lab.moncmds)},
                    f"labs.json lab {n}: allowlists differ from the derived")
                for build in ("ref", "top", "stub"):
                    v = objcheck.check_lab(SOLUTIONS, work / build, lab)
                    self.assertEqual((v.rejected, v.review), ([], []),
                                     f"lab {n} {build}")

    def test_lab_tree_spec_carries_allowlists(self) -> None:
        trimmed = self.spec.trimmed(3, False)["labs"][0]
        self.assertEqual(trimmed["interface"], list(self.spec.lab(3).interface or ()))


class Reports(unittest.TestCase):
    """A flagged grade says so in every report, and keeps its score."""

    def test_needs_review_in_table_json_gradescope_and_csv(self) -> None:
        from tests.test_report import grade
        from vmgrade import batch, report
        g = grade()
        before = g.score.points
        g.review = ["kern/mm/buddy.c: indirect call at f+0x4 to the "
                    "constant address 0xffffffff80101234"]
        self.assertIn("needs review (1; the score is unchanged):",
                      report.table(g, report.Style()))
        self.assertEqual(report.to_json(g)["needs_review"], g.review)
        self.assertIn("Needs review", report.to_gradescope(g)["output"])
        self.assertEqual(report.to_gradescope(g)["score"], before)
        with tempfile.TemporaryDirectory() as d:
            csv = Path(d) / "grades.csv"
            batch.write_csv(csv, [batch.Row("alice", before, 10, "graded",
                                            batch._review(g), g)])
            self.assertIn("needs review: kern/mm/buddy.c", csv.read_text())


class Disassembly(unittest.TestCase):
    def test_prefixes_and_control_registers(self) -> None:
        text = ("0000000000000000 <f>:\n"
                "   0:\trep insb (%dx),%es:(%rdi)\n"
                "   2:\tmov    %rax,%cr3\n"
                "   5:\tmov    %cr2,%rax\n"
                "   8:\tlock incl (%rax)\n")
        found = objcheck.privileged(objcheck.parse_disassembly(text))
        self.assertEqual([p for p, _ in found], ["ins", "mov to %cr3"])


if __name__ == "__main__":
    unittest.main()
