/*
 * fork_storm — fork, COW faults, exit and wait from four CPUs at once,
 * over and over. Lab 6's fork, as_dup and wait are correct one at a time
 * long before they are correct together: this program is for the races.
 *
 * The parent fills a private region (two pages per worker) and forks
 * WORKERS workers, which wait on a shared start flag so that they begin
 * together. Each worker then runs ROUNDS rounds:
 *
 *	1. write its own two pages with a value for this round
 *	2. fork a child, which checks its worker's two pages hold the
 *	   round's value, overwrites them, checks all pages (its worker's
 *	   two hold its value, every other pair the parent's), and exits
 *	   with a code made of the worker's number and the round
 *	3. write its two pages again at once, so that worker and child
 *	   break copy-on-write on the same slots at the same time
 *	4. wait for that child and check its exit code, then check its own
 *	   view (the child's writes must not show)
 *
 * Counters live in MAP_SHARED memory; the parent adds them up. Fails on
 * a fork or COW fault that is not safe against another CPU doing the
 * same (a page freed or reused while still shared, a copy from a frame
 * another process is changing), and on a wait that gives a worker
 * another worker's child's status or loses a child.
 *
 * Usage: fork_storm [ROUNDS], default 40.
 */
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/utest.h"

#define PG 4096L
#define WORDS (PG / 8)
#define WORKERS 4               /* vmlab's CPUs */
#define PAIR (2 * WORDS)        /* the two pages a worker owns */
#define DEFAULT_ROUNDS 40
#define BAD_VIEW 250            /* a child's exit code: its view was wrong */
#define WAIT_NS 2000000000L     /* longer than this to start: stuck */

/* The counters every process adds to, one row per worker. */
static struct shared {
	int ready, go, active, max_active;
	struct {
		long forks, fork_failures, right_status, wrong_status;
		long child_bad_view, worker_bad_view;
	} w[WORKERS];
} *sh;

/* Word k of a pair of pages filled with tag. */
static uint64_t word(uint64_t tag, long k)
{
	return tag * 0x9e3779b97f4a7c15ULL + (uint64_t)k;
}

static void fill(volatile uint64_t *w, uint64_t tag)
{
	for (long k = 0; k < PAIR; k++)
		w[k] = word(tag, k);
}

static int holds(const volatile uint64_t *w, uint64_t tag)
{
	for (long k = 0; k < PAIR; k++)
		if (w[k] != word(tag, k))
			return 0;
	return 1;
}

/* The parent's value for pair i. */
static uint64_t parent_tag(int i)
{
	return 0x100 + (uint64_t)i;
}

/* Worker w's value for its pair in round r, or (child 1) its child's. */
static uint64_t round_tag(int w, int r, int child)
{
	return (uint64_t)(w + 1) << 32 | (uint64_t)r << 1 | (uint64_t)child;
}

/* The exit code of worker w's child in round r: never 0 or BAD_VIEW. */
static int child_code(int w, int r)
{
	return 1 + (w * 53 + r) % 200;
}

/* Pair w holds tag and every other pair the parent's value. */
static int view_holds(const uint64_t *p, int w, uint64_t tag)
{
	for (int i = 0; i < WORKERS; i++)
		if (!holds(p + i * PAIR, i == w ? tag : parent_tag(i)))
			return 0;
	return 1;
}

/* Wait until *flag >= v; 0 if it did not within WAIT_NS. */
static int await(int *flag, int v)
{
	long end = ut_now_ns() + WAIT_NS;

	while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) < v) {
		if (ut_now_ns() > end)
			return 0;
		ut_relax();
	}
	return 1;
}

static void add(long *counter)
{
	__atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
}

