#!/bin/sh
# setup.sh — Gradescope runs this once, as root, when it builds the image.
#
# The autograder zip is what `grader/gradescope/mkzip --lab N` writes: this
# script, run_autograder and the lab's instructor tree (hidden tests
# included), never the repository. Gradescope unpacks it in
# /autograder/source.
set -eu

apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	qemu-system-x86 make gcc binutils unifdef python3 bubblewrap

# Prove the image can grade: the lab's own stub tree must build, sandboxed,
# and boot here (it scores 0; the grader exits 2 if it could not grade).
tree=$(ls -d /autograder/source/lab*-*/ | head -n 1)
python3 "$tree/grader/grade" --tree "$tree" -j "$(nproc)" >/dev/null
