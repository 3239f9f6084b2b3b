"""Submissions and hand-ins: every rejection, on archives built here.

Each test names the hole it would catch.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
import tempfile
import unittest
from pathlib import Path

from vmgrade import GraderError, handin, submission
from vmgrade.spec import Lab
from vmgrade.submission import Rejected

FILES = ("answers-lab3.txt", "kern/mm/buddy.c")
GOOD = {"answers-lab3.txt": b"1. because\n", "kern/mm/buddy.c": b"int x;\n"}
LAB = Lab(3, "buddy", "Buddy", 1, "128M", FILES)


def member(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE,
           link: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.linkname = link
    return info, data


def archive(members: list[tuple[tarfile.TarInfo, bytes]],
            mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buf.getvalue()


def good_members(prefix: str = "") -> list[tuple[tarfile.TarInfo, bytes]]:
    return [member(prefix + k, v) for k, v in GOOD.items()]


class Base(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="vmlab-test-sub-"))

    def tearDown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, data: bytes, name: str = "sub.tar.gz") -> Path:
        path = self.tmp / name
        path.write_bytes(data)
        return path

    def rejects(self, data: bytes, *words: str, name: str = "s.tar.gz") -> None:
        with self.assertRaises(Rejected) as cm:
            submission.read(self.write(data, name), FILES)
        message = str(cm.exception)
        self.assertNotIn("\n", message)
        for w in words:
            self.assertIn(w, message)


class Accepts(Base):
    def test_the_handin_tarball(self) -> None:
        data = handin.tarball("lab3-buddy-handin", GOOD)
        self.assertEqual(submission.read(self.write(data), FILES), GOOD)

    def test_files_without_a_top_directory_and_with_dot_slash(self) -> None:
        data = archive(good_members("./"), "w")
        self.assertEqual(submission.read(self.write(data, "s.tar"), FILES),
                         GOOD)

    def test_any_single_top_directory_with_directory_members(self) -> None:
        members = [member("renamed", kind=tarfile.DIRTYPE),
                   member("renamed/kern", kind=tarfile.DIRTYPE),
                   member("renamed/kern/mm", kind=tarfile.DIRTYPE)]
        data = archive(members + good_members("renamed/"))
        self.assertEqual(submission.read(self.write(data, "s.tgz"), FILES),
                         GOOD)

    def test_a_directory(self) -> None:
        for rel, data in GOOD.items():
            (self.tmp / "d" / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.tmp / "d" / rel).write_bytes(data)
        self.assertEqual(submission.read(self.tmp / "d", FILES), GOOD)


class RejectsArchives(Base):
    def test_missing_student_file(self) -> None:
        self.rejects(archive(good_members()[:1]), "missing student file",
                     "kern/mm/buddy.c")

    def test_extra_file_is_named(self) -> None:
        self.rejects(archive(good_members() + [member("Makefile", b"x")]),
                     "unexpected file Makefile")

    def test_extra_file_under_the_handin_directory(self) -> None:
        self.rejects(archive(good_members("h/") + [member("h/grader/x")]),
                     "unexpected file grader/x")

    def test_absolute_path(self) -> None:
        self.rejects(archive([member("/etc/passwd", b"x")]), "absolute")

    def test_dot_dot_component(self) -> None:
        self.rejects(archive(good_members() +
                             [member("kern/../../evil", b"x")]), "'..'")

    def test_symlink(self) -> None:
        self.rejects(archive([member("kern/mm/buddy.c", kind=tarfile.SYMTYPE,
                                     link="/etc/passwd")]), "symlink")

    def test_hard_link(self) -> None:
        self.rejects(archive(good_members()[:1] + [
            member("kern/mm/buddy.c", kind=tarfile.LNKTYPE,
                   link="answers-lab3.txt")]), "hard link")

    def test_device_and_fifo(self) -> None:
        self.rejects(archive([member("dev", kind=tarfile.CHRTYPE)]), "device")
        self.rejects(archive([member("pipe", kind=tarfile.FIFOTYPE)]), "fifo")

    def test_duplicate_member(self) -> None:
        self.rejects(archive(good_members() + good_members()[:1]), "twice")

    def test_too_big_on_disk(self) -> None:
        path = self.tmp / "big.tar.gz"
        with open(path, "wb") as f:
            f.truncate(submission.MAX_COMPRESSED + 1)
        with self.assertRaises(Rejected) as cm:
            submission.read(path, FILES)
        self.assertIn("larger than 16 MiB", str(cm.exception))

    def test_too_big_unpacked(self) -> None:
        # Only the header: the size check must come before reading data.
        info = tarfile.TarInfo("answers-lab3.txt")
        info.size = submission.MAX_UNCOMPRESSED + 1
        self.rejects(gzip.compress(info.tobuf(tarfile.USTAR_FORMAT)),
                     "more than 64 MiB")

    def test_too_many_members(self) -> None:
        many = [member(f"f{i}", kind=tarfile.DIRTYPE)
                for i in range(submission.MAX_MEMBERS + 1)]
        self.rejects(archive(many), "more than 1000 members")

    def test_corrupt(self) -> None:
        self.rejects(os.urandom(4096), "corrupt or truncated")

    def test_truncated(self) -> None:
        whole = archive(good_members() + [member("pad", os.urandom(30000))])
        self.rejects(whole[:len(whole) // 2], "corrupt or truncated")

    def test_truncated_plain_tar_inside_a_member(self) -> None:
        whole = archive([member("answers-lab3.txt", b"x" * 5000)], "w")
        self.rejects(whole[:2048], "corrupt or truncated", name="s.tar")

    def test_missing_path(self) -> None:
        with self.assertRaises(Rejected):
            submission.read(self.tmp / "nothing.tar.gz", FILES)


class RejectsDirectories(Base):
    def make(self) -> Path:
        root = self.tmp / "d"
        for rel, data in GOOD.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        return root

    def rejects_dir(self, root: Path, *words: str) -> None:
        with self.assertRaises(Rejected) as cm:
            submission.read(root, FILES)
        for w in words:
            self.assertIn(w, str(cm.exception))

    def test_symlink_in_a_directory(self) -> None:
        root = self.make()
        (root / "kern/mm/buddy.c").unlink()
        (root / "kern/mm/buddy.c").symlink_to("/etc/passwd")
        self.rejects_dir(root, "symlink")

    def test_hard_link_in_a_directory(self) -> None:
        root = self.make()
        os.link(root / "answers-lab3.txt", self.tmp / "other")
        self.rejects_dir(root, "hard link")

    def test_fifo_in_a_directory(self) -> None:
        root = self.make()
        os.mkfifo(root / "pipe")
        self.rejects_dir(root, "pipe", "not a regular file")

    def test_extra_file_in_a_directory(self) -> None:
        root = self.make()
        (root / "notes.txt").write_text("x")
        self.rejects_dir(root, "unexpected file notes.txt")


class Handin(Base):
    def tree(self) -> Path:
        root = self.tmp / "tree"
        for rel, data in GOOD.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        return root

    def test_deterministic_and_exact(self) -> None:
        # Bug: timestamps or owners make two hand-ins differ; extra files.
        root = self.tree()
        (root / "Makefile").write_text("not a student file")
        first = handin.write(root, LAB, None)
        data = first.read_bytes()
        os.utime(root / "answers-lab3.txt", (1e9, 1e9))
        self.assertEqual(handin.write(root, LAB, self.tmp / "b.tgz")
                         .read_bytes(), data)
        self.assertEqual(first.name, "lab3-buddy-handin.tar.gz")
        with tarfile.open(first) as tf:
            infos = tf.getmembers()
        self.assertEqual([i.name for i in infos],
                         ["lab3-buddy-handin/answers-lab3.txt",
                          "lab3-buddy-handin/kern/mm/buddy.c"])
        for i in infos:
            self.assertEqual((i.mtime, i.uid, i.gid, i.uname, i.mode),
                             (0, 0, 0, "", 0o644))
        self.assertEqual(data[4:8], b"\0\0\0\0")    # gzip mtime

    def test_refuses_a_missing_student_file(self) -> None:
        root = self.tree()
        (root / "kern/mm/buddy.c").unlink()
        with self.assertRaises(GraderError) as cm:
            handin.write(root, LAB, None)
        self.assertIn("missing student file kern/mm/buddy.c",
                      str(cm.exception))


class Overlay(Base):
    def test_only_student_files_replace_the_tree(self) -> None:
        src = self.tmp / "src"
        (src / "kern/mm").mkdir(parents=True)
        (src / "kern/mm/buddy.c").write_text("stub")
        (src / "Makefile").write_text("pristine")
        (src / ".git").mkdir()
        dest = submission.overlay(src, GOOD, self.tmp / "dest")
        self.assertEqual((dest / "kern/mm/buddy.c").read_bytes(),
                         GOOD["kern/mm/buddy.c"])
        self.assertEqual((dest / "Makefile").read_text(), "pristine")
        self.assertFalse((dest / ".git").exists())
        self.assertEqual((src / "kern/mm/buddy.c").read_text(), "stub")

    def test_never_writes_through_a_symlinked_directory(self) -> None:
        src = self.tmp / "src"
        src.mkdir()
        (self.tmp / "outside").mkdir()
        (src / "kern").symlink_to(self.tmp / "outside")
        with self.assertRaises(GraderError):
            submission.overlay(src, GOOD, self.tmp / "dest")
        self.assertEqual(list((self.tmp / "outside").iterdir()), [])


if __name__ == "__main__":
    unittest.main()
