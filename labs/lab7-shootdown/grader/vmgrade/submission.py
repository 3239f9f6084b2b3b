"""Submissions: read a hand-in safely, check it, lay it over a pristine tree.

A submission is the tarball `make handin` writes (.tar.gz, .tgz or .tar) or
a directory. It must hold exactly the lab's student files: nothing missing,
nothing else. The files may sit under one top-level directory (the hand-in
tarball puts them under labN-NAME-handin/), which is then stripped. Files
uploaded one by one may come without their directories (buddy.c for
kern/mm/buddy.c): each stands for the one student file of that name.

The archive is untrusted, and every claim it makes is checked before it is
believed. It is read whole (at most MAX_COMPRESSED bytes), decompressed
into memory (at most MAX_STREAM bytes), and read by tarfile through a
header class that checks each header before tarfile acts on it: no size
over MAX_UNCOMPRESSED, no GNU long name over MAX_NAME bytes, no pax header
over MAX_EXT_HEADER bytes or not made of well-formed records (nor holding a
number of more than 20 digits, on which Python 3.11's tarfile backtracks),
no more than MAX_EXT_CHAIN extended headers in a row (tarfile recurses
once per header), no sparse member. Nothing is ever extracted by name: only
the contents of regular files whose cleaned names are student files are
kept, in memory, and written into a copy of the tree. Rejected, each with
one line: absolute names, ".." components, symlinks, hard links, devices,
fifos and any other non-regular member, duplicates, zip archives, more than
MAX_MEMBERS members, more than MAX_UNCOMPRESSED bytes of members, and
archives that are corrupt or truncated.

A directory is walked without recursion and without following links; each
file is opened without following a link or blocking on a fifo, and checked
again once open. The same limits apply, and a file or directory the grader
may not read is named.
"""

from __future__ import annotations

import bz2
import gzip
import io
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from . import GraderError
from .safetext import clip, printable_line

try:
    import lzma
    _LZMA_ERRORS: tuple[type[Exception], ...] = (lzma.LZMAError,)
except ImportError:         # a Python built without liblzma
    _LZMA_ERRORS = ()

MAX_COMPRESSED = 16 << 20       # the archive file
MAX_UNCOMPRESSED = 64 << 20     # the data of its members, or a directory's
MAX_STREAM = MAX_UNCOMPRESSED + (8 << 20)   # data, headers and padding
MAX_MEMBERS = 1000              # members of an archive, entries of a directory
MAX_NAME = 1024                 # bytes in a member's name
MAX_EXT_HEADER = 64 << 10       # one pax header's records
MAX_EXT_CHAIN = 8               # extended headers before one member
READ_ERRORS = (tarfile.TarError, EOFError, OSError, zlib.error,
               ValueError) + _LZMA_ERRORS
READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC

_LONG_NAMES = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)
_PAX = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE)
_PAX_RECORD = re.compile(rb"([1-9][0-9]{0,5}) ([^=\n]+)=")
_LONG_NUMBER = re.compile(rb"[0-9]{21}")
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")


class Rejected(GraderError):
    """The submission is not acceptable; the message says why."""


@dataclass
class Entry:
    name: str                   # cleaned relative path, "/"-separated
    is_dir: bool
    data: bytes = b""


def read(path: Path, student_files: tuple[str, ...]) -> dict[str, bytes]:
    """The student files of a submission, by relative path; or Rejected."""
    try:
        st = path.stat()
    except OSError as e:
        raise Rejected(f"{shown(path.name)}: {_reason(e)}") from None
    if stat.S_ISDIR(st.st_mode):
        entries = _dir_entries(path)
    elif stat.S_ISREG(st.st_mode):
        entries = _tar_entries(path)
    else:
        raise Rejected(f"{shown(path.name)}: not a file or a directory")
    return _select(_loose(_strip_prefix(entries, student_files),
                          student_files), student_files)


def shown(name: str) -> str:
    """A name from a submission as a message may show it: on one line,
    without control characters, not too long."""
    return printable_line(clip(name, 200))


def _reason(e: OSError) -> str:
    if isinstance(e, FileNotFoundError):
        return "no such file or directory"
    return f"cannot be read ({e.strerror or type(e).__name__})"


# -- archives ----------------------------------------------------------------

def _tar_entries(path: Path) -> list[Entry]:
    raw = _unpack(path.name, _read_archive(path))
    try:
        with _Archive.open(fileobj=io.BytesIO(raw), mode="r:") as tf:
            return _walk_tar(tf)
    except READ_ERRORS as e:
        raise Rejected(f"{shown(path.name)}: corrupt or truncated archive "
                       f"({shown(_why(e))})") from None


