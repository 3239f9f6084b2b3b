"""make mutants: grade the kit's mutant suite (top-level repo only).

A mutant (mutants/labN/NAME.patch) is one realistic student bug of lab N, a
patch against solutions/ whose every change lies inside one of lab N's
`#if SOL >= N` regions. An alternative (mutants/labN/alt-NAME.patch) is a
correct design that differs from ours; it may change anything in lab N's
student files. mutants/README.md describes the format.

For each patch: apply it to a scratch copy of solutions/, build LAB=N
SOL=N, grade it with hidden tests, and, for a mutant that the graded tests
did not kill, run lab N's host tests. Verdicts:

  killed      a graded test failed (and one of its Caught-by tests did)
  host-only   only a host test failed: it still scores full marks
  survived    nothing failed
  full        an alternative scored full marks
  lost        an alternative lost marks: a test is over-specified
  error       the patch is malformed, does not apply, strays outside the
              lab's regions, does not build, or names Caught-by tests that
              did not fail

Every patch is checked for format and regions before any is graded, even
those left out of a --sample run, so a stale patch never hides. The exit
status is 0 only if every graded mutant is killed and every alternative
scores full marks.

Builds are reused: each worker keeps one scratch tree and one build
directory per lab, puts back the pristine files after each patch, and lets
make rebuild only what changed. With --caught-by-only (make check's
sample) a mutant boots only its Caught-by tests: a kill means the same,
and a boot for every other test is saved; alternatives still run every
test.
"""

from __future__ import annotations

import argparse
import difflib
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from . import GraderError
from . import build as buildmod
from . import spec as specmod
from .cli import ArgParser, guarded
from .job import Options, Slots, parallel, run_boots
from .score import score
from .spec import Spec
from .tree import Target

HEADER_KEY = re.compile(r"^([A-Z][A-Za-z-]*):\s*(.*)$")
NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
LAB_DIR = re.compile(r"^lab([0-9]+)$")
# The diff's target file: "+++ b/kern/mm/buddy.c" (a tab and a date may follow).
DIFF_FILE = re.compile(r"^\+\+\+ b/(\S+)", re.M)
SOL_IF = re.compile(r"^\s*#\s*if\s+SOL\s*>=\s*([0-9]+)(?:\s*\|\|\s*LAB\s*<\s*\1)?\s*$")
ANY_IF = re.compile(r"^\s*#\s*if(?:n?def)?\b")
ELSE = re.compile(r"^\s*#\s*(?:else|elif)\b")
ENDIF = re.compile(r"^\s*#\s*endif\b")
NEEDED = {"mutant": ("Mutant", "Function", "Why", "Caught-by"),
          "alternative": ("Alternative", "Function", "Why")}
HOST_RESULT = re.compile(r"^\s*(PASS|FAIL)\s+(test_[a-z0-9_]+)", re.M)
HOST_TIMEOUT_S = 300


@dataclass
class Patch:
    """One mutant or alternative, read and checked."""
    path: Path
    lab: int
    name: str                   # "lab3/merge-across-zones"
    kind: str                   # "mutant" or "alternative"
    header: dict[str, str]
    diff: str
    files: list[str]            # paths under solutions/ the diff changes
    problems: list[str] = field(default_factory=list)

    @property
    def caught_by(self) -> list[str]:
        return self.header.get("Caught-by", "").replace(",", " ").split()


@dataclass
class Verdict:
    patch: Patch
    verdict: str
    failed: list[str] = field(default_factory=list)   # graded tests
    host_failed: list[str] = field(default_factory=list)
    detail: str = ""
    seconds: float = 0.0

    @property
    def good(self) -> bool:
        return self.verdict == ("killed" if self.patch.kind == "mutant"
                                else "full")


# -- reading and checking patches ------------------------------------------

