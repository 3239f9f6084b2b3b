"""The command lines: grader/grade, grader/vmrun and grader/handin.

Every user error ends as one line on stderr, "grader: ...", and exit status
2; never a traceback. So does an error inside the grader itself ("internal
error"; VMGRADE_TRACEBACK=1 shows the traceback instead). `grade` exits 0
after grading (whatever the score), or 1 with --expect-full when some spec
test did not pass. Before anything is built it checks that make, a
compiler and QEMU are there, so a missing tool is said once, not blamed on
a student.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable, NoReturn

from . import (ERROR_EXIT, GraderError, batch, build, handin, job, qemu,
               report, sandbox)
from . import tree as treemod
from .job import Grade, Options, Slots
from .safetext import printable_line
from .spec import SpecError
from .tree import Located, Target


class ArgParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise GraderError(f"{self.prog}: {message} (see --help)")


def _guard(fn: Callable[[list[str], Path], int], argv: list[str],
           script: Path) -> int:
    return guarded(lambda: fn(argv, script))


def guarded(fn: Callable[[], int]) -> int:
    """Run an entry point: a user error is one line and exit status 2,
    never a traceback, and so is a bug of the grader's own; Ctrl-C is 130;
    a closed pipe (| head) is not an error. Output that cannot be encoded
    is escaped rather than fatal."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    try:
        return fn()
    except (GraderError, SpecError) as e:
        print(f"grader: {one_line(e)}", file=sys.stderr)
        return ERROR_EXIT
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:
        if os.environ.get("VMGRADE_TRACEBACK"):
            raise
        print(f"grader: {internal_error(e)}", file=sys.stderr)
        return ERROR_EXIT


def one_line(e: BaseException) -> str:
    """An error message on one line, whatever it holds."""
    return printable_line("; ".join(ln.strip() for ln in str(e).splitlines()
                                    if ln.strip()))


def internal_error(e: BaseException) -> str:
    """A bug of the grader's, on one line."""
    what = f"{type(e).__name__}: {one_line(e)}" if str(e) else \
        type(e).__name__
    return (f"internal error ({what}); this is a grader bug: please report "
            "it (VMGRADE_TRACEBACK=1 shows where)")


def _count(text: str) -> int:
    try:
        n = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {n}")
    return n


def _positive(text: str) -> int:
    n = _count(text)
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


# -- grade -------------------------------------------------------------------

def grade_main(argv: list[str], script: Path) -> int:
    """grader/grade: build, boot and score a tree or submissions."""
    return _guard(_grade, argv, script)


def _grade_parser() -> ArgParser:
    p = ArgParser(prog="grade", description="Build a vmlab kernel, boot it "
                   "under QEMU and score its KTAP report.")
    p.add_argument("--tree", help="the tree to grade (default: the tree "
                   "that holds this grader)")
    p.add_argument("--lab", type=_count, help="solutions/: the lab level")
    p.add_argument("--sol", type=_count, help="solutions/: SOL (default LAB)")
    p.add_argument("--hidden", action="store_true",
                   help="top-level repo: grade hidden tests too")
    p.add_argument("--seed", type=_count, default=1,
                   help="the kernel's seed= (default 1)")
    p.add_argument("-j", dest="jobs", type=_positive, default=1,
                   help="builds and boots in parallel")
    p.add_argument("--only", action="append", default=[], metavar="GLOB",
                   help="grade only tests matching GLOB (repeatable)")
    p.add_argument("--json", type=Path, metavar="F", help="write JSON to F")
    p.add_argument("--junit", type=Path, metavar="F",
                   help="write JUnit XML to F")
    p.add_argument("--gradescope", type=Path, metavar="F",
                   help="write Gradescope results.json to F")
    p.add_argument("--classroom", type=Path, metavar="F",
                   help="write a GitHub Classroom result (this lab's tests) "
                   "to F")
    p.add_argument("--keep", action="store_true", help="keep temp dirs")
    p.add_argument("--expect-full", action="store_true",
                   help="exit 1 unless every spec test passed")
    p.add_argument("-v", dest="verbose", action="store_true",
                   help="show every test's diagnostics")
    p.add_argument("--all", action="store_true",
                   help="solutions/: grade the reference at every lab")
    p.add_argument("--bench", action="store_true",
                   help="print boot timings (ms to the first KTAP line)")
    p.add_argument("--repeat", type=_positive, default=1, metavar="K",
                   help="--bench: boot K times, print medians")
    p.add_argument("--submission", type=Path, metavar="PATH",
                   help="grade a hand-in tarball or directory")
    p.add_argument("--submissions", type=Path, metavar="DIR",
                   help="grade every submission in DIR")
    p.add_argument("--csv", type=Path, metavar="F",
                   help="--submissions: write the summary CSV to F")
    p.add_argument("--json-dir", type=Path, metavar="D",
                   help="--submissions: write D/STUDENT.json")
    return p


