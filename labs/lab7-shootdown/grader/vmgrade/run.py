"""Boot planning: which boots a grade needs, and what each test's fate was.

A grade is a few boots of the same kernel:
  - the main boot runs every selected test with one glob per suite
    (ktest=boot.*,trap.*), so a test the kernel has but the spec lacks still
    shows up (as "unexpected");
  - if it ends abnormally (panic, watchdog, triple fault, flood...), the test
    that was running -- the last "# RUN" without a result -- is blamed with
    that outcome, and the kernel is booted again with kresume=THAT.TEST to run
    the rest; a boot that dies before any "# RUN" ends the chain, and every
    test still unreported is crashed with its outcome;
  - a test that must end the run (expect_panic in the spec; KTEST_EXPLICIT in
    the kernel, so no glob selects it) boots alone with ktest=ITS.NAME;
  - a monitor test boots alone without ktest=, so the kernel starts its
    monitor; its lines arrive on the serial line as if typed, followed by
    "poweroff", and each line's output must match its regex.
Results and panics come from the boot's verified result channel when it
has one (vmgrade/channel.py), never from the console alone; the console
still gives each test's diagnostics and the crash excerpts, and monitor
tests, whose kernel reports nothing, are judged on the console.
Boots are requested through a callable, so tests can replay recorded logs.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
import re
from dataclasses import dataclass, field
from typing import Callable, Protocol

from . import channel, ktap
from .qemu import Boot, kernel_cmdline
from .safetext import clip
from .spec import TestSpec

EXCERPT_LINES = 30
NO_RESULT = "no-result"     # planned or announced, yet never reported

MONITOR_PROMPT = "vmlab> "


class BootFn(Protocol):
    """Boot once: kernel command line (and typed serial input) -> Boot."""
    def __call__(self, cmdline: str, typed: str | None = None) -> Boot: ...


@dataclass
class Crash:
    """Why a test has no result: how its boot ended, and what it printed."""
    outcome: str
    panic: str | None
    excerpt: list[str]
    stderr: str = ""


@dataclass
class TestRun:
    """What the boots say about one test."""
    name: str
    status: str                 # pass, fail, skip or crashed
    lines: list[str] = field(default_factory=list)
    directive: str | None = None
    reason: str = ""
    crash: Crash | None = None
    boot: int = 0               # index of the boot that decided it
    time_us: int | None = None  # virtual time the test took


@dataclass
class RunResult:
    runs: dict[str, TestRun]
    boots: list[Boot]


def suite_globs(tests: list[TestSpec]) -> list[str]:
    """One glob per suite of the tests a main boot runs, in spec order."""
    suites: list[str] = []
    for t in tests:
        if not t.ends_run and t.suite not in suites:
            suites.append(t.suite)
    return [f"{s}.*" for s in suites]


# A kernel whose boots keep running into the wall-clock backstop (the
# watchdog should have stopped each one long before) is not booted again
# after the second such boot: its remaining tests are crashed with this
# outcome, so one submission costs at most two backstops, not one per test.
WALL_TIMEOUTS_MAX = 2
WALL_GIVE_UP = ("wall-timeout: not booted again after two boots ran to the "
                "wall-clock backstop")


def budget_arg(tests: list[TestSpec], default_s: int) -> str:
    """tbudget=: the default budget, then each test with its own."""
    return ",".join([str(default_s)] + [f"{t.name}:{t.budget_s}"
                                        for t in tests
                                        if t.budget_s is not None])


def run_all(boot_fn: BootFn, tests: list[TestSpec], seed: int,
            only: tuple[str, ...] = (), budget: str = "") -> RunResult:
    """Run the main chain and every alone-boot, side by side."""
    chain = [t.name for t in tests if not t.ends_run]
    alone = [t for t in tests if t.ends_run]
    globs = list(only) if only else suite_globs(tests)
    with ThreadPoolExecutor(max_workers=1 + len(alone)) as pool:
        main = (pool.submit(run_chain, boot_fn, globs, seed, chain, budget)
                if chain else None)
        singles = [pool.submit(run_alone, boot_fn, t, seed, budget)
                   for t in alone]
        result = main.result() if main else RunResult({}, [])
        for fut in singles:
            _add_alone(result, *fut.result())
    return result


def _add_alone(result: RunResult, run: TestRun | None, boot: Boot) -> None:
    result.boots.append(boot)
    if run is not None:
        run.boot = len(result.boots) - 1
        result.runs[run.name] = run


def run_chain(boot_fn: BootFn, globs: list[str], seed: int,
              expected: list[str], budget: str = "") -> RunResult:
    """The main boot and its resumes, until the report is complete."""
    result = RunResult({}, [])
    resume: str | None = None
    walls = 0
    for _ in range(len(expected) + 1):
        boot = boot_fn(kernel_cmdline(globs, seed, resume, budget))
        result.boots.append(boot)
        log = channel.trusted_log(boot.log, boot.channel)
        resume = _absorb(result, log, boot, expected)
        if resume is None:
            return result
        walls += boot.outcome == "wall-timeout"
        if walls == WALL_TIMEOUTS_MAX:
            _crash_rest(result, expected, boot, log, WALL_GIVE_UP)
            return result
    _crash_rest(result, expected, boot, log)    # out of resumes
    return result


def _absorb(result: RunResult, log: ktap.KtapLog, boot: Boot,
            expected: list[str]) -> str | None:
    """Take in one boot of the chain; the test to resume after, if any."""
    idx = len(result.boots) - 1
    for name, res in log.results.items():
        if name not in result.runs:
            result.runs[name] = _from_result(res, idx)
    blame = log.running
    if boot.ended_cleanly:
        if blame is not None:
            result.runs[blame] = _crashed(blame, boot, log, idx, NO_RESULT)
        _plan_deficits(result, log, expected, boot)
        return None
    if blame is None or blame in result.runs:   # no test, or no progress
        _crash_rest(result, expected, boot, log)
        return None
    result.runs[blame] = _crashed(blame, boot, log, idx, boot.outcome)
    return blame


def _from_result(res: ktap.TestResult, idx: int) -> TestRun:
    return TestRun(res.name, res.status, list(res.lines), res.directive,
                   res.reason, None, idx, res.time_us)


def _crashed(name: str, boot: Boot, log: ktap.KtapLog, idx: int,
             outcome: str) -> TestRun:
    lines = list(log.running_lines) if log.running == name else []
    return TestRun(name, "crashed", lines, crash=_crash(boot, log, outcome),
                   boot=idx)


def _crash(boot: Boot, log: ktap.KtapLog, outcome: str) -> Crash:
    panic = log.panic.line if log.panic is not None else None
    return Crash(outcome, panic, excerpt(boot.log), boot.stderr)


def excerpt(text: str, n: int = EXCERPT_LINES) -> list[str]:
    """The last n lines of a log (none for an empty log), each cut to
    safetext.MAX_LINE characters."""
    if not text.strip():
        return []
    return [clip(ln) for ln in text.rstrip("\n").rsplit("\n", n)[-n:]]


def _crash_rest(result: RunResult, expected: list[str], boot: Boot,
                log: ktap.KtapLog, outcome: str | None = None) -> None:
    """The boot died outside any test, or the chain gives up: everything
    unreported crashed, with outcome (the boot's own by default)."""
    idx = len(result.boots) - 1
    for name in expected:
        if name not in result.runs:
            result.runs[name] = TestRun(
                name, "crashed",
                crash=_crash(boot, log, outcome or boot.outcome), boot=idx)


def _plan_deficits(result: RunResult, log: ktap.KtapLog,
                   expected: list[str], boot: Boot) -> None:
    """A suite planned more tests than it reported: its silent ones crashed."""
    idx = len(result.boots) - 1
    for name in expected:
        plan = log.suites.get(name.split(".", 1)[0])
        if name not in result.runs and plan is not None and plan.deficit:
            result.runs[name] = _crashed(name, boot, log, idx, NO_RESULT)


def run_alone(boot_fn: BootFn, t: TestSpec, seed: int, budget: str = ""
              ) -> tuple[TestRun | None, Boot]:
    """Boot a test that owns its run, and judge how the run went."""
    if t.monitor is not None:
        typed = "".join(f"{send}\n" for send, _ in t.monitor) + "poweroff\n"
        boot = boot_fn(kernel_cmdline(None, seed), typed)
        return judge_monitor(t, boot), boot
    boot = boot_fn(kernel_cmdline([t.name], seed, None, budget))
    log = channel.trusted_log(boot.log, boot.channel)
    return judge_alone(t, boot, log), boot


def monitor_outputs(log: str) -> list[tuple[str, str]]:
    """(line typed, what it printed) for each prompt the monitor showed."""
    chunks = log.replace("\r\n", "\n").split(MONITOR_PROMPT)[1:]
    out = []
    for chunk in chunks:
        typed, _, printed = chunk.partition("\n")
        out.append((typed, printed))
    return out


def judge_monitor(t: TestSpec, boot: Boot) -> TestRun:
    """Pass if each typed line's output matched and the run powered off."""
    assert t.monitor is not None
    outputs = monitor_outputs(boot.log)
    problems = []
    for i, (send, expect) in enumerate(t.monitor):
        printed = outputs[i][1] if i < len(outputs) else None
        if printed is None:
            problems.append(f"typed {send!r}: the monitor never answered")
        elif not re.search(expect, printed, re.M):
            problems.append(f"typed {send!r}: expected /{expect}/ in:")
            problems += [f"  | {line}" for line in printed.splitlines()[:20]]
    if not problems and boot.outcome == "finished":
        return TestRun(t.name, "pass")
    if boot.outcome != "finished":
        crash = _crash(boot, ktap.parse(boot.log), boot.outcome)
        return TestRun(t.name, "crashed", problems, crash=crash)
    return TestRun(t.name, "fail", problems)


def judge_alone(t: TestSpec, boot: Boot, log: ktap.KtapLog) -> TestRun | None:
    """Pass only on the expected panic, raised by this test; None: missing."""
    ran = t.name in log.runs or t.name in log.results
    if not ran:
        if boot.ended_cleanly:
            return None
        return TestRun(t.name, "crashed", crash=_crash(boot, log, boot.outcome))
    if boot.outcome == "finished":
        return _returned(t, log)
    panic = log.panic
    if boot.outcome != "panic" or panic is None or panic.test != t.name:
        return _crashed(t.name, boot, log, 0, boot.outcome)
    problems = _panic_problems(t, panic)
    lines = list(log.running_lines) + [panic.line] + panic.trace_lines
    return TestRun(t.name, "fail" if problems else "pass", lines + problems)


def _returned(t: TestSpec, log: ktap.KtapLog) -> TestRun:
    res = log.results.get(t.name)
    lines = list(res.lines) if res else list(log.running_lines)
    return TestRun(t.name, "fail", lines + [
        f"expected a panic containing {t.expect_panic!r}, "
        "but the test returned and the run finished"])


def _panic_problems(t: TestSpec, panic: ktap.Panic) -> list[str]:
    problems = []
    if t.expect_panic is not None and t.expect_panic not in panic.line:
        problems.append(f"expected a panic containing {t.expect_panic!r}")
    sym = t.expect_backtrace
    if sym is not None and sym not in panic.backtrace:
        named = ", ".join(panic.backtrace) or "no function"
        problems.append(f"expected the backtrace to name {sym}; "
                        f"it names {named}")
    return problems