def read_patch(path: Path, lab: int) -> Patch:
    """Parse one patch file; its problems are listed, never raised."""
    stem = path.name[:-len(".patch")]
    kind = "alternative" if stem.startswith("alt-") else "mutant"
    text = path.read_text(errors="replace")
    head, sep, diff = text.partition("\n--- a/")
    p = Patch(path, lab, f"lab{lab}/{stem}", kind, {}, "--- a/" + diff, [])
    if not NAME.match(stem):
        p.problems.append(f"file name {path.name}: use lower-case kebab-case")
    if not sep:
        p.problems.append("no unified diff (a line starting '--- a/')")
        return p
    key = None
    for line in head.splitlines():
        m = HEADER_KEY.match(line)
        if m:
            key = m.group(1)
            p.header[key] = m.group(2).strip()
        elif line[:1] in (" ", "\t") and key is not None:
            p.header[key] = f"{p.header[key]} {line.strip()}".strip()
        elif line.strip():
            p.problems.append(f"header line is not 'Key: value': {line[:60]}")
    missing = [k for k in NEEDED[kind] if not p.header.get(k)]
    if missing:
        p.problems.append(f"header lacks {', '.join(missing)}")
    other = "Alternative" if kind == "mutant" else "Mutant"
    if other in p.header:
        p.problems.append(f"a {kind} has no '{other}:' line (alt- names "
                          "alternatives)")
    p.files = sorted(set(DIFF_FILE.findall(p.diff)))
    if not p.files:
        p.problems.append("the diff names no file ('+++ b/PATH')")
    return p


def discover(root: Path, spec: Spec) -> list[Patch]:
    """Every patch under root (mutants/), in lab and name order."""
    out = []
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        m = LAB_DIR.match(d.name)
        if not d.is_dir() or not m:
            continue
        lab = int(m.group(1))
        for f in sorted(d.glob("*.patch")):
            p = read_patch(f, lab)
            if lab not in spec.labs:
                p.problems.append(f"no lab {lab} in labs.json")
            out.append(p)
    return out


def sol_lines(text: str, n: int) -> list[bool]:
    """inside[i]: whether line i+1 of a source lies in a `#if SOL >= n`
    branch (not its #else); directive lines themselves are outside."""
    stack: list[bool] = []          # per open #if: is it our live SOL branch
    inside = []
    for line in text.splitlines():
        if SOL_IF.match(line):
            stack.append(int(SOL_IF.match(line).group(1)) == n)
            inside.append(False)
        elif ANY_IF.match(line):
            stack.append(False)
            inside.append(False)
        elif ELSE.match(line):
            if stack:
                stack[-1] = False
            inside.append(False)
        elif ENDIF.match(line):
            if stack:
                stack.pop()
            inside.append(False)
        else:
            inside.append(any(stack))
    return inside


def changes_outside(old: str, new: str, n: int) -> list[int]:
    """Line numbers (of old) changed by old -> new outside lab n's regions;
    an insertion between lines a and a+1 counts as inside if either is."""
    inside = sol_lines(old, n)
    a, b = old.splitlines(), new.splitlines()

    def ins(i: int) -> bool:          # 0-based line index, out of range: no
        return 0 <= i < len(inside) and inside[i]

    bad = []
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, _, _ in sm.get_opcodes():
        if op == "equal":
            continue
        if i1 == i2:                  # pure insertion before line i1
            if not (ins(i1 - 1) or ins(i1)):
                bad.append(i1 + 1)
            continue
        bad += [i + 1 for i in range(i1, i2) if not inside[i]]
    return bad


def apply(patch: Patch, tree: Path) -> str:
    """Apply patch to tree; '' or why it did not apply."""
    proc = subprocess.run(
        ["patch", "-p1", "-s", "-f", "--no-backup-if-mismatch", "-r", "-",
         "-d", str(tree)], input=patch.diff, capture_output=True, text=True)
    if proc.returncode != 0:
        why = (proc.stdout + proc.stderr).strip().splitlines()
        return f"patch does not apply: {why[-1] if why else 'no output'}"
    return ""


def check(patch: Patch, solutions: Path, spec: Spec) -> None:
    """Check a patch against solutions/ without building: it applies, it
    touches only lab N's student files, and a mutant stays inside lab N's
    SOL regions. Adds to patch.problems."""
    if patch.problems or patch.lab not in spec.labs:
        return
    own = set(spec.lab(patch.lab).student_files)
    for f in patch.files:
        if f not in own:
            patch.problems.append(f"{f} is not a student file of lab "
                                  f"{patch.lab}")
    if patch.problems:
        return
    with tempfile.TemporaryDirectory(prefix="vmlab-mutcheck-") as tmp:
        for f in patch.files:
            dst = Path(tmp, f)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(solutions / f, dst)
        why = apply(patch, Path(tmp))
        if why:
            patch.problems.append(why)
            return
        changed = False
        for f in patch.files:
            old = (solutions / f).read_text()
            new = Path(tmp, f).read_text()
            changed = changed or old != new
            if patch.kind != "mutant":
                continue
            bad = changes_outside(old, new, patch.lab)
            if bad:
                shown = ", ".join(map(str, bad[:5]))
                patch.problems.append(f"{f}: changes outside lab "
                                      f"{patch.lab}'s SOL regions at line "
                                      f"{shown}")
        if not changed:
            patch.problems.append("the patch changes nothing")


