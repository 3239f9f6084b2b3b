"""gdbcheck — run the handouts' gdb walkthroughs against real kernels.

Each gdb walkthrough (handouts/labN-NAME-gdb.md) has a machine-checked twin
in solutions/tools/gdb/walkthroughs/, and so has the set of gdb sessions a
handout quotes (labN-NAME-handout.gdb, for handouts/labN-NAME.md):

  labN-NAME.gdb      the commands a student types after `make gdb`, in order;
                     a line "# ktest: GLOB" says what `make qemu-gdb KTEST=`
                     boots (no such line: the monitor, as plain make qemu-gdb)
  labN-NAME.expect   what gdb must print: one Python regex per line, each
                     searched (re.M) from where the previous one matched, so
                     they must appear in order. Blank lines and lines that
                     start with "# " are comments ("\\# " is a literal "# ").

For each walkthrough whose lab is in labs.json, gdbcheck
  1. builds solutions/ at LAB=N SOL=N into a private directory (the kernel a
     student has once lab N is done), once for both of the lab's twins, or
     takes --kernel;
  2. boots it exactly as `make qemu-gdb` does: qemu.interactive_argv with the
     lab's machine, halted, the gdb stub on a free 127.0.0.1 port; serial to
     a file, stdin /dev/null, in a private temp dir, no shell;
  3. runs gdb as `make gdb` does (solutions/Makefile), in batch mode:
       gdb -q -nx -batch -iex 'set pagination off' -iex 'set confirm off'
           -x tools/gdb/vmlab.py -ex 'file KERNEL'
           -ex 'target remote 127.0.0.1:PORT' -x labN-NAME.gdb
  4. checks the patterns, then kills and reaps QEMU (on every path).
QEMU runs under the limits of a graded boot (qemu.qemu_limits) and gdb
under GDB_LIMITS (limits.py), each in a process group of its own.
A walkthrough fails if a pattern is missing (gdbcheck names it and shows what
gdb printed), if one of its commands failed (gdb stops a batch script at the
first error), if a helper raised a Python exception, or if the wall-clock
limit ran out. So when the kernel changes under a walkthrough, the check
fails until the walkthrough, its patterns and its handout are brought up to
date; `--show` prints gdb's whole output, to copy into the handout.

One line per walkthrough with its verdict and seconds; exit status 0 if all
passed, 1 if any failed, 2 for a user error (gdb or QEMU missing, a bad
argument), printed as one line.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from . import GraderError, ToolMissing, build, limits, qemu
from .limits import Limits
from . import spec as specmod
from .cli import ArgParser, guarded
from .spec import Spec

GDB = "gdb"
WALKTHROUGHS = Path("tools/gdb/walkthroughs")
HELPERS = Path("tools/gdb/vmlab.py")
# labN-NAME: the walkthrough (handouts/labN-NAME-gdb.md); labN-NAME-handout:
# the gdb sessions quoted in the handout itself (handouts/labN-NAME.md).
WALK_NAME = re.compile(r"^lab([0-9]+)-[a-z][a-z0-9]*(?:-handout)?$")
KTEST_LINE = re.compile(r"^#[ \t]*ktest:[ \t]*(\S+)[ \t]*$", re.M)
# What gdb prints when a batch script stops at a failed command, and when
# a Python helper raised instead of reporting a one-line error.
BROKEN = ("Error in sourced command file", "Python Exception <")
BIND_FAILED = ("Failed to bind", "Address already in use")
WALL_S = 60.0
PORT_TRIES = 3
POLL_S = 0.02
SHOWN_TAIL_LINES = 20
OUTPUT_CAP = 1 << 20            # bytes read of each log: a runaway loop
# gdb with the helpers and lab 7's kernel runs in 256 MiB of address space.
GDB_LIMITS = Limits(memory_bytes=2 << 30, cpu_s=int(WALL_S) * 2,
                    file_bytes=64 << 20, wall_s=WALL_S)


@dataclass(frozen=True)
class Pattern:
    regex: str
    where: str                  # "lab1-trap.expect:12"


@dataclass(frozen=True)
class Walkthrough:
    name: str                   # "lab1-trap"
    lab: int
    script: Path
    expect: Path

    def ktest(self) -> str | None:
        """The walkthrough's "# ktest: GLOB" line, if it has one."""
        m = KTEST_LINE.search(self.script.read_text(encoding="utf-8"))
        return m.group(1) if m else None


