"""The lab spec: labs.json in solutions/, or the trimmed lab.json of a lab tree.

One file says what every lab is (number, name, student files, QEMU shape), which
files first appear in which lab, and every graded test (its lab, points,
visibility, and what a test that ends the run must print). Everything that reads
the spec goes through load(), so a malformed spec fails here with one line that
names the file and the field, never later with a KeyError.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_LAB = 7
TEST_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9_]+$")
MEM_SIZE = re.compile(r"^[1-9][0-9]*[MG]$")


class SpecError(Exception):
    """The spec file is missing, not JSON, or breaks the schema."""


@dataclass(frozen=True)
class QemuConfig:
    machine: str = "q35"
    cpu: str = "max"
    icount_shift: int = 3
    test_timeout_s: int = 10
    wall_backstop_s: int = 120
    output_cap_bytes: int = 2 * 1024 * 1024


@dataclass(frozen=True)
class Lab:
    lab: int
    name: str
    title: str
    smp: int
    mem: str
    student_files: tuple[str, ...]
    host_tests: tuple[str, ...] = ()   # cmocka programs that test this lab
    # The object checks' allowlists (objcheck.py); interface None: the
    # lab's objects are not checked.
    interface: tuple[str, ...] | None = None
    may_call: tuple[str, ...] = ()
    privileged: tuple[str, ...] = ()
    moncmds: tuple[str, ...] = ()

    @property
    def dirname(self) -> str:
        """The lab tree's directory name under labs/, e.g. lab3-buddy."""
        return f"lab{self.lab}-{self.name}"


@dataclass(frozen=True)
class FileRule:
    """A file that exists only in trees for labs first..last (inclusive)."""
    path: str
    first: int
    last: int = MAX_LAB
    hidden: bool = False


# Every test's budget is at least this many times the virtual time the
# reference needs (make check's validity step proves it), so that a
# correct but slower design passes and a hang costs seconds, not minutes.
BUDGET_FACTOR = 10


