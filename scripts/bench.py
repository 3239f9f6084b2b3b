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
     bench): ns per alloc+free pair, and 64 MiB against 4 GiB.

    python3 scripts/bench.py [--runs N] [--quick]
"""
from __future__ import annotations

import argparse
import hashlib
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10, help="boots (default 10)")
    p.add_argument("--quick", action="store_true",
                   help="one run of the slow figures instead of three")
    args = p.parse_args()
    slow = 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="vmlab-bench-") as out:
        boots(build_reference(Path(out)), args.runs)
    grade_times(slow)
    parallelism(slow)
    host_benchmarks()


if __name__ == "__main__":
    main()
