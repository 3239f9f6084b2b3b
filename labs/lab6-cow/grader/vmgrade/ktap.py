"""A tolerant KTAP v1 parser for what a vmlab kernel prints on its serial line.

The kernel's report nests one document per suite (4 spaces of indent per
level) and announces each test with "# RUN suite.name" before running it:

    KTAP version 1
    1..1
        KTAP version 1
        # Subtest: boot
        1..2
        # RUN boot.printf_formats
        ok 1 printf_formats
        # RUN boot.string_functions
        # lib_test.c:42: EXPECT_EQ failed: strlen(s) == 3
        not ok 2 string_functions
    not ok 1 boot
    # vmlab: tests done

A serial log is not a clean document, so the parser never gives up:
  - free text may come before, between and after reports (boot banners, a
    student's debug prints, half lines glued to the front of a KTAP line);
  - the report may stop anywhere (a panic, a hang, a triple fault);
  - a log may hold several reports (a boot, then a resumed boot);
  - indentation may be 4 spaces, something else, or missing altogether.

Only leaf results are tests. A result that closes a nested document (the
"not ok 1 boot" above) summarises a suite and is not a test. A test's name is
"suite.name", the suite being the nearest enclosing "# Subtest:"; the
"# RUN" line, when it matches, gives the full name directly.

The log is the student's, so parsing takes time in proportion to its length
whatever it holds: a line is cut at MAX_LINE characters (with a marker)
before it is read, no pattern has nested or overlapping repeats that could
backtrack, documents nest at most MAX_DEPTH deep (a deeper header is
noise), and a panic keeps at most MAX_TEST_LINES backtrace lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .safetext import MAX_LINE, clip

MAX_TEST_LINES = 200        # diagnostics kept per test; the rest are counted
MAX_DEPTH = 32              # nested documents; the kernel nests 2 deep

HEADER = re.compile(r"^(?:KTAP|TAP) version \d+\s*$")
PLAN = re.compile(r"^1\.\.(\d+)\b")
RESULT = re.compile(r"^(not ok|ok)[ \t]+(\d+)\b[ \t]*(?:-[ \t]*)?(.*)$")
GLUED_RESULT = re.compile(r"(not ok|ok) (\d+) (\S+)(.*)$")
DIRECTIVE_AT = re.compile(r"#\s*(SKIP|TODO|XFAIL)\b", re.IGNORECASE)
SUBTEST = re.compile(r"^#\s*Subtest:\s*(\S+)")
RUN = re.compile(r"#\s*RUN\s+(\S+)\s*$")
DONE = re.compile(r"^#\s*vmlab: tests done\b")
# The virtual time a test took, printed by the harness after it ran.
TIME = re.compile(r"^#\s*time:\s*([0-9]{1,15})\s*us\s*$")
PANIC = re.compile(r"panic\[cpu(\d+)\]:\s?(.*)$")
BACKTRACE = re.compile(
    r"\[<(?:0x)?[0-9a-fA-F]+>\]\s+([A-Za-z_.$][\w.$]*)(?:\+0x[0-9a-fA-F]+)?")


@dataclass
class TestResult:
    """One leaf result line, with the lines the test printed before it."""
    name: str                   # "suite.name"
    ok: bool
    number: int
    directive: str | None       # "SKIP", "TODO", "XFAIL" or None
    reason: str
    lines: list[str]            # diagnostics ("# ...") and other output
    time_us: int | None = None  # virtual time, from "# time: N us"

    @property
    def status(self) -> str:
        """pass, fail or skip; SKIP and TODO are not passes."""
        if self.directive in ("SKIP", "TODO"):
            return "skip"
        return "pass" if self.ok else "fail"


@dataclass
class Panic:
    """A "panic[cpuN]: MESSAGE" line and the backtrace printed after it."""
    line: str                   # from "panic[" to the end of the line
    message: str
    test: str | None            # the test that was running, if any
    backtrace: list[str] = field(default_factory=list)   # symbol names
    trace_lines: list[str] = field(default_factory=list)


@dataclass
class SuitePlan:
    """A suite's plan and results, as its latest report gave them."""
    name: str
    planned: int | None = None
    seen: int = 0               # result lines, nested summaries included
    reported: list[str] = field(default_factory=list)  # its leaf tests

    @property
    def deficit(self) -> int:
        """How many planned results never came (0 when there is no plan)."""
        if self.planned is None:
            return 0
        return max(0, self.planned - self.seen)


@dataclass
class KtapLog:
    """Everything the parser learnt from one serial log."""
    results: dict[str, TestResult] = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)
    panics: list[Panic] = field(default_factory=list)
    suites: dict[str, SuitePlan] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)
    reports: int = 0            # how many top-level "KTAP version" lines
    done: bool = False          # "# vmlab: tests done" was seen
    running_lines: list[str] = field(default_factory=list)  # of `running`

    @property
    def ktap_seen(self) -> bool:
        return self.reports > 0

    @property
    def running(self) -> str | None:
        """The last "# RUN" test that never reported: the one a crash blames."""
        if self.runs and self.runs[-1] not in self.results:
            return self.runs[-1]
        return None

    @property
    def panic(self) -> Panic | None:
        return self.panics[-1] if self.panics else None


