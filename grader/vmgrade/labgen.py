"""The lab generator: one reference kernel in, seven student trees out.

solutions/ is the only source. For lab N the generator copies it into
labs/labN-<name>/ and runs the real unifdef over every file that holds a
LAB or SOL marker, with LAB=N (layers 1..N present) and SOL=N-1 (solutions
1..N-1 present, lab N stubbed):

    #if LAB >= 5  ... #endif              gone before lab 5, unmarked from 5 on
    #if SOL >= 3  ... #else stub #endif   the stub in lab 3, the solution after

The spec (solutions/labs.json, read through vmgrade.spec) decides which files
exist in which labs and which are hidden. The tree also gets lab.json (the
spec trimmed to lab N), lab.mk (LAB and SOL for its Makefile), a README for
students and a copy of the grader.

Three rules keep the trees trustworthy:
  1. A marker that survives stripping is a fatal error, so nothing about a
     later lab leaks into a tree.
  2. Each tree is built in a temporary sibling directory and renamed into
     place only when every tree has built, so a failure leaves labs/ as it was.
  3. Files are walked in sorted order and given fixed modes, so two runs give
     byte-identical trees; --check proves labs/ matches solutions/.
  4. A student's work is never lost. Build output (build/, __pycache__/)
     and hand-in tarballs in an existing tree are carried over into the new
     one. A student file that differs from what would be generated, or any
     other file the generator did not write, makes it refuse, naming the
     files, before anything changes; --force overwrites them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from .spec import FileRule, Lab, Spec, SpecError, load

GRADER_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = GRADER_DIR.parent

BUILD_DIRS = frozenset({"build", "__pycache__"})
BUILD_SUFFIXES = (".o", ".d", ".elf", ".a")
BUILD_FILES = frozenset({".gdbport"})
MANIFEST = ".generated"
ASM_SUFFIXES = (".S", ".s")
C_SUFFIXES = (".c", ".h")
SKIPPED = frozenset({"labs.json", "README.md"})  # replaced by generated files
RESERVED = frozenset({"lab.json", "lab.mk"})
GRADER_SCRIPTS = ("grade", "handin", "vmrun", "README.md")
GRADER_PRIVATE = frozenset({"labgen.py", "validate.py", "gdbcheck.py",
                            "autograder.py", "mutants.py",
                            "release.py", "handouts.py", "quotes.py"})
LAB_DIR = re.compile(r"lab[0-9]+-[a-z][a-z0-9]*")

# A preprocessor conditional that mentions LAB or SOL as a whole word.
MARKER = re.compile(
    rb"^[ \t]*#[ \t]*(?:if|ifdef|ifndef|elif)\b[^\n]*\b(?:LAB|SOL)\b", re.M)
# A comparison against LAB or SOL outside any directive: `if (LAB >= 3)`.
MARKER_TOKEN = re.compile(rb"\b(?:LAB|SOL)[ \t]*>=")
UNIFDEF_ERROR = re.compile(r"^unifdef: \[stdin\]: ([0-9]+): (.*)$")
NO_UNIFDEF = ("unifdef not found: install the Debian package unifdef "
              "(or run scripts/deps.sh)")


class GenError(Exception):
    """A problem the user must fix; main() prints it as one line."""


@dataclass(frozen=True)
class Config:
    solutions: Path
    out: Path
    handouts: Path
    grader: Path
    unifdef: str
    hidden: bool = False
    quiet: bool = False
    force: bool = False


@dataclass
class TreeStats:
    written: int = 0
    stripped: int = 0
    dropped: int = 0


@dataclass(frozen=True)
class Entry:
    """One file of a tree as --check compares it."""
    data: bytes
    executable: bool


# ---------------------------------------------------------------- the CLI

class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """Report a usage error on one line and exit 2."""
        print(f"genlabs: {message} (see genlabs --help)", file=sys.stderr)
        sys.exit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="genlabs", description=(
        "Generate the student lab trees labs/labN-<name>/ from solutions/, "
        "stripping LAB/SOL markers with unifdef."))
    p.add_argument("--solutions", metavar="DIR",
                   help="reference tree with labs.json "
                        "(default: REPO/solutions)")
    p.add_argument("--out", metavar="DIR",
                   help="where the lab trees go (default: REPO/labs)")
    p.add_argument("--handouts", metavar="DIR",
                   help="handouts the READMEs link to "
                        "(default: REPO/handouts)")
    p.add_argument("--grader", metavar="DIR",
                   help="grader copied into each tree (default: this grader)")
    p.add_argument("--lab", type=int, metavar="N", help="only lab N")
    p.add_argument("--hidden", action="store_true",
                   help="instructor trees: keep hidden files and tests "
                        "(needs --out)")
    p.add_argument("--check", action="store_true",
                   help="compare with the trees in --out instead of writing; "
                        "exit 1 on any difference")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no summary lines")
    p.add_argument("--force", action="store_true",
                   help="overwrite edited student files and remove files "
                        "the generator did not write (make labs FORCE=1)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of grader/genlabs. Returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except (GenError, SpecError) as e:
        print(f"genlabs: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        print(f"genlabs: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace) -> int:
    cfg = _config(args)
    spec = load(_show(cfg.solutions / "labs.json"))
    labs = sorted(spec.labs) if args.lab is None else [spec.lab(args.lab).lab]
    if args.check:
        return check(cfg, spec, labs)
    generate(cfg, spec, labs)
    return 0


def _config(args: argparse.Namespace) -> Config:
    """Resolve the options into absolute paths and validate them."""
    unifdef = shutil.which("unifdef")
    if unifdef is None:
        raise GenError(NO_UNIFDEF)
    default_out = _abs(REPO_DIR / "labs")
    cfg = Config(
        solutions=_abs(args.solutions or REPO_DIR / "solutions"),
        out=_abs(args.out) if args.out else default_out,
        handouts=_abs(args.handouts or REPO_DIR / "handouts"),
        grader=_abs(args.grader or GRADER_DIR),
        unifdef=unifdef, hidden=args.hidden, quiet=args.quiet,
        force=args.force)
    if not cfg.solutions.is_dir():
        raise GenError(f"{_show(cfg.solutions)}: no such directory")
    if _inside(cfg.out, cfg.solutions):
        raise GenError(f"--out {_show(cfg.out)} lies inside the solutions "
                       "tree it is generated from")
    if cfg.hidden and (args.out is None or cfg.out == default_out):
        raise GenError("--hidden writes instructor trees with hidden tests; "
                       "give --out DIR outside labs/")
    return cfg


def _abs(p: str | Path) -> Path:
    return Path(os.path.abspath(p))


def _inside(p: Path, root: Path) -> bool:
    return p == root or root in p.parents


def _show(p: Path) -> str:
    """p relative to the working directory when it lies below it."""
    cwd = Path.cwd()
    if p == cwd:
        return "."
    return str(p.relative_to(cwd)) if cwd in p.parents else str(p)


# --------------------------------------------------- generating and checking

def generate(cfg: Config, spec: Spec, labs: list[int]) -> None:
    """Build every tree in labs beside its final place, then swap them in.

    Nothing under cfg.out changes unless every tree builds. Generating all the
    labs also removes trees whose lab is no longer in the spec.
    """
    cfg.out.mkdir(parents=True, exist_ok=True)
    staged: list[Path] = []
    built: list[tuple[Path, TreeStats]] = []
    try:
        for n in labs:
            final = cfg.out / spec.lab(n).dirname
            tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.new-",
                                        dir=cfg.out))
            staged.append(tmp)
            built.append((final, build_tree(cfg, spec, n, tmp, final)))
        lost = [f"{_show(final / rel)} ({why})"
                for tmp, (final, _), n in zip(staged, built, labs)
                for rel, why in would_lose(spec.lab(n), tmp, final)]
        if lost and not cfg.force:
            raise GenError(
                f"refusing to overwrite work in {len(lost)} file(s): "
                f"{'; '.join(lost[:8])}{' ...' if len(lost) > 8 else ''}. "
                "Save them elsewhere, or run `make labs FORCE=1` "
                "(genlabs --force) to discard them")
        for tmp, (final, stats), n in zip(staged, built, labs):
            _carry_over(final, tmp)
            _install(tmp, final)
            _say(cfg, _summary(cfg, spec.lab(n), final, stats))
    finally:
        for tmp in staged:
            shutil.rmtree(tmp, ignore_errors=True)
    if labs == sorted(spec.labs):
        for stale in _stale_trees(cfg.out, spec):
            shutil.rmtree(stale)
            _say(cfg, f"{_show(stale)}: removed (no such lab in the spec)")


def _summary(cfg: Config, lab: Lab, final: Path, stats: TreeStats) -> str:
    """One line per tree, naming handouts the README links to in vain."""
    line = (f"{_show(final)}: {stats.written} files written, "
            f"{stats.stripped} stripped, {stats.dropped} dropped")
    missing = [_show(p) for p in _handouts(cfg, lab) if not p.is_file()]
    return line + (f" (missing: {', '.join(missing)})" if missing else "")


def _install(new: Path, final: Path) -> None:
    """Rename new to final, replacing final, with final never half-written."""
    if not final.exists():
        os.rename(new, final)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-",
                                dir=final.parent))
    os.replace(final, old)
    os.rename(new, final)
    shutil.rmtree(old)


def _kept(rel: str) -> bool:
    """Whether a path in an existing tree is build output or a hand-in,
    which the generator carries over instead of judging."""
    parts = rel.split("/")
    if any(part in BUILD_DIRS for part in parts[:-1]):
        return True
    return len(parts) == 1 and (rel.endswith(".tar.gz") or
                                rel in BUILD_FILES)


def _manifest(root: Path) -> bytes:
    """sha256 and path of every file the generator wrote in root."""
    lines = [f"{hashlib.sha256(e.data).hexdigest()}  {rel}\n"
             for rel, e in sorted(_snapshot(root).items()) if rel != MANIFEST]
    return ("# Written by make labs: what it generated, so that it can tell\n"
            "# your edits from its own files next time. Do not edit.\n"
            + "".join(lines)).encode()


def _read_manifest(root: Path) -> dict[str, str] | None:
    """path -> sha256 from root's manifest; None if it has none."""
    try:
        text = (root / MANIFEST).read_text()
    except (OSError, UnicodeDecodeError):
        return None
    out = {}
    for line in text.splitlines():
        digest, sep, rel = line.partition("  ")
        if sep and not line.startswith("#"):
            out[rel] = digest
    return out


