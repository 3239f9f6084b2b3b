"""Grading submissions: one (--submission) or a directory of them
(--submissions), each on a fresh copy of a pristine tree.

The pristine tree is the lab tree itself, or, from the top-level repo, the
committed labs/labN-NAME (public tests) or an instructor tree that
`grader/genlabs --hidden` makes in a temp dir (hidden tests included). Only
the lab's student files are taken from a submission (submission.py), so a
submission cannot change tests, harness, Makefile or grader.

In a batch every entry of the directory gets exactly one row, whatever it
is called or holds: a submission that cannot be graded (a .zip, a stray
file, a fifo, a broken archive) is a "rejected" row saying why, and one
that breaks the grader is an "error" row; the batch goes on. Only a
missing tool (ToolMissing: no QEMU, no make) stops it, since then nobody
can be graded and every row would blame a student. Names are shown through
safetext (a file name need not be UTF-8), and a CSV cell never starts a
spreadsheet formula.
"""

from __future__ import annotations

import csv
import re
import shutil
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from . import GraderError, ToolMissing, submission
from . import spec as specmod
from .job import Grade, Options, Slots, grade, parallel
from .safetext import printable_line
from .spec import Spec
from .tree import Located, Target

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
FORMULA_START = ("=", "+", "-", "@")     # a spreadsheet would evaluate it


@dataclass(frozen=True)
class Pristine:
    """The tree that submissions are laid over, and its spec."""
    tree: Path
    spec: Spec

    @property
    def lab(self) -> int:
        assert self.spec.tree_lab is not None
        return self.spec.tree_lab

    @property
    def student_files(self) -> tuple[str, ...]:
        return self.spec.lab(self.lab).student_files


def pristine(loc: Located, lab: int | None, hidden: bool,
             scratch: Path) -> Pristine:
    """Find (or generate into scratch) the tree to grade submissions on."""
    if loc.is_lab_tree:
        if hidden:
            raise GraderError("--hidden needs the top-level repository "
                              "(it generates an instructor tree)")
        if lab is not None and lab != loc.spec.tree_lab:
            raise GraderError(f"--lab {lab}: this tree is lab "
                              f"{loc.spec.tree_lab}")
        return Pristine(loc.tree, loc.spec)
    if loc.repo is None:
        raise GraderError(f"{loc.tree}: grading a submission needs a lab tree "
                          "or the top-level repository")
    if lab is None:
        raise GraderError("--lab N is needed to grade a submission from the "
                          "top-level repository")
    name = loc.spec.lab(lab).dirname
    if hidden:
        tree = submission.generate_tree(loc.repo, lab, True, scratch / "gen")
    else:
        tree = loc.repo / "labs" / name
        if not (tree / "lab.json").is_file():
            raise GraderError(f"{tree}: no such lab tree (run make labs)")
    return Pristine(tree, specmod.load(tree / "lab.json"))


def grade_submission(base: Pristine, path: Path, workdir: Path,
                     only: tuple[str, ...], opts: Options,
                     slots: Slots) -> Grade:
    """Check one submission, lay it over a copy of base, and grade it."""
    files = submission.read(path, base.student_files)
    tree = submission.overlay(base.tree, files, workdir / "tree")
    target = Target(tree, base.spec, base.lab, None, True, only)
    return grade(target, opts, slots)


@dataclass
class Row:
    """One line of the batch CSV; student and detail are printable."""
    student: str
    score: float
    max_score: float
    status: str                 # graded, full, build-failed, rejected, error
    detail: str = ""
    grade: Grade | None = None


def student_name(path: Path) -> str:
    """alice.tar.gz -> alice; a directory, or a file of another kind
    (alice.zip), keeps its whole name."""
    for suffix in ARCHIVE_SUFFIXES:
        if path.name.endswith(suffix) and len(path.name) > len(suffix):
            return path.name[:-len(suffix)]
    return path.name


