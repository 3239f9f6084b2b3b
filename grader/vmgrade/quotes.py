"""quotes — every command and output a handout quotes, run against the tree.

A handout (handouts/labN-NAME.md) or its gdb walkthrough (-gdb.md) quotes
what a student types and what the kit prints. This module finds each fenced
block and checks it the way doctest checks a docstring:

  a monitor session    a block with "vmlab> CMD" lines: lab N's kernel, with
                       the reference's student files, boots to its monitor, the
                       commands are typed, and each output line quoted
                       under a command must appear, in order, in what the
                       monitor printed for it;
  a make command       in a ```sh block, each line `make ...`: `make -n` of
                       it in the lab's tree (labs/labN-NAME) must succeed,
                       so the target and its variables exist;
  a gdb command        each "(gdb) CMD" line must be a command of its checked
                       twin, which gdbcheck runs: solutions/tools/gdb/
                       walkthroughs/labN-NAME.gdb for the walkthrough,
                       labN-NAME-handout.gdb for the handout;
  other kernel output  a block that quotes KTAP, a panic or a grader report
                       must say where it comes from, in an HTML comment on
                       the line before its fence:
      <!-- quoted: boot [stub] -->               the boot log (to the monitor)
      <!-- quoted: console KTEST [stub] [seed=N] -->  `make qemu KTEST=...`
      <!-- quoted: grade KTEST [stub] -->           `make grade`'s report of
                                                    those tests (-v)
      <!-- quoted: monitor [stub] [seed=N] -->      a monitor session (the
                                                    default for vmlab> lines)
      <!-- quoted: figure -->                       made up: not checked
    Everything runs in lab N's tree, as a student has it: by default with
    the student files of the reference solution (lab N done); with "stub",
    the stub tree itself (labs/labN-NAME, as a student first builds it);
    with "mutant=NAME", the reference's files with the student bug
    mutants/labN/NAME.patch applied (the handout's example of a failing
    test is then a bug the kit's mutant suite also has).

Lines are compared with runs of blanks squeezed. In a quoted line, "..."
stands for any text and <word> for one word (`KTEST=trap.<name>`); a line
that is only "..." skips any number of lines. Every quoted line must match
a line of the real output, in order. The exit status is 1 if any block
fails, with one line per failure naming the file, the line and the first
quoted line that did not match.
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import GraderError, build as buildmod, job, mutants, qemu, report, run
from . import tree as treemod
from .score import score
from . import spec as specmod
from .cli import ArgParser, guarded
from .qemu import Machine
from .spec import Spec

REPO_DIR = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```([A-Za-z0-9_-]*)[ \t]*$")
NOTE = re.compile(r"^<!--\s*quoted:\s*(.*?)\s*-->\s*$")
KINDS = ("monitor", "boot", "console", "grade", "figure")
GDB_LINE = re.compile(r"^\(gdb\)\s+(.*?)\s*(?:#.*)?$")
# What kernel or grader output looks like: such a block must be checked.
OUTPUT_LIKE = re.compile(
    r"^\s*(?:vmlab> |# RUN |not ok [0-9]|ok [0-9]+ |panic\[cpu|KTAP version|"
    r"--- [a-z0-9_]+\.[a-z0-9_]+: |rerun: )")
MAKE_LINE = re.compile(r"^make\b([^#]*)")


@dataclass
class Block:
    path: Path
    line: int                   # the opening fence, from 1
    lang: str
    lines: list[str]
    note: str | None            # the text of <!-- quoted: ... -->, if any
    lab: int = 0

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"


@dataclass
class Quote:
    """What to run for a block, and what to compare."""
    kind: str                   # monitor, boot, console, grade
    stub: bool
    seed: int | None            # None: no seed= (as plain make qemu)
    ktest: str
    block: Block
    mutant: str = ""            # mutants/labN/NAME.patch applied
    commands: list[tuple[str, list[str]]] = field(default_factory=list)


def blocks(path: Path, lab: int) -> list[Block]:
    """The fenced blocks of a markdown file, with their notes."""
    out = []
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        note = None
        k = i - 1
        while k >= 0 and not lines[k].strip() and k >= i - 2:
            k -= 1
        if k >= 0 and (n := NOTE.match(lines[k])):
            note = n.group(1)
        out.append(Block(path, i + 1, m.group(1), lines[i + 1:j], note, lab))
        i = j + 1
    return out


def parse_note(b: Block) -> Quote | str | None:
    """The Quote a block asks for, None for a block nothing checks (a
    figure, or text that is not output), or a problem."""
    words = (b.note or "").split()
    monitor = any(ln.startswith(run.MONITOR_PROMPT) for ln in b.lines)
    if not words:
        if monitor:
            words = ["monitor"]
        elif any(OUTPUT_LIKE.match(ln) for ln in b.lines):
            return ("quotes kernel or grader output: say where it comes "
                    "from with <!-- quoted: KIND ... --> (see "
                    "grader/vmgrade/quotes.py)")
        else:
            return None
    kind, rest = words[0], words[1:]
    if kind not in KINDS:
        return f"<!-- quoted: {kind} -->: the kind must be one of " \
               f"{', '.join(KINDS)}"
    if kind == "figure":
        return None
    q = Quote(kind, False, None, "", b)
    for w in rest:
        if w == "stub":
            q.stub = True
        elif w.startswith("seed=") and w[5:].isdigit():
            q.seed = int(w[5:])
        elif w.startswith("mutant=") and re.fullmatch(r"[a-z0-9-]+", w[7:]):
            q.mutant = w[7:]
        elif kind in ("console", "grade") and not q.ktest:
            q.ktest = w
        else:
            return f"<!-- quoted: {b.note} -->: {w!r} is not understood"
    if kind in ("console", "grade") and not q.ktest:
        return f"<!-- quoted: {kind} -->: name the tests (a KTEST glob)"
    if q.stub and q.mutant:
        return f"<!-- quoted: {b.note} -->: stub or mutant, not both"
    if kind == "monitor":
        if not monitor:
            return "<!-- quoted: monitor -->, but no 'vmlab> ' line"
        # Lines before the first prompt (a gdb `continue`) are not output.
        for ln in b.lines:
            if ln.startswith(run.MONITOR_PROMPT):
                q.commands.append((ln[len(run.MONITOR_PROMPT):].strip(), []))
            elif q.commands:
                q.commands[-1][1].append(ln)
    return q


# -- matching -------------------------------------------------------------

def _squeeze(s: str) -> str:
    return " ".join(s.split())


def _pattern(quoted: str) -> re.Pattern[str]:
    out = []
    for part in re.split(r"(\.\.\.|<[a-z][a-z-]*>)", _squeeze(quoted)):
        if part == "...":
            out.append(".*?")
        elif part.startswith("<") and part.endswith(">"):
            out.append(r"\S+")
        else:
            out.append(re.escape(part))
    return re.compile("^" + "".join(out) + "$")


def first_unmatched(quoted: list[str], real: str) -> str | None:
    """The first quoted line with no match in real, in order; None if all
    match. Blank quoted lines and "..." lines match anything."""
    have = [_squeeze(ln) for ln in real.replace("\r\n", "\n").splitlines()]
    i = 0
    for q in quoted:
        if not q.strip() or q.strip() == "...":
            continue
        pat = _pattern(q)
        while i < len(have) and not pat.match(have[i]):
            i += 1
        if i == len(have):
            return q
        i += 1
    return None


# -- running ---------------------------------------------------------------

class Kernels:
    """One build per (lab, stub, mutant), made on first use, shared by
    threads, each of a lab tree (see tree())."""

    def __init__(self, spec: Spec, solutions: Path, labs: Path,
                 suite: Path) -> None:
        self.spec, self.solutions, self.labs = spec, solutions, labs
        self.suite = suite
        self.lock = threading.Lock()
        self.built: dict[tuple[int, bool, str], buildmod.BuildResult] = {}
        self.locks: dict[object, threading.Lock] = {}
        self.trees: dict[tuple[int, str], Path] = {}
        self.scratch = Path(tempfile.mkdtemp(prefix="vmlab-quotes-"))

    def _lock(self, key: object) -> threading.Lock:
        with self.lock:
            return self.locks.setdefault(key, threading.Lock())

    def tree(self, lab: int, stub: bool, mutant: str) -> Path:
        """The lab tree to build or grade, as a student has it: the stub
        tree; or a scratch copy of it whose student files are the
        reference's (a student who finished the lab), with a mutant's patch
        applied if one is named (a student who made that one mistake)."""
        stub_tree = self.labs / self.spec.lab(lab).dirname
        if stub:
            return stub_tree
        with self._lock(("tree", lab, mutant)):
            if (lab, mutant) not in self.trees:
                self.trees[(lab, mutant)] = self._mutant_tree(lab, mutant,
                                                              stub_tree)
            return self.trees[(lab, mutant)]

    def _mutant_tree(self, lab: int, mutant: str, stub_tree: Path) -> Path:
        files = [f for f in self.spec.lab(lab).student_files
                 if (self.solutions / f).is_file()]
        src = self.scratch / f"src-lab{lab}-{mutant or 'reference'}"
        for rel in files:
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.solutions / rel, src / rel)
        if mutant:
            patch_file = self.suite / f"lab{lab}" / f"{mutant}.patch"
            if not patch_file.is_file():
                raise GraderError(f"mutant={mutant}: no {patch_file}")
            why = mutants.apply(mutants.read_patch(patch_file, lab), src)
            if why:
                raise GraderError(f"mutant={mutant}: {why}")
        dest = self.scratch / f"lab{lab}-{mutant or 'reference'}"
        shutil.copytree(stub_tree, dest, symlinks=True,
                        ignore=shutil.ignore_patterns("build", "*.tar.gz"))
        unifdef = shutil.which("unifdef")
        if unifdef is None:
            raise GraderError("unifdef not found: install the Debian "
                              "package unifdef (or run scripts/deps.sh)")
        for rel in files:
            text = subprocess.run(
                [unifdef, "-B", *(["-t"] if not rel.endswith((".c", ".h"))
                                  else []), f"-DLAB={lab}", f"-DSOL={lab}"],
                input=(src / rel).read_bytes(), capture_output=True,
                check=False).stdout
            (dest / rel).write_bytes(text)
        return dest

    def get(self, lab: int, stub: bool, mutant: str = "") -> Path:
        key = (lab, stub, mutant)
        if not stub and build_cached():
            # The lab's own tree first: the reference's and a mutant's
            # copies of it then reuse its compiled files (make check's
            # compiler cache), and validity reuses its kernel.
            self.get(lab, True)
        tree = self.tree(lab, stub, mutant)
        with self._lock(key):
            if key not in self.built:
                self.built[key] = buildmod.build(tree, {}, 1)
            b = self.built[key]
        if not b.ok or b.kernel is None:
            last = b.tail[-1] if b.tail else "no output"
            what = "stub tree" if stub else f"mutant {mutant}" if mutant \
                else "reference"
            raise GraderError(f"the {what} of lab {lab} did not build: "
                              f"{last}")
        return b.kernel

    def remove(self) -> None:
        for b in self.built.values():
            b.remove()
        shutil.rmtree(self.scratch, ignore_errors=True)


def build_cached() -> bool:
    """make check's caches are on (grader/vmgrade/build.py)."""
    return bool(buildmod.compiler_cache())