@dataclass(frozen=True)
class TestSpec:
    name: str                 # "suite.test", as the kernel reports it
    lab: int                  # the lab it grades; 0: kit infrastructure
    points: float = 0
    hidden: bool = False
    expect_panic: str | None = None      # the run must end in this panic
    expect_backtrace: str | None = None  # ...whose backtrace names this symbol
    # A monitor test: lines typed at the monitor prompt, each with a regex
    # its output must match. The grader appends "poweroff".
    monitor: tuple[tuple[str, str], ...] | None = None
    # The first lab whose tree has this test (a kit test of infrastructure
    # that arrives with a later lab); 0: from the lab it grades, or lab 1.
    since: int = 0
    # Virtual seconds this test may run before the watchdog stops it
    # (even, 2..30); None: the spec's qemu.test_timeout_s. make check
    # proves every budget is at least BUDGET_FACTOR times what the
    # reference needs.
    budget_s: int | None = None
    # The handout part it grades ("A"), and one line on what it checks:
    # the handout's grading table is generated from these.
    part: str | None = None
    what: str | None = None

    @property
    def suite(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def ends_run(self) -> bool:
        """True for a test that must boot alone (it ends or owns the run)."""
        return self.expect_panic is not None or self.monitor is not None


@dataclass
class Spec:
    path: Path
    qemu: QemuConfig
    labs: dict[int, Lab]
    files: dict[str, FileRule]
    tests: list[TestSpec]
    tree_lab: int | None = None   # set in a generated tree's lab.json
    extra: dict[str, Any] = field(default_factory=dict)

    def lab(self, n: int) -> Lab:
        """The lab numbered n, or SpecError."""
        if n not in self.labs:
            raise SpecError(f"{self.path}: no lab {n} (have {sorted(self.labs)})")
        return self.labs[n]

    def tests_upto(self, n: int, hidden: bool) -> list[TestSpec]:
        """Tests that a tree for lab n runs: labs 0..n, hidden ones only if asked."""
        return [t for t in self.tests
                if t.lab <= n and t.since <= n and (hidden or not t.hidden)]

    def test(self, name: str) -> TestSpec | None:
        for t in self.tests:
            if t.name == name:
                return t
        return None

    def trimmed(self, n: int, hidden: bool) -> dict[str, Any]:
        """The lab.json that the generated tree for lab n carries."""
        lab = self.lab(n)
        return {
            "comment": f"Generated from solutions/labs.json for lab {n}; "
                       "do not edit.",
            "tree_lab": n,
            "qemu": self.qemu.__dict__,
            "labs": [_lab_to_json(lab)],
            "files": {},
            "tests": [_test_to_json(t) for t in self.tests_upto(n, hidden)],
        }


def _lab_to_json(lab: Lab) -> dict[str, Any]:
    return {"lab": lab.lab, "name": lab.name, "title": lab.title,
            "smp": lab.smp, "mem": lab.mem,
            "student_files": list(lab.student_files),
            "host_tests": list(lab.host_tests)} | _allowlists_to_json(lab)


def _allowlists_to_json(lab: Lab) -> dict[str, Any]:
    if lab.interface is None:
        return {}
    return {"interface": list(lab.interface), "may_call": list(lab.may_call),
            "privileged": list(lab.privileged), "moncmds": list(lab.moncmds)}


def _test_to_json(t: TestSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"name": t.name, "lab": t.lab, "points": t.points}
    if t.hidden:
        out["hidden"] = True
    if t.expect_panic is not None:
        out["expect_panic"] = t.expect_panic
    if t.expect_backtrace is not None:
        out["expect_backtrace"] = t.expect_backtrace
    if t.monitor is not None:
        out["monitor"] = [{"send": s, "expect": e} for s, e in t.monitor]
    if t.since:
        out["since"] = t.since
    if t.budget_s is not None:
        out["budget_s"] = t.budget_s
    if t.part is not None:
        out["part"] = t.part
    if t.what is not None:
        out["what"] = t.what
    return out


def load(path: str | Path) -> Spec:
    """Read and validate a spec file; raise SpecError with one clear line."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"{path}: cannot read: {e}") from None
    except json.JSONDecodeError as e:
        raise SpecError(f"{path}:{e.lineno}: not valid JSON: {e.msg}") from None
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: top level must be an object")
    return _parse(path, raw)


def _parse(path: Path, raw: dict[str, Any]) -> Spec:
    where = str(path)
    qemu = _parse_qemu(where, raw.get("qemu", {}))
    labs: dict[int, Lab] = {}
    for i, item in enumerate(_list(where, raw, "labs")):
        lab = _parse_lab(f"{where}: labs[{i}]", item)
        if lab.lab in labs:
            raise SpecError(f"{where}: lab {lab.lab} is listed twice")
        labs[lab.lab] = lab
    files: dict[str, FileRule] = {}
    fraw = raw.get("files", {})
    if not isinstance(fraw, dict):
        raise SpecError(f"{where}: 'files' must be an object")
    for fpath, rule in fraw.items():
        files[fpath] = _parse_file_rule(f"{where}: files[{fpath!r}]", fpath, rule)
    tests: list[TestSpec] = []
    seen: set[str] = set()
    for i, item in enumerate(_list(where, raw, "tests")):
        t = _parse_test(f"{where}: tests[{i}]", item)
        if t.name in seen:
            raise SpecError(f"{where}: test {t.name} is listed twice")
        seen.add(t.name)
        tests.append(t)
    tree_lab = raw.get("tree_lab")
    if tree_lab is not None and tree_lab not in labs:
        raise SpecError(f"{where}: tree_lab {tree_lab!r} names no listed lab")
    return Spec(path, qemu, labs, files, tests, tree_lab)


def _list(where: str, raw: dict[str, Any], key: str) -> list[Any]:
    val = raw.get(key)
    if not isinstance(val, list):
        raise SpecError(f"{where}: '{key}' must be a list")
    return val


def _get(where: str, obj: Any, key: str, typ: type | tuple[type, ...],
         default: Any = ..., ) -> Any:
    if not isinstance(obj, dict):
        raise SpecError(f"{where}: must be an object")
    if key not in obj:
        if default is ...:
            raise SpecError(f"{where}: missing '{key}'")
        return default
    val = obj[key]
    if isinstance(val, bool) and typ is not bool and bool not in (
            typ if isinstance(typ, tuple) else (typ,)):
        raise SpecError(f"{where}: '{key}' has the wrong type")
    if not isinstance(val, typ):
        raise SpecError(f"{where}: '{key}' has the wrong type")
    return val


def _parse_qemu(where: str, raw: Any) -> QemuConfig:
    d = QemuConfig()
    w = f"{where}: qemu"
    return QemuConfig(
        machine=_get(w, raw, "machine", str, d.machine),
        cpu=_get(w, raw, "cpu", str, d.cpu),
        icount_shift=_get(w, raw, "icount_shift", int, d.icount_shift),
        test_timeout_s=_get(w, raw, "test_timeout_s", int, d.test_timeout_s),
        wall_backstop_s=_get(w, raw, "wall_backstop_s", int, d.wall_backstop_s),
        output_cap_bytes=_get(w, raw, "output_cap_bytes", int,
                              d.output_cap_bytes),
    )


def _parse_lab(where: str, raw: Any) -> Lab:
    n = _get(where, raw, "lab", int)
    if not 1 <= n <= MAX_LAB:
        raise SpecError(f"{where}: lab number {n} is outside 1..{MAX_LAB}")
    name = _get(where, raw, "name", str)
    if not re.fullmatch(r"[a-z][a-z0-9]*", name):
        raise SpecError(f"{where}: lab name {name!r} must be lower-case letters")
    mem = _get(where, raw, "mem", str, "128M")
    if not MEM_SIZE.match(mem):
        raise SpecError(f"{where}: mem {mem!r} must look like 128M or 1G")
    smp = _get(where, raw, "smp", int, 1)
    if not 1 <= smp <= 16:
        raise SpecError(f"{where}: smp {smp} is outside 1..16")
    files = _get(where, raw, "student_files", list)
    for f in files:
        _check_relpath(where, f)
    host = _get(where, raw, "host_tests", list, [])
    for h in host:
        if not isinstance(h, str) or not re.fullmatch(r"test_[a-z0-9_]+", h):
            raise SpecError(f"{where}: host test {h!r} must be named test_*")
    interface = raw.get("interface")
    return Lab(n, name, _get(where, raw, "title", str, name), smp, mem,
               tuple(files), tuple(host),
               None if interface is None else _names(where, raw, "interface"),
               _names(where, raw, "may_call"), _names(where, raw, "privileged"),
               _names(where, raw, "moncmds"))


def _names(where: str, raw: Any, key: str) -> tuple[str, ...]:
    """An allowlist of the object checks: a list of strings."""
    val = _get(where, raw, key, list, [])
    if not all(isinstance(v, str) and v for v in val):
        raise SpecError(f"{where}: '{key}' must be a list of names")
    return tuple(val)


def _parse_file_rule(where: str, fpath: str, raw: Any) -> FileRule:
    _check_relpath(where, fpath)
    first = _get(where, raw, "lab", int)
    last = _get(where, raw, "last", int, MAX_LAB)
    if not 1 <= first <= last <= MAX_LAB:
        raise SpecError(f"{where}: need 1 <= lab <= last <= {MAX_LAB}")
    return FileRule(fpath, first, last, _get(where, raw, "hidden", bool, False))


def _parse_test(where: str, raw: Any) -> TestSpec:
    name = _get(where, raw, "name", str)
    if not TEST_NAME.match(name):
        raise SpecError(f"{where}: test name {name!r} must be suite.test")
    lab = _get(where, raw, "lab", int)
    if not 0 <= lab <= MAX_LAB:
        raise SpecError(f"{where}: lab {lab} is outside 0..{MAX_LAB}")
    points = _get(where, raw, "points", (int, float), 0)
    if points < 0:
        raise SpecError(f"{where}: points must not be negative")
    return TestSpec(name, lab, points,
                    _get(where, raw, "hidden", bool, False),
                    _get(where, raw, "expect_panic", str, None),
                    _get(where, raw, "expect_backtrace", str, None),
                    _parse_monitor(where, raw.get("monitor")),
                    _parse_since(where, raw, lab),
                    _parse_budget(where, raw),
                    _parse_part(where, raw),
                    _get(where, raw, "what", str, None))


def _parse_part(where: str, raw: Any) -> str | None:
    part = _get(where, raw, "part", str, None)
    if part is not None and not re.fullmatch(r"[A-Z]", part):
        raise SpecError(f"{where}: part {part!r} must be one capital letter, "
                        "as the handout's \"Part A\"")
    return part


def _parse_budget(where: str, raw: Any) -> int | None:
    budget = _get(where, raw, "budget_s", int, None)
    if budget is not None and not (2 <= budget <= 30 and budget % 2 == 0):
        raise SpecError(f"{where}: budget_s {budget} must be even, 2..30 "
                        "(what the ib700 watchdog can time)")
    return budget


def _parse_since(where: str, raw: Any, lab: int) -> int:
    since = _get(where, raw, "since", int, 0)
    if since and not lab <= since <= MAX_LAB:
        raise SpecError(f"{where}: since {since} must be between the "
                        f"test's lab ({lab}) and {MAX_LAB}")
    return since


def _parse_monitor(where: str, raw: Any) -> tuple[tuple[str, str], ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw:
        raise SpecError(f"{where}: 'monitor' must be a non-empty list")
    steps = []
    for i, step in enumerate(raw):
        w = f"{where}: monitor[{i}]"
        send, expect = _get(w, step, "send", str), _get(w, step, "expect", str)
        if "\n" in send or "\r" in send:
            raise SpecError(f"{w}: 'send' is one line, without a newline")
        try:
            re.compile(expect)
        except re.error as e:
            raise SpecError(f"{w}: 'expect' is not a regex: {e}") from None
        steps.append((send, expect))
    return tuple(steps)


def _check_relpath(where: str, p: Any) -> None:
    if (not isinstance(p, str) or not p or p.startswith("/")
            or ".." in p.split("/") or "\\" in p):
        raise SpecError(f"{where}: {p!r} must be a relative path inside the tree")
