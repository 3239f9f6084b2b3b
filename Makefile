# vmlab — top level. See README.md.
#
#   make grade    build and grade every lab's reference solution (scoreboard)
#   make check    every test: host, grader, labs in sync, validity of all labs
#   make labs     regenerate labs/ from solutions/
#   make qemu     boot the reference kernel on this terminal
#   make test     host unit tests of the reference (cmocka, ASan+UBSan)
#   make release LABS=N OUT=DIR   the student repository: labs 1..N, no solutions
#   make handouts  write each handout's grading table from solutions/labs.json
#   make mutants  grade the whole mutant suite (instructors; mutants/README.md)
#   make bench    benchmarks: boot time, grade time, -j speed-up, determinism
#   make doctor   what is installed, what is missing, how to fix it

PYTHON ?= python3
J ?= 2

.PHONY: deps grade check labs qemu test bench doctor mutants release handouts
deps:
	@bash scripts/deps.sh

grade: deps
	@$(PYTHON) grader/grade --tree solutions --all -j $(J)

check: deps
	@bash scripts/check.sh

labs: deps
	@$(PYTHON) grader/genlabs -q $(if $(filter 1,$(FORCE)),--force)

qemu: deps
	@$(MAKE) --no-print-directory -C solutions qemu

test: deps
	@$(MAKE) --no-print-directory -C solutions test

handouts:
	@$(PYTHON) grader/handouts

release: deps
	@$(PYTHON) grader/release --labs "$(LABS)" --out "$(OUT)"

mutants: deps
	@$(PYTHON) grader/mutants -j $(J)

# The benchmark also wants Debian's Linux kernel, its yardstick.
bench: deps
	@bash scripts/deps.sh --bench
	@$(PYTHON) scripts/bench.py

doctor:
	@bash scripts/doctor.sh