/* Note one more worker mid-round, and the most seen at once. */
static void enter_round(void)
{
	int n = __atomic_add_fetch(&sh->active, 1, __ATOMIC_RELAXED);
	int max = __atomic_load_n(&sh->max_active, __ATOMIC_RELAXED);

	while (n > max && !__atomic_compare_exchange_n(&sh->max_active, &max,
			n, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static int child(uint64_t *p, int w, int r)
{
	/* First the worker's pages, which the worker is writing now too. */
	if (!holds(p + w * PAIR, round_tag(w, r, 0)))
		return BAD_VIEW;
	fill(p + w * PAIR, round_tag(w, r, 1));
	if (!view_holds(p, w, round_tag(w, r, 1)))
		return BAD_VIEW;
	if (!view_holds(p, w, round_tag(w, r, 1)))
		return BAD_VIEW;
	return child_code(w, r);
}

static void one_round(uint64_t *p, int w, int r)
{
	int st = -1;
	pid_t pid;

	enter_round();
	fill(p + w * PAIR, round_tag(w, r, 0));
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(child(p, w, r));
	if (pid < 0) {
		add(&sh->w[w].fork_failures);
	} else {
		/*
		 * Write the pages again while the child writes them too: two
		 * COW faults on one shared slot at once, on two CPUs.
		 */
		fill(p + w * PAIR, round_tag(w, r, 0));
		add(&sh->w[w].forks);
		if (waitpid(pid, &st, 0) != pid)
			st = -1;
		if (st != -1 && WIFEXITED(st) &&
		    WEXITSTATUS(st) == child_code(w, r))
			add(&sh->w[w].right_status);
		else if (st != -1 && WIFEXITED(st) &&
			 WEXITSTATUS(st) == BAD_VIEW)
			add(&sh->w[w].child_bad_view);
		else
			add(&sh->w[w].wrong_status);
	}
	if (!view_holds(p, w, round_tag(w, r, 0)))
		add(&sh->w[w].worker_bad_view);
	__atomic_sub_fetch(&sh->active, 1, __ATOMIC_RELAXED);
}

static int worker(uint64_t *p, int w, int rounds)
{
	__atomic_add_fetch(&sh->ready, 1, __ATOMIC_RELEASE);
	if (!await(&sh->go, 1))
		return 2;
	for (int r = 0; r < rounds; r++)
		one_round(p, w, r);
	/* Every child was waited for: none may be left. */
	return waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD ? 0 : 1;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : DEFAULT_ROUNDS;
	long forks = 0, failed = 0, right = 0, wrong = 0, child_views = 0;
	long views = 0;
	int started, clean = 0, st, bad_st = 0;
	pid_t pid[WORKERS];
	uint64_t *p;

	ut_plan(5);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	p = mmap(NULL, WORKERS * 2 * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || p == MAP_FAILED || rounds < 1)
		ut_skip("cannot map the region (or ROUNDS < 1)");
	for (int i = 0; i < WORKERS; i++)
		fill(p + i * PAIR, parent_tag(i));
	fflush(stdout);
	for (int w = 0; w < WORKERS; w++) {
		pid[w] = fork();
		if (pid[w] == 0)
			_exit(worker(p, w, rounds));
	}
	started = await(&sh->ready, WORKERS);
	__atomic_store_n(&sh->go, 1, __ATOMIC_RELEASE);
	for (int w = 0; w < WORKERS; w++) {
		st = -1;
		if (pid[w] > 0 && waitpid(pid[w], &st, 0) == pid[w] &&
		    WIFEXITED(st) && WEXITSTATUS(st) == 0)
			clean++;
		else
			bad_st = st;
		forks += sh->w[w].forks;
		failed += sh->w[w].fork_failures;
		right += sh->w[w].right_status;
		wrong += sh->w[w].wrong_status;
		child_views += sh->w[w].child_bad_view;
		views += sh->w[w].child_bad_view + sh->w[w].worker_bad_view;
	}
	printf("# %ld forks from %d workers, at most %d mid-round at once\n",
	       forks, WORKERS, sh->max_active);
	UT_CHECK(started, "workers_started_together", "%d of %d workers "
		 "ready", sh->ready, WORKERS);
	UT_CHECK(forks == (long)WORKERS * rounds && failed == 0,
		 "every_fork_succeeded", "%ld forks, %ld failed, want %d",
		 forks, failed, WORKERS * rounds);
	UT_CHECK(right + child_views == forks && wrong == 0,
		 "every_child_status_right", "%ld of %ld children's exit "
		 "codes wrong", wrong, forks);
	UT_CHECK(views == 0 && view_holds(p, -1, 0), "every_view_right",
		 "%ld wrong views (children and workers), parent's view "
		 "right: %d", views, view_holds(p, -1, 0));
	UT_CHECK(clean == WORKERS, "workers_exited_cleanly", "%d of %d "
		 "workers exited 0; one's wait status %#x (exit 1: a child "
		 "left over, 2: no start flag)", clean, WORKERS, bad_st);
	ut_done();
}