def _read_archive(path: Path) -> bytes:
    """The archive's bytes: a regular file of at most MAX_COMPRESSED."""
    try:
        with _open_regular(path, path.name) as f:
            if os.fstat(f.fileno()).st_size > MAX_COMPRESSED:
                raise Rejected(f"{shown(path.name)}: archive is larger than "
                               f"{MAX_COMPRESSED >> 20} MiB")
            data = f.read(MAX_COMPRESSED + 1)
    except OSError as e:
        raise Rejected(f"{shown(path.name)}: {_reason(e)}") from None
    if len(data) > MAX_COMPRESSED:
        raise Rejected(f"{shown(path.name)}: archive is larger than "
                       f"{MAX_COMPRESSED >> 20} MiB")
    return data


def _unpack(name: str, data: bytes) -> bytes:
    """The tar stream inside gzip, bzip2 or xz (or data itself), cut off
    (and refused) past MAX_STREAM bytes: a small bomb stays small."""
    if data.startswith(_ZIP):
        raise Rejected(f"{shown(name)}: a zip archive is not accepted: hand "
                       "in the .tar.gz that make handin writes (a .tgz, a "
                       ".tar or a directory also do)")
    stream: IO[bytes]
    if data.startswith(b"\x1f\x8b"):
        stream = gzip.GzipFile(fileobj=io.BytesIO(data))
    elif data.startswith(b"BZh"):
        stream = bz2.BZ2File(io.BytesIO(data))
    elif data.startswith(b"\xfd7zXZ\x00") and _LZMA_ERRORS:
        stream = lzma.LZMAFile(io.BytesIO(data))
    else:
        return data
    try:
        with stream:
            raw = stream.read(MAX_STREAM + 1)
    except READ_ERRORS as e:
        raise Rejected(f"{shown(name)}: corrupt or truncated archive "
                       f"({shown(_why(e))})") from None
    if len(raw) > MAX_STREAM:
        raise Rejected(f"{shown(name)}: archive unpacks to more than "
                       f"{MAX_STREAM >> 20} MiB")
    return raw


def _why(e: BaseException) -> str:
    """The first line of an exception's message (tarfile's can be long)."""
    lines = str(e).strip().splitlines()
    return lines[0].rstrip(":") if lines else type(e).__name__


class _Header(tarfile.TarInfo):
    """A TarInfo that checks every header before tarfile acts on it."""

    @classmethod
    def fromtarfile(cls, archive: tarfile.TarFile) -> tarfile.TarInfo:
        assert isinstance(archive, _Archive) and archive.fileobj is not None
        f = archive.fileobj
        at = f.tell()
        head = cls.frombuf(f.read(tarfile.BLOCKSIZE), archive.encoding,
                           archive.errors)
        _check_header(head, archive.chain)
        if head.type in _PAX:
            _check_pax(f.read(head.size))
        f.seek(at)
        archive.chain += 1
        try:
            return super().fromtarfile(archive)
        finally:
            archive.chain -= 1


class _Archive(tarfile.TarFile):
    """tarfile reading through _Header; chain counts the extended headers
    read in a row (tarfile reads each by recursing)."""
    tarinfo = _Header
    chain = 0


def _check_header(head: tarfile.TarInfo, chain: int) -> None:
    """Refuse a header whose claims would cost memory, stack or time."""
    extended = head.type in _LONG_NAMES or head.type in _PAX
    if head.size < 0:
        raise tarfile.ReadError(f"{head.name}: negative size")
    if extended and chain >= MAX_EXT_CHAIN:
        raise Rejected(f"more than {MAX_EXT_CHAIN} extended headers in a "
                       "row: not a hand-in")
    if head.type in _LONG_NAMES and head.size > MAX_NAME + 1:
        raise Rejected(f"a member name longer than {MAX_NAME} bytes")
    if head.type in _PAX and head.size > MAX_EXT_HEADER:
        raise Rejected(f"an extended header of more than "
                       f"{MAX_EXT_HEADER >> 10} KiB")
    if head.type == tarfile.GNUTYPE_SPARSE:
        raise Rejected(f"{shown(head.name)} is a sparse file: only regular "
                       "files are accepted")
    if head.size > MAX_UNCOMPRESSED:
        raise Rejected(f"{shown(head.name)}: a member of more than "
                       f"{MAX_UNCOMPRESSED >> 20} MiB")


