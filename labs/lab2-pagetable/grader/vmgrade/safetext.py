"""Untrusted text made safe to show: on a terminal, in CSV, JSON and XML.

A student controls much of what the grader shows: the kernel's serial log
(test names, diagnostics, panics, the log excerpt), the compiler's messages
about their files, and the names inside a hand-in. None of it may reach an
instructor's terminal as a control sequence, stop a report file from being
written, or make one unparseable. So every such string goes through
printable() (or printable_line()) before it is printed or serialised:

  - C0 controls other than newline and tab, DEL and the C1 controls become
    \\xNN ("\\x1b" for ESC), so no escape sequence reaches a terminal;
  - the bidirectional overrides (U+202A-U+202E, U+2066-U+2069), which make
    a terminal show text in another order than it reads, become \\uNNNN;
  - a byte that was not UTF-8 and came in through surrogateescape (a file
    name, a tar member name) becomes \\xNN: visible, and always encodable;
  - U+FFFE and U+FFFF, which XML 1.0 forbids even escaped, become \\uNNNN.
A carriage return that ends a line (CR LF) is dropped; any other becomes
\\x0d, since it would let a line overwrite itself on a terminal.

The result is plain text that every output encodes (UTF-8 or an ASCII
stream with backslashreplace), that XML 1.0 accepts, and that is printed
the same way twice: printable(printable(s)) == printable(s).
"""

from __future__ import annotations

import re

MAX_LINE = 4096     # characters kept of one line of a log or of make's output

_UNSAFE = ("\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
           "\ud800-\udfff\ufffe\uffff")
UNSAFE = re.compile(f"[{_UNSAFE}]")
UNSAFE_IN_LINE = re.compile(f"[{_UNSAFE}\n]")


def _escape(m: re.Match[str]) -> str:
    cp = ord(m.group())
    if 0xDC80 <= cp <= 0xDCFF:          # a byte smuggled by surrogateescape
        return f"\\x{cp - 0xDC00:02x}"
    return f"\\x{cp:02x}" if cp < 0x100 else f"\\u{cp:04x}"


def printable(text: str) -> str:
    """text with every control character escaped but newline and tab."""
    text = text.replace("\r\n", "\n").removesuffix("\r")
    return UNSAFE.sub(_escape, text)


def printable_line(text: str) -> str:
    """printable(), on one line: a newline becomes \\x0a too (for names,
    CSV cells and one-line messages)."""
    return UNSAFE_IN_LINE.sub(_escape, text.removesuffix("\r"))


def clip(line: str, limit: int = MAX_LINE) -> str:
    """line cut to limit characters, saying how many were cut."""
    if len(line) <= limit:
        return line
    return f"{line[:limit]} [... {len(line) - limit} more characters cut]"