def _grade(argv: list[str], script: Path) -> int:
    args = _grade_parser().parse_args(argv)
    try:
        return _dispatch(args, script)
    except Exception as e:
        if args.gradescope is not None:
            _error_result(args.gradescope, e, report.gradescope_error,
                          "submission")
        if args.classroom is not None:
            _error_result(args.classroom, e, report.classroom_error, "tree")
        raise


def _error_result(path: Path, e: Exception, make: Callable[[str], object],
                  what: str) -> None:
    """Tell the student on Gradescope or GitHub Classroom why nothing was
    graded (best effort: the original error is what gets reported either
    way); make builds the result from the message."""
    why = one_line(e) if isinstance(e, (GraderError, SpecError)) else \
        internal_error(e)
    try:
        report.write_json(path, make(f"This {what} could not be graded: "
                                     f"{why}"))
    except GraderError:
        pass


def _dispatch(args: argparse.Namespace, script: Path) -> int:
    loc = treemod.locate(args.tree, script)
    _check_combinations(args, loc)
    check_tools()
    check_sandbox(args, loc)
    only = _only(args.only)
    opts = Options(args.seed, args.jobs, args.keep, args.repeat)
    if args.submissions is not None:
        return _batch(args, loc, only, opts)
    if args.submission is not None:
        return _submission(args, loc, only, opts)
    if args.all:
        targets = [treemod.solutions_target(loc, n, n, args.hidden, only)
                   for n in sorted(loc.spec.labs)]
        _check_only(*targets)
        return _emit_all(args, _run(targets, opts))
    target = (treemod.lab_target(loc, only) if loc.is_lab_tree else
              treemod.solutions_target(loc, args.lab, args.sol, args.hidden,
                                       only))
    _check_only(target)
    g = _run([target], opts)[0]
    return _emit(args, g, target.tree)


def check_tools() -> None:
    """make, a compiler and QEMU, or one line saying which to install."""
    build.check_tools()
    qemu.find_qemu()


def check_sandbox(args: argparse.Namespace, loc: Located) -> None:
    """Hidden tests are graded only in the sandbox (--hidden, or a
    submission laid over a tree that carries them): without bwrap, exit 2
    unless VMGRADE_UNSANDBOXED=1. Anything else warns once and goes on."""
    subs = args.submission is not None or args.submissions is not None
    hidden = args.hidden or (subs and sandbox.has_hidden(loc.tree))
    if hidden and not os.environ.get("VMGRADE_UNSANDBOXED"):
        sandbox.require()
    sandbox.warn_once()


def _only(globs: list[str]) -> tuple[str, ...]:
    return tuple(g for arg in globs for g in arg.split(",") if g)


def _check_combinations(args: argparse.Namespace, loc: Located) -> None:
    def no(cond: bool, message: str) -> None:
        if cond:
            raise GraderError(message)

    subs = args.submission is not None or args.submissions is not None
    no(args.submission is not None and args.submissions is not None,
       "--submission and --submissions do not go together")
    no((args.csv or args.json_dir) is not None and args.submissions is None,
       "--csv and --json-dir go with --submissions")
    no(args.sol is not None and (loc.is_lab_tree or subs),
       "--sol applies to solutions/ only")
    no(args.all and (loc.is_lab_tree or subs),
       "--all grades solutions/ at every lab; run it from the top-level repo")
    no(args.all and args.lab is not None, "--all grades every lab: drop --lab")
    no(args.hidden and loc.is_lab_tree,
       "--hidden is only meaningful from the top-level repository")
    no(loc.is_lab_tree and not subs and args.lab is not None
       and args.lab != loc.spec.tree_lab,
       f"--lab {args.lab}: this tree is lab {loc.spec.tree_lab}")
    no(args.repeat > 1 and not args.bench, "--repeat goes with --bench")
    no(args.gradescope is not None and (args.all or args.submissions),
       "--gradescope writes one result: use it with one tree or submission")
    no(args.classroom is not None and (args.all or args.submissions),
       "--classroom writes one result: use it with one tree")


