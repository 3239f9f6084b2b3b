#!/usr/bin/env python3
"""make bench: the kit's own figures, measured here and now.

Benchmarks print figures; they never pass or fail on time (these machines
are shared and noisy). Each figure is a median over repeated runs, and a
speed-up is a ratio against its peer measured in the same run, interleaved.

  1. boot: wall ms from starting QEMU to the first "KTAP version 1" line,
     over N boots of the reference kernel (plus the whole boot);
  2. determinism: how many distinct serial logs those N boots printed
     (1 means byte-identical, as -icount promises);
  3. grade time: `make grade` in every lab tree, build included;
  4. parallelism: `grader/grade --all` with -j 1 and -j 2, and the ratio;
  5. the host benchmarks of the reference's allocators (make -C solutions
     bench): ns per alloc+free pair, and 64 MiB against 4 GiB;
  6. linux: guest instructions per getpid, fork+exit+wait, exec, fault,
     copy-on-write break and munmap (with the process's threads running on
     1, 2 and 4 CPUs: the TLB shootdown), counted under -icount by
     solutions/user/bench_ops.c, as Linux's init (Debian's kernel,
     /boot/vmlinuz-*, from scripts/deps.sh --bench) and on vmlab, in the
     same QEMU machine as the grader's, with the ratio vmlab/Linux.

    python3 scripts/bench.py [--runs N] [--quick] [--only SECTION ...]
"""
from __future__ import annotations

import argparse
import hashlib
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "grader"))

from vmgrade import qemu, run, spec as specmod  # noqa: E402


def timed(argv: list[str]) -> float:
    """Run a command quietly; its wall time in seconds (fails loudly)."""
    t0 = time.monotonic()
    proc = subprocess.run(argv, cwd=REPO, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} failed:\n{proc.stderr[-2000:]}")
    return time.monotonic() - t0


def build_reference(out: Path) -> Path:
    timed(["make", "-s", "-C", "solutions", f"O={out}", "kernel"])
    return out / "kernel.elf"


def boots(kernel: Path, runs: int) -> None:
    spec = specmod.load(REPO / "solutions/labs.json")
    lab = spec.lab(max(spec.labs))
    m = qemu.Machine(spec.qemu, lab.mem, lab.smp)
    globs = run.suite_globs(spec.tests)  # as a graded main boot
    cmdline = qemu.kernel_cmdline(globs, 1, None)
    first, total, logs = [], [], set()
    for _ in range(runs):
        b = qemu.run_boot(m, kernel, cmdline)
        if b.outcome != "finished" or b.first_ktap_ms is None:
            sys.exit(f"bench: the reference boot ended in {b.outcome}")
        first.append(b.first_ktap_ms)
        total.append(b.wall_ms)
        logs.add(hashlib.sha256(b.log.encode()).hexdigest())
    print(f"boot, {runs} runs of the reference ({cmdline}):")
    print(f"  first KTAP line   median {statistics.median(first):6.0f} ms"
          f"   (min {min(first):.0f}, max {max(first):.0f})")
    print(f"  whole boot        median {statistics.median(total):6.0f} ms")
    print(f"determinism: {len(logs)} distinct serial log(s) in {runs} boots")


def grade_times(runs: int) -> None:
    print(f"make grade per lab tree, build included, median of {runs}:")
    for tree in sorted((REPO / "labs").glob("lab*-*")):
        t = [timed(["make", "-s", "-C", str(tree), "grade"])
             for _ in range(runs)]
        print(f"  {tree.name:<20} {statistics.median(t):6.2f} s")


def parallelism(runs: int) -> None:
    one, two = [], []
    for _ in range(runs):  # interleaved, so load drifts hit both alike
        one.append(timed(["python3", "grader/grade", "--tree", "solutions",
                          "--all", "-j", "1"]))
        two.append(timed(["python3", "grader/grade", "--tree", "solutions",
                          "--all", "-j", "2"]))
    m1, m2 = statistics.median(one), statistics.median(two)
    print(f"grader --all (7 levels), median of {runs}:")
    print(f"  -j 1 {m1:6.2f} s   -j 2 {m2:6.2f} s   speed-up {m1 / m2:.2f}x")


