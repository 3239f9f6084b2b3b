/*
 * tlb_free — lab 7's rule that a frame is freed only after every CPU has
 * flushed its translations to it. A kernel that frees first lets a thread
 * on another CPU read, through its stale TLB entry, the frame's next
 * owner: here another process's secret.
 *
 * Before any thread exists the program forks a helper. The helper maps
 * HELPER_PAGES private pages and touches the first, so that its page
 * tables are built and its next faults need one frame each. The parent
 * then starts READERS threads that load a one-page private region A in a
 * tight loop with no system call in it. Each round r:
 *
 *	1. A holds round r's contents, published (a release store); every
 *	   reader checks them once (each word exact), and says so;
 *	2. the main thread replaces A with mmap(MAP_FIXED), which frees
 *	   A's frame, and at once tells the helper to go;
 *	3. the helper writes its secret into its other pages: each first
 *	   touch takes a frame, the first of them likely A's old one;
 *	4. the readers keep loading A until each has done LINGER_READS more
 *	   loads since the helper finished; then the helper frees its
 *	   pages again (for the next round) and the main thread fills A
 *	   with round r + 1's contents and publishes them.
 *
 * From step 1 on, a reader may find in A round r's contents, zeros (the
 * new page), or round r + 1's (being written): the main thread cannot get
 * further ahead before this reader has checked round r + 1. Anything
 * else, and the secret above all, came through a stale translation.
 *
 * The parent and the helper order their steps through a page of
 * MAP_SHARED|MAP_ANONYMOUS memory (post() and await(), which spins with
 * sched_yield and gives up after WAIT_NS). A value reads as MMMM RRRR
 * then the word's index in hex: MMMM is 01d0 for A, 5ec7 for the secret;
 * R the round.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/utest.h"

#define PG 4096L
#define WORDS (PG / 8)          /* 64-bit words in a page */
#define READERS 3               /* with the main thread, one per vmlab CPU */
#define ROUNDS 6                /* replacements of A */
#define HELPER_PAGES 64         /* the helper's region; page 0 stays */
#define LINGER_READS 50         /* loads of A per reader after the secret */
#define WAIT_NS 1000000000L     /* a peer silent this long is stuck */
#define A_MAGIC 0x01d0ULL       /* the top 16 bits of A's values */
#define SECRET_MAGIC 0x5ec7ULL  /* and of the helper's */

/* Who posts a step: each process advances its own counter. */
enum { PARENT, HELPER };

/* A helper's exit codes, beyond 0. */
enum { HELPER_NO_MEMORY = 1, HELPER_STUCK = 2 };

/* Shared by the parent and the helper. */
static struct shared {
	int step[2];
	int quit;               /* the parent gave up: the helper leaves */
} *sh;

/* One reader's state, a cache line of its own. */
struct reader {
	int seen;               /* the last round it checked */
	long reads;             /* loads of A between checks */
	long stale;             /* words wrong at a check */
	long foreign;           /* loads that found no value A ever held */
	int bad_round;          /* the first of the latter: its round, */
	long bad_word;          /* the word's index, */
	uint64_t bad_val;       /* and what it held */
} __attribute__((aligned(64)));

/* What the main thread and the readers share. */
static struct {
	volatile uint64_t *a;
	int round;              /* A's published round */
	int stop;
	struct reader r[READERS];
} run;

/* Word k of a page that holds round r's values of kind magic. */
static uint64_t value(uint64_t magic, int r, long k)
{
	return magic << 48 | (uint64_t)r << 32 | (uint64_t)k;
}

static void fill(volatile uint64_t *w, long n, uint64_t magic, int r)
{
	for (long k = 0; k < n; k++)
		w[k] = value(magic, r, k);
}

static void post(int who, int step)
{
	__atomic_store_n(&sh->step[who], step, __ATOMIC_RELEASE);
}

/* Wait until who has posted step; 0 if not within WAIT_NS, or on quit. */
static int await(int who, int step)
{
	long end = ut_now_ns() + WAIT_NS;

	while (__atomic_load_n(&sh->step[who], __ATOMIC_ACQUIRE) < step) {
		if (ut_now_ns() > end || __atomic_load_n(&sh->quit,
						      __ATOMIC_ACQUIRE))
			return 0;
		ut_relax();
	}
	return 1;
}

