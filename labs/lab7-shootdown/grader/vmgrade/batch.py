"""Grading submissions: one (--submission) or a directory of them
(--submissions), each on a fresh copy of a pristine tree.

The pristine tree is the lab tree itself, or, from the top-level repo, the
committed labs/labN-NAME (public tests) or an instructor tree that
`grader/genlabs --hidden` makes in a temp dir (hidden tests included). Only
the lab's student files are taken from a submission (submission.py), so a
submission cannot change tests, harness, Makefile or grader. In a batch each
submission is isolated: a bad one becomes an error row and the batch goes on.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import GraderError, submission
from . import spec as specmod
from .job import Grade, Options, Slots, grade, parallel
from .spec import Spec
from .tree import Located, Target

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")


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
    """One line of the batch CSV."""
    student: str
    score: float
    max_score: float
    status: str                 # graded, full, build-failed, rejected, error
    detail: str = ""
    grade: Grade | None = None


def student_name(path: Path) -> str:
    """alice.tar.gz -> alice; a directory keeps its name."""
    for suffix in ARCHIVE_SUFFIXES:
        if path.is_file() and path.name.endswith(suffix):
            return path.name[:-len(suffix)]
    return path.name


def list_submissions(directory: Path) -> list[Path]:
    """Every tarball or directory in directory, by name (dotfiles skipped)."""
    if not directory.is_dir():
        raise GraderError(f"{directory}: no such directory")
    return sorted(p for p in directory.iterdir() if not p.name.startswith(".")
                  and (p.is_dir() or p.name.endswith(ARCHIVE_SUFFIXES)))


def grade_batch(base: Pristine, paths: list[Path], only: tuple[str, ...],
                opts: Options) -> list[Row]:
    """Grade every submission; none can stop the others."""
    slots = Slots(opts.jobs)
    maximum = sum(t.points for t in base.spec.tests_upto(base.lab, True))

    def one(path: Path) -> Row:
        return _one_row(base, path, only, opts, slots, maximum)

    return parallel(one, paths, opts.jobs)   # at most -j tree copies at once


def _one_row(base: Pristine, path: Path, only: tuple[str, ...], opts: Options,
             slots: Slots, maximum: float) -> Row:
    name = student_name(path)
    work = Path(tempfile.mkdtemp(prefix=f"vmlab-sub-{name[:20]}-"))
    try:
        g = grade_submission(base, path, work, only, opts, slots)
    except GraderError as e:
        return Row(name, 0, maximum, "rejected", str(e))
    except Exception as e:      # isolate: one broken grade is one error row
        return Row(name, 0, maximum, "error", f"{type(e).__name__}: {e}")
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
    status = ("build-failed" if not g.build.ok
              else "full" if g.score.full else "graded")
    return Row(name, g.score.points, g.score.max_points, status, "", g)


def write_csv(path: Path, rows: list[Row]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", "score", "max", "status", "detail"])
        for r in rows:
            w.writerow([r.student, _num(r.score), _num(r.max_score),
                        r.status, r.detail])


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"
