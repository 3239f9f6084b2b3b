"""make release: the repository a course hands to its students.

    grader/release --labs N --out DIR       (make release LABS=N OUT=DIR)

writes DIR as a git repository holding, on one branch:

    README.md                 for students: start, pull the next lab, hand in
    Makefile                  make grade [LAB=k], make test, make deps
    scripts/deps.sh           the Debian packages, as in the kit
    handouts/                 each released lab's handout and gdb walkthrough
    lab1-trap/ ... labN-NAME/ the public lab trees, as make labs writes them
    .github/workflows/classroom.yml   GitHub Classroom autograding
    .gitignore, .vmlab-release

One directory per lab, not one branch per lab: lab k+1's tree holds the
solutions of labs 1..k and is new when it is released, so pulling it into
a student's repository never conflicts with their work in the earlier
trees; GitHub Classroom grades a single branch, and that branch holds every
lab, so one workflow grades them all, each lab as its own part. Running
the command again with a larger N over the same DIR adds the next lab as a
new commit, which the students pull.

verify() proves what the release must never hold: nothing of solutions/
(no solution region of a lab that is not yet solved in that tree), no
hidden test's name, no lab marker, no instructors' file, and no relative
link that leads nowhere. make check runs it on a release of every lab.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from . import GraderError
from . import labgen
from . import spec as specmod
from .cli import ArgParser, guarded
from .mutants import sol_lines
from .spec import Spec

GRADER_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = GRADER_DIR.parent
STAMP = ".vmlab-release"
# Never in a release, anywhere (a path component).
FORBIDDEN_NAMES = frozenset({"solutions", "mutants", "hidden", "labs.json",
                             "walkthroughs"})
LINK = re.compile(r"\]\(([^)\s]+)\)")
TEXT_SUFFIXES = (".c", ".h", ".S", ".md", ".txt", ".py", ".json", ".mk",
                 ".sh", ".yml", ".ld", ".gdb", "")
# A solution line shorter than this is too common to prove a leak
# ("return 0;"); longer ones are specific to their code.
MIN_LEAK_CHARS = 24
SOURCE_SUFFIXES = (".c", ".h", ".S", ".txt")     # .txt: model answers
SOL_NUMBER = re.compile(r"^\s*#\s*if\s+SOL\s*>=\s*([0-9]+)", re.M)
# `#if SOL >= N || LAB < N`: lab N's solution, which the trees below lab N
# are given (code that an earlier lab runs on; lab N's stub replaces it).
GIVEN_BELOW = re.compile(r"^(\s*#\s*if\s+)SOL\s*>=\s*([0-9]+)\s*\|\|\s*"
                         r"LAB\s*<\s*\2\s*$", re.M)


def _parser() -> ArgParser:
    p = ArgParser(prog="release", description="Write the student release: "
                  "a git repository with labs 1..N, for GitHub Classroom.")
    p.add_argument("--labs", type=int, required=False,
                   help="release labs 1..N")
    p.add_argument("--out", type=Path, help="the release repository")
    p.add_argument("--verify", type=Path, metavar="DIR",
                   help="only check an existing release")
    p.add_argument("--no-git", action="store_true",
                   help="write the files without a git commit")
    return p


def main(argv: list[str] | None = None) -> int:
    return guarded(lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    solutions = REPO_DIR / "solutions"
    spec = specmod.load(solutions / "labs.json")
    if args.verify is not None:
        problems = verify(args.verify, spec, solutions)
        for p in problems:
            print(f"release: {p}")
        print(f"release: {args.verify}: "
              f"{'ok' if not problems else f'{len(problems)} problem(s)'}")
        return 1 if problems else 0
    if args.labs is None or args.out is None:
        raise GraderError("release: give --labs N and --out DIR "
                          "(make release LABS=N OUT=DIR)")
    if args.labs not in spec.labs:
        raise GraderError(f"release: no lab {args.labs} (labs "
                          f"{min(spec.labs)}..{max(spec.labs)})")
    out = args.out.resolve()
    write(out, spec, solutions, args.labs)
    problems = verify(out, spec, solutions)
    if problems:
        raise GraderError(f"release: {out} failed its own check: "
                          f"{problems[0]}")
    commit = "" if args.no_git else git_commit(out, args.labs, spec)
    print(f"release: {out}: labs 1..{args.labs}{commit}")
    return 0


# -- writing -----------------------------------------------------------------

def write(out: Path, spec: Spec, solutions: Path, n: int) -> None:
    """(Re)write the release's files in out, keeping its .git."""
    if out.exists() and any(out.iterdir()) and not (out / STAMP).is_file():
        raise GraderError(f"release: {out} exists and is not a vmlab release "
                          f"(no {STAMP}); give a new or empty directory")
    if _inside(out, REPO_DIR):
        raise GraderError(f"release: {out} lies inside the kit's repository")
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        if old.name == ".git":
            continue
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old)
        else:
            old.unlink()
    labs = [k for k in sorted(spec.labs) if k <= n]
    handouts = out / "handouts"
    handouts.mkdir()
    for k in labs:
        for src in _handouts(spec, k):
            if src.is_file():
                shutil.copyfile(src, handouts / src.name)
    unifdef = shutil.which("unifdef")
    if unifdef is None:
        raise GraderError(labgen.NO_UNIFDEF)
    cfg = labgen.Config(solutions=solutions, out=out, handouts=handouts,
                        grader=GRADER_DIR, unifdef=unifdef, quiet=True,
                        force=True)
    labgen.generate(cfg, spec, labs)
    (out / "scripts").mkdir()
    shutil.copyfile(REPO_DIR / "scripts" / "deps.sh",
                    out / "scripts" / "deps.sh")
    os.chmod(out / "scripts" / "deps.sh", 0o755)
    (out / "README.md").write_text(readme(spec, labs))
    (out / "Makefile").write_text(makefile(spec, labs))
    (out / ".gitignore").write_text("build/\n__pycache__/\n*.tar.gz\n"
                                    "classroom-*.json\n.gdbport\n")
    wf = out / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "classroom.yml").write_text(workflow(spec, labs))
    (out / STAMP).write_text(json.dumps({"labs": labs}) + "\n")