def _check_only(*targets: Target) -> None:
    if targets and targets[0].only and not any(t.tests() for t in targets):
        raise GraderError(f"--only {','.join(targets[0].only)}: matches no "
                          "test in the spec")


def _run(targets: list[Target], opts: Options) -> list[Grade]:
    if sys.stderr.isatty():
        names = ", ".join(t.label for t in targets)
        print(f"grader: grading {names} ...", file=sys.stderr)
    return job.grade_many(targets, opts)


def _style(args: argparse.Namespace, repro_tree: Path | None) -> report.Style:
    return report.Style(report.use_color(sys.stdout), args.verbose, repro_tree)


def _emit(args: argparse.Namespace, g: Grade, repro_tree: Path | None) -> int:
    """Print and write the reports of one grade; the exit status."""
    sys.stdout.write(report.table(g, _style(args, repro_tree)))
    if args.bench:
        sys.stdout.write("\n" + report.bench(g))
    if args.json is not None:
        report.write_json(args.json, report.to_json(g, repro_tree))
    if args.junit is not None:
        report.write_text(args.junit, report.to_junit([g]))
    if args.gradescope is not None:
        report.write_json(args.gradescope, report.to_gradescope(g))
    if args.classroom is not None:
        report.write_json(args.classroom, report.to_classroom(g))
    _print_kept(g.kept)
    return 1 if args.expect_full and not g.score.full else 0


def _emit_all(args: argparse.Namespace, grades: list[Grade]) -> int:
    style = _style(args, grades[0].target.tree if grades else None)
    for g in grades:
        if args.verbose or not g.score.full:
            sys.stdout.write(report.table(g, style) + "\n")
        if args.bench:
            sys.stdout.write(report.bench(g) + "\n")
    sys.stdout.write(report.scoreboard(grades))
    if args.json is not None:
        report.write_json(args.json, {"grades": [report.to_json(g)
                                                 for g in grades]})
    if args.junit is not None:
        report.write_text(args.junit, report.to_junit(grades))
    for g in grades:
        _print_kept(g.kept)
    full = all(g.score.full for g in grades)
    return 1 if args.expect_full and not full else 0


def _print_kept(paths: list[str]) -> None:
    for p in paths:
        print(f"grader: kept {p}", file=sys.stderr)


# -- submissions -------------------------------------------------------------

def _scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="vmlab-grade-"))


def _submission(args: argparse.Namespace, loc: Located,
                only: tuple[str, ...], opts: Options) -> int:
    scratch = _scratch()
    try:
        base = batch.pristine(loc, args.lab, args.hidden, scratch)
        g = batch.grade_submission(base, args.submission, scratch, only,
                                   opts, Slots(opts.jobs))
        if opts.keep:
            g.kept.insert(0, str(scratch))
        return _emit(args, g, None)
    finally:
        if not opts.keep:
            shutil.rmtree(scratch, ignore_errors=True)


def _batch(args: argparse.Namespace, loc: Located, only: tuple[str, ...],
           opts: Options) -> int:
    if args.lab is None and not loc.is_lab_tree:
        raise GraderError("--submissions needs --lab N")
    paths = batch.list_submissions(args.submissions)
    scratch = _scratch()
    try:
        base = batch.pristine(loc, args.lab, args.hidden, scratch)
        rows = batch.grade_batch(base, paths, only, opts)
    finally:
        if not opts.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    for r in rows:
        detail = f"  {r.detail}" if r.detail else ""
        print(printable_line(f"{r.student}: {report.fmt_points(r.score)}/"
                             f"{report.fmt_points(r.max_score)} "
                             f"{r.status}{detail}"))
    if args.csv is not None:
        batch.write_csv(args.csv, rows)
    if args.json_dir is not None:
        for r in rows:
            data = (report.to_json(r.grade) if r.grade is not None else
                    {"student": r.student, "status": r.status,
                     "detail": r.detail, "score": 0,
                     "max_score": r.max_score})
            report.write_json(args.json_dir / f"{r.student}.json", data)
    return 0


