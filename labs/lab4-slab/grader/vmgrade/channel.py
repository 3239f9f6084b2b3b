"""The result channel: the harness's report, each line signed, on debugcon.

The student's code runs in ring 0 beside the test harness, so anything on
the serial console may be forged: a fake "ok 3 split", a whole fake report
printed before the harness starts. A graded boot therefore gets a second
channel that only the harness writes (kern/test/kchan.c):

  - the key: a fresh random one per boot (new_key), passed to the guest as
    the fw_cfg file opt/vmlab/key; the kernel reads it in kmain before any
    student code runs, and uses its 64 ASCII hex digits as the HMAC key;
  - the channel: QEMU's ISA debugcon at port 0xe9, written to channel.log
    in the boot's private temp dir;
  - a line: "<text> #mac <seq> <mac>", mac being the first 16 hex digits of
    HMAC-SHA256(key, "<seq> <text>") and seq counting the boot's lines
    from 0.

verify() keeps a line only if its MAC is right and its seq is the next one
expected; anything else is a problem ("forged or corrupt channel line"),
and the chain carries on from the last good line, so a line cannot be
forged, replayed or moved, and a dropped line leaves its test without a
verified result. trusted_log() then builds the KTAP view the grader scores
from: results, runs, plans and the panic from the verified lines only, the
diagnostics from the console.

Only kernels built from a vmlab tree speak the channel; speaks_channel()
recognises them by the fw_cfg file name in the image. The harness is part
of the pristine tree a submission is built in, so a student cannot remove
it. (The grader's own tiny test kernels do not speak it, and are scored
from the console as before.)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from . import ktap
from .safetext import clip

KEY_FILE = "opt/vmlab/key"
LOG_NAME = "channel.log"
MAC_HEX = 16
MAX_PROBLEMS = 20           # problems kept per boot; the rest are counted
LINE = re.compile(r"^(.*) #mac (\d+) ([0-9a-f]+)$")
NO_VERIFIED_RESULT = "no verified result"
FORGED = "forged or corrupt channel line"


@dataclass
class Channel:
    """What one boot's channel said, once verified."""
    lines: list[str] = field(default_factory=list)   # verified text
    problems: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(ln + "\n" for ln in self.lines)


def speaks_channel(kernel: Path) -> bool:
    """Does this kernel image carry the harness that writes the channel?"""
    try:
        return KEY_FILE.encode() in kernel.read_bytes()
    except OSError:
        return False


def new_key() -> str:
    """A fresh per-boot key: 32 random bytes as 64 hex digits."""
    return secrets.token_hex(32)


def qemu_args(tmp: Path, key: str) -> list[str]:
    """The debugcon device writing channel.log, and the key in fw_cfg."""
    path = str(tmp / LOG_NAME).replace(",", ",,")
    return ["-chardev", f"file,id=vmlab_chan,path={path}",
            "-device", "isa-debugcon,iobase=0xe9,chardev=vmlab_chan",
            "-fw_cfg", f"name={KEY_FILE},string={key}"]


def mac(key: str, seq: int, text: str) -> str:
    """The MAC of line seq, as the kernel computes it."""
    msg = f"{seq} {text}".encode("utf-8", "surrogateescape")
    return hmac.new(key.encode(), msg, hashlib.sha256).hexdigest()[:MAC_HEX]


def sign(key: str, seq: int, text: str) -> str:
    """A channel line as the kernel writes it (for tests)."""
    return f"{text} #mac {seq} {mac(key, seq, text)}"


def verify(data: bytes, key: str) -> Channel:
    """Keep the lines whose MAC is right and whose seq comes next."""
    chan = Channel()
    expect = 0
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    for raw in raw_lines:
        line = raw.decode("utf-8", "surrogateescape")
        m = LINE.match(line)
        if m is None or len(m.group(3)) != MAC_HEX:
            _problem(chan, line, "no MAC")
        elif not hmac.compare_digest(
                m.group(3), mac(key, int(m.group(2)), m.group(1))):
            _problem(chan, line, "bad MAC")
        elif int(m.group(2)) != expect:
            _problem(chan, line, f"line {m.group(2)} where line {expect} "
                                 "was due (replayed, reordered or dropped)")
        else:
            chan.lines.append(m.group(1).encode(
                "utf-8", "surrogateescape").decode("utf-8", "replace"))
            expect += 1
    return chan


def _problem(chan: Channel, line: str, why: str) -> None:
    if len(chan.problems) < MAX_PROBLEMS:
        shown = line.encode("utf-8", "surrogateescape").decode(
            "utf-8", "replace")
        chan.problems.append(f"{FORGED} ({why}): {clip(shown, 200)}")
    elif len(chan.problems) == MAX_PROBLEMS:
        chan.problems.append("... more forged or corrupt channel lines")


def read(tmp: Path, key: str, cap: int) -> Channel:
    """Verify the channel a boot in tmp wrote (at most cap bytes of it)."""
    try:
        with open(tmp / LOG_NAME, "rb") as f:
            data = f.read(cap)
    except OSError:
        data = b""
    return verify(data, key)


def trusted_log(console: str, chan: Channel | None) -> ktap.KtapLog:
    """The KTAP view a boot is scored from.

    Without a channel (a kernel that does not speak it, a replayed log),
    the console. With one: results, runs, plans and panics from the
    verified lines; each result keeps the diagnostics the console showed
    for it. A test the console says finished but the channel does not is
    failed with "no verified result" (even if the channel says it was
    running when the boot ended: a kernel that forges a result loses the
    resume after it), and the channel's problems are shown with it.
    """
    seen = ktap.parse(console)
    if chan is None:
        return seen
    log = ktap.parse(chan.text)
    for name, res in log.results.items():
        if name in seen.results:
            res.lines = list(seen.results[name].lines)
            res.time_us = seen.results[name].time_us
    if log.running is not None and seen.running == log.running:
        log.running_lines = list(seen.running_lines)
    for name, res in seen.results.items():
        if name not in log.results:
            log.results[name] = ktap.TestResult(
                name, False, res.number, None, NO_VERIFIED_RESULT,
                list(res.lines) + [
                    f"{NO_VERIFIED_RESULT}: the console reported "
                    f"{'ok' if res.ok else 'not ok'}, the result channel "
                    "did not"] + chan.problems)
    if chan.problems and not any(
            r.reason == NO_VERIFIED_RESULT for r in log.results.values()):
        log.running_lines = log.running_lines + chan.problems
    return log
