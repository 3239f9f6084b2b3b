"""Which files a student's objects were built from, and what a student sees
of a failed build.

A student file may include the tree's public headers (kern/include and
kern/arch/x86_64/include), the compiler's own headers (stdarg.h, ...), and
the student's other files. Anything else it read -- a hidden test by
relative path, /etc/passwd, a file of the grader's, /dev/zero -- refuses
the build. The list comes from the depfiles the Makefile asks for: gcc's
-MD (FILE.d: every header, system ones too, so `<../../etc/passwd>` found
through -isystem is not missed) and gas's --MD (FILE.asd: what .include
and .incbin read). Paths are resolved before they are judged, so ".." and
symlinks lead where they really lead.

A failed build's output is shown to the student, and a compiler quotes the
lines it could not parse. When any diagnostic is located in a file outside
the tree, or among its hidden tests, the whole output is withheld and one
line says why: the report must never carry a host file's text. (An error
in a pristine file of the tree is shown: the student has that file.)
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

from .safetext import clip, printable_line
from .sandbox import HIDDEN_DIR

PUBLIC_INCLUDE = ("kern/include", "kern/arch/x86_64/include")
SOURCE_SUFFIXES = (".c", ".S")
# gcc hands gas its preprocessed input as /tmp/ccXXXXXX.s
_GAS_INPUT = re.compile(r"/tmp/cc[A-Za-z0-9_]+\.s")
# "PATH:LINE" or "PATH: Assembler messages:" in a diagnostic
_LOCATION = re.compile(r"([^\s:'\"`‘’\[]+):(?:\d+|\s+Assembler messages)")



class Allowed:
    """What a student file of one tree may read."""

    def __init__(self, tree: Path, student_files: tuple[str, ...]) -> None:
        self.tree = tree.resolve()
        self.dirs = [self.tree / d for d in PUBLIC_INCLUDE] + \
            [Path(d) for d in compiler_include_dirs()]
        self.files = {(self.tree / f).resolve() for f in student_files}

    def permits(self, dep: str) -> bool:
        """dep (as a depfile or diagnostic names it, relative to the tree)
        is a file a student file may read."""
        if _GAS_INPUT.fullmatch(dep):
            return True
        path = Path(os.path.realpath(self.tree / dep))
        if path in self.files:
            return True
        return any(path.is_relative_to(d) for d in self.dirs)

    def may_quote(self, dep: str) -> bool:
        """A diagnostic located in dep may be shown: dep is in the tree
        (resolved), and not a hidden test, or it is permitted."""
        path = Path(os.path.realpath(self.tree / dep))
        inside = path.is_relative_to(self.tree) and \
            not path.is_relative_to(self.tree / HIDDEN_DIR)
        return inside or self.permits(dep)

    def shown(self, dep: str) -> str:
        """dep as a report names it: relative to the tree when inside."""
        path = Path(os.path.normpath(self.tree / dep))
        text = (path.relative_to(self.tree).as_posix()
                if path.is_relative_to(self.tree) else str(path))
        return printable_line(clip(text, 200))


@functools.lru_cache(maxsize=1)
def compiler_include_dirs() -> tuple[str, ...]:
    """The compilers' own header directories (-print-file-name=include)."""
    dirs = []
    for cc in ("gcc", "clang"):
        if shutil.which(cc) is None:
            continue
        try:
            out = subprocess.run([cc, "-print-file-name=include"],
                                 capture_output=True, text=True, timeout=30,
                                 check=False).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.startswith("/"):
            dirs.append(os.path.realpath(out))
    return tuple(dirs)


def depfile_paths(text: str) -> list[str]:
    """The prerequisites a make-style depfile lists (targets dropped)."""
    deps: list[str] = []
    for line in text.replace("\\\n", " ").splitlines():
        _, sep, rest = line.partition(": ")
        if not sep:
            _, sep, rest = line.partition(":\t")
        words = re.split(r"(?<!\\)\s+", rest.strip()) if sep else []
        deps += [w.replace("\\ ", " ") for w in words if w]
    return deps


def refused(tree: Path, outdir: Path,
            student_files: tuple[str, ...]) -> str | None:
    """The grader line refusing the build, if a student file's object was
    built from a file it may not read; None if every read is allowed."""
    allowed = Allowed(tree, student_files)
    for rel in student_files:
        if not rel.endswith(SOURCE_SUFFIXES):
            continue
        for suffix in (".d", ".asd"):
            dep = _first_refused(allowed, outdir / f"{rel}{suffix}")
            if dep is not None:
                return (f"grader: {rel} reads {allowed.shown(dep)}: a "
                        "student file may include only the public headers "
                        f"({', '.join(PUBLIC_INCLUDE)}) and the lab's "
                        "student files; build refused")
    return None


def _first_refused(allowed: Allowed, depfile: Path) -> str | None:
    try:
        text = depfile.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return next((d for d in depfile_paths(text) if not allowed.permits(d)),
                None)


def withhold(tail: list[str], tree: Path,
             student_files: tuple[str, ...]) -> list[str]:
    """tail as the student may see it: itself, or one line in its place
    when a diagnostic is located outside the tree or in a hidden test."""
    allowed = Allowed(tree, student_files)
    for line in tail:
        for m in _LOCATION.finditer(line):
            if not allowed.may_quote(m.group(1)):
                return [f"grader: the compiler's output is withheld: it "
                        f"quotes {allowed.shown(m.group(1))}, a file "
                        "outside the tree"]
    return tail