def would_lose(lab: Lab, fresh: Path, final: Path) -> list[tuple[str, str]]:
    """What regenerating final as fresh would destroy: (path, why) for each
    student file edited since make labs wrote it, and each file it did not
    write. Without a manifest (a tree from before them), a student file
    counts as edited when it differs from the new one."""
    if not final.is_dir():
        return []
    new = _snapshot(fresh)
    made = _read_manifest(final)
    out = []
    for rel, entry in _snapshot(final).items():
        if _kept(rel) or rel == MANIFEST:
            continue
        digest = hashlib.sha256(entry.data).hexdigest()
        if made is not None and made.get(rel) == digest:
            continue                    # as generated: safe to replace
        if rel not in new:
            out.append((rel, "not written by make labs"))
        elif rel in lab.student_files and entry.data != new[rel].data:
            out.append((rel, "edited"))
    return out


def _carry_over(final: Path, fresh: Path) -> None:
    """Move build output and hand-ins from the old tree into the new one."""
    if not final.is_dir():
        return
    for old in sorted(final.iterdir()):
        if old.name in BUILD_DIRS or _kept(old.name):
            if not (fresh / old.name).exists():
                os.rename(old, fresh / old.name)


def _stale_trees(out: Path, spec: Spec) -> list[Path]:
    """Lab-shaped directories in out that no lab of the spec generates."""
    names = {lab.dirname for lab in spec.labs.values()}
    return [p for p in sorted(out.iterdir()) if p.is_dir()
            and LAB_DIR.fullmatch(p.name) and p.name not in names]


