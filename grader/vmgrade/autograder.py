"""The Gradescope autograder zip of one lab: its instructor tree, nothing else.

Gradescope unpacks the zip in /autograder/source on an image that
students' code then runs on, so the zip holds only what grading needs:

  setup.sh, run_autograder      from grader/gradescope/, at the top level
  labN-NAME/                    `grader/genlabs --hidden --lab N`: the lab
                                tree with its hidden tests and its own grader

Never the repository: solutions/, the other labs' hidden tests, .git and
the private grader modules stay out. The zip is written with fixed times
and modes, so the same repository gives the same bytes.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from . import GraderError, submission

SCRIPTS = ("setup.sh", "run_autograder")
STAMP = (2020, 1, 1, 0, 0, 0)


def make_zip(repo: Path, lab: int, out: Path) -> list[str]:
    """Write lab's autograder zip to out; the names it holds, in order."""
    with tempfile.TemporaryDirectory(prefix="vmlab-autograder-") as tmp:
        tree = submission.generate_tree(repo, lab, True, Path(tmp) / "gen")
        files = [(repo / "grader" / "gradescope" / s, s) for s in SCRIPTS]
        files += [(p, f"{tree.name}/{p.relative_to(tree).as_posix()}")
                  for p in sorted(tree.rglob("*"))
                  if p.is_file() and not p.is_symlink()
                  and "__pycache__" not in p.parts]
        for path, name in files:
            if not path.is_file():
                raise GraderError(f"{path}: missing (the zip needs it)")
        _write(out, files)
    return [name for _, name in files]


def _write(out: Path, files: list[tuple[Path, str]]) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, name in files:
            info = zipfile.ZipInfo(name, STAMP)
            executable = path.stat().st_mode & 0o111
            info.external_attr = (0o755 if executable else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
