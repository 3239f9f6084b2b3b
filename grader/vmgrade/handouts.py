"""make handouts: each handout's grading table, generated from labs.json.

A handout marks its table with two HTML comments (invisible on GitHub):

    <!-- grading table: generated from labs.json by make handouts -->
    | test | part | points | what it checks |
    ...
    <!-- end of grading table -->

and everything between them is written from the spec: one row per public
test of the lab, with its "part" (the handout's "### Part X") and "what";
the public total; the hidden tests' total, never their names. --check
(make check) fails on a handout whose table is not what the spec says, on
a test of a lab with a handout but no part or no what, and on a part the
handout has no "### Part X" section for.

--check also holds each handout's lists of functions to the tree. The
"| your file | what you write |" table must name, for each student source
file, exactly the functions whose bodies lie in that lab's `#if SOL >= N`
regions of solutions/ (the ones the stub tree leaves for the student), and
every function a "*Given:*" sentence names must exist in the tree and not be
one of them.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from . import GraderError
from . import mutants
from . import spec as specmod
from .cli import ArgParser, guarded
from .report import fmt_points
from .spec import Spec, TestSpec

BEGIN = "<!-- grading table: generated from labs.json by make handouts -->"
END = "<!-- end of grading table -->"
PART = re.compile(r"^###\s+Part\s+([A-Z])\b", re.M)

REPO_DIR = Path(__file__).resolve().parents[2]


def handout_path(handouts: Path, spec: Spec, n: int) -> Path:
    return handouts / f"{spec.lab(n).dirname}.md"


def own_tests(spec: Spec, n: int) -> list[TestSpec]:
    return [t for t in spec.tests if t.lab == n]


def table(spec: Spec, n: int) -> str:
    """The grading table of lab n, between its markers."""
    public = [t for t in own_tests(spec, n) if not t.hidden]
    hidden = [t for t in own_tests(spec, n) if t.hidden]
    rows = [BEGIN, "| test | part | points | what it checks |",
            "|---|:-:|---:|---|"]
    for t in public:
        what = (t.what or "").replace("|", "\\|")
        rows.append(f"| `{t.name}` | {t.part or ''} | "
                    f"{fmt_points(t.points)} | {what} |")
    rows.append(f"| **public total** | | "
                f"**{fmt_points(sum(t.points for t in public))}** | |")
    if hidden:
        rows.append(f"| hidden tests (instructor grading only) | | "
                    f"{fmt_points(sum(t.points for t in hidden))} | "
                    f"{len(hidden)} tests of the same layer |")
    rows.append(END)
    return "\n".join(rows)


def sync(text: str, new_table: str) -> str:
    """text with the marked table replaced; GraderError if unmarked."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise GraderError("no grading table markers")
    return text[:start] + new_table + text[end + len(END):]


def problems(spec: Spec, n: int, text: str) -> list[str]:
    """What is wrong between lab n's handout text and the spec."""
    out = []
    parts = set(PART.findall(text))
    for t in own_tests(spec, n):
        if t.part is None or t.what is None:
            out.append(f"{t.name}: labs.json gives no "
                       f"{'part' if t.part is None else 'what'}")
        elif t.part not in parts:
            out.append(f"{t.name}: part {t.part}, but the handout has no "
                       f"'### Part {t.part}'")
    try:
        if sync(text, table(spec, n)) != text:
            out.append("the grading table differs from labs.json (run make "
                       "handouts)")
    except GraderError as e:
        out.append(str(e))
    return out


# A C function definition: its name at the start of a line (the return
# type on the line before, illumos style, or on the same line), then the
# parameter list; the body's { opens at the start of a later line.
C_DEF = re.compile(r"^(?:[A-Za-z_][\w \t*]*[ \t*])?([A-Za-z_]\w*)\(")
ASM_LABEL = re.compile(r"^([A-Za-z_]\w*):")
NAME = re.compile(r"`([A-Za-z_]\w*)(?:\(\))?`")   # not `hati_*()`
CALL_NAME = re.compile(r"`([A-Za-z_]\w*)\(\)`")
YOUR_ROW = re.compile(r"^\| `([^`]+)` \| (.*) \|$", re.M)
GIVEN = re.compile(r"\*Given:\*(.*?)(?:\*Tests?:\*|\n\n)", re.S)