def check(cfg: Config, spec: Spec, labs: list[int]) -> int:
    """Generate into a scratch directory and diff against cfg.out.

    Prints what `make labs` would change and returns 1, or returns 0.
    """
    diffs: list[str] = []
    with tempfile.TemporaryDirectory(prefix="genlabs-check-") as scratch:
        for n in labs:
            final = cfg.out / spec.lab(n).dirname
            fresh = Path(scratch) / final.name
            fresh.mkdir()
            build_tree(cfg, spec, n, fresh, final)
            diffs += _compare(_snapshot(fresh), final)
    if cfg.out.is_dir() and labs == sorted(spec.labs):
        diffs += [f"remove {_show(p)}/ (no such lab in the spec)"
                  for p in _stale_trees(cfg.out, spec)]
    if diffs:
        print(f"genlabs: {_show(cfg.out)} is out of date; "
              f"make labs would make {len(diffs)} change(s):")
        for d in diffs:
            print(f"  {d}")
        return 1
    _say(cfg, f"genlabs: {_show(cfg.out)} is in sync with "
              f"{_show(cfg.solutions)} ({len(labs)} tree(s))")
    return 0


def _compare(fresh: dict[str, Entry], final: Path) -> list[str]:
    """The changes that would turn the tree at final into fresh."""
    if not final.is_dir():
        return [f"add    {_show(final)}/ (the whole tree)"]
    have = {k: v for k, v in _snapshot(final).items() if not _kept(k)}
    out: list[str] = []
    for rel in sorted(fresh.keys() | have.keys()):
        shown = _show(final / rel)
        if rel not in have:
            out.append(f"add    {shown}")
        elif rel not in fresh:
            out.append(f"remove {shown}")
        elif fresh[rel].data != have[rel].data:
            out.append(f"change {shown}")
        elif fresh[rel].executable != have[rel].executable:
            out.append(f"chmod  {shown} (executable bit)")
    return out


