"""The hand-in tarball: exactly the lab's student files, byte-reproducible.

Layout: labN-NAME-handin.tar.gz holds labN-NAME-handin/<student file> for
each student file, sorted, as plain ustar members with mtime 0, uid/gid 0,
no user or group names and mode 0644; the gzip header has mtime 0 and no
file name. The same files always give the same bytes, and submission.read()
accepts exactly this layout (and the same files without the top directory).
"""

from __future__ import annotations

import gzip
import io
import re
import tarfile
from pathlib import Path

from . import GraderError
from .spec import Lab


def handin_name(lab: Lab) -> str:
    """The top directory inside the tarball, and the tarball's stem."""
    return f"{lab.dirname}-handin"


def collect(tree: Path, lab: Lab) -> dict[str, bytes]:
    """Read the student files from tree; refuse one that is missing."""
    files: dict[str, bytes] = {}
    for rel in sorted(lab.student_files):
        path = tree / rel
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise GraderError(f"{rel}: not a regular file; a hand-in holds "
                              "only regular files")
        if not path.is_file():
            raise GraderError(f"missing student file {rel} (create it, even "
                              "if empty, then hand in again)")
        files[rel] = path.read_bytes()
    return files


def tarball(top: str, files: dict[str, bytes]) -> bytes:
    """A deterministic .tar.gz with files under top/."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for rel in sorted(files):
            info = tarfile.TarInfo(f"{top}/{rel}")
            info.size = len(files[rel])
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tf.addfile(info, io.BytesIO(files[rel]))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


QUESTION = re.compile(r"^([0-9]+)\.\s")
ANSWER = re.compile(r"^Answer:\s*(.*)$")


def unanswered(text: str) -> list[int]:
    """The questions of an answers-labN.txt whose "Answer:" has nothing
    under it before the next question: the template's, left as it was."""
    out: list[int] = []
    question = None
    answer: list[str] | None = None
    for line in text.splitlines() + ["0. end"]:
        q = QUESTION.match(line)
        if q:
            if question is not None and answer is not None and \
                    not "".join(answer).strip():
                out.append(question)
            question, answer = int(q.group(1)), None
            continue
        a = ANSWER.match(line)
        if a and question is not None:
            answer = [a.group(1)]
        elif answer is not None:
            answer.append(line)
    return out


def warnings(files: dict[str, bytes]) -> list[str]:
    """What a hand-in probably lacks: unanswered questions."""
    out = []
    for rel, data in sorted(files.items()):
        if not re.fullmatch(r"answers-lab[0-9]+\.txt", rel):
            continue
        missing = unanswered(data.decode("utf-8", "replace"))
        if missing:
            nums = ", ".join(map(str, missing))
            out.append(f"{rel}: question{'s' if len(missing) > 1 else ''} "
                       f"{nums} still without an answer")
    return out


def write(tree: Path, lab: Lab, out: Path | None) -> Path:
    """Write the hand-in for tree; the default name sits in the tree."""
    dest = out if out is not None else tree / f"{handin_name(lab)}.tar.gz"
    data = tarball(handin_name(lab), collect(tree, lab))
    tmp = dest.with_name(dest.name + ".tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(dest)
    except OSError as e:
        raise GraderError(f"cannot write {dest}: {e.strerror}") from None
    return dest
