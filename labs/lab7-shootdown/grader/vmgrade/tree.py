"""Where the tree is, which spec it has, and what exactly is being graded.

Three kinds of directory can be handed to the grader:
  a lab tree      labs/labN-NAME/ with lab.json (carries "tree_lab": N);
  solutions/      the reference, with labs.json (built with LAB=N SOL=M);
  the repo root   holding solutions/labs.json: means its solutions/.
Without --tree, the tree is the parent of the grader/ directory that holds
the running script, so `grader/grade` works from a lab tree's own copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from . import GraderError
from . import spec as specmod
from .qemu import Machine
from .spec import Spec, TestSpec


@dataclass(frozen=True)
class Located:
    """A tree found on disk, with its spec and (if any) the repo around it."""
    tree: Path
    spec: Spec
    repo: Path | None       # the top-level repo, when the tree is solutions/

    @property
    def is_lab_tree(self) -> bool:
        return self.spec.tree_lab is not None


def default_tree(script: Path) -> Path:
    """The parent of the grader/ directory that holds script."""
    return script.resolve().parent.parent


def locate(tree_arg: str | None, script: Path) -> Located:
    """Find the tree and load its spec; GraderError if it is neither kind."""
    base = Path(tree_arg) if tree_arg else default_tree(script)
    if not base.is_dir():
        raise GraderError(f"{base}: no such directory")
    base = base.resolve()
    if (base / "lab.json").is_file():
        return Located(base, specmod.load(base / "lab.json"), None)
    if (base / "labs.json").is_file():
        return Located(base, specmod.load(base / "labs.json"),
                       _repo_of(base.parent))
    if (base / "solutions" / "labs.json").is_file():
        sol = base / "solutions"
        return Located(sol, specmod.load(sol / "labs.json"), _repo_of(base))
    raise GraderError(f"{base}: not a vmlab tree (no lab.json, labs.json "
                      "or solutions/labs.json)")


def _repo_of(path: Path) -> Path | None:
    return path if (path / "grader").is_dir() else None


@dataclass(frozen=True)
class Target:
    """One kernel to build and grade: a tree at one lab level."""
    tree: Path
    spec: Spec
    lab: int
    sol: int | None             # solutions/ only; None for a lab tree
    hidden: bool                # grade hidden tests (solutions/ only)
    only: tuple[str, ...] = ()  # --only globs

    @property
    def is_solutions(self) -> bool:
        return self.sol is not None

    @property
    def label(self) -> str:
        if self.sol is None:
            return self.spec.lab(self.lab).dirname
        return f"solutions LAB={self.lab} SOL={self.sol}"

    @property
    def student_files(self) -> tuple[str, ...]:
        """The files a student wrote: a lab tree's; none in solutions/."""
        if self.sol is not None:
            return ()
        return self.spec.lab(self.lab).student_files

    def make_vars(self) -> dict[str, str]:
        """LAB/SOL for solutions/; never any for a lab tree."""
        if self.sol is None:
            return {}
        return {"LAB": str(self.lab), "SOL": str(self.sol)}

    def machine(self) -> Machine:
        lab = self.spec.lab(self.lab)
        return Machine(self.spec.qemu, lab.mem, lab.smp)

    def tests(self) -> list[TestSpec]:
        """The spec tests this target is graded on, in spec order."""
        hidden = self.hidden or self.sol is None
        return [t for t in self.spec.tests_upto(self.lab, hidden)
                if self._wanted(t.name)]

    def _wanted(self, name: str) -> bool:
        return not self.only or any(fnmatchcase(name, g) for g in self.only)

    def is_ignored(self, name: str) -> bool:
        """A reported test that is in the spec but left out on purpose
        (hidden, or outside --only): neither graded nor unexpected."""
        t = self.spec.test(name)
        if t is None or t.lab > self.lab:
            return False
        return not any(s.name == name for s in self.tests())


def lab_target(loc: Located, only: tuple[str, ...] = ()) -> Target:
    """Grade a lab tree at its own level, as its lab.json says."""
    assert loc.spec.tree_lab is not None
    return Target(loc.tree, loc.spec, loc.spec.tree_lab, None, True, only)


def solutions_target(loc: Located, lab: int | None, sol: int | None,
                     hidden: bool, only: tuple[str, ...] = ()) -> Target:
    """Grade solutions/ at LAB=lab SOL=sol (defaults: the top lab, SOL=LAB)."""
    n = lab if lab is not None else max(loc.spec.labs)
    loc.spec.lab(n)
    m = sol if sol is not None else n
    if not 0 <= m <= n:
        raise GraderError(f"--sol {m} must be between 0 and --lab {n}")
    return Target(loc.tree, loc.spec, n, m, hidden, only)