def sample(patches: list[Patch], k: int, seed: int) -> list[Patch]:
    """k mutants and k alternatives per lab (all of them if fewer), the
    same ones for the same seed and suite."""
    out = []
    labs = sorted({p.lab for p in patches})
    for lab in labs:
        keep: set[str] = set()
        for kind in ("mutant", "alternative"):
            some = sorted((p for p in patches
                           if p.lab == lab and p.kind == kind),
                          key=lambda p: p.name)
            rng = random.Random(f"{seed}:lab{lab}" if kind == "mutant"
                                else f"{seed}:lab{lab}:alt")
            keep |= {p.name for p in rng.sample(some, min(k, len(some)))}
        out += [p for p in patches if p.lab == lab and p.name in keep]
    return out


def fewer_alternatives(patches: list[Patch], n: int,
                       seed: int) -> list[Patch]:
    """Every mutant, and n of the alternatives (each costs a full grade),
    the same ones for the same seed and suite."""
    alts = sorted((p for p in patches if p.kind == "alternative"),
                  key=lambda p: p.name)
    keep = set(random.Random(f"{seed}:alternatives").sample(
        [p.name for p in alts], min(max(n, 0), len(alts))))
    return [p for p in patches if p.kind != "alternative" or p.name in keep]


# -- grading --------------------------------------------------------------

def boot_only(p: Patch, caught_by_only: bool) -> tuple[str, ...]:
    """The --only globs a patch is graded with: with caught_by_only, a
    mutant's Caught-by tests; everything (no globs) for an alternative,
    which must score full marks on every test."""
    if caught_by_only and p.kind == "mutant":
        return tuple(p.caught_by)
    return ()