@dataclass
class Result:
    walk: Walkthrough
    ok: bool
    problem: str = ""
    output: str = ""            # what gdb printed
    serial: str = ""            # what the kernel printed
    qemu_err: str = ""          # what QEMU printed on stderr
    build_log: str = ""         # the end of make's output, if it failed
    build_s: float = 0.0
    run_s: float = 0.0


# ----------------------------------------------------------- the files

def discover(solutions: Path) -> list[Walkthrough]:
    """Every labN-NAME.gdb under solutions/tools/gdb/walkthroughs, by lab."""
    found = []
    for script in sorted((solutions / WALKTHROUGHS).glob("*.gdb")):
        m = WALK_NAME.match(script.stem)
        if m is None:
            raise GraderError(f"{script}: a walkthrough is named "
                              "labN-NAME.gdb")
        found.append(Walkthrough(script.stem, int(m.group(1)), script,
                                 script.with_suffix(".expect")))
    return sorted(found, key=lambda w: (w.lab, w.name))


def read_patterns(path: Path) -> list[Pattern]:
    """The regexes of an expectation file; GraderError names a bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise GraderError(f"{path}: {e.strerror}") from None
    patterns = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line == "#" or line.startswith("# "):
            continue
        where = f"{path.name}:{n}"
        try:
            re.compile(line)
        except re.error as e:
            raise GraderError(f"{where}: not a regex ({e})") from None
        patterns.append(Pattern(line, where))
    if not patterns:
        raise GraderError(f"{path}: no patterns")
    return patterns


def first_missing(patterns: list[Pattern],
                  text: str) -> tuple[int, Pattern] | None:
    """The first pattern not found after the previous one's match, with its
    1-based number; None when every pattern appears, in order."""
    pos = 0
    for i, p in enumerate(patterns, 1):
        m = re.compile(p.regex, re.M).search(text, pos)
        if m is None:
            return i, p
        pos = m.end()
    return None


def broken_line(text: str, last: int = 0) -> str | None:
    """The line saying a command failed or a helper raised, if any. A
    walkthrough may end as a student's session does, with a `continue`
    that lets the kernel power off: when the failed command is the
    script's last line (last) and gdb says only that the remote end
    closed, that is its end, not a failure."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if any(mark in line for mark in BROKEN):
            end = re.search(r":([0-9]+): Error in sourced command file:",
                            line)
            rest = [ln.strip() for ln in lines[i + 1:] if ln.strip()]
            if end and int(end.group(1)) == last and \
                    rest == ["Remote connection closed"]:
                continue
            return line.strip()
    return None


def _last_command(script: Path) -> int:
    """The line number of a script's last command (not a comment)."""
    last = 0
    for i, ln in enumerate(script.read_text().splitlines(), 1):
        if ln.strip() and not ln.lstrip().startswith("#"):
            last = i
    return last


# ----------------------------------------------------------- the tools

def find_gdb() -> str:
    """The gdb binary, or a one-line ToolMissing telling how to get it."""
    path = shutil.which(GDB)
    if path is None:
        raise ToolMissing("gdb not found: install the Debian package gdb "
                          "(or run scripts/deps.sh)")
    return path


def gdb_argv(gdb: str, helpers: Path, kernel: Path, port: int,
             script: Path, tree: Path | None = None) -> list[str]:
    """`make gdb`'s command line, in batch mode, running script. `make gdb`
    runs in the tree, where gdb finds the kernel's sources by their
    relative names; gdbcheck runs in a temp dir, so it names the tree as a
    source directory instead (make check's shared compiler cache may have
    compiled a file in another copy of the tree, which the debug
    information then names)."""
    return [gdb, "-q", "-nx", "-batch",
            *(["-d", str(tree)] if tree is not None else []),
            "-iex", "set pagination off", "-iex", "set confirm off",
            "-x", str(helpers), "-ex", f"file {kernel}",
            "-ex", f"target remote 127.0.0.1:{port}", "-x", str(script)]


