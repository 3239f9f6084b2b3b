"""make check's proof that every lab is valid (top-level repo only).

For each lab N of solutions/labs.json:
  1. reference   solutions at LAB=N SOL=N, hidden tests included, passes
                 every test that starts at lab N (the top lab: every spec
                 test of labs 0..N; check 3 boots the earlier labs' tests
                 at level N);
  2. stub        solutions at LAB=N SOL=N-1, hidden tests included, fails
                 every test of lab N (only those boot: check 3 proves that
                 the code of labs 0..N-1 still passes at level N, and
                 check 1 that the hidden tests of those labs do); a lab
                 with no hidden test skips it, since check 3 then fails
                 the same tests on the same code;
  3. tree        the generated labs/labN-NAME (its public lab.json) passes
                 every test of labs 0..N-1 and fails every test of lab N;
  4. host tests  in labs/labN-NAME, `make test` fails exactly the cmocka
                 programs the spec lists for lab N (its stub) and passes
                 every other one.
A lab with no graded tests of its own yet skips check 2 (its stub build
would be the reference) and says so; checks 1, 3 and 4 still prove that
the earlier labs pass at its level. A lab whose level no LAB/SOL condition
in solutions/ can tell from the level below (LAB=N SOL=N compiles the same
code as LAB=N-1 SOL=N-1: see horizon()) skips check 1 too, and says so:
lab N-1's reference already booted that code, provided no test starts at
lab N ("since"). Likewise a lab with no new tests whose tree holds byte for
byte the sources of lab N-1's tree
(kern/, tests/, user/, tools/, the Makefile: same_sources()) skips checks
3 and 4: lab N-1's tree proved those files. A missing or unexpected
test, or a build failure, fails the check. One line per check; the exit
status is 1 if any check failed.

Every build, boot and host-test run shares the -j slots, so the host tests
of one tree compile while another tree's kernel boots.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import GraderError, labgen, report
from . import spec as specmod
from . import tree as treemod
from .cli import ArgParser, guarded
from .job import Grade, Options, Slots, grade, parallel
from .spec import Spec
from .tree import Located, Target

SHOWN_PROBLEMS = 6


@dataclass
class Check:
    lab: int
    what: str                   # "reference LAB=3 SOL=3", "labs/lab3-buddy"
    target: Target | None       # None when the tree is not there
    must_fail: frozenset[str]   # lab N's tests; all others must pass
    error: str = ""


def plan(spec: Spec, solutions: Path, labs_dir: Path) -> list[Check | str]:
    """The checks in order; a string is a lab with nothing to prove."""
    loc = Located(solutions, spec, None)
    same_from = horizon(solutions)
    out: list[Check | str] = []
    booted = tree_booted = min(spec.labs)
    for n in sorted(spec.labs):
        own = frozenset(t.name for t in spec.tests if t.lab == n)
        # A test that starts at lab n (since) is new at this level even
        # when the code is not: then lab n's own kernels must boot.
        new = own or any(t.since == n for t in spec.tests)
        if n - 1 in spec.labs and n - 1 >= same_from and not new:
            out.append(f"lab {n}: reference not booted — no LAB/SOL "
                       f"condition in solutions/ tells LAB={n} SOL={n} from "
                       f"LAB={booted} SOL={booted}, so lab {booted}'s "
                       "reference proves it")
        else:
            booted = n
            # Below the top lab, the reference boots only the tests that
            # start at its level: the tree of lab n boots the earlier
            # labs' tests on the same code (lab n's part aside), and the
            # top reference boots every test.
            starts = tuple(sorted(t.name for t in spec.tests
                                  if t.lab == n or (t.lab == 0 and
                                                    t.since == n)))
            top = n == max(spec.labs)
            out.append(Check(n, f"reference LAB={n} SOL={n}",
                             treemod.solutions_target(
                                 loc, n, n, True, () if top or not starts
                                 else starts),
                             frozenset()))
        hidden = any(t.hidden for t in spec.tests if t.lab == n)
        if own and not hidden:
            out.append(f"lab {n}: stub not booted — lab {n} has no hidden "
                       f"test, so its tree's check (lab {n}'s tests fail "
                       "there) proves the stub")
        elif own:
            out.append(Check(n, f"stub LAB={n} SOL={n - 1}",
                             treemod.solutions_target(loc, n, n - 1, True,
                                                      tuple(sorted(own))),
                             own))
        else:
            out.append(f"lab {n}: no graded tests of its own yet — "
                       "no stub to prove failing")
        if not new and n - 1 in spec.labs and same_sources(
                labs_dir / spec.lab(tree_booted).dirname,
                labs_dir / spec.lab(n).dirname):
            out.append(f"lab {n}: {labs_dir.name}/{spec.lab(n).dirname} not "
                       f"booted — its sources are byte for byte those of "
                       f"{labs_dir.name}/{spec.lab(tree_booted).dirname}, "
                       "whose checks prove them")
        else:
            tree_booted = n
            out.append(_tree_check(spec, n, labs_dir))
    return out


SOURCE_PARTS = ("kern", "tests", "user", "tools", "Makefile")


def same_sources(a: Path, b: Path) -> bool:
    """Whether two lab trees hold the same source files with the same
    bytes (their lab.json, lab.mk, README and answers differ anyway)."""
    def files(root: Path) -> dict[str, bytes]:
        out = {}
        for part in SOURCE_PARTS:
            top = root / part
            paths = [top] if top.is_file() else sorted(
                p for p in top.rglob("*") if p.is_file()) \
                if top.is_dir() else []
            for p in paths:
                rel = p.relative_to(root)
                if "build" not in rel.parts:
                    out[str(rel)] = p.read_bytes()
        return out
    if not (a / "lab.json").is_file() or not (b / "lab.json").is_file():
        return False
    fa = files(a)
    return bool(fa) and fa == files(b)


# A comparison in a LAB/SOL condition: `LAB >= 4`, `SOL > 2`.
COMPARISON = re.compile(rb"\b(?:LAB|SOL)[ \t]*(>=|>|<=|<|==|!=)[ \t]*([0-9]+)")
NO_HORIZON = 1 << 30


def horizon(solutions: Path) -> int:
    """The lowest level H from which every LAB/SOL condition in solutions/
    is decided the same way: LAB=N SOL=N and LAB=N-1 SOL=N-1 compile the
    same code whenever N-1 >= H (only the LAB the boot banner prints
    differs). `LAB >= K` and `LAB < K` settle at K; `>`, `<=`, `==` and
    `!=` at K+1. In a Makefile, `$(filter-out 0 1 .. K-1,$(LAB))` is
    LAB >= K. A condition this cannot read, or a Makefile that uses LAB or
    SOL otherwise than to pass them on, gives no horizon."""
    h = 0
    for path in sorted(solutions.rglob("*")):
        if not path.is_file() or "build" in path.relative_to(
                solutions).parts:
            continue
        try:
            data = path.read_bytes()
        except OSError:
            return NO_HORIZON
        if b"\0" in data:
            continue
        if path.name == "Makefile" or path.suffix == ".mk":
            # `$(filter-out 0 1 2 3 4,$(LAB))`: "LAB >= 5" in make.
            for levels in MAKE_AT_LEAST.findall(data):
                nums = sorted(int(x) for x in levels.split())
                if nums != list(range(len(nums))):
                    return NO_HORIZON
                h = max(h, len(nums))
            rest = MAKE_AT_LEAST.sub(b"", MAKE_PASSES_ON.sub(b"", data))
            if MAKE_LEVEL_USE.search(rest):
                return NO_HORIZON
            continue
        for line in data.splitlines():
            if not (labgen.MARKER.search(line) or
                    labgen.MARKER_TOKEN.search(line)):
                continue
            found = COMPARISON.findall(line)
            rest = COMPARISON.sub(b"", line)
            if not found or re.search(rb"\b(?:LAB|SOL)\b", rest):
                return NO_HORIZON
            for op, k in found:
                h = max(h, int(k) + (op not in (b">=", b"<")))
    return h


# How a Makefile may use LAB and SOL without changing what the kernel is:
# its defaults, passing them to the compiler, the grader or a sub-make.
MAKE_PASSES_ON = re.compile(
    rb"^(?:LAB|SOL)[ \t]*\?=[^\n]*$|-D(?:LAB|SOL)=\$\((?:LAB|SOL)\)|"
    rb"--(?:lab|sol) \$\((?:LAB|SOL)\)|\b(?:LAB|SOL)=\$\((?:LAB|SOL)\)|"
    rb"^#[^\n]*$", re.M)
MAKE_LEVEL_USE = re.compile(rb"\$[({](?:LAB|SOL)[)}]")
# The one level test a Makefile may make: LAB >= K, as the filter-out of
# 0 .. K-1 (non-empty from lab K on).
MAKE_AT_LEAST = re.compile(
    rb"\$\(filter-out ([0-9]+(?: [0-9]+)*),\$\((?:LAB|SOL)\)\)")


HOST_RESULT = re.compile(r"^\s*(PASS|FAIL)\s+(test_[a-z0-9_]+)", re.M)


def host_check(spec: Spec, n: int, labs_dir: Path,
               slots: Slots | None = None) -> tuple[bool, str]:
    """Check 4: the lab tree's host tests fail exactly lab n's programs.
    The make runs in one of the slots (one job: a slot is one core)."""
    lab = spec.lab(n)
    tree = labs_dir / lab.dirname
    name = f"lab {n}: host tests in {labs_dir.name}/{tree.name}"
    argv = ["make", "-s", "-C", str(tree), "test"]
    with tempfile.TemporaryDirectory(prefix="vmgrade-host-") as out, \
            slots or Slots(1):
        proc = subprocess.run(argv + [f"O={out}"] + host_cache_vars(),
                              stdin=subprocess.DEVNULL, env=host_cache_env(),
                              capture_output=True, text=True, errors="replace")
    results = {t: r for r, t in HOST_RESULT.findall(proc.stdout)}
    problems = host_problems(results, set(lab.host_tests))
    if not results:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        problems.append(f"no results (make: {last[:200]})")
    failed = {t for t, r in results.items() if r == "FAIL"}
    figures = (f"{len(results) - len(failed)}/{len(results)} programs pass, "
               f"{len(failed & set(lab.host_tests))}/{len(lab.host_tests)} "
               f"lab {n} programs fail")
    if problems:
        return False, f"{name}: {figures} — FAILED: {'; '.join(problems)}"
    return True, f"{name}: {figures} — ok"


# make check names a compiler cache for its own builds (scripts/check.sh):
# the seven trees' host tests compile mostly the same files, and with
# paths made relative (CCACHE_BASEDIR) a file compiled in one tree is a
# hit in the next. Only for the kit's trees: never a submission's build.
HOST_CACHE_ENV = "VMLAB_CCACHE"


def host_cache_vars() -> list[str]:
    """make variables that put ccache in front of the host compiler, if
    make check set up a cache and ccache is installed."""
    where = os.environ.get(HOST_CACHE_ENV, "")
    if not where or not Path(where).is_dir() or not shutil.which("ccache"):
        return []
    return ["HOSTCC=ccache cc"]


def host_cache_env() -> dict[str, str]:
    env = dict(os.environ)
    if host_cache_vars():
        env.update(CCACHE_DIR=env[HOST_CACHE_ENV], CCACHE_BASEDIR="/",
                   CCACHE_NOHASHDIR="1")
    return env


def host_problems(results: dict[str, str], want: set[str]) -> list[str]:
    """What is wrong with PASS/FAIL results when exactly want must fail."""
    failed = {t for t, r in results.items() if r == "FAIL"}
    problems = [f"{t} did not run" for t in sorted(want - results.keys())]
    problems += [f"{t} passed but must fail"
                 for t in sorted((want & results.keys()) - failed)]
    problems += [f"{t} failed" for t in sorted(failed - want)]
    return problems


def _tree_check(spec: Spec, n: int, labs_dir: Path) -> Check:
    path = labs_dir / spec.lab(n).dirname
    shown = f"{labs_dir.name}/{path.name}"
    if not (path / "lab.json").is_file():
        return Check(n, shown, None, frozenset(),
                     f"{path}: no such lab tree (run make labs)")
    loc = Located(path, specmod.load(path / "lab.json"), None)
    if loc.spec.tree_lab != n:
        return Check(n, shown, None, frozenset(),
                     f"{path}/lab.json says tree_lab {loc.spec.tree_lab}")
    own = frozenset(t.name for t in loc.spec.tests if t.lab == n)
    return Check(n, shown, treemod.lab_target(loc), own)


def judge(check: Check, g: Grade | None) -> tuple[bool, str]:
    """Whether the check holds, and its one line."""
    name = f"lab {check.lab}: {check.what}"
    if g is None:
        return False, f"{name}: FAILED: {check.error}"
    problems = _problems(check, g)
    figures = _figures(check, g)
    if not problems:
        return True, f"{name}: {figures} — ok"
    more = len(problems) - SHOWN_PROBLEMS
    shown = "; ".join(problems[:SHOWN_PROBLEMS])
    tail = f"; and {more} more" if more > 0 else ""
    return False, f"{name}: {figures} — FAILED: {shown}{tail}"


def _problems(check: Check, g: Grade) -> list[str]:
    if not g.build.ok:
        last = g.build.tail[-1] if g.build.tail else "no output"
        return [f"the kernel did not build ({last})"]
    out = []
    for t in g.score.graded:
        if t.status == "missing":
            out.append(f"{t.name} is missing")
        elif t.name in check.must_fail and t.passed:
            out.append(f"{t.name} passed but must fail")
        elif t.name not in check.must_fail and not t.passed:
            out.append(f"{t.name} {t.label}")
    out += [f"unexpected test {t.name}" for t in g.score.unexpected]
    if not check.must_fail and check.target is not None and \
            check.target.is_solutions:
        out += budget_problems(g)
    return out


def budget_problems(g: Grade) -> list[str]:
    """Tests of the reference whose budget is less than BUDGET_FACTOR
    times the virtual time they took, with the budget_s to set."""
    out = []
    for t in g.score.graded:
        if t.time_us is None:
            continue
        budget = report.budget_of(g, t.name)
        need = t.time_us * specmod.BUDGET_FACTOR
        if need > budget * 1_000_000:
            fix = min(30, 2 * -(-need // 2_000_000))
            out.append(f"{t.name} took {t.time_us / 1000:.1f} ms of virtual "
                       f"time: its budget of {budget} s is less than "
                       f"{specmod.BUDGET_FACTOR}x that (set \"budget_s\": "
                       f"{fix} in labs.json)")
    return out


def _figures(check: Check, g: Grade) -> str:
    graded = g.score.graded
    keep = [t for t in graded if t.name not in check.must_fail]
    lose = [t for t in graded if t.name in check.must_fail]
    text = f"{sum(t.passed for t in keep)}/{len(keep)} tests pass"
    if lose:
        failed = sum(not t.passed for t in lose)
        text = (f"{text} (labs 0..{check.lab - 1}), {failed}/{len(lose)} "
                f"lab {check.lab} tests fail")
    return text


def _parser() -> ArgParser:
    p = ArgParser(prog="validate", description="Prove every "
                                "lab valid: reference full, stubs and trees "
                                "failing exactly their own lab.")
    p.add_argument("--solutions", required=True, type=Path)
    p.add_argument("--labs", required=True, type=Path)
    p.add_argument("-j", dest="jobs", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    return p


def main(argv: list[str] | None = None) -> int:
    return guarded(lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    args = _parse(argv)
    spec = specmod.load(args.solutions / "labs.json")
    if spec.tree_lab is not None:
        raise GraderError(f"{args.solutions}: a lab tree, not solutions/")
    items = plan(spec, args.solutions.resolve(), args.labs)
    checks = [c for c in items if isinstance(c, Check)]
    host_labs = [n for n in sorted(spec.labs)
                 if any(isinstance(c, Check) and c.lab == n and
                        c.what.startswith(f"{args.labs.name}/")
                        for c in items)]
    targets = [c.target for c in checks if c.target is not None]
    opts = Options(seed=args.seed, jobs=args.jobs)
    slots = Slots(args.jobs)
    # Kernels and host tests together, all in the slots.
    work: list[object] = [*targets, *host_labs]
    done = parallel(lambda w: grade(w, opts, slots) if not isinstance(w, int)
                    else host_check(spec, w, args.labs, slots), work)
    grades = dict(zip(map(id, targets), done[:len(targets)]))
    hosts = done[len(targets):]
    ok = True
    for item in items:
        if isinstance(item, str):
            print(item)
            continue
        g = grades.get(id(item.target)) if item.target is not None else None
        good, line = judge(item, g)
        ok = ok and good
        print(line, flush=True)
    for good, line in hosts:
        ok = ok and good
        print(line, flush=True)
    return 0 if ok else 1


def _parse(argv: list[str] | None) -> argparse.Namespace:
    args = _parser().parse_args(argv)
    if args.jobs < 1:
        raise GraderError("validate: -j must be at least 1")
    if not (args.solutions / "labs.json").is_file():
        raise GraderError(f"{args.solutions}: no labs.json here")
    return args