def functions(text: str, asm: bool) -> list[tuple[str, int, int]]:
    """(name, first line, last line) of each function of a source, lines
    counted from 0: a C definition runs to the } at the start of a line, an
    assembly label to the next global label."""
    lines = text.splitlines()
    out: list[tuple[str, int, int]] = []
    if asm:
        starts = [(i, m.group(1)) for i, ln in enumerate(lines)
                  if (m := ASM_LABEL.match(ln)) and not m.group(1).isdigit()]
        for k, (i, name) in enumerate(starts):
            end = starts[k + 1][0] - 1 if k + 1 < len(starts) else \
                len(lines) - 1
            out.append((name, i, end))
        return out
    i = 0
    while i < len(lines):
        m = C_DEF.match(lines[i])
        if not m or lines[i].rstrip().endswith(";") or \
                lines[i].startswith(("#", "typedef", "struct", "static "
                                     "const", "extern")) and "(" not in \
                lines[i]:
            i += 1
            continue
        j = i
        while j < len(lines) and not lines[j].startswith("{") and \
                not lines[j].rstrip().endswith(";"):
            j += 1
        if j >= len(lines) or not lines[j].startswith("{"):
            i += 1
            continue
        k = j
        while k < len(lines) and not lines[k].startswith("}"):
            k += 1
        out.append((m.group(1), i, k))
        i = k + 1
    return out


def student_functions(solutions: Path, rel: str, n: int) -> set[str]:
    """The functions of a student file that the stub tree leaves to the
    student: those defined outside lab n's SOL regions with code inside
    one, those the stub defines in a region's #else branch, and the global
    labels of an assembly region (other files jump to them). A static
    function defined wholly inside a region is a helper of the reference,
    gone from the stub tree, so not a name the student must use."""
    text = (solutions / rel).read_text()
    asm = rel.endswith(".S")
    inside = mutants.sol_lines(text, n)
    stub = _else_lines(text, n)
    lines = text.splitlines()
    out = set()
    for name, a, b in functions(text, asm):
        if (not inside[a] and any(inside[a:b + 1])) or stub[a]:
            out.add(name)
        elif asm and inside[a] and any(
                re.match(rf"\s*\.globl\s+{name}\s*$", ln)
                for ln in lines[a - 2 if a >= 2 else 0:a]):
            out.add(name)
    return out


def stub_names(solutions: Path, rel: str, n: int) -> set[str]:
    """Names the stub's own text (a region's #else branch) mentions: the
    functions it asks the student to write, if the reference keeps them
    wholly inside its region (kmem_depot_alloc "which Part B uses")."""
    text = (solutions / rel).read_text()
    stub = _else_lines(text, n)
    return {w for ln, s in zip(text.splitlines(), stub) if s
            for w in re.findall(r"[A-Za-z_]\w*", ln)}


def _else_lines(text: str, n: int) -> list[bool]:
    """Whether each line lies in the #else branch of a `#if SOL >= n`."""
    stack: list[str] = []       # per open #if: "if", "else" (ours) or "-"
    out = []
    for line in text.splitlines():
        if mutants.SOL_IF.match(line):
            stack.append("if" if int(mutants.SOL_IF.match(line).group(1))
                         == n else "-")
        elif mutants.ANY_IF.match(line):
            stack.append("-")
        elif mutants.ELSE.match(line):
            if stack and stack[-1] == "if":
                stack[-1] = "else"
        elif mutants.ENDIF.match(line):
            if stack:
                stack.pop()
        out.append("else" in stack)
    return out


