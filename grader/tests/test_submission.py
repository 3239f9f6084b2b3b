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

from tests.support import call_unprivileged, run_forked
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


    def test_loose_files_uploaded_one_by_one(self) -> None:
        # Bug: Gradescope's drag and drop drops the directories, and a
        # correct submission of buddy.c and the answers was refused.
        d = self.tmp / "loose"
        d.mkdir()
        (d / "buddy.c").write_bytes(GOOD["kern/mm/buddy.c"])
        (d / "answers-lab3.txt").write_bytes(GOOD["answers-lab3.txt"])
        self.assertEqual(submission.read(d, FILES), GOOD)

    def test_a_loose_file_and_its_full_path_are_two(self) -> None:
        # Bug: two copies of one student file, one silently preferred.
        self.rejects(archive(good_members() + [member("buddy.c", b"y")]),
                     "kern/mm/buddy.c appears twice")


class BuildFailureRow(unittest.TestCase):
    def test_the_csv_gets_the_first_error_line(self) -> None:
        # Bug: a class CSV that says only "build-failed", so the
        # instructor opens every log to see why.
        from vmgrade import batch
        tail = ["  CC kern/mm/buddy.c",
                "kern/mm/buddy.c:12:5: error: expected ';' before '}'",
                "kern/mm/buddy.c:40:1: error: unknown type name 'pgae_t'",
                "make: *** [Makefile:78: build/buddy.o] Error 1"]
        self.assertEqual(batch.first_error(tail), tail[1])
        self.assertEqual(batch.first_error(["ld: kernel.elf: undefined "
                                            "reference to `zone_of'"]),
                         "ld: kernel.elf: undefined reference to `zone_of'")
        self.assertEqual(batch.first_error(["something odd"]), "something odd")
        self.assertEqual(batch.first_error([]), "the kernel did not build")


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


def raw_header(name: str, kind: bytes, size: int) -> bytes:
    """One 512-byte header claiming `size` bytes of data (base-256 when it
    does not fit in octal, as GNU tar writes it), with no data after it."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size
    return info.tobuf(tarfile.GNU_FORMAT)


def padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 512)


def long_name(name: bytes) -> bytes:
    """A GNU 'L' header and its data: the next member's name."""
    return raw_header("././@LongLink", tarfile.GNUTYPE_LONGNAME,
                      len(name) + 1) + padded(name + b"\0")


def pax(records: bytes, kind: bytes = tarfile.XHDTYPE) -> bytes:
    return raw_header("pax", kind, len(records)) + padded(records)


def pax_record(key: str, value: bytes) -> bytes:
    body = f" {key}=".encode() + value + b"\n"
    n = len(body) + 1
    while len(str(n)) + len(body) != n:
        n += 1
    return str(n).encode() + body