# -- vmrun -------------------------------------------------------------------

def vmrun_main(argv: list[str], script: Path) -> int:
    """grader/vmrun: run a kernel interactively, as the grader boots it."""
    return _guard(_vmrun, argv, script)


def _vmrun(argv: list[str], script: Path) -> int:
    p = ArgParser(prog="vmrun", description="Boot a kernel under QEMU with "
                   "the grader's machine, serial on this terminal.")
    p.add_argument("--gdb", action="store_true",
                   help="stop at the first instruction and wait for gdb")
    p.add_argument("--ktest", metavar="GLOB", help="ktest= (default: none)")
    p.add_argument("--seed", type=_count, help="seed= (default: none)")
    p.add_argument("--tree", help="the tree whose spec gives the machine")
    p.add_argument("--lab", type=_count, help="solutions/: the lab level")
    p.add_argument("kernel", type=Path, metavar="KERNEL.elf")
    args = p.parse_args(argv)
    loc = treemod.locate(args.tree, script)
    n = args.lab if args.lab is not None else (
        loc.spec.tree_lab if loc.spec.tree_lab is not None
        else max(loc.spec.labs))
    lab = loc.spec.lab(n)
    if not args.kernel.is_file():
        raise GraderError(f"{args.kernel}: no such kernel (build it first)")
    machine = qemu.Machine(loc.spec.qemu, lab.mem, lab.smp)
    cmdline = qemu.kernel_cmdline([args.ktest] if args.ktest else None,
                                  args.seed)
    port = _gdb_port(args.kernel) if args.gdb else None
    tmp = qemu.make_tmpdir("vmrun-")
    sock = tmp / "qmp.sock"
    argv_q = qemu.interactive_argv(qemu.find_qemu(), machine,
                                   args.kernel.resolve(), cmdline, port, sock)
    print("vmrun: Ctrl-a x quits QEMU, Ctrl-a c switches to its monitor",
          file=sys.stderr)
    sys.stderr.flush()
    try:
        return qemu.run_interactive(argv_q, sock)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if port is not None:  # a stale port must not mislead `make gdb`
            (args.kernel.resolve().parent / ".gdbport").unlink(missing_ok=True)


def _gdb_port(kernel: Path) -> int:
    port = qemu.pick_free_port()
    note = kernel.resolve().parent / ".gdbport"
    try:
        note.write_text(f"{port}\n", encoding="utf-8")
    except OSError as e:
        raise GraderError(f"cannot write {note}: {e.strerror}") from None
    print(f"vmrun: QEMU waits for gdb on 127.0.0.1:{port}; attach with "
          f"'make gdb' in another terminal", file=sys.stderr)
    return port


# -- handin ------------------------------------------------------------------

def handin_main(argv: list[str], script: Path) -> int:
    """grader/handin: write the hand-in tarball of a lab tree."""
    return _guard(_handin, argv, script)


def _handin(argv: list[str], script: Path) -> int:
    p = ArgParser(prog="handin", description="Write labN-NAME-handin.tar.gz "
                   "with exactly this lab's student files.")
    p.add_argument("--tree", help="the lab tree (default: this one)")
    p.add_argument("--out", type=Path, metavar="FILE",
                   help="where to write (default: in the tree)")
    args = p.parse_args(argv)
    loc = treemod.locate(args.tree, script)
    if loc.spec.tree_lab is None:
        raise GraderError("handin works in a lab tree (labs/labN-NAME), not "
                          "in solutions/")
    lab = loc.spec.lab(loc.spec.tree_lab)
    dest = handin.write(loc.tree, lab, args.out)
    print(f"handin: wrote {dest} with {len(lab.student_files)} file(s): "
          f"{', '.join(lab.student_files)}")
    for w in handin.warnings(handin.collect(loc.tree, lab)):
        print(f"handin: warning: {w}", file=sys.stderr)
    return 0
