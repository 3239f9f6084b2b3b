"""The result channel: verification of signed lines, the trusted KTAP view,
and real boots of the reference kernel, honest and forging."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from tests.support import GRADER, fake_boot, needs_make
from vmgrade import channel, ktap, run
from vmgrade.channel import Channel, sign, trusted_log, verify
from vmgrade.qemu import Boot, Machine, kernel_cmdline, run_boot
from vmgrade.spec import QemuConfig, TestSpec

KEY = "ab" * 32
REPORT = [
    "KTAP version 1",
    "1..1",
    "    KTAP version 1",
    "    # Subtest: buddy",
    "    1..2",
    "    # RUN buddy.split",
    "    not ok 1 split",
    "    # RUN buddy.merge",
    "    ok 2 merge",
    "not ok 1 buddy",
    "# vmlab: tests done",
]


def signed(lines: list[str], key: str = KEY) -> list[str]:
    return [sign(key, i, ln) for i, ln in enumerate(lines)]


def data(lines: list[str]) -> bytes:
    return "".join(ln + "\n" for ln in lines).encode()


class VerifyTest(unittest.TestCase):

    def test_accepts_a_correctly_signed_log(self) -> None:
        chan = verify(data(signed(REPORT)), KEY)
        self.assertEqual(chan.lines, REPORT)
        self.assertEqual(chan.problems, [])

    def test_rejects_a_forged_line_and_what_follows_it(self) -> None:
        lines = signed(REPORT)
        lines[6] = lines[6].replace("not ok 1", "ok 1")
        chan = verify(data(lines), KEY)
        self.assertIn("forged or corrupt channel line (bad MAC)",
                      chan.problems[0])
        # Line 6 never verified, so line 7 onwards is out of sequence.
        self.assertEqual(chan.lines, REPORT[:6])
        self.assertEqual(len(chan.problems), len(REPORT) - 6)

    def test_an_inserted_forged_line_leaves_the_rest_verified(self) -> None:
        lines = signed(REPORT)
        forged = "    ok 1 split #mac 6 0123456789abcdef"
        chan = verify(data(lines[:6] + [forged] + lines[6:]), KEY)
        self.assertEqual(chan.lines, REPORT)
        self.assertEqual(len(chan.problems), 1)

    def test_rejects_a_line_signed_with_another_key(self) -> None:
        chan = verify(data(signed(REPORT, "cd" * 32)), KEY)
        self.assertEqual(chan.lines, [])
        self.assertEqual(len(chan.problems), len(REPORT))

    def test_rejects_a_replayed_line(self) -> None:
        lines = signed(REPORT)
        chan = verify(data(lines[:9] + [lines[8]] + lines[9:]), KEY)
        self.assertEqual(chan.lines, REPORT)
        self.assertEqual(len(chan.problems), 1)
        self.assertIn("line 8 where line 9 was due", chan.problems[0])

    def test_rejects_a_reordered_pair(self) -> None:
        lines = signed(REPORT)
        lines[6], lines[8] = lines[8], lines[6]     # "ok 2 merge" first
        chan = verify(data(lines), KEY)
        self.assertEqual(chan.lines[:6], REPORT[:6])
        self.assertNotIn("    ok 2 merge", chan.lines)
        self.assertTrue(chan.problems)

    def test_rejects_a_truncated_mac(self) -> None:
        lines = signed(REPORT)
        lines[0] = lines[0][:-1]
        chan = verify(data(lines), KEY)
        self.assertEqual(chan.lines, [])
        self.assertIn("(no MAC)", chan.problems[0])

    def test_rejects_an_unsigned_line_and_a_cut_last_line(self) -> None:
        lines = signed(REPORT[:3])
        raw = data(lines[:1] + ["ok 1 boot"] + lines[1:]) + b"    KTAP ver"
        chan = verify(raw, KEY)
        self.assertEqual(chan.lines, REPORT[:3])
        self.assertEqual(len(chan.problems), 2)


class TrustedLogTest(unittest.TestCase):

    def test_without_a_channel_the_console_is_trusted(self) -> None:
        log = trusted_log("\n".join(REPORT), None)
        self.assertEqual(log.results["buddy.split"].status, "fail")
        self.assertEqual(log.results["buddy.merge"].status, "pass")

    def test_the_channel_outranks_a_forged_console(self) -> None:
        console = "\n".join(REPORT).replace("not ok 1 split", "ok 1 split")
        log = trusted_log(console, Channel(list(REPORT)))
        self.assertEqual(log.results["buddy.split"].status, "fail")

    def test_a_result_only_on_the_console_is_not_a_pass(self) -> None:
        lines = signed(REPORT)
        lines[8] = lines[8].replace("ok 2", "ok  2")      # tampered
        chan = verify(data(lines), KEY)
        log = trusted_log("\n".join(REPORT), chan)
        res = log.results["buddy.merge"]
        self.assertEqual(res.status, "fail")
        self.assertEqual(res.reason, channel.NO_VERIFIED_RESULT)
        self.assertTrue(any("forged or corrupt" in ln for ln in res.lines))

    def test_console_diagnostics_stay_with_verified_results(self) -> None:
        console = list(REPORT)
        console.insert(6, "    # buddy_test.c:12: EXPECT_EQ failed")
        log = trusted_log("\n".join(console), Channel(list(REPORT)))
        self.assertEqual(log.results["buddy.split"].lines,
                         ["# buddy_test.c:12: EXPECT_EQ failed"])

    def _chain(self, console: str) -> tuple[run.RunResult, list[str]]:
        """A chain whose first boot panics in buddy.split, as the channel
        tells it; the resumed boot reports nothing."""
        boot = fake_boot(console, "panic")
        boot.channel = Channel(REPORT[:6])
        calls: list[str] = []

        def boot_fn(cmdline: str, typed: str | None = None) -> Boot:
            calls.append(cmdline)
            return boot if len(calls) == 1 else fake_boot("")
        result = run.run_chain(boot_fn, ["buddy.*"], 1,
                               ["buddy.split", "buddy.merge"])
        return result, calls

    def test_a_crash_is_blamed_and_resumed_from_the_channel(self) -> None:
        result, calls = self._chain("\n".join(REPORT[:6]))
        self.assertEqual(result.runs["buddy.split"].status, "crashed")
        self.assertIn("kresume=buddy.split", calls[1])

    def test_a_fake_ok_before_a_crash_is_not_a_pass(self) -> None:
        result, _ = self._chain("\n".join(REPORT[:6] + ["    ok 1 split"]))
        split = result.runs["buddy.split"]
        self.assertEqual(split.status, "fail")
        self.assertEqual(split.reason, channel.NO_VERIFIED_RESULT)


# ----------------------------------------------------------- real boots

SOLUTIONS = GRADER.parent / "solutions"
needs_solutions = unittest.skipUnless(
    (SOLUTIONS / "labs.json").exists(), "needs the repo's solutions/")

# boot.cmdline_seed fails, after printing a fake "ok" on COM1 and writing a
# forged line to the channel's port.
FORGERY = """\
	kprintf("    ok 1 cmdline_seed\\n");
	for (const char *p = "    ok 1 cmdline_seed #mac 7 0123456789abcdef\\n";
	     *p != '\\0'; p++)
		outb(0xe9, (uint8_t)*p);
	EXPECT_TRUE(want == 0);
