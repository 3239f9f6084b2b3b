"""Every way a boot can end, with real QEMU boots of tiny 32-bit kernels.

The kernels (grader/tests/kernels/*.S) are assembled here with `as --32`
and booted through their PVH note; each one ends its run a different way.
Each test names the supervision bug it would catch.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import unittest
from pathlib import Path

from tests.support import assemble, machine, needs_qemu
from vmgrade import GraderError, ktap, qemu

KERNELS = ("good", "panic", "triple", "poweroff", "hang_watchdog", "hang",
           "flood", "badexit")


def children() -> str:
    """This process's live children, from /proc (empty if none)."""
    pid = os.getpid()
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return path.read_text().strip() if path.exists() else ""


@needs_qemu
class Endings(unittest.TestCase):
    tmp: Path
    elf: dict[str, Path]

    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = Path(tempfile.mkdtemp(prefix="vmlab-test-kernels-"))
        cls.elf = {k: assemble(k, cls.tmp) for k in KERNELS}

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def boot(self, name: str, **cfg: int) -> qemu.Boot:
        b = qemu.run_boot(machine(**cfg), self.elf[name], "ktest=x.* seed=1")
        self.assertEqual(children(), "", "QEMU was not reaped")
        return b

    def test_finished(self) -> None:
        # Bug: exit status 33 not read as a finished run.
        b = self.boot("good")
        self.assertEqual((b.outcome, b.exit_status), ("finished", 33))
        log = ktap.parse(b.log)
        self.assertEqual(sorted(log.results), ["demo.first", "demo.second"])
        self.assertIsNotNone(b.first_ktap_ms)
        assert b.first_ktap_ms is not None
        self.assertLessEqual(b.first_ktap_ms, b.wall_ms)

    def test_panic(self) -> None:
        # Bug: exit status 35 not read as a panic, or the log lost.
        b = self.boot("panic")
        self.assertEqual((b.outcome, b.exit_status), ("panic", 35))
        log = ktap.parse(b.log)
        self.assertEqual(log.running, "x.y")
        assert log.panic is not None
        self.assertEqual(log.panic.message, "boom")
        self.assertEqual(log.panic.backtrace, ["ktest_x_y"])

    def test_triple_fault_exit_0_is_never_trusted(self) -> None:
        # Bug: exit status 0 taken as success.
        b = self.boot("triple")
        self.assertEqual((b.outcome, b.exit_status), ("triple-fault", 0))
        self.assertIn("triple fault ahead", b.log)

    def test_poweroff_is_told_apart_from_a_triple_fault(self) -> None:
        # Bug: QMP's SHUTDOWN reason ignored, so a poweroff looks like a
        # triple fault (or, worse, a clean run).
        b = self.boot("poweroff")
        self.assertEqual((b.outcome, b.exit_status), ("poweroff", 0))

    def test_watchdog_timeout_in_virtual_time(self) -> None:
        # Bug: WATCHDOG event ignored, so a hung test waits for the wall
        # clock; or the guest's halt does not let virtual time run.
        # "timeout" (not "wall-timeout") proves the watchdog ended it; no
        # bound on the wall time, which depends on the host's load.
        b = self.boot("hang_watchdog", wall_backstop_s=120)
        self.assertEqual(b.outcome, "timeout")
        self.assertEqual(ktap.parse(b.log).running, "demo.hangs")

    def test_wall_clock_backstop(self) -> None:
        # Bug: no backstop: a hang without a watchdog hangs the grader.
        b = self.boot("hang", wall_backstop_s=2)
        self.assertEqual(b.outcome, "wall-timeout")
        self.assertGreaterEqual(b.wall_ms, 2000)
        self.assertLess(b.wall_ms, 60_000)     # generous: a loaded host

    def test_output_flood_is_cut_at_the_cap(self) -> None:
        # Bug: endless output fills the disk, or the log is not cut.
        cap = 32 * 1024
        b = self.boot("flood", output_cap_bytes=cap)
        self.assertEqual(b.outcome, "flood")
        self.assertEqual(len(b.log.encode()), cap)
        self.assertEqual(ktap.parse(b.log).running, "demo.floods")

    def test_unknown_exit_code(self) -> None:
        # Bug: any odd status taken as finished or panic.
        b = self.boot("badexit")
        self.assertEqual((b.outcome, b.exit_status), ("bad-exit-37", 37))

    def test_missing_kernel_is_a_qemu_error(self) -> None:
        # Bug: QEMU's own failure blamed on the student, without its message.
        b = qemu.run_boot(machine(), self.tmp / "nope.elf", "")
        self.assertEqual(b.outcome, "qemu-error")
        self.assertIn("nope.elf", b.stderr)
        self.assertNotIn("waiting for connection", b.stderr)

    def test_bad_option_is_a_qemu_error(self) -> None:
        # Bug: QEMU exiting before its QMP socket exists hangs the grader.
        b = qemu.run_boot(machine(machine="no-such-machine"),
                          self.elf["good"], "")
        self.assertEqual(b.outcome, "qemu-error")
        self.assertIn("unsupported machine type", b.stderr)

    def test_temp_dir_removed_unless_kept(self) -> None:
        # Bug: every boot leaves a directory (and a socket) behind.
        b = qemu.run_boot(machine(), self.elf["good"], "", keep=False)
        self.assertIsNone(b.tmpdir)
        kept = qemu.run_boot(machine(), self.elf["good"], "", keep=True)
        assert kept.tmpdir is not None
        try:
            self.assertTrue((Path(kept.tmpdir) / "serial.log").is_file())
        finally:
            shutil.rmtree(kept.tmpdir)


