#!/bin/sh
# setup.sh — Gradescope runs this once, as root, when it builds the image.
#
# The autograder zip is this repository with setup.sh and run_autograder
# copied to its top level; Gradescope unpacks it in /autograder/source.
# Set LAB below (the same number in run_autograder) for the assignment.
set -eu
LAB=3

apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	qemu-system-x86 make gcc binutils unifdef python3

# The instructor tree: lab $LAB with its hidden tests, generated once here
# so that each submission only copies it.
cd /autograder/source
python3 grader/genlabs --hidden --lab "$LAB" --out /autograder/instructor

# Prove the image can grade: the reference must build and boot here too.
python3 grader/grade --lab "$LAB" --hidden --expect-full -j "$(nproc)"
