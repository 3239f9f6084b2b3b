/*
 * cow_stress — random forks, writes and exits over a region of private
 * pages, each process checked against its own model of what it should
 * see. Where cow_test checks one case at a time, this one lets pages be
 * shared by up to four processes at once, copied, written again, and
 * dropped by processes that exit while others still map them.
 *
 * The region is PAGES private anonymous pages. Each process keeps, in its
 * own memory (so fork copies it with everything else), the value it last
 * wrote to each page's body and to its marker words; value 0 means never
 * written, which must read as zero. Each step is one random operation:
 *
 *	write	a whole page (body and markers) or only its marker words
 *		(so a COW copy's other words must have come through the
 *		copy), with a value no other write uses
 *	fork	the child starts with its parent's model; at most MAX_DEPTH
 *		generations and MAX_PROCS processes in all
 *	verify	every word of every page against the model
 *
 * After its steps a process verifies once more, waits for its children
 * and exits with bit 1 set if a check failed in it or below it, bit 2 if
 * a descendant died or could not be waited for. Processes also count
 * what happened in MAP_SHARED memory, where the root reads it.
 *
 * Runs are reproducible: the random stream of each process comes from
 * the seed and its place in the tree (the fork budget is split at each
 * fork, not taken from a shared counter), so a seed gives the same
 * operations every run; only the timing between processes varies.
 *
 * Usage: cow_stress [SEED]; it prints the seed first, and how to run it
 * again if a check fails. Fails on any COW bug that loses, leaks or
 * misdirects a store: a fork that shares pages writable, a COW fault
 * that copies the wrong frame or only part of it, a refcount that lets
 * a page be reused in place while another process maps it, an exit or
 * COW fault that frees a page still mapped elsewhere.
 */
#include <inttypes.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/utest.h"

#define PG 4096L
#define WORDS (PG / 8)
#define PAGES 16
#define MAX_DEPTH 3             /* the root is depth 0 */
#define MAX_PROCS 24            /* root included: the fork budget */
#define ROOT_STEPS 48
#define CHILD_STEPS 32
#define DEFAULT_SEED 6502

/* The words a marker-only write changes: first, middle, last. */
static const int marks[] = { 0, WORDS / 2 + 1, WORDS - 1 };

/* One process's view of the region: private, copied by fork. */
struct model {
	uint64_t body[PAGES];   /* last whole-page value, 0: never written */
	uint64_t head[PAGES];   /* last value of its marker words */
	uint64_t rng;           /* xorshift64 state */
	uint64_t code;          /* place in the tree: root 1, child k of c
				   is c * 32 + k + 1 */
	uint64_t seq;           /* writes made: the low half of a value */
	int depth, budget, kids;
	int reported;           /* a mismatch printed: print no more */
	char name[24];          /* the same place as text: "r.2.0" */
};

/* What every process adds to, in MAP_SHARED memory. */
static struct shared {
	long procs, fork_failures, mismatches, writes, verifies;
} *sh;

static uint64_t seed = DEFAULT_SEED;

static void count(long *counter)
{
	__atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
}

/* splitmix64's finaliser: a well-mixed, never-zero state from x. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x ? x : 1;
}

static uint64_t rnd(struct model *m)
{
	uint64_t x = m->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return m->rng = x;
}

static int is_mark(long j)
{
	for (size_t k = 0; k < sizeof(marks) / sizeof(marks[0]); k++)
		if (marks[k] == j)
			return 1;
	return 0;
}

/* Word j of a page whose value is v: 0 for 0, distinct for each v. */
static uint64_t word(uint64_t v, long j)
{
	return v * (uint64_t)(2 * j + 1);
}

static uint64_t want(const struct model *m, int i, long j)
{
	return word(is_mark(j) ? m->head[i] : m->body[i], j);
}

/* Write page i (whole, or its markers) with a new value. */
static void write_page(volatile uint64_t *p, struct model *m, int i,
		       int whole)
{
	uint64_t v = m->code << 32 | ++m->seq;
	volatile uint64_t *pg = p + i * WORDS;

	if (whole) {
		m->body[i] = v;
		for (long j = 0; j < WORDS; j++)
			pg[j] = word(v, j);
	} else {
		for (size_t k = 0; k < sizeof(marks) / sizeof(marks[0]); k++)
			pg[marks[k]] = word(v, marks[k]);
	}
	m->head[i] = v;
	count(&sh->writes);
}

static void op_write(volatile uint64_t *p, struct model *m)
{
	int i = (int)(rnd(m) % PAGES);

	write_page(p, m, i, (int)(rnd(m) & 1));
}