@needs_qemu
class Interactive(unittest.TestCase):
    """vmrun's ending, told truly: the watchdog at once, a triple fault
    apart from a quit (serial to a file here instead of the terminal)."""

    def run_vm(self, name: str) -> tuple[int, str]:
        import contextlib
        import io
        with tempfile.TemporaryDirectory() as tmp:
            elf = assemble(name, Path(tmp))
            sock = Path(tmp) / "qmp.sock"
            argv = qemu.interactive_argv(qemu.find_qemu(), machine(), elf,
                                         "", None, sock)
            argv[argv.index("mon:stdio")] = "file:" + tmp + "/serial.log"
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                rc = qemu.run_interactive(argv, sock)
        return rc, err.getvalue()

    def test_watchdog_is_reported_and_ends_qemu(self) -> None:
        # Bug: the terminal froze with QEMU paused on the watchdog, and
        # vmrun later blamed Ctrl-a x or a triple fault.
        rc, err = self.run_vm("hang_watchdog")
        self.assertEqual(rc, 1)
        self.assertIn("vmrun: the watchdog fired: no test finished", err)
        self.assertIn("stuck in a loop", err)
        self.assertNotIn("Ctrl-a x", err)

    def test_triple_fault_is_not_a_quit(self) -> None:
        # Bug: exit status 0 read as "you quit it".
        rc, err = self.run_vm("triple")
        self.assertEqual(rc, 1)
        self.assertIn("triple-faulted", err)
        self.assertNotIn("you quit", err)

    def test_finished_run(self) -> None:
        rc, err = self.run_vm("good")
        self.assertEqual(rc, 0)
        self.assertIn("the kernel finished its run", err)


@needs_qemu
class WatchdogBudget(unittest.TestCase):
    """ib700: a byte V written to 0x443 fires after 30 - 2*(V & 0xF)
    virtual seconds (see the note in vmgrade/qemu.py); wdt_clock.S prints
    one '.' per tenth of a virtual second until the guest is stopped."""

    def tenths(self, code: int) -> int:
        with tempfile.TemporaryDirectory() as tmp:
            elf = assemble("wdt_clock", Path(tmp), WDT_CODE=code)
            b = qemu.run_boot(machine(icount_shift=10), elf, "")
        self.assertEqual(b.outcome, "timeout")
        return b.log.count(".")

    def test_budget_follows_the_low_nibble(self) -> None:
        # Bug (in the kernel's arithmetic this documents): the wrong
        # code gives a test the wrong budget.
        # The expiry itself is exact in virtual time, but the pause is
        # carried out by QEMU's main loop, which a loaded host may run
        # late while the vCPU goes on printing: the count can only run
        # over, by an amount that depends on the host. The budgets of
        # neighbouring codes are 20 tenths apart, so the check allows 15
        # over and still tells each code from its neighbours.
        for code, seconds in ((0x0E, 2), (0x0B, 8), (0x1E, 2)):
            with self.subTest(code=hex(code)):
                got = self.tenths(code)
                self.assertGreaterEqual(got, 10 * seconds - 1)
                self.assertLess(got, 10 * seconds + 16)