def _snapshot(root: Path) -> dict[str, Entry]:
    """Every file under root: its bytes and whether it is executable."""
    snap: dict[str, Entry] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            snap[path.relative_to(root).as_posix()] = Entry(
                path.read_bytes(), os.access(path, os.X_OK))
    return snap


def _say(cfg: Config, line: str) -> None:
    if not cfg.quiet:
        print(line)


# ------------------------------------------------------------ one lab tree

def build_tree(cfg: Config, spec: Spec, n: int, dest: Path,
               final: Path) -> TreeStats:
    """Write the tree for lab n into the existing, empty directory dest.

    final is where the tree will live; the README's links are relative to it.
    Raises GenError on a unifdef failure, a leaked marker, or a spec that
    does not match the files.
    """
    lab = spec.lab(n)
    sources = _source_files(cfg.solutions)
    _check_rules(cfg, spec, sources)
    stats = TreeStats()
    for rel in sources:
        if rel in SKIPPED:
            continue
        if not _wanted(_rule_for(spec, rel), n, cfg.hidden):
            stats.dropped += 1
            continue
        _copy_source(cfg, n, rel, dest, stats)
    _write(dest, "lab.json", _lab_json(spec, n, cfg.hidden), False)
    _write(dest, "lab.mk", _lab_mk(n).encode(), False)
    _write(dest, "README.md", _readme(cfg, lab, final).encode(), False)
    stats.written += 3 + _copy_grader(cfg.grader, dest / "grader")
    _check_student_files(lab, dest)
    _write(dest, MANIFEST, _manifest(dest), False)
    _fix_dir_modes(dest)
    return stats


def _source_files(root: Path) -> list[str]:
    """Files under root as sorted relative paths, minus build products."""
    found: list[str] = []
    _walk(root, "", found)
    return found


def _walk(directory: Path, prefix: str, found: list[str]) -> None:
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        rel = prefix + entry.name
        if entry.is_symlink():
            raise GenError(f"{_show(Path(entry.path))}: symbolic links are "
                           "not supported in solutions/; copy the file")
        if entry.is_dir():
            if entry.name not in BUILD_DIRS:
                _walk(Path(entry.path), rel + "/", found)
        elif entry.is_file() and not _is_build_product(entry.name):
            found.append(rel)


def _is_build_product(name: str) -> bool:
    return name in BUILD_FILES or name.endswith(BUILD_SUFFIXES)


