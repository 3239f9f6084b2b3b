/*
 * tlb_mprotect — lab 7's shootdown on mprotect: once mprotect(PROT_READ)
 * has returned, a store to the region faults on every CPU, not only on
 * the one that called it.
 *
 * Each round forks a victim process, so that the parent can see how it
 * ends. In the victim, WRITERS threads store in a loop to every page of
 * a region P, so the CPU each runs on caches writable translations for
 * all of P. Once every writer has been over P at least once, the victim's
 * main thread calls mprotect(P, PROT_READ) and then raises a flag (a
 * release store). Each writer that sees the flag (an acquire load) makes
 * one more store, of a value that says "after", to a word of its own in
 * one page: it must fault.
 *
 * P is MAP_SHARED, so a store that lands is there for the parent to see
 * once the victim is gone, whatever ended it and however soon. The right
 * end: the victim dies of SIGSEGV and no "after" value is in P. If the
 * victim is still alive SURVIVE_NS after the flag, or every writer's
 * "after" store has landed, its main thread exits with VICTIM_SURVIVED.
 *
 * Each subtest's comment names the kernel bug it catches. A message
 * gives a victim's outcome: its exit code, or minus the signal that
 * killed it (-999: there was no victim).
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/utest.h"

#define PG 4096L
#define WORDS (PG / 8)          /* 64-bit words in a page */
#define WRITERS 3               /* with the main thread, one per vmlab CPU */
#define ROUNDS 4                /* victims per subtest */
#define MANY_PAGES 64           /* above the kernel's 33-page flush ceiling */
#define WAIT_NS 1000000000L     /* writers not started by then: stuck */
#define SURVIVE_NS 1000000000L  /* a victim alive this long: stores landed */
#define BEFORE_MAGIC 0xbef0ULL  /* the top 16 bits of a store before, */
#define AFTER_MAGIC 0xaf7eULL   /* and after, the flag */

/* A victim's exit codes: how it failed to die. */
enum {
	VICTIM_NO_THREAD = 1,   /* pthread_create failed */
	VICTIM_STUCK = 2,       /* a writer never went over P */
	VICTIM_NO_MPROTECT = 3, /* mprotect failed */
	VICTIM_SURVIVED = 4,    /* the stores after mprotect went through */
};

/* One writer's progress, a cache line of its own. */
struct writer {
	long sweeps;            /* times it has stored to every page of P */
} __attribute__((aligned(64)));

/* The victim's state: set by the parent before each fork. */
static struct {
	volatile uint64_t *p;   /* MAP_SHARED: the parent sees the stores */
	long pages;
	int flag;               /* mprotect has returned */
	struct writer w[WRITERS];
} run;

static uint64_t value(uint64_t magic, long w, long n)
{
	return magic << 48 | (uint64_t)w << 32 | (uint64_t)n;
}

/*
 * Writer w's word for its store after the flag: one page each, from the
 * end of P, where a range flush that stops early leaves entries.
 */
static long after_word(long w)
{
	return (run.pages - 1 - w % run.pages) * WORDS + w;
}

static void *writer(void *arg)
{
	long w = (long)(intptr_t)arg, n = 0;

	while (!__atomic_load_n(&run.flag, __ATOMIC_ACQUIRE)) {
		/* A spinning CPU gives its turn away (QEMU runs the
		 * CPUs one at a time), as a spin loop should. */
		__builtin_ia32_pause();
		for (long pg = 0; pg < run.pages; pg++)
			run.p[pg * WORDS + w] = value(BEFORE_MAGIC, w, n);
		__atomic_store_n(&run.w[w].sweeps, ++n, __ATOMIC_RELEASE);
	}
	run.p[after_word(w)] = value(AFTER_MAGIC, w, 0);
	return NULL;
}

/* The stores after the flag that landed; the first's writer in *first. */
static int landed(int *first)
{
	int n = 0;

	*first = -1;
	for (long w = WRITERS - 1; w >= 0; w--)
		if (run.p[after_word(w)] == value(AFTER_MAGIC, w, 0)) {
			n++;
			*first = (int)w;
		}
	return n;
}