def _handouts(spec: Spec, k: int) -> list[Path]:
    base = spec.lab(k).dirname
    return [REPO_DIR / "handouts" / f"{base}.md",
            REPO_DIR / "handouts" / f"{base}-gdb.md"]


def _inside(p: Path, root: Path) -> bool:
    return p == root or root.resolve() in p.parents


def git_commit(out: Path, n: int, spec: Spec) -> str:
    """Commit the release in out (init it if needed); ' (commit X)' or ''."""
    if shutil.which("git") is None:
        raise GraderError("git not found: install the Debian package git")
    env = dict(os.environ)
    for k, v in (("GIT_AUTHOR_NAME", "vmlab"),
                 ("GIT_AUTHOR_EMAIL", "vmlab@localhost"),
                 ("GIT_COMMITTER_NAME", "vmlab"),
                 ("GIT_COMMITTER_EMAIL", "vmlab@localhost")):
        env.setdefault(k, v)

    def git(*argv: str) -> str:
        proc = subprocess.run(["git", "-C", str(out), *argv], env=env,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise GraderError(f"release: git {argv[0]} failed: "
                              f"{proc.stderr.strip()[:200]}")
        return proc.stdout

    if not (out / ".git").exists():
        git("init", "-q", "-b", "main")
    git("add", "-A")
    if not git("status", "--porcelain").strip():
        return " (nothing changed)"
    title = spec.lab(n).title
    git("commit", "-q", "-m", f"Lab {n}: {title}")
    return f" (commit {git('rev-parse', '--short', 'HEAD').strip()})"


def readme(spec: Spec, labs: list[int]) -> str:
    rows = "\n".join(
        f"| {k} | {spec.lab(k).title} | [`{spec.lab(k).dirname}/`]"
        f"({spec.lab(k).dirname}/README.md) | "
        + (f"[handout](handouts/{spec.lab(k).dirname}.md)"
           if (REPO_DIR / "handouts" / f"{spec.lab(k).dirname}.md").is_file()
           else "(handout to come)") + " |" for k in labs)
    first = spec.lab(labs[0]).dirname
    return f"""# vmlab: virtual memory on x86-64, one layer at a time

Each lab has its own directory. It holds the whole kernel, with the earlier
labs already solved and this lab's layer cut out for you to write. Read the
lab's README first, then its handout.

| lab | what you build | tree | read |
|---|---|---|---|
{rows}

## Set up (Debian or Ubuntu)

```sh
make deps          # installs QEMU, gcc, gdb, cmocka... (asks for sudo)
cd {first}
make test          # host unit tests, no QEMU
make grade         # build, boot and score your lab the way the grader does
```

`make grade` at the top grades every lab directory; `make grade LAB=2`
grades one.

## Handing in

Commit your work in the lab's directory and push. Every push is graded by
GitHub Classroom (the workflow in `.github/workflows/classroom.yml` runs
the same `make grade` as you do, one lab per part); the result is in the
Actions tab of your repository. Your course may instead ask for the tarball
that `make handin` writes in the lab's directory. Only the files listed in
the lab's README are graded: keep all of your work in them.

## Getting the next lab

Your instructor adds each lab to the course repository when it opens. Pull
it into yours once:

```sh
git remote add upstream <the course repository's URL>   # the first time only
git pull upstream main
```

The new lab arrives as a new directory, so the pull never touches your
earlier work. Its tree starts from the reference solutions of the earlier
labs, not from yours.
"""


def makefile(spec: Spec, labs: list[int]) -> str:
    dirs = " ".join(spec.lab(k).dirname for k in labs)
    cases = "\n".join(f"LAB_{k} := {spec.lab(k).dirname}" for k in labs)
    return f"""# The course repository: one directory per lab.
#
#   make deps            install the Debian packages the labs need
#   make grade           grade every lab directory (LAB=k: only lab k)
#   make test            every lab's host unit tests (LAB=k: only lab k)
#
# CLASSROOM=1 writes classroom-labK.json for GitHub Classroom's reporter.

LABS := {dirs}
{cases}
DIRS := $(if $(LAB),$(LAB_$(LAB)),$(LABS))
PYTHON ?= python3

.PHONY: deps grade test
deps:
\t@bash scripts/deps.sh || sudo bash scripts/deps.sh

grade:
\t@$(if $(DIRS),,echo "no lab $(LAB) in this repository" >&2; exit 2)
\t@status=0; for d in $(DIRS); do \\
\t\tn=$${{d%%-*}}; n=$${{n#lab}}; \\
\t\techo "== $$d"; \\
\t\t$(PYTHON) $$d/grader/grade --tree $$d \\
\t\t\t$(if $(CLASSROOM),--classroom $(CURDIR)/classroom-lab$$n.json) \\
\t\t\t|| status=1; \\
\tdone; exit $$status

test:
\t@status=0; for d in $(DIRS); do \\
\t\t$(MAKE) --no-print-directory -C $$d test || status=1; \\
\tdone; exit $$status
"""


def workflow(spec: Spec, labs: list[int]) -> str:
    steps = []
    for k in labs:
        steps.append(f"""      - name: Lab {k} ({spec.lab(k).dirname})
        id: lab{k}
        if: always()
        run: |
          make grade LAB={k} CLASSROOM=1 || true
          echo "result=$(base64 -w0 classroom-lab{k}.json)" >> "$GITHUB_OUTPUT"
""")
    env = "\n".join(f'          LAB{k}_RESULTS: "${{{{ steps.lab{k}.outputs.'
                    f'result }}}}"' for k in labs)
    runners = ",".join(f"lab{k}" for k in labs)
    return f"""# GitHub Classroom autograding: every push is graded with the same
# `make grade` a student runs. Each lab is one part of the result, with
# the points of that lab's own tests.
name: vmlab autograding
on:
  - push
  - workflow_dispatch
  - repository_dispatch
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  grade:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    timeout-minutes: 30
    steps:
      - uses: actions/checkout@v4
      - name: Install the packages the labs need
        run: sudo bash scripts/deps.sh
{''.join(steps)}      - name: Report to GitHub Classroom
        if: always()
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
{env}
        with:
          runners: {runners}
"""


# -- verifying ---------------------------------------------------------------

def verify(out: Path, spec: Spec, solutions: Path) -> list[str]:
    """Everything a release must never hold, as one line each."""
    if not (out / STAMP).is_file():
        return [f"{out}: no {STAMP}: not a release"]
    labs = json.loads((out / STAMP).read_text())["labs"]
    problems = []
    files = _files(out)
    for rel in files:
        bad = FORBIDDEN_NAMES & set(Path(rel).parts)
        if bad:
            problems.append(f"{rel}: an instructors' file ({sorted(bad)[0]})")
    texts = {rel: _text(out / rel) for rel in files}
    texts = {rel: t for rel, t in texts.items() if t is not None}
    hidden = [t.name for t in spec.tests if t.hidden]
    for rel, text in texts.items():
        for name in hidden:
            short = name.split(".", 1)[1]
            if name in text or re.search(rf"\b{re.escape(short)}\b", text):
                problems.append(f"{rel}: names the hidden test {name}")
        b = text.encode()
        if rel.endswith(SOURCE_SUFFIXES + (".mk",)) or rel.endswith("Makefile"):
            if labgen.MARKER.search(b) or labgen.MARKER_TOKEN.search(b):
                problems.append(f"{rel}: a LAB/SOL marker")
        if rel.endswith(".md"):
            for target in LINK.findall(text):
                if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                    continue
                path = target.split("#", 1)[0]
                if path and not (out / rel).parent.joinpath(path).exists():
                    problems.append(f"{rel}: link to {path} leads nowhere")
    for k in labs:
        tree = spec.lab(k).dirname
        leaks = solution_lines(solutions, spec, k)
        for rel, text in texts.items():
            if not rel.startswith(tree + "/"):
                continue
            for line in text.splitlines():
                if line.strip() in leaks:
                    problems.append(f"{rel}: holds a solution line of lab "
                                    f"{leaks[line.strip()]}: "
                                    f"{line.strip()[:60]}")
                    break
    return problems


def _files(root: Path) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for f in sorted(filenames):
            out.append((Path(dirpath) / f).relative_to(root).as_posix())
    return out


def _text(path: Path) -> str | None:
    try:
        return path.read_text()
    except (UnicodeDecodeError, OSError):
        return None


def solution_lines(solutions: Path, spec: Spec, k: int) -> dict[str, int]:
    """Lines that only the solutions of labs k.. hold (stripped, long
    enough to be specific), mapped to their lab: tree k must hold none."""
    inside: dict[str, int] = {}
    outside: set[str] = set()
    for path in sorted(solutions.rglob("*")):
        if not path.is_file() or path.suffix not in SOURCE_SUFFIXES:
            continue
        if "build" in path.relative_to(solutions).parts:
            continue
        text = path.read_text(errors="replace")
        lines = text.splitlines()
        marked = [False] * len(lines)
        labs = sorted({int(n) for n in SOL_NUMBER.findall(text)})
        for m in labs:
            if m < k:
                continue
            # Tree k < m holds lab m's given-below regions by design.
            seen = text if m == k else GIVEN_BELOW.sub(
                lambda g: g.group(1) + "GIVEN_BELOW" if int(g.group(2)) == m
                else g.group(0), text)
            for i, flag in enumerate(sol_lines(seen, m)):
                if flag:
                    marked[i] = True
                    s = lines[i].strip()
                    if len(s) >= MIN_LEAK_CHARS:
                        inside.setdefault(s, m)
        outside.update(ln.strip() for ln, f in zip(lines, marked) if not f)
    return {s: m for s, m in inside.items() if s not in outside}