def _rule_for(spec: Spec, rel: str) -> FileRule | None:
    """The most specific files rule covering rel (a file or a directory)."""
    best: FileRule | None = None
    for rule in spec.files.values():
        if _covers(rule, rel) and (best is None or
                                   len(rule.path) > len(best.path)):
            best = rule
    return best


def _covers(rule: FileRule, rel: str) -> bool:
    base = rule.path.rstrip("/")
    return rel == base or rel.startswith(base + "/")


def _wanted(rule: FileRule | None, n: int, hidden: bool) -> bool:
    if rule is None:
        return True
    return rule.first <= n <= rule.last and (hidden or not rule.hidden)


def _check_rules(cfg: Config, spec: Spec, sources: list[str]) -> None:
    """Every files rule must cover a file; no file may shadow a generated one.

    A rule that covers nothing is usually a renamed file, which would then
    ship to every lab, hidden tests included.
    """
    where = _show(spec.path)
    for rule in spec.files.values():
        if not any(_covers(rule, rel) for rel in sources):
            raise GenError(f"{where}: files[{rule.path!r}] matches no file "
                           f"under {_show(cfg.solutions)}/")
    for rel in sources:
        if rel in RESERVED or rel.split("/", 1)[0] == "grader":
            raise GenError(f"{_show(cfg.solutions / rel)}: this name is "
                           "reserved for a file the generator writes")


def _copy_source(cfg: Config, n: int, rel: str, dest: Path,
                 stats: TreeStats) -> None:
    """Copy one file of solutions/ into dest, stripped for lab n."""
    src = cfg.solutions / rel
    data = src.read_bytes()
    if b"\0" not in data:
        out = _lab_text(cfg, n, rel, data)
        stats.stripped += int(out != data)
        data = out
    _write(dest, rel, data, os.access(src, os.X_OK))
    stats.written += 1


def _lab_text(cfg: Config, n: int, rel: str, data: bytes) -> bytes:
    """A text file as lab n sees it; GenError if a marker would leak."""
    shown = _show(cfg.solutions / rel)
    # Not C (assembly, prose such as the answers files): unifdef -t, so an
    # apostrophe is not an unterminated character literal.
    asm = not rel.endswith(C_SUFFIXES)
    if not MARKER.search(data):
        out = data
    else:
        out = strip_markers(cfg.unifdef, data, n, shown, asm)
    if _find_marker(out) is None:
        return out
    if out is not data:
        # Strip again keeping removed lines as blanks, so that the line
        # number in the error is the line in solutions/.
        out = strip_markers(cfg.unifdef, data, n, shown, asm, blank=True)
    lineno, text = _find_marker(out) or (0, "")
    raise GenError(
        f"{shown}:{lineno}: marker left in lab {n}'s tree: {text!r} "
        "(unifdef resolves an #if only when LAB/SOL alone decide it; "
        "put other macros in a separate #if)")


def strip_markers(unifdef: str, data: bytes, n: int, shown: str,
                  asm: bool = False, blank: bool = False) -> bytes:
    """The text of a file for lab n: unifdef -B -DLAB=n -DSOL=n-1.

    shown names the file in the error raised when unifdef rejects it. asm
    adds -t (text mode) for assembly, where a GAS `# don't` comment would
    otherwise be an unterminated C character literal to unifdef. blank
    turns removed lines into blank lines (-b) instead of squeezing them.
    """
    cmd = [unifdef, "-b" if blank else "-B", *(["-t"] if asm else []),
           f"-DLAB={n}", f"-DSOL={n - 1}"]
    result = subprocess.run(cmd, input=data, capture_output=True, check=False)
    if result.returncode not in (0, 1):
        raise GenError(_unifdef_error(result, shown, n))
    return result.stdout


def _unifdef_error(result: subprocess.CompletedProcess[bytes], shown: str,
                   n: int) -> str:
    lines = result.stderr.decode("utf-8", "replace").splitlines()
    first = lines[0] if lines else f"exit status {result.returncode}"
    m = UNIFDEF_ERROR.match(first)
    where = f"{shown}:{m.group(1)}: {m.group(2)}" if m else f"{shown}: {first}"
    return f"{where} (unifdef -DLAB={n} -DSOL={n - 1} failed)"


