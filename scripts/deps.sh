#!/usr/bin/env bash
# deps.sh — make sure the Debian packages vmlab needs are installed.
#
# As root it installs whatever is missing with apt-get. As any other user it
# prints the one apt command that would do it and exits 1. With --check it only
# reports (exit 1 when something is missing). With --bench it also wants
# linux-image-amd64, the Linux kernel that `make bench` boots as a yardstick
# (make check never needs it). Nothing is ever downloaded from anywhere but
# the distribution's archive.
set -eu

check_only=0
bench=0
for arg in "$@"; do
	case $arg in
	--check) check_only=1 ;;
	--bench) bench=1 ;;
	*) echo "deps: usage: deps.sh [--check] [--bench]" >&2; exit 2 ;;
	esac
done

# package:probe — the probe is a command (or a file, when it starts with /)
# whose presence shows that the package is installed.
PKGS="
qemu-system-x86:qemu-system-x86_64
gdb:gdb
gcc:gcc
make:make
binutils:ld
unifdef:unifdef
patch:patch
libcmocka-dev:/usr/include/cmocka.h
libjemalloc-dev:/usr/include/jemalloc/jemalloc.h
python3:python3
bubblewrap:bwrap
musl-tools:musl-gcc
cpio:cpio
ccache:ccache
"
# The benchmark's Linux: any /boot/vmlinuz-* will do (scripts/bench.py).
BENCH_PKGS="linux-image-amd64:/boot/vmlinuz-*"
[ "$bench" -eq 1 ] && PKGS="$PKGS $BENCH_PKGS"

missing=""
set -f # the globs in PKGS are probes, for compgen below
for entry in $PKGS; do
	pkg=${entry%%:*}
	probe=${entry#*:}
	case $probe in
	# A path probe may be a glob: any match will do.
	/*) compgen -G "$probe" >/dev/null && continue ;;
	*) command -v "$probe" >/dev/null 2>&1 && continue ;;
	esac
	missing="$missing $pkg"
done
set +f

[ -z "$missing" ] && exit 0

if [ "$check_only" -eq 1 ]; then
	echo "deps: missing:$missing" >&2
	exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing:$missing" >&2
	echo "deps: run: sudo apt-get install -y$missing" >&2
	exit 1
fi

echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# The package lists may be absent or stale on a fresh machine; update once.
apt-get update -qq >/dev/null || { echo "deps: apt-get update failed" >&2; exit 1; }
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
	{ echo "deps: apt-get install$missing failed" >&2; exit 1; }
