#!/usr/bin/env bash
# doctor.sh — what vmlab needs, what this machine has, and how to fix it.
set -u

missing=0
row() { printf '  %-20s %s\n' "$1" "$2"; }

check() { # check NAME PACKAGE VERSION-COMMAND...
	local name=$1 pkg=$2
	shift 2
	if command -v "$name" >/dev/null 2>&1; then
		row "$name" "$("$@" 2>&1 | head -n 1)"
	else
		row "$name" "MISSING (Debian package $pkg)"
		missing=$((missing + 1))
	fi
}

echo "vmlab doctor"
check qemu-system-x86_64 qemu-system-x86 qemu-system-x86_64 --version
check gcc gcc gcc --version
check ld binutils ld --version
check make make make --version
check unifdef unifdef unifdef -V
check patch patch patch --version
check gdb gdb gdb --version
check python3 python3 python3 --version
check bwrap bubblewrap bwrap --version
check musl-gcc musl-tools sh -c 'echo "musl $(dpkg-query -W -f="\${Version}" musl-tools 2>/dev/null)"'
check cpio cpio cpio --version
if [ -e /usr/include/cmocka.h ]; then
	row cmocka "$(dpkg-query -W -f='${Version}' libcmocka-dev 2>/dev/null || echo present)"
else
	row cmocka "MISSING (Debian package libcmocka-dev)"
	missing=$((missing + 1))
fi
if [ -r /dev/kvm ]; then
	row kvm "present (vmlab uses TCG anyway, for determinism)"
else
	row kvm "absent (fine: vmlab runs QEMU as TCG)"
fi
row cores "$(nproc)"
# Only make bench needs it, so its absence is not counted as missing.
linux=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
if [ -n "$linux" ]; then
	row "linux (bench)" "$linux (make bench's yardstick)"
else
	row "linux (bench)" "absent: make bench skips its Linux figures (install: scripts/deps.sh --bench)"
fi

if [ "$missing" -eq 0 ]; then
	echo "doctor: everything vmlab needs is installed."
	exit 0
fi
echo "doctor: $missing missing. Fix: run 'sudo bash scripts/deps.sh' (or 'make check' as root)."
exit 1