def host_benchmarks() -> None:
    """The host allocator benchmarks print their own figures."""
    sys.stdout.flush()
    proc = subprocess.run(["make", "-s", "-C", "solutions", "bench"],
                          cwd=REPO, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        sys.exit("bench: make -C solutions bench failed")


# --- linux: the yardstick ----------------------------------------------

BENCH_LINE = re.compile(r"^bench: (\S+) (\d+) ops (\d+) insns/op\s*$",
                        re.MULTILINE)
# Linux's init is bench_ops itself; it powers off when done. panic=-1 and
# -no-reboot end the boot even if it cannot (init exiting panics Linux).
# maxcpus=1: Linux 6.1 hangs at "Booting SMP configuration" under QEMU
# 7.2's TCG with -icount and -smp 4. QEMU runs the vCPUs one at a time and
# lets each run until the next timer deadline unless it pauses or halts
# first. CPU 0 waits for the new CPU in a loop that calls schedule() and
# never pauses, so CPU 0 takes every slice whole and the new CPU never
# runs (seen with QEMU's gdbstub: CPU 1 spins on a flag that CPU 0 has
# set, and moves on when single-stepped). So Linux boots on one CPU, and
# bench_ops, once the single-CPU figures are taken, brings the other
# three up through sysfs with a pausing thread beside it (online_cpus()):
# the shootdown figures run on four CPUs, as on vmlab.
LINUX_APPEND = "console=ttyS0 rdinit=/init quiet panic=-1 maxcpus=1"
# What vmlab's monitor will be typed to run bench_ops. There is no such
# command yet: its absence shows as no bench lines, and the column says so.
VMLAB_RUN = "run /bin/bench_ops\npoweroff\n"
VMLAB_MISSING = "n/a (vmlab cannot run user programs yet)"


def find_linux() -> Path | None:
    """The newest /boot/vmlinuz-* (Debian's linux-image-amd64), or None."""
    found = sorted(Path("/boot").glob("vmlinuz-*"),
                   key=lambda p: [int(n) if n.isdigit() else n
                                  for n in re.split(r"(\d+)", p.name)])
    return found[-1] if found else None


def cpio_newc(files: dict[str, bytes]) -> bytes:
    """A newc archive: /dev/console (so init has a console even if the
    kernel has no built-in initramfs) and each file, executable."""
    def entry(ino: int, name: str, mode: int, data: bytes = b"",
              rdev: tuple[int, int] = (0, 0)) -> bytes:
        raw = name.encode() + b"\0"
        fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0],
                  rdev[1], len(raw), 0]
        head = b"070701" + b"".join(b"%08x" % f for f in fields) + raw
        head += b"\0" * (-len(head) % 4)
        return head + data + b"\0" * (-len(data) % 4)

    out = entry(1, "dev", 0o040755)
    out += entry(2, "dev/console", 0o020600, rdev=(5, 1))
    for ino, (name, data) in enumerate(sorted(files.items()), start=3):
        out += entry(ino, name, 0o100755, data)
    out += entry(0, "TRAILER!!!", 0)
    return out + b"\0" * (-len(out) % 512)


def parse_bench(log: str) -> dict[str, int]:
    """The bench lines of a serial log: insns/op by operation."""
    return {m[1]: int(m[3]) for m in BENCH_LINE.finditer(log)}


def boot_linux(m: qemu.Machine, vmlinuz: Path, initrd: Path) -> tuple[str, float]:
    """Boot Linux once in the grader's machine; its serial log and wall s."""
    argv = qemu.base_argv(qemu.find_qemu(), m, vmlinuz, LINUX_APPEND)
    argv += ["-initrd", str(initrd), "-serial", "stdio"]
    t0 = time.monotonic()
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL,
                              capture_output=True,
                              timeout=m.qemu.wall_backstop_s)
    except subprocess.TimeoutExpired:
        sys.exit(f"bench: Linux did not power off within "
                 f"{m.qemu.wall_backstop_s} s")
    log = proc.stdout.decode(errors="replace")
    if "bench: done" not in log:
        sys.exit(f"bench: Linux ran no benchmark (QEMU exit "
                 f"{proc.returncode}):\n{log[-2000:]}{proc.stderr[-500:]!r}")
    return log, time.monotonic() - t0


