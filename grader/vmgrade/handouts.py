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
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from . import GraderError
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
    for n in sorted(spec.labs):
        path = handout_path(args.handouts, spec, n)
        if not path.is_file():
            continue
        text = path.read_text()
        if args.check:
            for p in problems(spec, n, text):
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