def function_problems(spec: Spec, n: int, text: str, solutions: Path,
                      tree_text: str) -> list[str]:
    """What lab n's handout says of its functions that the tree denies.
    tree_text is every source of the lab's tree, to find given names in."""
    out = []
    lab = spec.lab(n)
    rows = dict(YOUR_ROW.findall(text))
    ours: set[str] = set()
    for rel in lab.student_files:
        if not rel.endswith((".c", ".S")):
            continue
        want = student_functions(solutions, rel, n)
        ours |= want
        if rel not in rows:
            out.append(f"the 'your file' table has no row for {rel}")
            continue
        said = {f for f in NAME.findall(rows[rel]) if not f.endswith("_")}
        for f in sorted(want - said):
            out.append(f"{rel}: {f}() is the student's (a SOL region) but "
                       "the 'your file' table does not name it")
        for f in sorted(said - want - stub_names(solutions, rel, n)):
            out.append(f"{rel}: the 'your file' table names {f}(), which "
                       "has no code in a SOL region and which the stub "
                       "does not ask for")
    for m in GIVEN.finditer(text):
        for f in sorted(set(CALL_NAME.findall(m.group(1)))):
            if f in ours:
                out.append(f"*Given:* names {f}(), which the student writes")
            elif not re.search(rf"\b{f}\b", tree_text):
                out.append(f"*Given:* names {f}(), which is not in the tree")
    return out


def _tree_text(solutions: Path) -> str:
    return "\n".join(p.read_text(errors="replace")
                     for p in sorted((solutions / "kern").rglob("*"))
                     if p.suffix in (".c", ".h", ".S") and p.is_file())


def _parser() -> ArgParser:
    p = ArgParser(prog="handouts", description="Write (or --check) each "
                  "handout's grading table from labs.json.")
    p.add_argument("--check", action="store_true")
    p.add_argument("--solutions", type=Path, default=REPO_DIR / "solutions")
    p.add_argument("--handouts", type=Path, default=REPO_DIR / "handouts")
    return p


def main(argv: list[str] | None = None) -> int:
    return guarded(lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    spec = specmod.load(args.solutions / "labs.json")
    bad = 0
    tree_text = _tree_text(args.solutions) if args.check else ""
    for n in sorted(spec.labs):
        path = handout_path(args.handouts, spec, n)
        if not path.is_file():
            continue
        text = path.read_text()
        if args.check:
            for p in problems(spec, n, text) + function_problems(
                    spec, n, text, args.solutions, tree_text):
                print(f"handouts: {path.name}: {p}")
                bad += 1
            continue
        new = sync(text, table(spec, n))
        if new != text:
            path.write_text(new)
            print(f"handouts: {path.name}: grading table written")
    if args.check:
        print(f"handouts: {'ok' if not bad else f'{bad} problem(s)'}")
    return 1 if bad else 0


def migrate(spec_path: Path, handouts: Path,
            parts: dict[str, str]) -> int:
    """One-off: move each existing grading table's descriptions into
    labs.json ("what", and "part" from parts), editing the test lines in
    place so the file keeps its layout, and mark the tables."""
    import json
    spec = specmod.load(spec_path)
    row = re.compile(r"^\| `([a-z0-9_]+\.[a-z0-9_]+)` \| [0-9.]+ \| (.*) \|$")
    whats: dict[str, str] = {}
    for n in sorted(spec.labs):
        path = handout_path(handouts, spec, n)
        if not path.is_file():
            continue
        text = path.read_text()
        for ln in text.splitlines():
            if m := row.match(ln):
                whats[m.group(1)] = m.group(2).replace("\\|", "|").strip()
        if BEGIN not in text:
            lines = text.splitlines(keepends=True)
            first = next(i for i, ln in enumerate(lines)
                         if ln.startswith("| test | points |"))
            last = next(i for i in range(first, len(lines))
                        if lines[i].startswith("| hidden tests"))
            lines[first:last + 1] = [BEGIN + "\n", END + "\n"]
            path.write_text("".join(lines))
    text = spec_path.read_text()
    done = 0
    for t in spec.tests:
        add = []
        if t.part is None and t.name in parts:
            add.append(f'"part": {json.dumps(parts[t.name])}')
        if t.what is None and t.name in whats:
            add.append(f'"what": {json.dumps(whats[t.name])}')
        if not add:
            continue
        pat = re.compile(r'("name": "' + re.escape(t.name) +
                         r'", "lab": [0-9]+, "points": [0-9.]+)')
        text, k = pat.subn(lambda m: m.group(1) + ",\n     " +
                           ", ".join(add), text, count=1)
        done += k
    spec_path.write_text(text)
    specmod.load(spec_path)         # still a valid spec
    return done