def _check_pax(records: bytes) -> None:
    """A pax header must be whole "LEN KEY=VALUE\n" records, end to end."""
    if _LONG_NUMBER.search(records):
        raise Rejected("a pax header with a number of more than 20 digits")
    pos = 0
    while pos < len(records):
        m = _PAX_RECORD.match(records, pos)
        end = pos + int(m.group(1)) if m else 0
        if m is None or end > len(records) or m.end() >= end or \
                records[end - 1] != 0x0A:
            raise Rejected("a malformed pax header")
        if m.group(2).startswith(b"GNU.sparse."):
            raise Rejected("a sparse file: only regular files are accepted")
        pos = end


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
    if len(m.name.encode("utf-8", "surrogateescape")) > MAX_NAME:
        raise Rejected(f"a member name longer than {MAX_NAME} bytes")
    kind = ("a symlink" if m.issym() else "a hard link" if m.islnk()
            else "a device" if m.ischr() or m.isblk()
            else "a fifo" if m.isfifo()
            else "a sparse file" if m.issparse()
            else None if m.isreg() or m.isdir() else "not a regular file")
    if kind is not None:
        raise Rejected(f"{shown(m.name)} is {kind}: only regular files are "
                       "accepted")


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
        raise Rejected(f"{shown(name)}: absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise Rejected(f"{shown(name)}: path with a '..' component")
    return "/".join(parts)


# -- directories -------------------------------------------------------------

def _dir_entries(root: Path) -> list[Entry]:
    """Every entry under root, walked with a list rather than recursion,
    stopping at the first entry over the limits."""
    entries: list[Entry] = []
    total = 0
    pending = [root]
    while pending:
        for path in _listdir(root, pending.pop()):
            if len(entries) >= MAX_MEMBERS:
                raise Rejected(f"{shown(root.name)}: more than {MAX_MEMBERS} "
                               "files and directories")
            entry = _dir_entry(root, path)
            total += len(entry.data)
            if total > MAX_UNCOMPRESSED:
                raise Rejected(f"{shown(root.name)}: more than "
                               f"{MAX_UNCOMPRESSED >> 20} MiB of files")
            entries.append(entry)
            if entry.is_dir:
                pending.append(path)
    return entries


def _listdir(root: Path, directory: Path) -> list[Path]:
    """directory's entries, sorted; at most MAX_MEMBERS + 1 are read."""
    names = []
    try:
        with os.scandir(directory) as it:
            for e in it:
                names.append(e.name)
                if len(names) > MAX_MEMBERS:
                    break
    except OSError as e:
        rel = directory.relative_to(root).as_posix()
        raise Rejected(f"{shown(rel if rel != '.' else root.name)}: "
                       f"{_reason(e)}") from None
    return [directory / n for n in sorted(names)]


def _dir_entry(root: Path, path: Path) -> Entry:
    rel = path.relative_to(root).as_posix()
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            raise Rejected(f"{shown(rel)} is a symlink: only regular files "
                           "are accepted")
        if stat.S_ISDIR(st.st_mode):
            return Entry(rel, True)
        if not stat.S_ISREG(st.st_mode):
            raise Rejected(f"{shown(rel)} is not a regular file")
        with _open_regular(path, rel, os.O_NOFOLLOW) as f:
            if os.fstat(f.fileno()).st_nlink > 1:
                raise Rejected(f"{shown(rel)} is a hard link: only regular "
                               "files are accepted")
            data = f.read(MAX_UNCOMPRESSED + 1)
    except OSError as e:
        raise Rejected(f"{shown(rel)}: {_reason(e)}") from None
    if len(data) > MAX_UNCOMPRESSED:
        raise Rejected(f"{shown(rel)}: larger than "
                       f"{MAX_UNCOMPRESSED >> 20} MiB")
    return Entry(rel, False, data)


def _open_regular(path: Path, shown_as: str, flags: int = 0) -> IO[bytes]:
    """path opened for reading, without blocking (a fifo) or taking a
    terminal; Rejected unless what was opened is a regular file."""
    fd = os.open(path, READ_FLAGS | flags)
    f = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        f.close()
        raise Rejected(f"{shown(shown_as)} is not a regular file")
    return f


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


def _loose(entries: list[Entry],
           student_files: tuple[str, ...]) -> list[Entry]:
    """Files uploaded one by one (Gradescope's drag and drop keeps only
    the name: buddy.c, not kern/mm/buddy.c): a top-level file named as
    exactly one student file's last component stands for that file."""
    base: dict[str, list[str]] = {}
    for f in student_files:
        base.setdefault(f.rsplit("/", 1)[-1], []).append(f)
    out = []
    for e in entries:
        full = base.get(e.name, [])
        if (not e.is_dir and "/" not in e.name and e.name not in
                student_files and len(full) == 1):
            e = Entry(full[0], False, e.data)
        out.append(e)
    return out


def _select(entries: list[Entry],
            student_files: tuple[str, ...]) -> dict[str, bytes]:
    wanted = set(student_files)
    parents = {"/".join(f.split("/")[:i]) for f in student_files
               for i in range(1, f.count("/") + 1)}
    files: dict[str, bytes] = {}
    for e in entries:
        if e.name in files:
            raise Rejected(f"{shown(e.name)} appears twice")
        if e.is_dir and e.name in parents:
            continue
        if e.is_dir or e.name not in wanted:
            raise Rejected(f"unexpected {'directory' if e.is_dir else 'file'} "
                           f"{shown(e.name)}: hand in only the lab's student "
                           "files "
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
