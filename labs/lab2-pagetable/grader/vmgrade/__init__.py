"""vmgrade — build a vmlab kernel, boot it under QEMU, read its KTAP report, score it.

Modules, one concern each:
  spec        the lab spec (solutions/labs.json or a lab tree's lab.json)
  tree        where the tree and its spec are, and what a grading target is
  ktap        the KTAP v1 parser
  qemu        QEMU command lines and supervising one boot
  build       running make for one kernel
  run         boot planning: the main boot, resumes after a crash, alone-boots
  score       statuses and points
  job         one grading job: build, boots, score; the pool that runs jobs
  report      the table, JSON, JUnit XML and Gradescope results.json
  submission  unpacking, checking and overlaying a student's hand-in
  batch       grading one submission, or a directory of them
  handin      writing the hand-in tarball
  cli         the grade, vmrun and handin commands
  validate    make check's proof that every lab is valid (top-level repo only)
  limits      time, memory and file-size limits on every process it starts
  safetext    untrusted text made safe to print and to serialise
"""

from __future__ import annotations


class GraderError(Exception):
    """A user or environment error: printed as one line, exit status 2."""


class ToolMissing(GraderError):
    """A program the grader needs (QEMU, make, gcc, gdb) is not installed:
    nothing can be graded, so a batch stops rather than fail every student."""


ERROR_EXIT = 2
