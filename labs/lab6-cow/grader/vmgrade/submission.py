"""Submissions: read a hand-in safely, check it, lay it over a pristine tree.

A submission is the tarball `make handin` writes (.tar.gz, .tgz or .tar) or
a directory. It must hold exactly the lab's student files: nothing missing,
nothing else. The files may sit under one top-level directory (the hand-in
tarball puts them under labN-NAME-handin/), which is then stripped.

The archive is untrusted. Its members are inspected one by one before any
byte is used, and nothing is ever extracted by name: only the contents of
regular files whose cleaned names are student files are kept, in memory,
and written into a copy of the tree. Rejected, each with one line:
absolute names, ".." components, symlinks, hard links, devices, fifos and
any other non-regular member, duplicates, archives over MAX_COMPRESSED bytes
on disk or MAX_UNCOMPRESSED bytes of members, more than MAX_MEMBERS members,
and archives that are corrupt or truncated.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from . import GraderError

try:
    import lzma
    _LZMA_ERRORS: tuple[type[Exception], ...] = (lzma.LZMAError,)
except ImportError:         # a Python built without liblzma
    _LZMA_ERRORS = ()

MAX_COMPRESSED = 16 << 20
MAX_UNCOMPRESSED = 64 << 20
MAX_MEMBERS = 1000
READ_ERRORS = (tarfile.TarError, EOFError, OSError, zlib.error,
               ValueError) + _LZMA_ERRORS


class Rejected(GraderError):
    """The submission is not acceptable; the message says why."""


@dataclass
class Entry:
    name: str                   # cleaned relative path, "/"-separated
    is_dir: bool
    data: bytes = b""


def read(path: Path, student_files: tuple[str, ...]) -> dict[str, bytes]:
    """The student files of a submission, by relative path; or Rejected."""
    if path.is_dir():
        entries = _dir_entries(path)
    elif path.is_file():
        entries = _tar_entries(path)
    else:
        raise Rejected(f"{path}: no such file or directory")
    return _select(_strip_prefix(entries, student_files), student_files)


# -- archives ----------------------------------------------------------------

def _tar_entries(path: Path) -> list[Entry]:
    if path.stat().st_size > MAX_COMPRESSED:
        raise Rejected(f"{path.name}: archive is larger than "
                       f"{MAX_COMPRESSED >> 20} MiB")
    try:
        with tarfile.open(path, "r:*") as tf:
            return _walk_tar(tf)
    except READ_ERRORS as e:
        raise Rejected(f"{path.name}: corrupt or truncated archive "
                       f"({_why(e)})") from None


def _why(e: BaseException) -> str:
    """The first line of an exception's message (tarfile's can be long)."""
    lines = str(e).strip().splitlines()
    return lines[0].rstrip(":") if lines else type(e).__name__


def _walk_tar(tf: tarfile.TarFile) -> list[Entry]:
    entries: list[Entry] = []
    total = 0
    while (m := tf.next()) is not None:
        if len(entries) >= MAX_MEMBERS:
            raise Rejected(f"archive has more than {MAX_MEMBERS} members")
        _check_member(m)
        total += max(0, m.size)
        if total > MAX_UNCOMPRESSED:
            raise Rejected(f"archive holds more than "
                           f"{MAX_UNCOMPRESSED >> 20} MiB")
        entries.append(_tar_entry(tf, m))
    return entries


def _check_member(m: tarfile.TarInfo) -> None:
    kind = ("a symlink" if m.issym() else "a hard link" if m.islnk()
            else "a device" if m.ischr() or m.isblk()
            else "a fifo" if m.isfifo()
            else None if m.isreg() or m.isdir() else "not a regular file")
    if kind is not None:
        raise Rejected(f"{m.name} is {kind}: only regular files are accepted")


def _tar_entry(tf: tarfile.TarFile, m: tarfile.TarInfo) -> Entry:
    name = clean_name(m.name)
    if m.isdir():
        return Entry(name, True)
    f = tf.extractfile(m)
    data = f.read() if f is not None else b""
    if len(data) != m.size:
        raise tarfile.ReadError(f"{m.name}: unexpected end of data")
    return Entry(name, False, data)


def clean_name(name: str) -> str:
    """A member name as a relative path; Rejected if it could escape."""
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise Rejected(f"{name}: absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise Rejected(f"{name}: path with a '..' component")
    return "/".join(parts)


# -- directories -------------------------------------------------------------

def _dir_entries(root: Path) -> list[Entry]:
    entries: list[Entry] = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for n in sorted(dirnames + filenames):
            entry = _dir_entry(root, Path(dirpath) / n)
            total += len(entry.data)
            entries.append(entry)
            if len(entries) > MAX_MEMBERS or total > MAX_UNCOMPRESSED:
                raise Rejected(f"{root.name}: more than {MAX_MEMBERS} files "
                               f"or {MAX_UNCOMPRESSED >> 20} MiB")
    return entries


def _dir_entry(root: Path, path: Path) -> Entry:
    rel = path.relative_to(root).as_posix()
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise Rejected(f"{rel} is a symlink: only regular files are accepted")
    if stat.S_ISDIR(st.st_mode):
        return Entry(rel, True)
    if not stat.S_ISREG(st.st_mode):
        raise Rejected(f"{rel} is not a regular file")
    if st.st_nlink > 1:
        raise Rejected(f"{rel} is a hard link: only regular files are accepted")
    if st.st_size > MAX_UNCOMPRESSED:
        raise Rejected(f"{rel}: larger than {MAX_UNCOMPRESSED >> 20} MiB")
    return Entry(rel, False, path.read_bytes())


# -- checking ----------------------------------------------------------------

def _strip_prefix(entries: list[Entry],
                  student_files: tuple[str, ...]) -> list[Entry]:
    """Drop one top-level directory that holds everything (labN-NAME-handin/),
    unless it is a directory the student files themselves start with."""
    named = [e for e in entries if e.name]
    tops = {e.name.split("/", 1)[0] for e in named}
    own = {f.split("/", 1)[0] for f in student_files}
    if len(tops) != 1 or not any("/" in e.name for e in named):
        return named
    top = tops.pop()
    if top in own:
        return named
    return [Entry(e.name[len(top) + 1:], e.is_dir, e.data)
            for e in named if e.name != top]


def _select(entries: list[Entry],
            student_files: tuple[str, ...]) -> dict[str, bytes]:
    wanted = set(student_files)
    parents = {"/".join(f.split("/")[:i]) for f in student_files
               for i in range(1, f.count("/") + 1)}
    files: dict[str, bytes] = {}
    for e in entries:
        if e.name in files:
            raise Rejected(f"{e.name} appears twice")
        if e.is_dir and e.name in parents:
            continue
        if e.is_dir or e.name not in wanted:
            raise Rejected(f"unexpected {'directory' if e.is_dir else 'file'} "
                           f"{e.name}: hand in only the lab's student files "
                           f"({', '.join(student_files)})")
        files[e.name] = e.data
    for f in student_files:
        if f not in files:
            raise Rejected(f"missing student file {f}")
    return files


# -- laying it over a tree ---------------------------------------------------

def overlay(tree: Path, files: dict[str, bytes], dest: Path) -> Path:
    """Copy tree to dest (which must not exist), then write the files."""
    shutil.copytree(tree, dest, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", "__pycache__"))
    for rel, data in sorted(files.items()):
        target = dest / rel
        _refuse_links(dest, target)
        if target.is_dir():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return dest


def _refuse_links(root: Path, target: Path) -> None:
    """Never write through a symlink that the tree itself contains."""
    path = root
    for part in target.relative_to(root).parts:
        path = path / part
        if path.is_symlink():
            if path == target:
                path.unlink()
                return
            raise GraderError(f"{path}: the tree has a symlink on the path "
                              "of a student file")


def generate_tree(repo: Path, lab: int, hidden: bool, out: Path) -> Path:
    """Make a lab tree with `grader/genlabs` (hidden tests if asked)."""
    argv = [sys.executable, str(repo / "grader" / "genlabs"), "--lab",
            str(lab), "--out", str(out)] + (["--hidden"] if hidden else [])
    proc = subprocess.run(argv, cwd=repo, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise GraderError(f"grader/genlabs --lab {lab} failed: {last}")
    for cand in [out] + sorted(out.glob(f"lab{lab}-*")):
        if (cand / "lab.json").is_file():
            return cand
    raise GraderError(f"grader/genlabs --lab {lab} wrote no lab.json "
                      f"under {out}")