# ------------------------------------------------------------ one run

@dataclass(frozen=True)
class Setup:
    """What every run shares: the binaries, the helpers, the time limit."""
    gdb: str
    qemu: str
    helpers: Path
    wall_s: float
    tree: Path | None = None        # the kernel's sources (gdb -d)


def run_walkthrough(setup: Setup, walk: Walkthrough, patterns: list[Pattern],
                    kernel: Path, machine: qemu.Machine) -> Result:
    """Boot kernel under gdb, run walk's script, check its patterns."""
    tmp = qemu.make_tmpdir("vmlab-gdbcheck-")
    t0 = time.monotonic()
    try:
        problem = _run_with_a_port(setup, walk, kernel, machine, tmp)
        result = Result(walk, False, problem, _text(tmp / "gdb.out"),
                        _text(tmp / "serial.log"),
                        _text(tmp / "qemu.stderr"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result.run_s = time.monotonic() - t0
    if not problem:
        result.problem = _judge(patterns, result.output,
                                _last_command(walk.script))
    result.ok = not result.problem
    return result


def _judge(patterns: list[Pattern], output: str, last: int = 0) -> str:
    broken = broken_line(output, last)
    if broken is not None:
        return f"a command failed: {broken}"
    miss = first_missing(patterns, output)
    if miss is not None:
        i, p = miss
        return (f"missing pattern {i} of {len(patterns)} ({p.where}), "
                f"after the ones before it: {p.regex}")
    return ""


def _run_with_a_port(setup: Setup, walk: Walkthrough, kernel: Path,
                     machine: qemu.Machine, tmp: Path) -> str:
    """One boot and gdb run, its files left in tmp; a fresh port if QEMU
    lost a race for one. '' or what went wrong."""
    cmdline = qemu.kernel_cmdline([k] if (k := walk.ktest()) else None, None)
    for _ in range(PORT_TRIES):
        port = qemu.pick_free_port()
        argv = qemu.interactive_argv(setup.qemu, machine, kernel.resolve(),
                                     cmdline, port)
        outcome = _session(setup, argv, gdb_argv(
            setup.gdb, setup.helpers, kernel.resolve(), port,
            walk.script.resolve(), setup.tree), tmp,
            qemu.qemu_limits(machine))
        if outcome != "port":
            return outcome
    return "QEMU could not bind a gdb port"


def _session(setup: Setup, qemu_argv: list[str], gdb_argv_: list[str],
             tmp: Path, qemu_lim: Limits) -> str:
    """Run QEMU and gdb side by side; '' when gdb ended by itself, 'port'
    when QEMU could not listen, else what went wrong."""
    with open(tmp / "serial.log", "wb") as serial, \
            open(tmp / "qemu.stderr", "wb") as qerr:
        vm = _start(qemu_argv, tmp, serial, qerr, qemu_lim)
        try:
            with open(tmp / "gdb.out", "wb") as gout:
                dbg = _start(gdb_argv_, tmp, gout, subprocess.STDOUT,
                             GDB_LIMITS)
                try:
                    return _wait(dbg, vm, tmp, setup.wall_s)
                finally:
                    qemu.stop_process(dbg)
        finally:
            qemu.stop_process(vm)


def _start(argv: list[str], cwd: Path, stdout: IO[bytes],
           stderr: IO[bytes] | int, lim: Limits) -> subprocess.Popen[bytes]:
    return limits.start(argv, lim, cwd=cwd, stdin=subprocess.DEVNULL,
                        stdout=stdout, stderr=stderr)


def _wait(dbg: subprocess.Popen[bytes], vm: subprocess.Popen[bytes],
          tmp: Path, wall_s: float) -> str:
    deadline = time.monotonic() + wall_s
    while dbg.poll() is None:
        if vm.poll() is not None and _bind_failed(tmp):
            return "port"
        if time.monotonic() > deadline:
            return (f"the wall-clock limit of {wall_s:g} s ran out (a "
                    "continue that never stopped?)")
        time.sleep(POLL_S)
    return ""


def _bind_failed(tmp: Path) -> bool:
    err = _text(tmp / "qemu.stderr")
    return any(mark in err for mark in BIND_FAILED)


def _text(path: Path) -> str:
    """Up to OUTPUT_CAP bytes of a file as text, with plain line ends (QEMU's
    monitor and the serial line end theirs with CR LF)."""
    try:
        with open(path, "rb") as f:
            data = f.read(OUTPUT_CAP)
    except OSError:
        return ""
    return data.decode("utf-8", "replace").replace("\r\n", "\n")


# ------------------------------------------------------- build and run

def check_one(setup: Setup, spec: Spec, solutions: Path, walk: Walkthrough,
              kernel: Path | None) -> Result:
    """Build (unless given a kernel), then run one walkthrough."""
    return check_lab(setup, spec, solutions, [walk], kernel)[0]


def check_lab(setup: Setup, spec: Spec, solutions: Path,
              walks: list[Walkthrough], kernel: Path | None) -> list[Result]:
    """Build lab's kernel once (unless given one), then run each of its
    walkthroughs (the walkthrough and the handout's twin) on it."""
    n = walks[0].lab
    assert all(w.lab == n for w in walks)
    lab = spec.lab(n)
    machine = qemu.Machine(spec.qemu, lab.mem, lab.smp)
    ready: list[tuple[Walkthrough, list[Pattern]]] = []
    out: dict[str, Result] = {}
    for walk in walks:
        try:
            ready.append((walk, read_patterns(walk.expect)))
        except GraderError as e:
            out[walk.name] = Result(walk, False, str(e))
    if kernel is not None:
        for walk, patterns in ready:
            out[walk.name] = run_walkthrough(setup, walk, patterns, kernel,
                                             machine)
        return [out[w.name] for w in walks]
    made = build.build(solutions, {"LAB": str(n), "SOL": str(n)})
    try:
        for walk, patterns in ready:
            if not made.ok or made.kernel is None:
                out[walk.name] = Result(
                    walk, False, f"the build failed (LAB={n} SOL={n})",
                    build_s=made.seconds, build_log="\n".join(made.tail))
                continue
            result = run_walkthrough(setup, walk, patterns, made.kernel,
                                     machine)
            result.build_s = made.seconds
            out[walk.name] = result
    finally:
        made.remove()
    return [out[w.name] for w in walks]


def verdict(r: Result) -> str:
    """The one line a walkthrough gets."""
    word = "ok  " if r.ok else "FAIL"
    ktest = r.walk.ktest() or "monitor"
    times = [f"gdb+qemu {r.run_s:.1f}s"] if r.run_s else []
    times += [f"build {r.build_s:.1f}s"] if r.build_s else []
    return (f"gdbcheck: {word}  {r.walk.name:<16} {ktest:<22} "
            + ", ".join(times)).rstrip()


def details(r: Result, show: bool) -> str:
    """What a failure (or --show) adds under the verdict line."""
    lines = [f"  {r.problem}"] if r.problem else []
    if show or not r.ok:
        lines += _quoted("make printed", r.build_log)
        lines += _quoted("gdb printed", r.output)
    if not r.ok:
        lines += _quoted("the kernel printed", r.serial, SHOWN_TAIL_LINES)
        lines += _quoted("QEMU said", r.qemu_err, SHOWN_TAIL_LINES)
    return "\n".join(lines)


def _quoted(title: str, text: str, tail: int = 0) -> list[str]:
    """text under a title, each line marked; its last `tail` lines only
    if tail is set."""
    lines = text.splitlines()[-tail:] if tail else text.splitlines()
    if not lines:
        return []
    last = f" (last {len(lines)} lines)" if tail else ""
    return [f"  {title}{last}:"] + ["    | " + ln for ln in lines]


# ----------------------------------------------------------- the CLI

def _parser() -> ArgParser:
    p = ArgParser(prog="gdbcheck", description="Run the gdb walkthroughs "
                  "of the handouts against real kernels under QEMU and "
                  "check that gdb prints what they promise.")
    p.add_argument("--solutions", type=Path, metavar="DIR",
                   help="the reference tree (default: the repo's "
                   "solutions/)")
    p.add_argument("--lab", type=int, action="append", default=[],
                   metavar="N", help="only lab N's walkthrough "
                   "(repeatable)")
    p.add_argument("--kernel", type=Path, metavar="ELF",
                   help="use this kernel instead of building one "
                   "(needs a single --lab)")
    p.add_argument("-j", dest="jobs", type=int, default=1,
                   help="walkthroughs in parallel (default 1)")
    p.add_argument("--timeout", type=float, default=WALL_S, metavar="S",
                   help=f"wall-clock limit per walkthrough (default "
                   f"{WALL_S:g})")
    p.add_argument("--show", action="store_true",
                   help="print gdb's whole output for every walkthrough")
    return p


def main(argv: list[str] | None = None) -> int:
    return guarded(lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    solutions = _solutions(args.solutions)
    spec = specmod.load(solutions / "labs.json")
    walks = _select(spec, discover(solutions), args)
    setup = Setup(find_gdb(), qemu.find_qemu(), solutions / HELPERS,
                  args.timeout, solutions.resolve())
    if args.kernel is None:
        build.check_tools()
    labs = sorted({w.lab for w in walks})
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        per_lab = list(pool.map(lambda n: check_lab(
            setup, spec, solutions, [w for w in walks if w.lab == n],
            args.kernel), labs))
    results = [r for rs in per_lab for r in rs]
    for r in results:
        print(verdict(r), flush=True)
        extra = details(r, args.show)
        if extra:
            print(extra, flush=True)
    return 0 if all(r.ok for r in results) else 1


def _solutions(arg: Path | None) -> Path:
    path = arg if arg is not None else Path(__file__).resolve().parents[2] \
        / "solutions"
    if not (path / "labs.json").is_file():
        raise GraderError(f"{path}: not a solutions/ tree (no labs.json)")
    if not (path / HELPERS).is_file():
        raise GraderError(f"{path / HELPERS}: the gdb helpers are missing")
    return path.resolve()


def _check_names(spec: Spec, walks: list[Walkthrough]) -> None:
    """A walkthrough is named after its lab: labN-NAME, as the handout."""
    for w in walks:
        if w.lab in spec.labs and w.name.removesuffix("-handout") != \
                spec.lab(w.lab).dirname:
            raise GraderError(f"{w.script}: lab {w.lab} is "
                              f"{spec.lab(w.lab).dirname}: name the "
                              "walkthrough after it")


def _select(spec: Spec, walks: list[Walkthrough],
            args: argparse.Namespace) -> list[Walkthrough]:
    """The walkthroughs to run: those of labs in the spec (and in --lab)."""
    if args.jobs < 1:
        raise GraderError("gdbcheck: -j must be at least 1")
    if args.timeout <= 0:
        raise GraderError("gdbcheck: --timeout must be positive")
    for n in args.lab:
        if not any(w.lab == n for w in walks):
            raise GraderError(f"--lab {n}: there is no lab{n}-*.gdb "
                              "walkthrough")
    _check_names(spec, walks)
    chosen = [w for w in walks if w.lab in spec.labs and
              (not args.lab or w.lab in args.lab)]
    for w in walks:
        if w.lab not in spec.labs:
            print(f"gdbcheck: skip  {w.name}: lab {w.lab} is not in "
                  "labs.json")
    if not chosen:
        raise GraderError("no walkthrough to run")
    if args.kernel is not None:
        if len({w.lab for w in chosen}) != 1:
            raise GraderError("--kernel runs the walkthroughs of one lab: "
                              "name it with --lab N")
        if not args.kernel.is_file():
            raise GraderError(f"{args.kernel}: no such kernel")
    return chosen
