"""Fuzzing the two readers of untrusted input: the archive reader and the
KTAP parser, on random and mutated inputs from fixed seeds.

The archive reader may only return the student files or raise Rejected;
the parser may never raise. Neither may take long on any case: each case
is timed, and the whole run happens in a forked child with a time limit,
so a case that backtracks fails the test instead of hanging it.
"""

from __future__ import annotations

import bz2
import gzip
import io
import random
import shutil
import tarfile
import tempfile
import time
import traceback
import unittest
from pathlib import Path

from tests.support import LOGS, call_forked
from vmgrade import GraderError, handin, ktap, submission

FILES = ("answers-lab3.txt", "kern/mm/buddy.c")
GOOD = {"answers-lab3.txt": b"1. because\n", "kern/mm/buddy.c": b"int x;\n"}
CASES = 300
CASE_BOUND_S = 10.0     # what one case may take; most take milliseconds,
                        # a quadratic or unbounded reader takes far longer
RUN_BOUND_S = 300.0      # what the whole run may take before it is killed
TYPES = b"0123456789LKxgSAXDMNV\0"


def seed_archives() -> list[bytes]:
    """Uncompressed tar streams to mutate: what tar programs write."""
    out = []
    for fmt in (tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT,
                tarfile.PAX_FORMAT):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
            for rel, data in GOOD.items():
                top = "h/" if fmt == tarfile.USTAR_FORMAT else "h" * 120 + "/"
                info = tarfile.TarInfo(top + rel)
                info.size = len(data)
                info.pax_headers = {"comment": "x" * 40}
                tf.addfile(info, io.BytesIO(data))
        out.append(buf.getvalue())
    out.append(gzip.decompress(handin.tarball("lab3-buddy-handin", GOOD)))
    return out


def mutate_archive(rng: random.Random, tar: bytes) -> bytes:
    """One random change to a tar stream, then maybe a compression."""
    data = bytearray(tar)
    kind = rng.randrange(7)
    if kind == 0:                       # flip bytes, mostly in headers
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(len(data)) if rng.random() < 0.3 else \
                rng.randrange(0, len(data), 512) + rng.randrange(512)
            data[min(at, len(data) - 1)] = rng.randrange(256)
    elif kind == 1:                     # change a type flag
        at = rng.randrange(0, len(data), 512) + 156
        if at < len(data):
            data[at] = rng.choice(TYPES)
    elif kind == 2:                     # claim another size
        at = rng.randrange(0, len(data), 512) + 124
        size = rng.choice([0, 1, 511, 1 << 20, 1 << 33, 1 << 40, -1])
        field = (b"%011o\0" % size if 0 <= size < 8 ** 11 else
                 b"\x80" + (size % (1 << 88)).to_bytes(11, "big") if size > 0
                 else b"\xff" * 12)
        data[at:at + 12] = field
    elif kind == 3:                     # truncate
        del data[rng.randrange(len(data)):]
    elif kind == 4:                     # repeat a block many times
        at = rng.randrange(0, len(data), 512)
        data[at:at] = bytes(data[at:at + 512]) * rng.randint(2, 400)
    elif kind == 5:                     # extended headers in front
        data[0:0] = b"".join(extended_header(rng)
                             for _ in range(rng.choice([1, 2, 9, 300])))
    else:                               # random bytes
        data = bytearray(rng.randbytes(rng.randrange(1, 4096)))
    return _compress(rng, bytes(data))


def extended_header(rng: random.Random) -> bytes:
    """A GNU long name or a pax header, well-formed or not, whose size
    field may lie."""
    kind = rng.choice([tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK,
                       tarfile.XHDTYPE, tarfile.XGLTYPE])
    if kind in (tarfile.XHDTYPE, tarfile.XGLTYPE):
        value = rng.choice([b"x", b"7" * rng.randrange(1, 3000),
                            rng.randbytes(rng.randrange(200))])
        key = rng.choice([b"path", b"size", b"hdrcharset", b"comment",
                          b"GNU.sparse.map", b"mtime"])
        body = b" " + key + b"=" + value + b"\n"
        n = len(body) + len(str(len(body) + 3))
        body = (str(n).encode() if rng.random() < 0.8 else
                str(rng.randrange(1, 99999)).encode()) + body
    else:
        body = rng.choice([b"x\0", b"d/" * rng.randrange(1, 2000),
                           rng.randbytes(rng.randrange(100))])
    info = tarfile.TarInfo("././@LongLink")
    info.type = kind
    info.size = rng.choice([len(body), len(body), 1 << 40, 0])
    head = info.tobuf(tarfile.GNU_FORMAT)
    return head + body + b"\0" * (-len(body) % 512)


def _compress(rng: random.Random, data: bytes) -> bytes:
    how = rng.randrange(4)
    if how == 0:
        return gzip.compress(data)
    if how == 1:
        return bz2.compress(data)
    if how == 2:                        # a corrupted gzip stream
        z = bytearray(gzip.compress(data))
        z[rng.randrange(len(z))] ^= 1 << rng.randrange(8)
        return bytes(z)
    return data