def student_names(paths: list[Path]) -> list[str]:
    """Each path's student, printable; two that would share a name (alice
    and alice.tgz) keep their whole file names instead."""
    stems = [student_name(p) for p in paths]
    twice = {n for n, k in Counter(stems).items() if k > 1}
    return [printable_line(p.name if n in twice else n)
            for p, n in zip(paths, stems)]


def list_submissions(directory: Path) -> list[Path]:
    """Every entry of directory, by name: each will get a row."""
    if not directory.is_dir():
        raise GraderError(f"{printable_line(str(directory))}: no such "
                          "directory")
    try:
        return sorted(directory.iterdir())
    except OSError as e:
        raise GraderError(f"{printable_line(str(directory))}: cannot be "
                          f"read ({e.strerror})") from None


def grade_batch(base: Pristine, paths: list[Path], only: tuple[str, ...],
                opts: Options) -> list[Row]:
    """Grade every submission; none can stop the others. A missing tool
    stops them all: submissions not yet started are not graded, and the
    ToolMissing goes up."""
    slots = Slots(opts.jobs)
    maximum = sum(t.points for t in base.spec.tests_upto(base.lab, True))
    stop = threading.Event()

    def one(item: tuple[Path, str]) -> Row | None:
        if stop.is_set():
            return None
        try:
            return _one_row(base, item, only, opts, slots, maximum)
        except ToolMissing:
            stop.set()
            raise

    items = list(zip(paths, student_names(paths)))
    rows = parallel(one, items, opts.jobs)   # at most -j tree copies at once
    return [r for r in rows if r is not None]


def _one_row(base: Pristine, item: tuple[Path, str], only: tuple[str, ...],
             opts: Options, slots: Slots, maximum: float) -> Row:
    path, name = item
    tag = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:20]
    work = Path(tempfile.mkdtemp(prefix=f"vmlab-sub-{tag}-"))
    try:
        g = grade_submission(base, path, work, only, opts, slots)
    except ToolMissing:
        raise
    except GraderError as e:
        return Row(name, 0, maximum, "rejected", printable_line(str(e)))
    except Exception as e:      # isolate: one broken grade is one error row
        return Row(name, 0, maximum, "error",
                   printable_line(f"{type(e).__name__}: {e}"))
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
    status = ("build-failed" if not g.build.ok
              else "full" if g.score.full else "graded")
    detail = (g.build.reason or first_error(g.build.tail)
              if not g.build.ok else _review(g))
    return Row(name, g.score.points, g.score.max_points, status,
               printable_line(detail), g)


# The compiler's or the linker's first complaint in make's output.
ERROR_LINE = re.compile(r"(?:\berror\b|undefined reference|multiple "
                        r"definition|No rule to make target)", re.I)


def first_error(tail: list[str]) -> str:
    """The first error line of a failed build, else its last line."""
    for line in tail:
        if ERROR_LINE.search(line):
            return line.strip()
    return tail[-1].strip() if tail else "the kernel did not build"


def _review(g: Grade) -> str:
    """The CSV's word on a grade the object checks flagged."""
    return f"needs review: {'; '.join(g.review)}" if g.review else ""


def write_csv(path: Path, rows: list[Row]) -> None:
    """The summary: one row per submission, every cell inert text."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="", encoding="utf-8",
                  errors="backslashreplace") as f:
            w = csv.writer(f)
            w.writerow(["student", "score", "max", "status", "detail"])
            for r in rows:
                w.writerow([_cell(r.student), _num(r.score),
                            _num(r.max_score), r.status, _cell(r.detail)])
    except OSError as e:
        raise GraderError(f"cannot write {path}: {e.strerror}") from None


def _cell(text: str) -> str:
    """Text a spreadsheet shows as it is: one line, no formula."""
    text = printable_line(text)
    return "'" + text if text.startswith(FORMULA_START) else text


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"
