#!/usr/bin/env bash
# check.sh — everything `make check` proves, one step at a time.
#
# Each step prints one line with its verdict and time; the last line counts
# them ("check: N passed, M failed") and the exit status is non-zero if any
# step failed. A failing step prints its own output; passing steps stay
# quiet unless V=1.
set -u
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
J=${J:-2}
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

secs() { # secs T0_NS T1_NS -> seconds with one decimal
	local d=$((($2 - $1) / 100000000))
	echo "$((d / 10)).$((d % 10))"
}

step() { # step "description" command...
	local what=$1 t0 t1
	shift
	t0=$(date +%s%N)
	if [ "${V:-0}" = 1 ]; then
		"$@" 2>&1 | tee "$log"
		status=${PIPESTATUS[0]}
	else
		"$@" >"$log" 2>&1
		status=$?
	fi
	t1=$(date +%s%N)
	if [ "$status" -eq 0 ]; then
		passed=$((passed + 1))
		printf 'check: ok    %-46s %6ss\n' "$what" "$(secs "$t0" "$t1")"
	else
		failed=$((failed + 1))
		printf 'check: FAIL  %-46s %6ss\n' "$what" "$(secs "$t0" "$t1")"
		[ "${V:-0}" = 1 ] || sed 's/^/    /' "$log" | tail -n 60
	fi
}

step "host unit tests: solutions/" make -s -C solutions test
step "grader unit tests" "$PYTHON" -m unittest discover -s grader/tests -t grader
step "labs/ in sync with solutions/" "$PYTHON" grader/genlabs --check
step "handouts' grading tables match labs.json" "$PYTHON" grader/handouts --check
step "validity: reference full, stubs zero" "$PYTHON" grader/validate \
	--solutions solutions --labs labs -j "$J"
# A release of every lab, as an instructor makes it for a course (a git
# repository): it must hold nothing of solutions/, no hidden test's name,
# no marker and no dead link (grader/vmgrade/release.py, verify()).
release_check() {
	local d rc
	d=$(mktemp -d) || return 1
	"$PYTHON" grader/release --labs "$("$PYTHON" -c 'import json,sys; print(max(l["lab"] for l in json.load(open(sys.argv[1]))["labs"]))' solutions/labs.json)" --out "$d/release"
	rc=$?
	rm -rf "$d"
	return $rc
}
step "student release: nothing of solutions/" release_check
# A fixed sample of the mutants (the same every run) and every alternative;
# `make mutants` grades them all. Every patch's format, regions and apply
# are checked either way.
step "mutants killed, alternatives full (sample)" "$PYTHON" grader/mutants \
	--sample "${MUTANT_SAMPLE:-2}" -q -j "$J"
step "gdb walkthroughs still true" "$PYTHON" grader/gdbcheck \
	--solutions solutions -j "$J"

echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