class Worker:
    """One scratch copy of solutions/ with a build directory per lab."""

    def __init__(self, solutions: Path, spec: Spec, base: Path, k: int):
        self.solutions = solutions
        self.spec = spec
        self.root = base / f"w{k}"
        self.any_test = False
        self.caught_by_only = False
        self.tree = self.root / "solutions"
        shutil.copytree(solutions, self.tree, ignore=shutil.ignore_patterns(
            "build", ".gdbport"))

    def restore(self, files: list[str]) -> None:
        """Put back the pristine files (a new mtime: make rebuilds them)."""
        for f in files:
            shutil.copyfile(self.solutions / f, self.tree / f)

    def grade(self, p: Patch, opts: Options, slots: Slots,
              host: bool) -> Verdict:
        t0 = time.monotonic()
        try:
            v = self._grade(p, opts, slots, host)
        finally:
            self.restore(p.files)
        v.seconds = time.monotonic() - t0
        return v

    def _grade(self, p: Patch, opts: Options, slots: Slots,
               host: bool) -> Verdict:
        why = apply(p, self.tree)
        if why:
            return Verdict(p, "error", detail=why)
        only = boot_only(p, self.caught_by_only and not self.any_test)
        target = Target(self.tree, self.spec, p.lab, p.lab, True, only)
        outdir = self.root / f"build-lab{p.lab}"
        with slots:
            built = buildmod.build(self.tree, target.make_vars(), 1,
                                   outdir=outdir)
        if not built.ok:
            last = built.reason or (built.tail[-1] if built.tail else "")
            return Verdict(p, "error", detail=f"does not build: {last}")
        reps = run_boots(target, built, opts, slots)
        sc = score(target.tests(), reps[0].runs, target.is_ignored)
        failed = [t.name for t in sc.graded if not t.passed]
        if p.kind == "alternative":
            if failed:
                return Verdict(p, "lost", failed, detail=f"{sc.points:g}/"
                               f"{sc.max_points:g} points")
            return Verdict(p, "full", detail=f"{sc.points:g}/"
                           f"{sc.max_points:g} points")
        if failed:
            want = [] if self.any_test else p.caught_by
            if want and not set(want) & set(failed):
                return Verdict(p, "error", failed, detail="none of its "
                               f"Caught-by tests failed ({' '.join(want)})")
            return Verdict(p, "killed", failed)
        host_failed = self.host_tests(p.lab) if host else []
        return Verdict(p, "host-only" if host_failed else "survived", [],
                       host_failed)

    def host_tests(self, lab: int) -> list[str]:
        """Lab's cmocka programs on this scratch tree: the failing ones."""
        progs = self.spec.lab(lab).host_tests
        if not progs:
            return []
        proc = subprocess.run(
            ["make", "-s", "-C", str(self.tree / "tests" / "host"),
             f"O={self.root / 'host'}", f"TESTS={' '.join(progs)}"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            errors="replace", timeout=HOST_TIMEOUT_S,
            env=buildmod._clean_env())
        res = dict((t, r) for r, t in HOST_RESULT.findall(proc.stdout))
        return [t for t in progs if res.get(t) != "PASS"]


def grade_all(patches: list[Patch], solutions: Path, spec: Spec,
              opts: Options, host: bool, progress=None,
              any_test: bool = False,
              caught_by_only: bool = False) -> list[Verdict]:
    """Grade every checked patch on opts.jobs workers; a patch with
    problems is an error without being built."""
    todo = [p for p in patches if not p.problems]
    out: dict[str, Verdict] = {p.name: Verdict(p, "error",
                                               detail="; ".join(p.problems))
                               for p in patches if p.problems}
    if progress is not None:
        for v in out.values():
            progress(v)
    slots = Slots(opts.jobs)
    lock = threading.Lock()
    queue = list(todo)
    with tempfile.TemporaryDirectory(prefix="vmlab-mutants-") as base:
        workers = [Worker(solutions, spec, Path(base), k)
                   for k in range(max(1, min(opts.jobs, len(todo))))]
        for w in workers:
            w.any_test = any_test
            w.caught_by_only = caught_by_only

        def work(w: Worker) -> None:
            while True:
                with lock:
                    if not queue:
                        return
                    p = queue.pop(0)
                v = w.grade(p, opts, slots, host)
                with lock:
                    out[p.name] = v
                    if progress is not None:
                        progress(v)

        parallel(work, workers)
    return [out[p.name] for p in patches]


# -- the command ------------------------------------------------------------

def summary(verdicts: list[Verdict], labs: list[int]) -> list[str]:
    lines = []
    for lab in labs:
        vs = [v for v in verdicts if v.patch.lab == lab]
        mut = [v for v in vs if v.patch.kind == "mutant"]
        alt = [v for v in vs if v.patch.kind == "alternative"]
        count = {k: sum(v.verdict == k for v in mut)
                 for k in ("killed", "host-only", "survived", "error")}
        rate = (f"{100 * count['killed'] / len(mut):.0f}%" if mut else "-")
        lines.append(
            f"lab {lab}: {len(mut)} mutants: {count['killed']} killed by "
            f"the graded tests ({rate}), {count['host-only']} only by host "
            f"tests, {count['survived']} survived, {count['error']} errors; "
            f"{sum(v.verdict == 'full' for v in alt)}/{len(alt)} "
            "alternatives at full marks")
    return lines


def row(v: Verdict, verbose: bool) -> str:
    what = v.detail
    if v.failed:
        shown = v.failed if verbose else v.failed[:3]
        more = len(v.failed) - len(shown)
        what = ", ".join(shown) + (f" (+{more})" if more > 0 else "")
        if v.detail:
            what = f"{what}: {v.detail}"
    elif v.host_failed:
        what = "host: " + ", ".join(v.host_failed)
    return f"  {v.patch.name:<40} {v.verdict:<10} {v.seconds:5.1f}s  {what}"


def _parser() -> ArgParser:
    p = ArgParser(prog="mutants", description="Grade the mutant suite: "
                  "every mutant must be killed by the graded tests, every "
                  "alternative must score full marks.")
    p.add_argument("--solutions", type=Path, default=None,
                   help="the reference tree (default: ../solutions)")
    p.add_argument("--suite", type=Path, default=None,
                   help="the mutant directory (default: ../mutants)")
    p.add_argument("--lab", type=int, action="append", default=[],
                   help="only this lab (repeatable)")
    p.add_argument("--only", action="append", default=[], metavar="GLOB",
                   help="only patches whose name (labN/NAME) or NAME "
                   "matches (repeatable)")
    p.add_argument("--sample", type=int, default=None, metavar="K",
                   help="K mutants and K alternatives per lab, chosen by "
                   "--seed")
    p.add_argument("--alternatives", type=int, default=None, metavar="N",
                   help="with --sample: N alternatives in all, not K per "
                   "lab (chosen by --seed among the labs' samples)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--any-test", action="store_true",
                   help="a mutant counts as killed by any failing test, "
                   "its Caught-by tests or not (to measure older tests)")
    p.add_argument("--caught-by-only", action="store_true",
                   help="boot a mutant's Caught-by tests alone (a kill is "
                   "the same; the other failures go unlisted)")
    p.add_argument("--no-host", action="store_true",
                   help="skip host tests for survivors")
    p.add_argument("--list", action="store_true",
                   help="check and list the suite; grade nothing")
    p.add_argument("-j", dest="jobs", type=int, default=2)
    p.add_argument("-v", dest="verbose", action="store_true",
                   help="every failing test of each patch")
    p.add_argument("-q", dest="quiet", action="store_true",
                   help="a row only for a patch that is not as it must be")
    return p


def main(argv: list[str] | None = None, repo: Path | None = None) -> int:
    return guarded(lambda: _main(argv, repo))


def _main(argv: list[str] | None, repo: Path | None) -> int:
    args = _parser().parse_args(argv)
    if args.jobs < 1:
        raise GraderError("mutants: -j must be at least 1")
    top = repo or Path(__file__).resolve().parent.parent.parent
    solutions = (args.solutions or top / "solutions").resolve()
    suite = args.suite or top / "mutants"
    if not (solutions / "labs.json").is_file():
        raise GraderError(f"{solutions}: no labs.json here")
    if not suite.is_dir():
        raise GraderError(f"{suite}: no mutant suite here")
    if shutil.which("patch") is None:
        raise GraderError("patch not found: install the Debian package "
                          "patch (or run scripts/deps.sh)")
    spec = specmod.load(solutions / "labs.json")
    patches = discover(suite, spec)
    for p in patches:
        check(p, solutions, spec)
    chosen = [p for p in patches
              if (not args.lab or p.lab in args.lab)
              and (not args.only or any(fnmatchcase(p.name, g) or
                                        fnmatchcase(p.name.split("/")[1], g)
                                        for g in args.only))]
    if args.sample is not None:
        chosen = sample(chosen, args.sample, args.seed)
        if args.alternatives is not None:
            chosen = fewer_alternatives(chosen, args.alternatives, args.seed)
    if not chosen:
        raise GraderError("mutants: no patch matches")
    # A broken patch outside the chosen ones still fails the run.
    broken = [p for p in patches if p.problems and p not in chosen]
    labs = sorted({p.lab for p in chosen})
    if args.list:
        for p in chosen:
            state = "; ".join(p.problems) or p.header.get(
                "Mutant", p.header.get("Alternative", ""))
            print(f"  {p.name:<40} {p.kind:<11} {state}")
        for p in broken:
            print(f"  {p.name:<40} error       {'; '.join(p.problems)}")
        return 1 if any(p.problems for p in patches) else 0
    print(f"mutants: {len(chosen)} patches ({len(patches)} in the suite), "
          f"-j {args.jobs}, labs {' '.join(map(str, labs))}", flush=True)
    t0 = time.monotonic()

    def progress(v: Verdict) -> None:
        if not args.quiet or not v.good:
            print(row(v, args.verbose), flush=True)

    verdicts = grade_all(chosen, solutions, spec,
                         Options(seed=args.seed, jobs=args.jobs),
                         not args.no_host, progress, args.any_test,
                         args.caught_by_only)
    verdicts += [Verdict(p, "error", detail="; ".join(p.problems))
                 for p in broken]
    for v in verdicts[len(chosen):]:
        print(row(v, args.verbose))
    for line in summary(verdicts, sorted({v.patch.lab for v in verdicts})):
        print(line)
    bad = [v for v in verdicts if not v.good]
    print(f"mutants: {len(verdicts) - len(bad)} of {len(verdicts)} as they "
          f"must be, in {time.monotonic() - t0:.0f} s")
    return 0 if not bad else 1