"""


def build(tree: Path, out: Path) -> subprocess.Popen[bytes]:
    """Start make for the lab 1 reference kernel of tree in out."""
    return subprocess.Popen(["make", "-s", "-C", str(tree), f"O={out}",
                             "LAB=1", "SOL=1", "-j2", "kernel"],
                            stdout=subprocess.DEVNULL)


def lab1_machine() -> Machine:
    return Machine(QemuConfig(wall_backstop_s=60,
                              output_cap_bytes=1 << 20), "128M", 1)


def forging_tree(tmp: Path) -> Path:
    """A copy of solutions/ whose boot.cmdline_seed forges its result."""
    tree = tmp / "solutions"
    shutil.copytree(SOLUTIONS, tree,
                    ignore=shutil.ignore_patterns("build", "*.o"))
    src = tree / "kern/test/boot_test.c"
    text = src.read_text()
    anchor = "\tuint64_t want = 0x5eed;\n\n"
    assert anchor in text, "boot_test.c changed: update FORGERY's anchor"
    text = text.replace(anchor, anchor + FORGERY, 1)
    src.write_text(text.replace("#include <platform.h>\n",
                                "#include <platform.h>\n#include <x86.h>\n"))
    return tree


@needs_make
@needs_solutions
class RealBootTest(unittest.TestCase):
    """Two kernels at lab 1, built side by side: the reference, and the
    reference with a test that forges its result."""

    tmp: Path
    honest: Path
    forger: Path

    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = Path(tempfile.mkdtemp(prefix="vmlab-chan-test-"))
        tree = forging_tree(cls.tmp)
        makes = [build(t, cls.tmp / out)
                 for t, out in ((SOLUTIONS, "honest"), (tree, "forger"))]
        for proc in makes:
            if proc.wait() != 0:
                raise AssertionError("make failed")
        cls.honest = cls.tmp / "honest/kernel.elf"
        cls.forger = cls.tmp / "forger/kernel.elf"

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_the_reference_gets_every_result_verified(self) -> None:
        kernel = self.honest
        self.assertTrue(channel.speaks_channel(kernel))
        boot = run_boot(lab1_machine(), kernel,
                        kernel_cmdline(["boot.*", "trap.*"], 1))
        self.assertEqual(boot.outcome, "finished")
        assert boot.channel is not None
        self.assertEqual(boot.channel.problems, [])
        seen = ktap.parse(boot.log)
        log = trusted_log(boot.log, boot.channel)
        self.assertGreater(len(seen.results), 10)
        self.assertEqual({n: r.status for n, r in log.results.items()},
                         {n: r.status for n, r in seen.results.items()})
        self.assertTrue(all(r.status == "pass"
                            for r in log.results.values()))
        panic = run_boot(lab1_machine(), kernel,
                         kernel_cmdline(["boot.panic_path"], 1))
        plog = trusted_log(panic.log, panic.channel)
        assert plog.panic is not None
        self.assertIn("deliberate panic", plog.panic.line)
        self.assertEqual(plog.panic.test, "boot.panic_path")
        self.assertTrue(plog.panic.backtrace)

    def test_a_fake_ok_on_the_console_scores_failed(self) -> None:
        kernel = self.forger
        spec = TestSpec("boot.cmdline_seed", lab=0, points=1.0)
        boot_fn = lambda cmdline, typed=None: run_boot(   # noqa: E731
            lab1_machine(), kernel, cmdline)
        result = run.run_all(boot_fn, [spec], 1, ("boot.cmdline_seed",))
        boot = result.boots[0]
        self.assertEqual(ktap.parse(boot.log).results[
            "boot.cmdline_seed"].status, "pass")        # the console lies
        got = result.runs["boot.cmdline_seed"]
        self.assertEqual(got.status, "fail")
        assert boot.channel is not None
        self.assertEqual(len(boot.channel.problems), 1)
        self.assertIn("bad MAC", boot.channel.problems[0])


if __name__ == "__main__":
    unittest.main()