class QmpMessages(unittest.TestCase):
    def test_an_event_read_with_a_return_is_kept(self) -> None:
        # Bug: one recv carried "cont"'s return and the WATCHDOG event
        # after it (a guest that hangs at once, a busy host); the event
        # was dropped with the return, and a hang scored as a wall-clock
        # timeout two minutes later. Seen in CI.
        import socket
        ours, qemus = socket.socketpair()
        with ours, qemus:
            qemus.sendall(b'{"return": {}}\n'
                          b'{"event": "WATCHDOG", "data": {}}\n')
            q = qemu.Qmp(ours)
            self.assertEqual(q.execute("cont", float("inf")), [])
            self.assertEqual([m.get("event") for m in q.read(1.0)],
                             ["WATCHDOG"])
            self.assertEqual(q.read(0.01), [])


class CommandLines(unittest.TestCase):
    def test_graded_and_interactive_boots_share_the_machine(self) -> None:
        # Bug: `make qemu` runs a different machine from the graded one.
        m = machine()
        k = Path("/k.elf")
        base = qemu.base_argv("qemu", m, k, "ktest=a.* seed=1")
        graded = qemu.graded_argv("qemu", m, k, "ktest=a.* seed=1",
                                  Path("/t"))
        inter = qemu.interactive_argv("qemu", m, k, "ktest=a.* seed=1", 1234)
        self.assertEqual(graded[:len(base)], base)
        self.assertEqual(inter[:len(base)], base)
        self.assertIn("mon:stdio", inter)
        self.assertNotIn("-qmp", inter)
        self.assertEqual(inter[-3:], ["-S", "-gdb", "tcp:127.0.0.1:1234"])
        for flag in ("-no-reboot", "-nodefaults", "ib700",
                     "watchdog=pause", "shift=3,sleep=off"):
            self.assertIn(flag, base)

    def test_the_initrd_beside_the_kernel_is_booted(self) -> None:
        # Bug: a lab 5 kernel booted without its initrd (no user programs),
        # or a lab 4 kernel given one it never had.
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            k = Path(d) / "kernel.elf"
            k.write_bytes(b"")
            self.assertNotIn("-initrd", qemu.base_argv("qemu", machine(), k,
                                                       ""))
            (Path(d) / qemu.INITRD_NAME).write_bytes(b"070701")
            argv = qemu.base_argv("qemu", machine(), k, "")
            i = argv.index("-initrd")
            self.assertEqual(argv[i + 1], str(Path(d) / "initrd.cpio"))

    def test_kernel_command_line(self) -> None:
        self.assertEqual(qemu.kernel_cmdline(["a.*", "b.*"], 7, "a.x"),
                         "ktest=a.*,b.* seed=7 kresume=a.x")
        self.assertEqual(qemu.kernel_cmdline(None, None), "")

    def test_comma_in_a_temp_path_is_doubled(self) -> None:
        argv = qemu.graded_argv("qemu", machine(), Path("/k"), "",
                                Path("/tmp/a,b"))
        self.assertIn("file:/tmp/a,,b/serial.log", argv)

    def test_qemu_not_installed(self) -> None:
        # Bug: a traceback (or a vague error) when QEMU is missing.
        old = os.environ.get("PATH", "")
        os.environ["PATH"] = tempfile.gettempdir() + "/vmlab-no-such-dir"
        try:
            with self.assertRaises(GraderError) as cm:
                qemu.find_qemu()
        finally:
            os.environ["PATH"] = old
        self.assertEqual(str(cm.exception), "qemu-system-x86_64 not found: "
                         "install the Debian package qemu-system-x86 (or run "
                         "scripts/deps.sh)")

    def test_classify_exit_statuses(self) -> None:
        self.assertEqual(qemu.classify(33, None, ""), "finished")
        self.assertEqual(qemu.classify(35, None, ""), "panic")
        self.assertEqual(qemu.classify(0, None, ""), "bad-exit-0")
        self.assertEqual(qemu.classify(0, "guest-reset", ""), "triple-fault")
        self.assertEqual(qemu.classify(1, None, ""), "bad-exit-1")
        self.assertEqual(qemu.classify(1, None, "qemu: oops"), "qemu-error")
        self.assertEqual(qemu.classify(-9, None, ""), "signal-9")


if __name__ == "__main__":
    unittest.main()