/* Replace a region in place with fresh anonymous memory; 0 on failure. */
static int remap(volatile uint64_t *w, long pages)
{
	void *p = (void *)w;

	return mmap(p, pages * PG, PROT_READ | PROT_WRITE,
		    MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == p;
}

/*
 * The helper: in round r, on the parent's step 2r - 1, write the secret
 * (step 2r), and on its step 2r free those frames again (step 2r + 1).
 */
static int helper(void)
{
	volatile uint64_t *c = mmap(NULL, HELPER_PAGES * PG,
				    PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	volatile uint64_t *rest = c + WORDS;

	if (c == MAP_FAILED)
		return HELPER_NO_MEMORY;
	c[0] = 1;
	post(HELPER, 1);
	for (int r = 1; r <= ROUNDS; r++) {
		if (!await(PARENT, 2 * r - 1))
			return HELPER_STUCK;
		fill(rest, (HELPER_PAGES - 1) * WORDS, SECRET_MAGIC, r);
		post(HELPER, 2 * r);
		if (!await(PARENT, 2 * r))
			return HELPER_STUCK;
		if (!remap(rest, HELPER_PAGES - 1))
			return HELPER_NO_MEMORY;
		post(HELPER, 2 * r + 1);
	}
	return 0;
}

/*
 * A load of word k, in round r: one of A's values, or recorded. (Round
 * r - 1's value is stale, but that is for check() to count.)
 */
static void judge(struct reader *me, int r, long k, uint64_t v)
{
	if (v == 0 || v == value(A_MAGIC, r - 1, k) ||
	    v == value(A_MAGIC, r, k) || v == value(A_MAGIC, r + 1, k))
		return;
	if (me->foreign++ == 0) {
		me->bad_round = r;
		me->bad_word = k;
		me->bad_val = v;
	}
}

/* A reader's check of a round it has just seen published. */
static void check(struct reader *me, int r)
{
	for (long k = 0; k < WORDS; k++) {
		uint64_t v = run.a[k];

		if (v != value(A_MAGIC, r, k)) {
			me->stale++;
			judge(me, r, k, v);
		}
	}
}

/* A reader: check each new round once, and in between load all of A. */
static void *reader(void *arg)
{
	struct reader *me = arg;
	long k = 0;
	int last = 0, r;

	while (!__atomic_load_n(&run.stop, __ATOMIC_ACQUIRE)) {
		/* A spinning CPU gives its turn away (QEMU runs the
		 * CPUs one at a time), as a spin loop should. */
		__builtin_ia32_pause();
		r = __atomic_load_n(&run.round, __ATOMIC_ACQUIRE);
		if (r != last) {
			check(me, r);
			last = r;
			__atomic_store_n(&me->seen, r, __ATOMIC_RELEASE);
			continue;
		}
		judge(me, r, k, run.a[k]);
		k = (k + 1) % WORDS;
		__atomic_store_n(&me->reads, me->reads + 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Wait until every reader has checked round r; 0 if stuck. */
static int readers_checked(int r)
{
	long end = ut_now_ns() + WAIT_NS;

	for (int i = 0; i < READERS; i++)
		while (__atomic_load_n(&run.r[i].seen, __ATOMIC_ACQUIRE) < r) {
			if (ut_now_ns() > end)
				return 0;
			ut_relax();
		}
	return 1;
}

/* Wait until every reader has loaded A LINGER_READS more times. */
static int readers_lingered(void)
{
	long from[READERS], end = ut_now_ns() + WAIT_NS;

	for (int i = 0; i < READERS; i++)
		from[i] = __atomic_load_n(&run.r[i].reads, __ATOMIC_RELAXED);
	for (int i = 0; i < READERS; i++)
		while (__atomic_load_n(&run.r[i].reads, __ATOMIC_RELAXED) <
		       from[i] + LINGER_READS) {
			if (ut_now_ns() > end)
				return 0;
			ut_relax();
		}
	return 1;
}

/* Steps 2 to 4 of round r; what got stuck, or NULL. */
static const char *one_round(int r)
{
	if (!readers_checked(r))
		return "readers";
	if (!remap(run.a, 1))
		return "mmap";
	post(PARENT, 2 * r - 1);
	if (!await(HELPER, 2 * r))
		return "helper writing";
	if (!readers_lingered())
		return "readers lingering";
	post(PARENT, 2 * r);
	if (!await(HELPER, 2 * r + 1))
		return "helper freeing";
	fill(run.a, WORDS, A_MAGIC, r + 1);
	__atomic_store_n(&run.round, r + 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Start the readers; how many started (err: why the next did not). */
static int start_readers(pthread_t *t, int *err)
{
	int n;

	*err = 0;
	for (n = 0; n < READERS; n++) {
		*err = pthread_create(&t[n], NULL, reader, &run.r[n]);
		if (*err != 0)
			break;
	}
	return n;
}

static void stop_readers(pthread_t *t, int n)
{
	__atomic_store_n(&run.stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

/* A wait status for a message: the exit code, or minus the signal. */
static int outcome(int st)
{
	if (st != -1 && WIFEXITED(st))
		return WEXITSTATUS(st);
	return st != -1 && WIFSIGNALED(st) ? -WTERMSIG(st) : -999;
}

/* The first reader that found a foreign value, or -1. */
static int first_foreign(long *foreign, long *stale)
{
	int first = -1;

	*foreign = *stale = 0;
	for (int i = READERS - 1; i >= 0; i--) {
		*foreign += run.r[i].foreign;
		*stale += run.r[i].stale;
		if (run.r[i].foreign != 0)
			first = i;
	}
	return first;
}

/*
 * The subtests, from the readers' records:
 *
 * every_round_ran: the readers, the helper and mmap kept up. Fails on
 * clone, futex or exit that lose a thread, and on a shootdown that waits
 * forever for an acknowledgement.
 *
 * freed_frame_never_read: no load found in A a value that was never A's.
 * Fails on an mmap (or munmap) that frees a frame before every CPU has
 * flushed its translations to it, or sends the IPIs without waiting for
 * their acknowledgements: a reader on another CPU reads the helper's
 * secret.
 *
 * new_contents_seen_at_once: a reader that sees round r published finds
 * exactly round r's contents. Fails on a kernel that flushes only the
 * CPU that called mmap (the reader still reads the old frame).
 */
static void report(int started, int err, int rounds, const char *stuck,
		   int st)
{
	long foreign, stale;
	int i = first_foreign(&foreign, &stale);
	const struct reader *b = &run.r[i < 0 ? 0 : i];

	UT_CHECK(started == READERS && !stuck && st == 0,
		 "every_round_ran", "%d of %d readers started (pthread_create:"
		 " %d); %d of %d rounds ran, stuck: %s; helper's outcome %d "
		 "(%d: no memory, %d: timed out)", started, READERS, err,
		 rounds, ROUNDS, stuck ? stuck : "no", outcome(st),
		 HELPER_NO_MEMORY, HELPER_STUCK);
	UT_CHECK(foreign == 0, "freed_frame_never_read", "%ld loads found "
		 "a value that was never A's; the first: reader %d in round "
		 "%d, word %ld held %#llx (%s)", foreign, i + 1, b->bad_round,
		 b->bad_word, (unsigned long long)b->bad_val,
		 b->bad_val >> 48 == SECRET_MAGIC ? "the helper's secret" :
		 "not the secret either");
	UT_CHECK(stale == 0, "new_contents_seen_at_once", "%ld words wrong "
		 "when a reader checked a round it had just seen published",
		 stale);
}

int main(void)
{
	pthread_t t[READERS];
	const char *stuck = NULL;
	int started = 0, err = 0, done = 0, st = -1;
	pid_t pid;

	ut_plan(3);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	run.a = mmap(NULL, PG, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || run.a == MAP_FAILED)
		ut_skip("cannot map the shared page or A");
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(helper());
	if (pid < 0 || !await(HELPER, 1))
		stuck = "helper starting";
	fill(run.a, WORDS, A_MAGIC, 1);
	run.round = 1;
	if (!stuck)
		started = start_readers(t, &err);
	while (started == READERS && !stuck && done < ROUNDS) {
		stuck = one_round(done + 1);
		done += !stuck;
	}
	if (started == READERS && !stuck && !readers_checked(done + 1))
		stuck = "readers";
	stop_readers(t, started);
	__atomic_store_n(&sh->quit, stuck != NULL || started != READERS,
			 __ATOMIC_RELEASE);
	if (pid > 0 && waitpid(pid, &st, 0) != pid)
		st = -1;
	report(started, err, done, stuck, st);
	ut_done();
}
