#!/usr/bin/env bash
# check.sh — everything `make check` proves, step by step.
#
# Each step prints one line with its verdict and time; the last line counts
# them ("check: N passed, M failed") and the exit status is non-zero if any
# step failed. A failing step prints its own output; passing steps stay
# quiet unless V=1. Steps that leave a core idle run side by side (a group's
# lines appear when its last step ends); V=1 runs them one at a time.
set -u
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
J=${J:-2}
passed=0
failed=0
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# A compiler cache for the host tests of solutions/ and of the seven lab
# trees (ccache, if installed; grader/vmgrade/validate.py), fresh for
# this run and gone after it.
export VMLAB_CCACHE="$logs/ccache"
mkdir -p "$VMLAB_CCACHE"
# The grader's kernel builds of the kit's own trees, kept for this run:
# validity, the quoted outputs and the gdb walkthroughs build the same
# references and lab trees, and a build whose tree and variables match
# an earlier one is a copy of it (grader/vmgrade/build.py).
export VMLAB_BUILD_CACHE="$logs/builds"
mkdir -p "$VMLAB_BUILD_CACHE"
host_tests() {
	if command -v ccache >/dev/null 2>&1; then
		CCACHE_DIR=$VMLAB_CCACHE CCACHE_BASEDIR=/ CCACHE_NOHASHDIR=1 \
			make -s -C solutions test HOSTCC="ccache cc"
	else
		make -s -C solutions test
	fi
}

secs() { # secs T0_NS T1_NS -> seconds with one decimal
	local d=$((($2 - $1) / 100000000))
	echo "$((d / 10)).$((d % 10))"
}

# run_step I command... — run one step into $logs/I.{out,rc,s}. With V=1
# its output also goes to the terminal as it comes.
run_step() {
	local i=$1 t0 t1 rc
	shift
	t0=$(date +%s%N)
	if [ "${V:-0}" = 1 ]; then
		"$@" 2>&1 | tee "$logs/$i.out"
		rc=${PIPESTATUS[0]}
	else
		"$@" >"$logs/$i.out" 2>&1
		rc=$?
	fi
	t1=$(date +%s%N)
	echo "$rc" >"$logs/$i.rc"
	secs "$t0" "$t1" >"$logs/$i.s"
}

# report I "description" — the step's one line, and its output if it failed.
report() {
	local i=$1 what=$2
	if [ "$(cat "$logs/$i.rc")" -eq 0 ]; then
		passed=$((passed + 1))
		printf 'check: ok    %-46s %6ss\n' "$what" "$(cat "$logs/$i.s")"
	else
		failed=$((failed + 1))
		printf 'check: FAIL  %-46s %6ss\n' "$what" "$(cat "$logs/$i.s")"
		[ "${V:-0}" = 1 ] || sed 's/^/    /' "$logs/$i.out" | tail -n 60
	fi
}

n=0
step() { # step "description" command... — one step, alone on the machine
	n=$((n + 1))
	run_step "$n" "${@:2}"
	report "$n" "$1"
}

# together "description" command... ; ... ; done_together — steps that use
# one core each (or wait on one another's QEMU) run side by side. Each
# still gets its own line and time, printed in order when all have ended.
group=()
shorts=()
together() {
	n=$((n + 1))
	run_step "$n" "${@:2}" &
	shorts+=("$!")
	group+=("$n" "$1")
}
# together_long: a step of the group that the next step need not wait
# for; wait_short waits for the others. The quoted outputs end alone, on
# about one core, and validity starts beside that tail.
together_long() {
	n=$((n + 1))
	run_step "$n" "${@:2}" &
	group+=("$n" "$1")
}
wait_short() {
	wait "${shorts[@]}"
	shorts=()
}
done_together() {
	wait
	while [ "${#group[@]}" -gt 0 ]; do
		report "${group[0]}" "${group[1]}"
		group=("${group[@]:2}")
	done
}

# The grader's unit tests in two halves: the end-to-end ones that build and
# boot a kernel (each mostly one core) apart from the rest.
grader_tests() { # grader_tests boots|rest
	local mods=() f m
	for f in grader/tests/test_*.py; do
		m=tests.$(basename "$f" .py)
		case $m in
		tests.test_resume_order | tests.test_objcheck | tests.test_gdbcheck)
			[ "$1" = boots ] && mods+=("$m") ;;
		*) [ "$1" = rest ] && mods+=("$m") ;;
		esac
	done
	(cd grader && "$PYTHON" -m unittest "${mods[@]}")
}

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

if [ "${V:-0}" = 1 ]; then
	# Output as it comes: one step at a time.
	together() { step "$@"; }
	together_long() { step "$@"; }
	wait_short() { :; }
	done_together() { :; }
fi

together "host unit tests: solutions/" host_tests
# The user test programs (static musl) on this machine's Linux: the tests
# of labs 5-7 must hold for Linux itself before they grade vmlab.
together "user programs pass on Linux" make -s -C solutions user-check
together "grader unit tests (end to end)" grader_tests boots
together "grader unit tests (the rest)" grader_tests rest
together "labs/ in sync with solutions/" "$PYTHON" grader/genlabs --check
together "handouts: grading tables, function lists" "$PYTHON" grader/handouts --check
together "student release: nothing of solutions/" release_check
# Every command and output the handouts and walkthroughs quote, run in the
# lab trees doctest-style (grader/vmgrade/quotes.py). It is the longest of
# this group: with two jobs it takes the cores the others leave when done,
# and validity (which reuses the lab trees' kernels it builds) starts
# beside its end.
together_long "handouts: quoted commands and outputs true" "$PYTHON" grader/quotes -j "$J"
wait_short
together "validity: reference full, stubs zero" "$PYTHON" grader/validate \
	--solutions solutions --labs labs -j "$J"
done_together
# A fixed sample (the same every run): one mutant per lab and two
# alternatives in all, which keeps the run inside ten minutes
# (MUTANT_SAMPLE=N takes N mutants per lab, MUTANT_ALTERNATIVES=M takes M
# alternatives), each mutant booting only its Caught-by tests and each
# alternative every test; `make mutants` grades them all. Every patch's
# format, regions and apply are checked either way. The gdb walkthroughs
# (one gdb and one QEMU each) run beside it.
together "mutants killed, alternatives full (sample)" "$PYTHON" grader/mutants \
	--sample "${MUTANT_SAMPLE:-1}" \
	--alternatives "${MUTANT_ALTERNATIVES:-2}" --caught-by-only -q -j "$J"
together "gdb walkthroughs still true" "$PYTHON" grader/gdbcheck \
	--solutions solutions -j 1
done_together

if [ -f "$VMLAB_BUILD_CACHE/log" ]; then
	echo "check: kernel builds: $(grep -c ' built in ' "$VMLAB_BUILD_CACHE/log") made, $(grep -c ' copied: ' "$VMLAB_BUILD_CACHE/log") copied"
	[ "${V:-0}" = 1 ] && sed 's/^/    /' "$VMLAB_BUILD_CACHE/log"
fi
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