class HostileHeaders(Base):
    """Headers built to exhaust memory, the stack or time: each is refused
    in one line, quickly, before its claims are believed."""

    def test_a_long_name_header_claiming_a_terabyte(self) -> None:
        # Bug: tarfile read the 1 TiB the 'L' header claimed: MemoryError.
        data = gzip.compress(raw_header("././@LongLink",
                                        tarfile.GNUTYPE_LONGNAME, 1 << 40))
        self.assertLess(len(data), 200)
        self.rejects(data, "name longer than")

    def test_thousands_of_chained_long_name_headers(self) -> None:
        # Bug: each 'L' header recursed into the next: RecursionError.
        chain = long_name(b"x") * 5000
        data = gzip.compress(chain + padded(GOOD["answers-lab3.txt"]))
        self.rejects(data, "extended headers in a row")

    def test_a_pax_header_claiming_a_terabyte(self) -> None:
        self.rejects(gzip.compress(raw_header("pax", tarfile.XHDTYPE,
                                              1 << 40)), "extended header")

    def test_a_member_claiming_a_terabyte(self) -> None:
        self.rejects(gzip.compress(raw_header("answers-lab3.txt",
                                              tarfile.REGTYPE, 1 << 40)),
                     "more than 64 MiB")

    def test_a_very_long_member_name(self) -> None:
        name = b"d/" * 2000 + b"f"
        self.rejects(gzip.compress(long_name(name) +
                                   raw_header("x", tarfile.REGTYPE, 0)),
                     "name longer than")
        data = gzip.compress(pax(pax_record("path", name)) +
                             raw_header("x", tarfile.REGTYPE, 0))
        self.rejects(data, "name longer than")

    def test_a_pax_header_of_digits_is_refused_in_linear_time(self) -> None:
        # Bug: Python 3.11's tarfile searches a pax header for
        # "\d+ hdrcharset=" from every digit: 60 KB of digits took minutes.
        data = gzip.compress(pax(pax_record("comment", b"7" * 60000)) +
                             raw_header("x", tarfile.REGTYPE, 0))
        path = self.write(data)
        seconds = run_forked(lambda p: self.assertRaises(
            Rejected, submission.read, p, FILES), path, 5.0)
        self.assertIsNotNone(seconds, "reading took more than 5 s")

    def test_a_malformed_pax_header(self) -> None:
        for records in (b"9 path=x", b"99 path=x\n", b"3 a\n",
                        b"x path=y\n"):
            with self.subTest(records=records):
                self.rejects(gzip.compress(pax(records) + raw_header(
                    "x", tarfile.REGTYPE, 0)), "pax header")

    def test_a_sparse_member(self) -> None:
        self.rejects(gzip.compress(raw_header(
            "answers-lab3.txt", tarfile.GNUTYPE_SPARSE, 10)), "sparse")
        self.rejects(gzip.compress(pax(pax_record(
            "GNU.sparse.map", b"0,10")) + raw_header(
                "answers-lab3.txt", tarfile.REGTYPE, 0)), "sparse")

    def test_a_gzip_bomb_stops_at_the_limit(self) -> None:
        # Bug: decompressing everything before checking any size. (A gzip
        # stream may be many members end to end: one megabyte of zeros,
        # compressed once and repeated.)
        megabyte = gzip.compress(bytes(1 << 20))
        self.rejects(megabyte * ((submission.MAX_STREAM >> 20) + 2),
                     "unpacks to more than")

    def test_a_zip_archive(self) -> None:
        self.rejects(b"PK\x03\x04" + bytes(100), "a zip archive",
                     name="s.zip")

    def test_pax_headers_from_bsdtar_are_accepted(self) -> None:
        # What macOS tar writes: a pax header of xattrs before each file.
        xattrs = pax_record("LIBARCHIVE.xattr.com.apple.provenance",
                            b"AQAAAAAAAAA=") + pax_record("mtime",
                                                          b"1700000000.5")
        members = b"".join(pax(xattrs) + info.tobuf(tarfile.USTAR_FORMAT) +
                           padded(data) for info, data in good_members())
        data = gzip.compress(members + b"\0" * 1024)
        self.assertEqual(submission.read(self.write(data), FILES), GOOD)


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

    def unreadable(self, path: Path, root: Path) -> tuple[str, str]:
        """Read root as a user who cannot read path (made mode 000)."""
        for d in [self.tmp, *path.relative_to(self.tmp).parents]:
            (self.tmp / d).chmod(0o755)
        path.chmod(0)
        return call_unprivileged(submission.read, root, FILES)

    def test_a_file_the_grader_may_not_read(self) -> None:
        # Bug: a mode-000 file, graded by a user who is not root, raised
        # PermissionError out of the grader: a traceback.
        root = self.make()
        kind, message = self.unreadable(root / "kern/mm/buddy.c", root)
        self.assertEqual(kind, "Rejected", message)
        self.assertIn("kern/mm/buddy.c: cannot be read (Permission denied)",
                      message)

    def test_a_directory_the_grader_may_not_list(self) -> None:
        # Bug: os.walk skipped an unreadable directory without a word, so
        # its files were reported missing.
        root = self.make()
        kind, message = self.unreadable(root / "kern/mm", root)
        self.assertEqual(kind, "Rejected", message)
        self.assertIn("kern/mm: cannot be read", message)

    def test_an_unreadable_archive_is_not_called_corrupt(self) -> None:
        path = self.write(handin.tarball("h", GOOD))
        kind, message = self.unreadable(path, path)
        self.assertEqual(kind, "Rejected", message)
        self.assertIn("cannot be read (Permission denied)", message)

    def test_a_fifo_named_like_a_student_file(self) -> None:
        # Bug: a fifo where a file should be blocks the reader forever.
        root = self.make()
        (root / "kern/mm/buddy.c").unlink()
        os.mkfifo(root / "kern/mm/buddy.c")
        self.rejects_dir(root, "kern/mm/buddy.c", "not a regular file")

    def test_directories_nested_thousands_deep(self) -> None:
        # Bug: a recursive walk hits the recursion limit.
        shm = Path("/dev/shm")      # 1200 rmdirs take seconds on a disk
        root = Path(tempfile.mkdtemp(prefix="vmlab-test-sub-", dir=shm if
                                     os.access(shm, os.W_OK) else self.tmp))
        self.addCleanup(shutil.rmtree, root, True)
        for rel, data in GOOD.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        fd = _nest(os.open(root, os.O_RDONLY), 1200)
        try:
            self.rejects_dir(root, "more than 1000")
        finally:
            _unnest(fd, 1200)

    def test_extra_file_in_a_directory(self) -> None:
        root = self.make()
        (root / "notes.txt").write_text("x")
        self.rejects_dir(root, "unexpected file notes.txt")


def _nest(fd: int, depth: int) -> int:
    """depth directories "d" inside one another under the directory fd;
    the deepest, open. Through fds, as a path this long is slow to resolve
    and pathlib and os.makedirs recurse."""
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        fd, old = os.open("d", os.O_RDONLY, dir_fd=fd), fd
        os.close(old)
    return fd


def _unnest(fd: int, depth: int) -> None:
    """Remove what _nest made, from the deepest up; closes fd."""
    for _ in range(depth):
        fd, old = os.open("..", os.O_RDONLY, dir_fd=fd), fd
        os.close(old)
        os.rmdir("d", dir_fd=fd)
    os.close(fd)


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

    def test_warns_about_the_template_answers(self) -> None:
        # Bug: a student hands in the answers template untouched and
        # learns it from the grade a week later.
        template = ("Lab 3: answers\n\n1. Why XOR?\n\nAnswer:\n\n\n"
                    "2. Why zones?\n\nAnswer:\n\n")
        self.assertEqual(handin.unanswered(template), [1, 2])
        one = template.replace("Answer:\n\n\n2.", "Answer:\nIt flips "
                               "the order bit.\n\n2.")
        self.assertEqual(handin.unanswered(one), [2])
        inline = one.replace("Answer:\n\n", "Answer: zones differ\n", 1)
        self.assertEqual(handin.unanswered(inline), [])
        self.assertEqual(handin.warnings({"answers-lab3.txt":
                                          template.encode()}),
                         ["answers-lab3.txt: questions 1, 2 still without "
                          "an answer"])
        self.assertEqual(handin.warnings({"kern/mm/buddy.c": b"1. x\n"}),
                         [])

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