SHOW = False                    # --show: print the real output of a failure


def _shown(problem: str, real: str) -> str:
    if not SHOW:
        return problem
    return problem + "\n" + "\n".join("    | " + ln
                                        for ln in real.splitlines()[:80])


def check_quote(q: Quote, kernels: Kernels, spec: Spec, labs: Path) -> str:
    """'' if the block holds, else the problem."""
    b = q.block
    lab = spec.lab(b.lab)
    if q.kind == "grade":
        # The grader's own report, as `make grade -v` prints it in the tree
        # (reruns named for "your tree"), from the kernel built above.
        kernels.get(b.lab, q.stub, q.mutant)     # built, or GraderError
        built = kernels.built[(b.lab, q.stub, q.mutant)]
        tree = kernels.tree(b.lab, q.stub, q.mutant)
        loc = treemod.Located(tree, specmod.load(tree / "lab.json"), None)
        target = treemod.lab_target(loc, (q.ktest,))
        opts = job.Options(seed=q.seed or 1, jobs=1)
        reps = job.run_boots(target, built, opts, job.Slots(1))
        g = job.Grade(target, opts.seed, built, reps[0].boots,
                      score(target.tests(), reps[0].runs, target.is_ignored),
                      0.0)
        real = report.table(g, report.Style(False, True, None))
        miss = first_unmatched(b.lines, real)
        return "" if miss is None else _shown(
            f"not in `make grade`'s report of {q.ktest}: {miss.strip()!r}",
            real)
    kernel = kernels.get(b.lab, q.stub, q.mutant)
    machine = Machine(spec.qemu, lab.mem, lab.smp)
    if q.kind == "monitor":
        typed = "".join(c + "\n" for c, _ in q.commands) + "poweroff\n"
        boot = qemu.run_boot(machine, kernel, _seed(q), typed=typed)
        outputs = run.monitor_outputs(boot.log)
        for i, (cmd, quoted) in enumerate(q.commands):
            if i >= len(outputs):
                return f"vmlab> {cmd}: the monitor never answered"
            miss = first_unmatched(quoted, outputs[i][1])
            if miss is not None:
                return _shown(f"vmlab> {cmd}: not in its output: "
                              f"{miss.strip()!r}", outputs[i][1])
        return ""
    cmdline = _seed(q) if q.kind == "boot" else \
        f"ktest={q.ktest} {_seed(q)}".strip()
    typed = "poweroff\n" if q.kind == "boot" else None
    boot = qemu.run_boot(machine, kernel, cmdline, typed=typed)
    miss = first_unmatched(b.lines, boot.log)
    return "" if miss is None else _shown(
        f"not in the {q.kind} output: {miss.strip()!r}", boot.log)