@dataclass
class _Doc:
    """One (sub)document being parsed: a KTAP header, a plan, results."""
    indent: int
    name: str | None = None
    plan: int | None = None
    count: int = 0

    @property
    def fresh(self) -> bool:
        return self.plan is None and self.count == 0


class _Parser:
    """The line-by-line state machine behind parse()."""

    def __init__(self) -> None:
        self.log = KtapLog()
        self.stack: list[_Doc] = []
        self.indented = False       # nested documents are indented deeper
        self.lines: list[str] = []  # output since the last structural line
        self.dropped = 0
        self.in_trace = False
        self.fresh_start = False    # a panic or "tests done" ended a report

    def feed(self, raw: str) -> None:
        raw = raw.rstrip("\r")
        expanded = raw.expandtabs(8)
        text = expanded.lstrip()
        indent = len(expanded) - len(text)
        if not text.startswith("#") and self._panic_or_trace(raw):
            return
        if self._structural(text, indent):
            self.in_trace = False
        elif text.startswith("#"):
            self._comment(text)
        else:
            self._other(raw, text)

    def _structural(self, text: str, indent: int) -> bool:
        """Handle a line that shapes the report; False for anything else."""
        if HEADER.match(text):
            self._header(indent)
        elif m := PLAN.match(text):
            self._plan(indent, int(m.group(1)))
        elif m := RESULT.match(text):
            return self._result(indent, m.group(1) == "ok", m.group(2),
                                m.group(3))
        elif m := SUBTEST.match(text):
            self._subtest(indent, m.group(1))
        elif m := RUN.match(text):
            self._run(m.group(1))
        else:
            return False
        return True

    def _comment(self, text: str) -> None:
        if DONE.match(text):
            self.log.done = True
            self.fresh_start = True
        elif (m := TIME.match(text)) and self.log.running is not None:
            self.time_us = int(m.group(1))
        else:
            self._keep(text)

    def _other(self, raw: str, text: str) -> None:
        """Free text: maybe a KTAP line with a half line glued in front."""
        if m := RUN.search(raw):
            self._run(m.group(1))
            return
        m = GLUED_RESULT.search(raw)
        if m and self._is_running_leaf(m.group(3)):
            self._result(self._top_indent(), m.group(1) == "ok",
                         m.group(2), m.group(3) + m.group(4))
            return
        if self.log.running is not None and text:
            self._keep(text)

    # -- panics -------------------------------------------------------------

    def _panic_or_trace(self, raw: str) -> bool:
        """A panic line, or a backtrace frame after one."""
        if m := PANIC.search(raw):
            self.log.panics.append(Panic(
                line=raw[m.start():], message=m.group(2).strip(),
                test=self.log.running))
            self.in_trace = True
            self.fresh_start = True
            return True
        if self.in_trace and (m := BACKTRACE.search(raw)):
            panic = self.log.panics[-1]
            if len(panic.trace_lines) < MAX_TEST_LINES:
                panic.backtrace.append(m.group(1))
                panic.trace_lines.append(raw.strip())
            return True
        return False

    # -- documents ----------------------------------------------------------

    def _top_indent(self) -> int:
        return self.stack[-1].indent if self.stack else 0

    def _header(self, indent: int) -> None:
        if not self.stack or self._new_report(indent):
            self._start_report(indent)
            return
        cur = self.stack[-1]
        if cur.fresh and len(self.stack) > 1:
            return      # "# Subtest:" came first and opened this document
        self._pop_deeper(indent, inclusive=True)
        self._push(_Doc(indent))

    def _new_report(self, indent: int) -> bool:
        top = self.stack[0]
        if indent > top.indent:
            return False
        return self.indented or self.fresh_start

    def _start_report(self, indent: int) -> None:
        self.stack = [_Doc(indent)]
        self.log.reports += 1
        self.fresh_start = False
        self.lines = []

    def _push(self, doc: _Doc) -> None:
        if len(self.stack) >= MAX_DEPTH:
            return
        if self.stack and doc.indent > self.stack[0].indent:
            self.indented = True
        self.stack.append(doc)
        self.lines = []

    def _pop_deeper(self, indent: int, inclusive: bool) -> bool:
        """Close documents indented deeper than a line; True if any closed."""
        closed = False
        while self.indented and len(self.stack) > 1:
            deeper = self.stack[-1].indent
            if deeper > indent or (inclusive and deeper == indent):
                self.stack.pop()
                closed = True
            else:
                break
        return closed

    def _subtest(self, indent: int, name: str) -> None:
        plan = self.log.suites.setdefault(name, SuitePlan(name))
        plan.planned, plan.seen = None, 0
        if not self.stack:
            self._start_report(indent)
        cur = self.stack[-1]
        if len(self.stack) > 1 and cur.fresh and cur.name is None:
            cur.name = name
            return
        self._pop_deeper(indent, inclusive=True)
        self._push(_Doc(indent, name))

    def _plan(self, indent: int, count: int) -> None:
        if not self.stack:
            self._start_report(indent)
        self._pop_deeper(indent, inclusive=False)
        cur = self.stack[-1]
        if cur.plan is None:
            cur.plan = count
            if cur.name is not None:
                self.log.suites[cur.name].planned = count
        elif indent > cur.indent:
            self._push(_Doc(indent, plan=count))
        self.lines = []

    # -- tests --------------------------------------------------------------

    def _run(self, name: str) -> None:
        self.log.runs.append(name)
        self.lines = []
        self.dropped = 0
        self.time_us: int | None = None

    def _keep(self, text: str) -> None:
        if len(self.lines) < MAX_TEST_LINES:
            self.lines.append(text)
        else:
            self.dropped += 1

    def _suite(self) -> str | None:
        for doc in reversed(self.stack):
            if doc.name is not None:
                return doc.name
        return None

    def _is_running_leaf(self, leaf: str) -> bool:
        running = self.log.running
        return running is not None and running.split(".", 1)[-1] == leaf

    def _closes_child(self, indent: int, leaf: str) -> bool | None:
        """Does this result line summarise nested documents?

        True: it closes them (they are popped); False: it is a result in the
        current document; None: it can be neither, so it is noise (say an
        unindented "ok 7 x" that names no open suite).
        """
        if self.indented:
            depth = len(self.stack)
            while depth > 1 and self.stack[depth - 1].indent > indent:
                depth -= 1
            if depth == len(self.stack):
                return False
            outer = self.stack[depth]
            if outer.name is not None and outer.name != leaf:
                return None
            del self.stack[depth:]
            return True
        cur = self.stack[-1]
        if (len(self.stack) > 1 and cur.name == leaf
                and not self._is_running_leaf(leaf)):
            self.stack.pop()
            return True
        return False

    def _result(self, indent: int, ok: bool, number: str, rest: str) -> bool:
        """Record a result line; False if it turned out to be noise."""
        if not self.stack:
            self._start_report(indent)
        desc, directive, reason = _split_directive(rest)
        leaf = desc.split()[0] if desc.split() else ""
        closed = self._closes_child(indent, leaf)
        if closed is None:
            return False
        self._count_result()
        suite = self._suite()
        if closed or suite is None or not leaf:
            self.lines = []
            return True
        name = self._full_name(suite, leaf)
        self._record(TestResult(name, ok, int(number), directive, reason,
                                self._take_lines(),
                                getattr(self, "time_us", None)), suite)
        self.time_us = None
        return True

    def _count_result(self) -> None:
        cur = self.stack[-1]
        cur.count += 1
        if cur.name is not None:
            self.log.suites[cur.name].seen = cur.count

    def _full_name(self, suite: str, leaf: str) -> str:
        running = self.log.running
        if running is not None and self._is_running_leaf(leaf):
            return running
        return f"{suite}.{leaf}"

    def _take_lines(self) -> list[str]:
        lines = self.lines
        if self.dropped:
            lines.append(f"... ({self.dropped} more lines not kept)")
        self.lines = []
        self.dropped = 0
        return lines

    def finish(self) -> None:
        """End of log: the running test keeps the lines it printed."""
        if self.log.running is not None:
            self.log.running_lines = self._take_lines()

    def _record(self, result: TestResult, suite: str) -> None:
        if result.name in self.log.results:
            self.log.duplicates.append(result.name)
            return
        self.log.results[result.name] = result
        self.log.suites.setdefault(suite, SuitePlan(suite))
        self.log.suites[suite].reported.append(result.name)


def _split_directive(rest: str) -> tuple[str, str | None, str]:
    """Split "name # SKIP reason" into ("name", "SKIP", "reason"): the
    first "#" followed by a directive. Linear: the blanks after one "#" end
    before the next "#", so no character is looked at more than twice."""
    at = rest.find("#")
    while at != -1:
        m = DIRECTIVE_AT.match(rest, at)
        if m:
            return (rest[:at].strip(), m.group(1).upper(),
                    rest[m.end():].strip())
        at = rest.find("#", at + 1)
    return rest.strip(), None, ""


def parse(text: str) -> KtapLog:
    """Parse a whole serial log; never raises on odd input, and takes time
    in proportion to its length."""
    p = _Parser()
    for line in text.split("\n"):
        p.feed(clip(line, MAX_LINE))
    p.finish()
    return p.log


def parse_bytes(data: bytes) -> KtapLog:
    """Parse raw serial bytes; bytes that are not UTF-8 become U+FFFD."""
    return parse(decode(data))


def decode(data: bytes) -> str:
    """Serial bytes as text: invalid UTF-8 is replaced, never an error."""
    return data.decode("utf-8", errors="replace")