def boot_vmlab_bench_ops(m: qemu.Machine, kernel: Path) -> dict[str, int]:
    """The hook for vmlab's column: boot the reference kernel with the same
    initrd (beside it) and have its monitor run /bin/bench_ops. Empty while
    vmlab cannot run user programs (no bench lines come out)."""
    b = qemu.run_boot(m, kernel, "", typed=VMLAB_RUN)
    return parse_bench(b.log)


def linux(kernel: Path, runs: int) -> None:
    """Instructions per operation on Linux and vmlab, same QEMU, same
    binary; medians over runs."""
    vmlinuz = find_linux()
    if vmlinuz is None:
        print("linux: skipped: no /boot/vmlinuz-* (run scripts/deps.sh "
              "--bench as root to install linux-image-amd64)")
        return
    out = kernel.parent
    timed(["make", "-s", "-C", "solutions/user", f"O={out}", "initrd"])
    bench_ops = (out / "user/bench_ops").read_bytes()
    initrd = out / "linux-initrd.cpio"
    initrd.write_bytes(cpio_newc({"init": bench_ops}))
    spec = specmod.load(REPO / "solutions/labs.json")
    lab = spec.lab(max(spec.labs))
    m = qemu.Machine(spec.qemu, lab.mem, lab.smp)
    figures: list[dict[str, int]] = []
    walls = []
    for _ in range(runs):
        log, wall = boot_linux(m, vmlinuz, initrd)
        figures.append(parse_bench(log))
        walls.append(wall)
    vmlab = boot_vmlab_bench_ops(m, kernel)
    distinct = len({tuple(sorted(f.items())) for f in figures})
    print(f"linux: {vmlinuz.name} ({LINUX_APPEND}), init=bench_ops,"
          f" -smp {m.smp} -m {m.mem}"
          f" -icount shift={m.qemu.icount_shift}; {runs} boots, median wall"
          f" {statistics.median(walls):.1f} s, {distinct} distinct result(s)")
    print(f"  {'instructions per op':<22} {'Linux':>10}   {'vmlab':>10}"
          f"   vmlab/Linux")
    for op in figures[0]:
        if op == "calibrate":
            continue
        lin = statistics.median(f[op] for f in figures if op in f)
        if op in vmlab:
            print(f"  {op:<22} {lin:>10.0f}   {vmlab[op]:>10}"
                  f"   {vmlab[op] / lin:.2f}x")
        else:
            print(f"  {op:<22} {lin:>10.0f}   {VMLAB_MISSING}")
    if any(op.startswith("munmap_") for op in figures[0]):
        print("  munmap_*: each munmap timed alone, less the instructions"
              " the spinning threads\n  ran in their own loops (they count"
              " them): the call, and the other CPUs' flushes")


SECTIONS = ("boot", "grade", "parallel", "host", "linux")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10, help="boots (default 10)")
    p.add_argument("--quick", action="store_true",
                   help="one run of the slow figures instead of three")
    p.add_argument("--only", action="append", choices=SECTIONS,
                   help="run only this section (may be repeated)")
    args = p.parse_args()
    only = set(args.only or SECTIONS)
    slow = 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="vmlab-bench-") as out:
        kernel = build_reference(Path(out))
        if "boot" in only:
            boots(kernel, args.runs)
        if "linux" in only:
            linux(kernel, slow)
    if "grade" in only:
        grade_times(slow)
    if "parallel" in only:
        parallelism(slow)
    if "host" in only:
        host_benchmarks()


if __name__ == "__main__":
    main()