def _seed(q: Quote) -> str:
    return "" if q.seed is None else f"seed={q.seed}"


def make_problems(b: Block, tree: Path) -> list[str]:
    """`make -n` of each make line of a sh block, in the lab's tree."""
    out = []
    for ln in b.lines:
        m = MAKE_LINE.match(ln.strip())
        if not m:
            continue
        args = [a for a in shlex.split(m.group(1).strip())
                if not re.search(r"<[a-z-]+>", a)]
        proc = subprocess.run(["make", "-n", "-C", str(tree), *args],
                              capture_output=True, text=True, errors="replace",
                              stdin=subprocess.DEVNULL, timeout=60,
                              env=buildmod._clean_env())
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["?"])[-1]
            out.append(f"`{ln.strip()}` fails in {tree.name}: {last}")
    return out


def gdb_commands(solutions: Path, spec: Spec, lab: int,
                 handout: bool) -> set[str]:
    """The commands of lab's checked twin: the walkthrough's, or (handout)
    those of the sessions the handout quotes."""
    d = solutions / "tools" / "gdb" / "walkthroughs"
    name = spec.lab(lab).dirname + ("-handout" if handout else "")
    f = d / f"{name}.gdb"
    if not f.is_file():
        return set()
    return {_squeeze(ln) for ln in f.read_text().splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")}


def gdb_problems(b: Block, cmds: set[str]) -> list[str]:
    out = []
    for ln in b.lines:
        m = GDB_LINE.match(ln)
        if m and m.group(1) and _squeeze(m.group(1)) not in cmds:
            out.append(f"(gdb) {m.group(1)}: not a command of its checked "
                       "twin (solutions/tools/gdb/walkthroughs/), so nothing "
                       "runs it")
    return out


# -- the command -----------------------------------------------------------

# Guides that belong to no single lab, each checked against the tree of the
# first lab that has what it describes.
GUIDES = {"processes.md": 5}


def handout_files(handouts: Path, spec: Spec) -> list[tuple[int, Path]]:
    out = []
    for n in sorted(spec.labs):
        for suffix in (".md", "-gdb.md"):
            p = handouts / f"{spec.lab(n).dirname}{suffix}"
            if p.is_file():
                out.append((n, p))
    for name, n in sorted(GUIDES.items()):
        p = handouts / name
        if p.is_file() and n in spec.labs:
            out.append((n, p))
    return out


def _parser() -> ArgParser:
    p = ArgParser(prog="quotes", description="Check every command and "
                  "output the handouts quote against the kit's trees.")
    p.add_argument("--solutions", type=Path, default=REPO_DIR / "solutions")
    p.add_argument("--labs", type=Path, default=REPO_DIR / "labs")
    p.add_argument("--handouts", type=Path, default=REPO_DIR / "handouts")
    p.add_argument("--mutants", type=Path, default=REPO_DIR / "mutants")
    p.add_argument("-j", dest="jobs", type=int, default=2)
    p.add_argument("--show", action="store_true",
                   help="print the real output under each failing block")
    p.add_argument("--list", action="store_true",
                   help="list the blocks and what checks each")
    return p


def main(argv: list[str] | None = None) -> int:
    return guarded(lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    global SHOW
    args = _parser().parse_args(argv)
    SHOW = args.show
    spec = specmod.load(args.solutions / "labs.json")
    problems: list[str] = []
    quotes: list[Quote] = []
    static = 0
    for n, path in handout_files(args.handouts, spec):
        cmds = gdb_commands(args.solutions, spec, n,
                            not path.name.endswith("-gdb.md"))
        tree = args.labs / spec.lab(n).dirname
        for b in blocks(path, n):
            gp = gdb_problems(b, cmds)
            problems += [f"{b.where}: {p}" for p in gp]
            if b.lang == "sh":
                problems += [f"{b.where}: {p}"
                             for p in make_problems(b, tree)]
                static += 1
                continue
            q = parse_note(b)
            if isinstance(q, str):
                problems.append(f"{b.where}: {q}")
            elif q is not None:
                quotes.append(q)
            if args.list:
                what = "not checked" if q is None else q if isinstance(
                    q, str) else f"{q.kind}{' stub' if q.stub else ''} " \
                    f"{q.ktest}".strip()
                print(f"  {b.where:<28} {what}")
    kernels = Kernels(spec, args.solutions.resolve(), args.labs.resolve(),
                      args.mutants.resolve())
    try:
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = list(pool.map(
                lambda q: _guarded_check(q, kernels, spec, args.labs),
                quotes))
    finally:
        kernels.remove()
    for q, r in zip(quotes, results):
        if r:
            problems.append(f"{q.block.where}: {r}")
    for p in problems:
        print(f"quotes: {p}")
    print(f"quotes: {len(quotes)} quoted outputs booted or graded, {static} "
          f"command blocks run with make -n: "
          f"{'ok' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


def _guarded_check(q: Quote, kernels: Kernels, spec: Spec,
                   labs: Path) -> str:
    try:
        return check_quote(q, kernels, spec, labs)
    except (GraderError, subprocess.TimeoutExpired, OSError) as e:
        return str(e)
