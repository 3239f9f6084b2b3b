"""Reports: the readable table, JSON, JUnit XML and Gradescope results.json.

The table is coloured only when stdout is a terminal and NO_COLOR is unset
(https://no-color.org: any non-empty value turns colour off). Every test
that did not pass is followed by its diagnostics, the end of the log if it
crashed, and a one-line command that reruns it alone, with or without gdb.

Much of a report is the student's text: test names and diagnostics from
the kernel, the log, the compiler's output. Each such string is passed
through safetext.printable() where the table formats it, and every string
of a JSON or XML file is, just before it is written; so no control
sequence reaches a terminal and every file is well-formed. A rerun command
quotes what it holds, and is not printed at all for a test name that is
not a plain suite.test (the kernel can report any name).
"""

from __future__ import annotations

import json
import os
import shlex
import statistics
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from . import GraderError
from .job import Grade
from .safetext import printable, printable_line
from .score import TestScore
from .spec import TEST_NAME

COLORS = {"pass": "32", "fail": "31", "crashed": "31", "skip": "33",
          "missing": "33", "unexpected": "35"}


@dataclass(frozen=True)
class Style:
    color: bool = False
    verbose: bool = False
    repro_tree: Path | None = None   # where reruns run; None: "your tree"


def use_color(stream: TextIO, environ: dict[str, str] | None = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR", ""):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _paint(text: str, code: str, style: Style) -> str:
    return f"\033[{code}m{text}\033[0m" if style.color else text


def fmt_points(x: float) -> str:
    """5 -> "5", 2.5 -> "2.5"."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def lab_label(lab: int | None) -> str:
    if lab is None:
        return "-"
    return "kit" if lab == 0 else str(lab)


# -- the table ---------------------------------------------------------------

# Failing tests detailed by default; -v (make grade V=1) details every test.
MAX_BLOCKS = 6


def table(g: Grade, style: Style) -> str:
    """The whole readable report for one grade.

    By default it fits a terminal, most useful first and the score last:
    the build error, or one block per failing test (tests that failed the
    same way share one), then the rows of this lab's tests (and of any
    earlier test that failed), then the given labs' total apart from this
    lab's. Verbose: every test's block and row, and a total."""
    out = [_headline(g)]
    if not g.build.ok:
        out += _build_failure(g)
    out += needs_review(g)
    if style.verbose:
        shown: dict[int, str] = {}  # boot -> the test whose excerpt shows it
        for t in g.score.tests:
            out += _details(g, t, style, shown)
        return "\n".join(out + [""] + _rows(g, style, g.score.tests) + [""]
                         + _totals(g)) + "\n"
    if g.build.ok:
        out += _failure_blocks(g, style)
    own = [t for t in g.score.tests if t.lab == g.target.lab
           or not t.passed]
    return "\n".join(out + [""] + _rows(g, style, own) + [""]
                     + _lab_totals(g)) + "\n"


def _failure_blocks(g: Grade, style: Style) -> list[str]:
    """One block per distinct failure, at most MAX_BLOCKS of them."""
    groups: dict[tuple[object, ...], list[TestScore]] = {}
    for t in g.score.tests:
        if t.passed:
            continue
        key = (t.status, tuple(t.lines), t.reason,
               (t.crash.outcome, t.crash.panic, t.boot) if t.crash else None)
        groups.setdefault(key, []).append(t)
    out: list[str] = []
    shown: dict[int, str] = {}
    items = list(groups.values())
    for same in items[:MAX_BLOCKS]:
        out += _details(g, same[0], style, shown)
        if len(same) > 1:
            names = ", ".join(printable_line(t.name) for t in same[1:])
            out.append(f"    the same failure in {len(same) - 1} more: "
                       f"{names}")
    rest = [t for same in items[MAX_BLOCKS:] for t in same]
    if rest:
        out += ["", f"--- {len(rest)} more failing test(s), not detailed "
                "here: make grade V=1 (or grade -v) shows them all, make "
                "grade ONLY=GLOB only some"]
    return out


def _lab_totals(g: Grade) -> list[str]:
    """The given labs' total, then this lab's: the score that matters is
    the last line, and never mixed with points the tree came with."""
    n = g.target.lab
    given = [t for t in g.score.graded if t.lab != n]
    own = [t for t in g.score.graded if t.lab == n]
    lines = []
    if given:
        passed = sum(t.passed for t in given)
        pts = sum(t.points for t in given)
        top = sum(t.max_points for t in given)
        lines.append(f"  given (kit, labs before {n}): {passed:>3}/"
                     f"{len(given):<3} tests  {fmt_points(pts):>5}/"
                     f"{fmt_points(top)} points"
                     + ("" if passed == len(given) else
                        "  <- your code broke these"))
    passed = sum(t.passed for t in own)
    lines.append(f"  lab {n}: {passed}/{len(own)} tests, "
                 f"{fmt_points(sum(t.points for t in own))}/"
                 f"{fmt_points(sum(t.max_points for t in own))} points")
    if g.score.unexpected:
        lines.append(f"  {len(g.score.unexpected)} unexpected test(s): "
                     "reported by the kernel but not in the spec (0 points)")
    return lines


def _headline(g: Grade) -> str:
    boots = len(g.boots)
    return (f"vmlab: {printable_line(g.target.label)}, seed {g.seed}: "
            f"{boots} boot{'s' if boots != 1 else ''}, {g.seconds:.1f} s")


def needs_review(g: Grade) -> list[str]:
    """What passed the object checks but looks forged: for a person to
    read; it changes no score."""
    if not g.review:
        return []
    return ([f"needs review ({len(g.review)}; the score is unchanged):"]
            + [f"  {printable_line(r)}" for r in g.review] + [""])


def _build_headline(g: Grade) -> str:
    """Why there is no kernel: make failed, or what it built was refused
    (make exited 0, and the tail holds the object checks' lines)."""
    why = f": {printable_line(g.build.reason)}" if g.build.reason else ""
    if g.build.status == 0:
        return (f"the kernel was built but refused{why}; every test scores "
                "0. What the checks found:")
    return (f"the kernel did not build (make exit {g.build.status}){why}; "
            "every test scores 0. The end of make's output:")


def _build_failure(g: Grade) -> list[str]:
    lines = [_build_headline(g)]
    return lines + [f"  | {printable(ln)}" for ln in g.build.tail] + [""]


def _rows(g: Grade, style: Style, tests: list[TestScore]) -> list[str]:
    names = [printable_line(t.name) for t in tests]
    width = max([len(n) for n in names] + [4])
    rows = [f"  {'test':<{width}}  lab  points  status"]
    for t, name in zip(tests, names):
        pts = f"{fmt_points(t.points)}/{fmt_points(t.max_points)}"
        status = _paint(t.label, COLORS.get(t.status, "0"), style)
        rows.append(f"  {name:<{width}}  {lab_label(t.lab):<3}  "
                    f"{pts:>6}  {status}")
    return rows


def _totals(g: Grade) -> list[str]:
    lines = []
    for lt in g.score.labs():
        lines.append(f"  {lt.label:<6} {lt.passed:>3}/{lt.total:<3} tests  "
                     f"{fmt_points(lt.points):>5}/{fmt_points(lt.max_points)}"
                     " points")
    s = g.score
    lines.append(f"  {'total':<6} {s.passed:>3}/{len(s.graded):<3} tests  "
                 f"{fmt_points(s.points):>5}/{fmt_points(s.max_points)} points")
    if s.unexpected:
        lines.append(f"  {len(s.unexpected)} unexpected test(s): reported by "
                     "the kernel but not in the spec (0 points)")
    return lines


def _details(g: Grade, t: TestScore, style: Style,
             shown: dict[int, str] | None = None) -> list[str]:
    """A test's diagnostics, its crash and its rerun command. With shown,
    a boot's log excerpt is printed once and later tests point to it."""
    name = printable_line(t.name)
    head = _paint(f"--- {name}: {t.label}", COLORS.get(t.status, "0"), style)
    out = ["", head]
    if t.reason:
        out.append(f"    reason: {printable_line(t.reason)}")
    out += [f"    {printable_line(ln)}" for ln in t.lines]
    if t.crash is not None and t.crash.outcome == "timeout":
        out.append(f"    ran past its budget of {budget_of(g, t.name)} s of "
                   "virtual time, ten times what the reference needs or "
                   "more: a loop that never ends, or a wait for something "
                   "that never comes?")
    if t.crash is not None:
        out += _crash_lines(t, shown)
    spec = g.target.spec.test(t.name)
    if not t.passed and spec is not None and spec.part is not None and \
            t.lab is not None and t.lab > 0:
        out.append(f"    handout: {g.target.spec.lab(t.lab).dirname}.md, "
                   f"Part {spec.part}")
    if g.build.ok and not t.passed:
        cmds = repro(g, t.name, style.repro_tree)
        out.append(f"    rerun: {cmds[0]}    (with gdb: {cmds[1]})" if cmds
                   else "    no rerun command: the kernel reported a name "
                   "that is not a plain suite.test")
    return out


def budget_of(g: Grade, name: str) -> int:
    """A test's budget in virtual seconds, as the grader gave it."""
    spec = g.target.spec.test(name)
    if spec is not None and spec.budget_s is not None:
        return spec.budget_s
    return g.target.spec.qemu.test_timeout_s


def _crash_lines(t: TestScore, shown: dict[int, str] | None) -> list[str]:
    crash = t.crash
    assert crash is not None
    out = []
    if crash.panic and crash.panic not in t.lines:
        out.append(f"    {printable_line(crash.panic)}")
    if crash.stderr and crash.outcome == "qemu-error":
        out += [f"    qemu: {printable_line(ln)}"
                for ln in crash.stderr.splitlines()]
    if shown is not None and t.boot is not None and t.boot in shown:
        return out + ["    the end of the serial log: as for "
                      f"{printable_line(shown[t.boot])}"]
    if shown is not None and t.boot is not None:
        shown[t.boot] = t.name
    out.append(f"    the end of the serial log ({len(crash.excerpt)} lines):")
    return out + [f"      | {printable_line(ln)}" for ln in crash.excerpt]


def repro(g: Grade, name: str, tree: Path | None) -> tuple[str, str] | None:
    """The commands that rerun one test alone, without and with gdb; None
    for a name that is not a plain suite.test (nothing else is pasted into
    a command line), and every word shell-quoted."""
    if not TEST_NAME.fullmatch(name):
        return None
    make = "make"
    if tree is not None:
        here = Path.cwd().resolve()
        if tree.resolve() != here:
            make += f" -C {shlex.quote(_shortest(tree))}"
    extra = "".join(f" {k}={shlex.quote(v)}"
                    for k, v in g.target.make_vars().items())
    spec = next((t for t in g.target.tests() if t.name == name), None)
    if spec is not None and spec.monitor is not None:
        typed = "; ".join(send for send, _ in spec.monitor)
        args = f"{extra} SEED={g.seed}"
        then = f", then type: {typed}"
        return f"{make} qemu{args}{then}", f"{make} qemu-gdb{args}{then}"
    args = f"{extra} KTEST={shlex.quote(name)} SEED={g.seed}"
    return f"{make} qemu{args}", f"{make} qemu-gdb{args}"


def _shortest(path: Path) -> str:
    absolute = str(path.resolve())
    try:
        rel = os.path.relpath(absolute)
    except ValueError:
        return absolute
    return rel if len(rel) < len(absolute) else absolute


# -- several grades ----------------------------------------------------------

def scoreboard(grades: list[Grade]) -> str:
    """--all: one line per lab: tests, points, boots, seconds."""
    lines = [f"{'target':<26} {'tests':>9} {'points':>11} {'boots':>6} "
             f"{'seconds':>8}"]
    for g in grades:
        s = g.score
        tests = f"{s.passed}/{len(s.graded)}"
        pts = f"{fmt_points(s.points)}/{fmt_points(s.max_points)}"
        build = "" if g.build.ok else "  (build failed)"
        lines.append(f"{g.target.label:<26} {tests:>9} {pts:>11} "
                     f"{len(g.boots):>6} {g.seconds:>8.1f}{build}")
    return "\n".join(lines) + "\n"


def bench(g: Grade) -> str:
    """--bench: per boot, wall ms to the first KTAP line and in total."""
    runs = len(g.bench)
    lines = [f"bench: {g.target.label}: build {g.build.seconds:.2f} s; "
             f"boots: median of {runs} run{'s' if runs != 1 else ''}",
             f"  {'first KTAP ms':>13} {'total ms':>9}  command line"]
    for i, boot in enumerate(g.bench[0] if g.bench else []):
        same = [r[i] for r in g.bench if i < len(r)]
        ktap = [b.first_ktap_ms for b in same if b.first_ktap_ms is not None]
        first = f"{statistics.median(ktap):.0f}" if ktap else "-"
        total = statistics.median(b.wall_ms for b in same)
        lines.append(f"  {first:>13} {total:>9.0f}  {boot.cmdline}")
    return "\n".join(lines) + "\n"


# -- JSON --------------------------------------------------------------------

def to_json(g: Grade, repro_tree: Path | None = None) -> dict[str, Any]:
    """The grade as plain data (schema "vmlab-grade/1")."""
    s = g.score
    return {
        "schema": "vmlab-grade/1",
        "target": {"label": g.target.label, "tree": str(g.target.tree),
                   "lab": g.target.lab, "sol": g.target.sol,
                   "hidden": g.target.hidden, "only": list(g.target.only)},
        "seed": g.seed,
        "build": {"ok": g.build.ok, "status": g.build.status,
                  "reason": g.build.reason,
                  "seconds": round(g.build.seconds, 3),
                  "tail": g.build.tail if not g.build.ok else []},
        "score": s.points, "max_score": s.max_points,
        "passed": s.passed, "total": len(s.graded), "full": s.full,
        "labs": [{"lab": lt.lab, "label": lt.label, "score": lt.points,
                  "max_score": lt.max_points, "passed": lt.passed,
                  "total": lt.total} for lt in s.labs()],
        "tests": [_test_json(g, t, repro_tree) for t in s.tests],
        "boots": [_boot_json(b) for b in g.boots],
        "seconds": round(g.seconds, 3),
        "needs_review": list(g.review),
    }


def _test_json(g: Grade, t: TestScore, tree: Path | None) -> dict[str, Any]:
    crash = t.crash
    rerun = repro(g, t.name, tree) if g.build.ok else None
    return {"name": t.name, "lab": t.lab, "score": t.points,
            "max_score": t.max_points, "hidden": t.hidden,
            "status": t.status,
            "outcome": crash.outcome if crash else None,
            "panic": crash.panic if crash else None,
            "reason": t.reason, "lines": t.lines,
            "excerpt": crash.excerpt if crash else [],
            "repro": list(rerun) if rerun else []}


def _boot_json(b: Any) -> dict[str, Any]:
    return {"cmdline": b.cmdline, "outcome": b.outcome,
            "exit_status": b.exit_status, "wall_ms": round(b.wall_ms, 1),
            "first_ktap_ms": (round(b.first_ktap_ms, 1)
                              if b.first_ktap_ms is not None else None),
            "log_bytes": len(b.log.encode("utf-8", "replace")),
            "tmpdir": b.tmpdir}


def write_json(path: Path, data: Any) -> None:
    """Write data as JSON, every string in it made printable first."""
    write_text(path, json.dumps(_printable_data(data), indent=2) + "\n")


def _printable_data(data: Any) -> Any:
    if isinstance(data, str):
        return printable(data)
    if isinstance(data, dict):
        return {_printable_data(k): _printable_data(v)
                for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_printable_data(v) for v in data]
    return data


def write_text(path: Path, text: str) -> None:
    """Write a report file whole (via a temp file), making its directory."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as e:
        raise GraderError(f"cannot write {path}: {e.strerror}") from None


# -- JUnit XML ---------------------------------------------------------------

def to_junit(grades: list[Grade]) -> str:
    """One <testsuite> per grade; failures, errors (crashes) and skips."""
    root = ET.Element("testsuites", name="vmlab")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for g in grades:
        suite = _junit_suite(g)
        root.append(suite)
        for k in totals:
            totals[k] += int(suite.get(k, "0"))
    for k, v in totals.items():
        root.set(k, str(v))
    for el in root.iter():      # XML 1.0 forbids most control characters
        el.text = printable(el.text) if el.text else el.text
        for k, v in el.attrib.items():
            el.set(k, printable(v))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def _junit_suite(g: Grade) -> ET.Element:
    suite = ET.Element("testsuite", name=g.target.label,
                       time=f"{g.seconds:.3f}")
    props = ET.SubElement(suite, "properties")
    for k, v in (("score", g.score.points), ("max_score", g.score.max_points),
                 ("seed", g.seed)):
        ET.SubElement(props, "property", name=k, value=fmt_points(v))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if not g.build.ok:
        counts["errors"] += 1
        case = ET.SubElement(suite, "testcase", classname="build",
                             name="kernel")
        ET.SubElement(case, "error", message=g.build.reason or
                      "the kernel did not build",
                      type="build").text = "\n".join(g.build.tail)
        counts["tests"] += 1
    for t in g.score.tests:
        counts["tests"] += 1
        kind = _junit_case(suite, t)
        if kind:
            counts[kind] += 1
    for k, v in counts.items():
        suite.set(k, str(v))
    return suite


def _junit_case(suite: ET.Element, t: TestScore) -> str | None:
    """Add one <testcase>; return which counter it bumps, if any."""
    classname, _, leaf = t.name.partition(".")
    case = ET.SubElement(suite, "testcase", classname=classname,
                         name=leaf or t.name)
    body = "\n".join(t.lines + (t.crash.excerpt if t.crash else []))
    if t.status == "pass":
        return None
    if t.status == "skip":
        ET.SubElement(case, "skipped", message=t.reason or "skipped")
        return "skipped"
    if t.status in ("crashed", "missing"):
        ET.SubElement(case, "error", message=t.label, type=t.status).text = body
        return "errors"
    ET.SubElement(case, "failure", message=t.label, type=t.status).text = body
    return "failures"


# -- Gradescope --------------------------------------------------------------

def to_gradescope(g: Grade) -> dict[str, Any]:
    """Gradescope's results.json: hidden tests show after publication."""
    return {
        "score": g.score.points,
        "execution_time": int(round(g.seconds)),
        "output": _gradescope_summary(g),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [_gradescope_test(g, t) for t in g.score.tests],
    }


def _gradescope_summary(g: Grade) -> str:
    review = "".join(f"\nNeeds review (the score is unchanged): {r}"
                     for r in g.review)
    return _gradescope_outcome(g) + review


def _gradescope_outcome(g: Grade) -> str:
    if not g.build.ok:
        head = _build_headline(g)
        return head[0].upper() + head[1:] + "\n" + "\n".join(g.build.tail)
    visible = [t for t in g.score.graded if not t.hidden]
    passed = sum(t.passed for t in visible)
    return (f"{g.target.label}, seed {g.seed}: {passed} of {len(visible)} "
            "visible tests passed. Details are with each test.")


def _gradescope_test(g: Grade, t: TestScore) -> dict[str, Any]:
    style = Style(repro_tree=None, verbose=True)
    detail = "\n".join(ln.strip() for ln in _details(g, t, style)[2:])
    where = "unexpected" if t.lab is None else (
        "kit" if t.lab == 0 else f"lab {t.lab}")
    return {"name": f"{t.name} ({where})",
            "score": t.points, "max_score": t.max_points,
            "status": "passed" if t.passed else "failed",
            "output": f"{t.label}\n{detail}".rstrip(),
            "visibility": "after_published" if t.hidden else "visible"}


# -- GitHub Classroom ----------------------------------------------------------

def to_classroom(g: Grade) -> dict[str, Any]:
    """The result a GitHub Classroom grading reporter reads (format
    version 1): this lab's own tests with their points, the earlier labs'
    (given code) left out, so the assignment's total is the lab's."""
    own = [t for t in g.score.graded if t.lab == g.target.lab]
    if not g.build.ok:
        why = _build_headline(g)
        tests = [{"name": t.name, "status": "error", "score": 0,
                  "max_score": t.max_points, "message": why,
                  "line_no": 0, "execution_time": "0s"} for t in own]
        return {"version": 1, "status": "error", "max_score":
                sum(t.max_points for t in own), "tests": tests}
    style = Style(repro_tree=None, verbose=False)
    tests = []
    for t in own:
        detail = "\n".join(ln.strip() for ln in _details(g, t, style)[2:])
        tests.append({"name": t.name,
                      "status": "pass" if t.passed else "fail",
                      "score": t.points, "max_score": t.max_points,
                      "message": f"{t.label}\n{detail}".rstrip(),
                      "line_no": 0, "execution_time": "0s"})
    return {"version": 1,
            "status": "pass" if all(t.passed for t in own) else "fail",
            "max_score": sum(t.max_points for t in own), "tests": tests}


def classroom_error(message: str) -> dict[str, Any]:
    """The Classroom result of a tree that could not be graded at all."""
    return {"version": 1, "status": "error", "max_score": 0,
            "tests": [{"name": "grading", "status": "error", "score": 0,
                       "message": message, "line_no": 0,
                       "execution_time": "0s"}]}


def gradescope_error(message: str) -> dict[str, Any]:
    """results.json for a submission that could not be graded at all."""
    return {"score": 0, "output": message, "visibility": "visible",
            "stdout_visibility": "hidden", "tests": []}