/*
 * Every word against the model: 0 if all hold, else 1 and, for the
 * process's first mismatch, a line saying where.
 */
static int op_verify(const volatile uint64_t *p, struct model *m, int step)
{
	count(&sh->verifies);
	for (int i = 0; i < PAGES; i++) {
		for (long j = 0; j < WORDS; j++) {
			uint64_t got = p[i * WORDS + j], w = want(m, i, j);

			if (got == w)
				continue;
			count(&sh->mismatches);
			if (m->reported++)
				return 1;
			printf("# process %s, step %d: page %d word %ld is "
			       "%#" PRIx64 ", want %#" PRIx64 "\n", m->name,
			       step, i, j, got, w);
			return 1;
		}
	}
	return 0;
}

/* In the child of a fork: its place in the tree, its share of budget. */
static void become_child(struct model *m, int budget)
{
	size_t len = strlen(m->name);

	m->code = m->code * 32 + (uint64_t)m->kids + 1;
	snprintf(m->name + len, sizeof(m->name) - len, ".%d", m->kids);
	m->rng = mix(seed ^ mix(m->code));
	m->depth++;
	m->budget = budget;
	m->kids = 0;
	m->reported = 0;
	count(&sh->procs);
}

static int live(volatile uint64_t *p, struct model *m, int steps);

/* Fork if the tree has room: the child lives its life and exits. */
static void op_fork(volatile uint64_t *p, struct model *m)
{
	int child_budget;
	pid_t pid;

	if (m->depth >= MAX_DEPTH || m->budget <= 0)
		return;
	child_budget = (m->budget - 1) / 2;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		become_child(m, child_budget);
		_exit(live(p, m, CHILD_STEPS));
	}
	if (pid < 0) {
		count(&sh->fork_failures);
		printf("# process %s: fork: errno %d\n", m->name, errno);
		return;
	}
	m->budget -= 1 + child_budget;
	m->kids++;
}

/* Wait for every child; their exit bits folded, 2 for a bad ending. */
static int reap_all(const struct model *m)
{
	int folded = 0, reaped = 0, st;
	pid_t pid;

	while ((pid = wait(&st)) > 0) {
		reaped++;
		if (WIFEXITED(st) && (WEXITSTATUS(st) & ~3) == 0) {
			folded |= WEXITSTATUS(st);
			continue;
		}
		folded |= 2;
		printf("# process %s: child %d ended with wait status %#x\n",
		       m->name, (int)pid, st);
	}
	if (reaped != m->kids) {
		folded |= 2;
		printf("# process %s: reaped %d of %d children\n", m->name,
		       reaped, m->kids);
	}
	return folded;
}

/* A process's life: its steps, a last check, its children. */
static int live(volatile uint64_t *p, struct model *m, int steps)
{
	int bad = 0;

	for (int step = 0; step < steps; step++) {
		uint64_t r = rnd(m) % 100;

		if (r < 50)
			op_write(p, m);
		else if (r < 70)
			op_fork(p, m);
		else
			bad |= op_verify(p, m, step);
	}
	bad |= op_verify(p, m, steps);
	return bad | reap_all(m);
}

int main(int argc, char **argv)
{
	static struct model root;
	volatile uint64_t *p;
	int folded;

	if (argc > 1)
		seed = strtoull(argv[1], NULL, 0);
	ut_plan(3);
	printf("# seed %" PRIu64 "\n", seed);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	p = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || p == MAP_FAILED)
		ut_skip("cannot map the region and the shared counters");
	sh->procs = 1;
	root.rng = mix(seed ^ mix(1));
	root.code = 1;
	root.budget = MAX_PROCS - 1;
	strcpy(root.name, "r");
	for (int i = 0; i < PAGES; i++)
		if (rnd(&root) & 1)
			write_page(p, &root, i, 1);
	folded = live(p, &root, ROOT_STEPS);
	printf("# %ld processes, %ld writes, %ld verifications\n", sh->procs,
	       sh->writes, sh->verifies);
	UT_CHECK(sh->fork_failures == 0, "every_fork_succeeded",
		 "%ld forks failed", sh->fork_failures);
	UT_CHECK(sh->mismatches == 0 && (folded & 1) == 0,
		 "model_holds_in_every_process", "%ld verifications found a "
		 "wrong word (exit bits %#x)", sh->mismatches, folded);
	UT_CHECK((folded & 2) == 0, "all_children_exited_cleanly",
		 "a process died or was not reaped (exit bits %#x)", folded);
	if (ut_failures)
		printf("# replay: cow_stress %" PRIu64 "\n", seed);
	ut_done();
}