def fuzz_archives(seed: int) -> tuple[float, str]:
    """The slowest case's seconds, and the first failure ('' if none)."""
    rng = random.Random(seed)
    seeds = seed_archives()
    tmp = Path(tempfile.mkdtemp(prefix="vmlab-test-fuzz-"))
    worst = 0.0
    try:
        for i in range(CASES):
            data = mutate_archive(rng, rng.choice(seeds))
            path = tmp / "s.tar.gz"
            path.write_bytes(data)
            t0 = time.perf_counter()
            try:
                got = submission.read(path, FILES)
                if set(got) != set(FILES):
                    return worst, f"case {i}: accepted {sorted(got)}"
            except GraderError:
                pass
            except Exception:
                keep = tmp.parent / f"vmlab-fuzz-case-{seed}-{i}.bin"
                keep.write_bytes(data)
                return worst, f"case {i} (kept in {keep}): " + \
                    traceback.format_exc()
            worst = max(worst, time.perf_counter() - t0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return worst, ""


KTAP_LINES = [
    "KTAP version 1", "TAP version 14", "1..{n}", "ok {n} {w}",
    "not ok {n} {w}", "ok {n} {w} # SKIP {w}", "not ok {n} {w} # TODO",
    "# Subtest: {w}", "# RUN {w}.{w}", "# {w}.c:{n}: EXPECT_EQ failed",
    "panic[cpu{n}]: {w}", "    [<ffffffff8010{n}>] {w}+0x1c",
    "# vmlab: tests done", "{w}", "", "#", "ok", "1..", "[<", "panic[cpu",
]
WORDS = ["boot", "trap", "a", "printf_formats", "#", "ok 1", "# SKIP",
         "\x1b[2J", "\ufffd", "\t", "\r", "  ", "1" * 50, "$(x)"]


def random_log(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randrange(1, 400)):
        line = rng.choice(KTAP_LINES).format(
            n=rng.choice([0, 1, 2, 7, 99999999999]), w=rng.choice(WORDS))
        indent = " " * rng.choice([0, 0, 4, 8, 2, 3]) + \
            "\t" * rng.randrange(2)
        glue = rng.choice(WORDS) if rng.random() < 0.1 else ""
        lines.append(indent + glue + line)
        if rng.random() < 0.02:         # a long line of one repeated token
            lines.append(rng.choice(KTAP_LINES[:8]).format(n=1, w="x") +
                         rng.choice([" ", "#", "1", "# ", "\t"]) *
                         rng.randrange(1000, 20000) + "b")
    return rng.choice(["\n", "\r\n"]).join(lines)


def mutate_log(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    for _ in range(rng.randint(1, 10)):
        i = rng.randrange(len(lines))
        op = rng.randrange(4)
        if op == 0:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif op == 1:
            del lines[i]
            lines = lines or [""]
        elif op == 2:
            line = lines[i]
            at = rng.randrange(len(line) + 1)
            lines[i] = line[:at] + rng.choice(WORDS) + line[at:]
        else:
            lines[i] = rng.randbytes(rng.randrange(80)).decode(
                "utf-8", "replace")
    return "\n".join(lines)


def fuzz_ktap(seed: int) -> tuple[float, str]:
    """The slowest case's seconds, and the first failure ('' if none)."""
    rng = random.Random(seed)
    recorded = [ktap.decode(p.read_bytes()) for p in sorted(LOGS.glob("*"))]
    worst = 0.0
    for i in range(CASES):
        text = (random_log(rng) if i % 2 else
                mutate_log(rng, rng.choice(recorded)))
        t0 = time.perf_counter()
        try:
            ktap.parse(text)
        except Exception:
            return worst, f"case {i}: {traceback.format_exc()}"
        worst = max(worst, time.perf_counter() - t0)
    return worst, ""


class Fuzz(unittest.TestCase):
    def check(self, fuzz: object, seed: int) -> None:
        got = call_forked(fuzz, seed, RUN_BOUND_S)    # type: ignore[arg-type]
        self.assertIsNotNone(got, f"seed {seed}: the run took more than "
                             f"{RUN_BOUND_S} s")
        assert got is not None
        worst, failure = got[1]
        self.assertEqual(failure, "", f"seed {seed}")
        self.assertLess(worst, CASE_BOUND_S, f"seed {seed}: a case took "
                        f"{worst:.2f} s")

    def test_the_archive_reader_only_accepts_or_rejects(self) -> None:
        # Bug: any exception but Rejected is a traceback for the grader.
        self.check(fuzz_archives, 11)

    def test_the_ktap_parser_never_raises_and_stays_fast(self) -> None:
        self.check(fuzz_ktap, 11)


if __name__ == "__main__":
    unittest.main()