def _find_marker(data: bytes) -> tuple[int, str] | None:
    """The first line (number, text) holding a LAB/SOL marker, or None."""
    for lineno, line in enumerate(data.splitlines(), 1):
        if MARKER.search(line) or MARKER_TOKEN.search(line):
            return lineno, line.decode("utf-8", "replace").strip()
    return None


def _write(root: Path, rel: str, data: bytes, executable: bool) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chmod(path, 0o755 if executable else 0o644)


def _fix_dir_modes(root: Path) -> None:
    os.chmod(root, 0o755)
    for dirpath, dirnames, _ in os.walk(root):
        for name in dirnames:
            os.chmod(os.path.join(dirpath, name), 0o755)


def _check_student_files(lab: Lab, dest: Path) -> None:
    for rel in lab.student_files:
        if not (dest / rel).is_file():
            raise GenError(
                f"lab {lab.lab}: student file {rel} is not in its tree; add "
                "it to solutions/ or fix its files rule in labs.json")


# --------------------------------------------------------- generated files

def _lab_json(spec: Spec, n: int, hidden: bool) -> bytes:
    return (json.dumps(spec.trimmed(n, hidden), indent=2) + "\n").encode()


def _lab_mk(n: int) -> str:
    return (f"# Generated by grader/genlabs for lab {n}; do not edit.\n"
            f"LAB := {n}\n"
            f"SOL := {n - 1}\n")


def _copy_grader(grader: Path, dest: Path) -> int:
    """Copy the parts of the grader a student tree runs; return the count."""
    files = [p for p in sorted((grader / "vmgrade").glob("*.py"))
             if p.name not in GRADER_PRIVATE]
    files += [grader / name for name in GRADER_SCRIPTS
              if (grader / name).is_file()]
    for src in files:
        rel = src.relative_to(grader).as_posix()
        _write(dest, rel, src.read_bytes(), os.access(src, os.X_OK))
    return len(files)


def _readme(cfg: Config, lab: Lab, final: Path) -> str:
    """The README a student sees first when opening the tree at final."""
    files = "\n".join(f"- `{f}`" for f in lab.student_files) or "- (none)"
    return f"""# Lab {lab.lab}: {lab.title}

This is your tree for lab {lab.lab} of vmlab. {_guide(cfg, lab, final)}

## Files you edit

{files}

Only these files are taken from your hand-in. Changes to any other file
are not graded, so keep all of your work in them.

## Commands

| command | what it does |
|---|---|
| `make` | build the kernel |
| `make qemu` | boot the kernel in QEMU |
| `make qemu-gdb` | boot it halted, waiting for gdb |
| `make gdb` | attach gdb to it (run this in a second terminal) |
| `make test` | run the host unit tests (fast, no QEMU) |
| `make grade` | build, boot and score your work the way the grader does |
| `make handin` | pack your files into the tarball you submit |

This tree was generated from the course's reference kernel. lab.json lists
the tests and their points; lab.mk and grader/ belong to the kit, so do not
edit them.
"""


def _guide(cfg: Config, lab: Lab, final: Path) -> str:
    """Links to the handout and gdb walkthrough that exist, or say so."""
    base = f"lab{lab.lab}-{lab.name}"
    handout, gdb = _handouts(cfg, lab)
    lines = []
    if handout.is_file():
        lines.append(f"- [{base}.md]({_link(handout, final)}) explains what "
                     "to build, in which\n  order, and how your work is "
                     "graded;")
    if gdb.is_file():
        lines.append(f"- [{base}-gdb.md]({_link(gdb, final)}) shows how to "
                     "step through the\n  kernel with gdb when something "
                     "goes wrong.")
    if not lines:
        return ("This lab's handout is not written yet: the lab's code and "
                "tests are\nnot in the kit yet either.")
    return "Read the handout before you\nstart:\n\n" + "\n".join(lines)


def _handouts(cfg: Config, lab: Lab) -> tuple[Path, Path]:
    """The lab's handout and its gdb walkthrough."""
    base = f"lab{lab.lab}-{lab.name}"
    return cfg.handouts / f"{base}.md", cfg.handouts / f"{base}-gdb.md"


def _link(target: Path, final: Path) -> str:
    return Path(os.path.relpath(target, final)).as_posix()
