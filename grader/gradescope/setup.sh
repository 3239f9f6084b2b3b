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
	qemu-system-x86 make gcc binutils unifdef python3 bubblewrap musl-tools cpio

# Prove the image can grade: bwrap must make a sandbox here (submissions
# are graded in one only), and the lab's own stub tree must build and boot
# (it scores 0; the grader exits 2 if it could not grade).
bwrap --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib \
	--symlink usr/lib64 /lib64 --unshare-all --die-with-parent /bin/true ||
	{ echo "setup: bwrap cannot make a sandbox in this image" >&2; exit 1; }
tree=$(ls -d /autograder/source/lab*-*/ | head -n 1)
python3 "$tree/grader/grade" --tree "$tree" -j "$(nproc)" >/dev/null