/* Wait until every writer has stored to all of P once; 0 if stuck. */
static int writers_swept(void)
{
	long end = ut_now_ns() + WAIT_NS;

	for (int i = 0; i < WRITERS; i++)
		while (__atomic_load_n(&run.w[i].sweeps,
				       __ATOMIC_ACQUIRE) < 1) {
			if (ut_now_ns() > end)
				return 0;
			ut_relax();
		}
	return 1;
}

/* The victim's main thread: if it returns, the victim did not die. */
static int victim(void)
{
	pthread_t t;
	long end;
	int first;

	for (long w = 0; w < WRITERS; w++)
		if (pthread_create(&t, NULL, writer, (void *)(intptr_t)w) != 0)
			return VICTIM_NO_THREAD;
	if (!writers_swept())
		return VICTIM_STUCK;
	if (mprotect((void *)run.p, run.pages * PG, PROT_READ) != 0)
		return VICTIM_NO_MPROTECT;
	__atomic_store_n(&run.flag, 1, __ATOMIC_RELEASE);
	end = ut_now_ns() + SURVIVE_NS;
	while (landed(&first) < WRITERS && ut_now_ns() < end)
		ut_relax();
	return VICTIM_SURVIVED;
}

/* A wait status for a message: the exit code, or minus the signal. */
static int outcome(int st)
{
	if (st != -1 && WIFEXITED(st))
		return WEXITSTATUS(st);
	return st != -1 && WIFSIGNALED(st) ? -WTERMSIG(st) : -999;
}

/* One victim over a region of pages; 1 if it ended right. */
static int one_victim(int *st, int *stores, int *first)
{
	pid_t pid;

	memset((void *)run.p, 0, run.pages * PG);
	memset(run.w, 0, sizeof(run.w));
	run.flag = 0;
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(victim());
	*st = -1;
	if (pid > 0 && waitpid(pid, st, 0) != pid)
		*st = -1;
	*stores = landed(first);
	return outcome(*st) == -SIGSEGV && *stores == 0;
}

/* Run ROUNDS victims over a region of pages; the subtest name. */
static void victims(const char *name, long pages)
{
	int wrong = 0, bad_round = 0, bad_st = -1, bad_stores = 0;
	int bad_first = -1, st, stores, first;

	run.p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (run.p == MAP_FAILED) {
		UT_CHECK(0, name, "mmap of %ld pages: errno %d", pages, errno);
		return;
	}
	run.pages = pages;
	for (int r = 1; r <= ROUNDS; r++)
		if (!one_victim(&st, &stores, &first) && wrong++ == 0) {
			bad_round = r;
			bad_st = st;
			bad_stores = stores;
			bad_first = first;
		}
	UT_CHECK(wrong == 0, name, "%d of %d victims ended wrong; the first "
		 "(round %d): outcome %d, want %d (%d: pthread_create failed, "
		 "%d: writers stuck, %d: mprotect failed, %d: it survived); "
		 "%d of %d stores after mprotect landed (the first: writer "
		 "%d's, 0: none)", wrong, ROUNDS, bad_round, outcome(bad_st),
		 -SIGSEGV, VICTIM_NO_THREAD, VICTIM_STUCK, VICTIM_NO_MPROTECT,
		 VICTIM_SURVIVED, bad_stores, WRITERS, bad_first + 1);
	munmap((void *)run.p, pages * PG);
}

int main(void)
{
	ut_plan(2);
	/*
	 * mprotect_ro_faults_on_every_cpu: a one-page P. Fails on an
	 * mprotect that flushes only the TLB of the CPU that called it (no
	 * IPIs), or that returns before every CPU has flushed: the other
	 * CPUs' stale writable entries let the stores land.
	 */
	victims("mprotect_ro_faults_on_every_cpu", 1);
	/*
	 * mprotect_ro_range_faults_on_every_cpu: a 64-page P, and the
	 * stores after the flag go to its last pages. Fails also on a range
	 * shootdown that stops early: one that flushes the first 33 pages
	 * only, or past its ceiling flushes nothing instead of the whole TLB.
	 */
	victims("mprotect_ro_range_faults_on_every_cpu", MANY_PAGES);
	ut_done();
}
