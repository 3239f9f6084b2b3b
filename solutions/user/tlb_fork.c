/*
 * tlb_fork — fork and copy-on-write in a process with threads on other
 * CPUs. fork write-protects the parent's private pages, and a COW fault
 * moves one thread's page to a new frame; either change is a mapping
 * change that lab 7's shootdown must carry to every CPU the process runs
 * on, not only the one that made it.
 *
 * Each subtest starts THREADS threads next to the main thread (four
 * threads for vmlab's four CPUs) that use a private page in a tight loop
 * with no system call in it, so that the CPU each runs on keeps the
 * page's translation in its TLB, then forks ROUNDS children, one at a
 * time. A child reports through its exit status (0 when all it checked
 * held, else CHILD_SAW_STORES or CHILD_STUCK) and a page of
 * MAP_SHARED|MAP_ANONYMOUS memory; a message gives its outcome: its exit
 * code, or minus the signal that killed it (-999: there was no child).
 * Every wait spins with sched_yield and gives up after WAIT_NS. Each
 * subtest's comment names the kernel bug it catches.
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
#define LINE_WORDS 8            /* 64-bit words in a cache line */
#define THREADS 3               /* with the main thread, one per vmlab CPU */
#define ROUNDS 3                /* children per subtest */
#define MIN_STORES 50           /* a writer's stores between two snapshots */
#define WAIT_NS 1000000000L     /* a peer silent this long is stuck */
#define MAGIC 0xc0deULL         /* the top 16 bits of the page's values */

/* A child's exit codes, beyond 0. */
enum { CHILD_SAW_STORES = 1, CHILD_STUCK = 2 };

/* Shared by the parent's threads and its child. */
static struct shared {
	struct {
		uint64_t stores;        /* how many writer i has made */
	} __attribute__((aligned(64))) w[THREADS];
	uint64_t first[THREADS];        /* the child's two snapshots */
	uint64_t second[THREADS];
	int parent_done;                /* the child may check and exit */
} *sh;

/* One thread's state in the parent, a cache line of its own. */
struct thread {
	int seen;               /* the last generation it checked */
	long stale;             /* words that held another value */
	int bad_gen;            /* the first: the generation it checked, */
	long bad_word;          /* the word, */
	uint64_t bad_val;       /* and what it held */
} __attribute__((aligned(64)));

/* What the main thread and the other threads share. */
static struct {
	volatile uint64_t *p;   /* the page under test */
	int gen;                /* its published generation */
	int stop;
	struct thread t[THREADS];
} run;

/* Wait until *x >= v; 0 if it did not within WAIT_NS. */
static int await_u64(uint64_t *x, uint64_t v)
{
	long end = ut_now_ns() + WAIT_NS;

	while (__atomic_load_n(x, __ATOMIC_ACQUIRE) < v) {
		if (ut_now_ns() > end)
			return 0;
		ut_relax();
	}
	return 1;
}

/* A wait status for a message: the exit code, or minus the signal. */
static int outcome(int st)
{
	if (st != -1 && WIFEXITED(st))
		return WEXITSTATUS(st);
	return st != -1 && WIFSIGNALED(st) ? -WTERMSIG(st) : -999;
}

/* fork, with stdout flushed so that no buffered line prints twice. */
static pid_t fork_clean(void)
{
	fflush(stdout);
	return fork();
}

/* Wait for pid; its wait status, or -1 if there is no such child. */
static int reap(pid_t pid)
{
	int st = -1;

	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

/* Start THREADS threads running fn; how many started (err: why not). */
static int start_threads(pthread_t *t, void *(*fn)(void *), int *err)
{
	int n;

	*err = 0;
	for (n = 0; n < THREADS; n++) {
		*err = pthread_create(&t[n], NULL, fn, (void *)(intptr_t)n);
		if (*err != 0)
			break;
	}
	return n;
}

static void stop_threads(pthread_t *t, int n)
{
	__atomic_store_n(&run.stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

/* A fresh private page and zeroed shared state; 0 (reported) if none. */
static int setup(const char *name)
{
	void *p = mmap(NULL, PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		UT_CHECK(0, name, "mmap: errno %d", errno);
		return 0;
	}
	memset(&run, 0, sizeof(run));
	memset(sh, 0, sizeof(*sh));
	run.p = p;
	return 1;
}

/* --- fork_write_protects_every_cpu --- */

/* Writer i: store 1, 2, 3, ... to its word of the page, and count. */
static void *writer(void *arg)
{
	long i = (long)(intptr_t)arg;
	uint64_t n = 0;

	while (!__atomic_load_n(&run.stop, __ATOMIC_ACQUIRE)) {
		/* A spinning CPU gives its turn away (QEMU runs the
		 * CPUs one at a time), as a spin loop should. */
		__builtin_ia32_pause();
		run.p[i * LINE_WORDS] = ++n;
		__atomic_store_n(&sh->w[i].stores, n, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Wait until every writer has made more stores; 0 if one is stuck. */
static int writers_advanced(uint64_t more)
{
	uint64_t from[THREADS];

	for (int i = 0; i < THREADS; i++)
		from[i] = __atomic_load_n(&sh->w[i].stores, __ATOMIC_ACQUIRE);
	for (int i = 0; i < THREADS; i++)
		if (!await_u64(&sh->w[i].stores, from[i] + more))
			return 0;
	return 1;
}

/* The child: its copy of the page must not change under it. */
static int snapshot_child(void)
{
	int changed = 0;

	for (int i = 0; i < THREADS; i++)
		sh->first[i] = run.p[i * LINE_WORDS];
	if (!writers_advanced(MIN_STORES))
		return CHILD_STUCK;
	for (int i = 0; i < THREADS; i++) {
		sh->second[i] = run.p[i * LINE_WORDS];
		changed |= sh->second[i] != sh->first[i];
	}
	return changed ? CHILD_SAW_STORES : 0;
}

/* The first writer whose word the child saw change, or 0. */
static int changed_word(void)
{
	for (int i = 0; i < THREADS; i++)
		if (sh->first[i] != sh->second[i])
			return i;
	return 0;
}

/*
 * fork_write_protects_every_cpu: while THREADS threads store counts to
 * their words of a private page, the main thread forks; the child takes
 * two snapshots of the page, with MIN_STORES more stores by each writer
 * in between, and they must be the same. Fails on a fork that
 * write-protects the parent's entries but flushes only the forking CPU:
 * the writers keep storing through their stale writable entries into the
 * frame the child now shares.
 */
static void fork_write_protects_every_cpu(void)
{
	const char *name = "fork_write_protects_every_cpu";
	int started, err, st = 0, r, c, stuck = 0;
	pthread_t t[THREADS];
	pid_t pid;

	if (!setup(name))
		return;
	started = start_threads(t, writer, &err);
	for (r = 1; started == THREADS && r <= ROUNDS; r++) {
		stuck = !writers_advanced(1);
		if (stuck)
			break;
		pid = fork_clean();
		if (pid == 0)
			_exit(snapshot_child());
		st = reap(pid);
		if (outcome(st) != 0)
			break;
	}
	stop_threads(t, started);
	c = changed_word();
	UT_CHECK(started == THREADS && !stuck && outcome(st) == 0, name,
		 "%d of %d writers started (pthread_create: %d); round %d of "
		 "%d: writers %s, child's outcome %d (%d: its copy changed, "
		 "%d: writers stuck); writer %d's word in it went from %llu "
		 "to %llu", started, THREADS, err, r, ROUNDS,
		 stuck ? "stuck" : "ran", outcome(st), CHILD_SAW_STORES,
		 CHILD_STUCK, c + 1, (unsigned long long)sh->first[c],
		 (unsigned long long)sh->second[c]);
	munmap((void *)run.p, PG);
}

/* --- cow_break_seen_by_other_threads --- */

/* Word k of the page in generation gen. */
static uint64_t value(int gen, long k)
{
	return MAGIC << 48 | (uint64_t)gen << 32 | (uint64_t)k;
}

static void fill(int gen)
{
	for (long k = 0; k < WORDS; k++)
		run.p[k] = value(gen, k);
}

static int holds(int gen)
{
	for (long k = 0; k < WORDS; k++)
		if (run.p[k] != value(gen, k))
			return 0;
	return 1;
}

/* A reader's check of a generation it has just seen published. */
static void check(struct thread *me, int gen)
{
	for (long k = 0; k < WORDS; k++) {
		uint64_t v = run.p[k];

		if (v != value(gen, k) && me->stale++ == 0) {
			me->bad_gen = gen;
			me->bad_word = k;
			me->bad_val = v;
		}
	}
}

/* A reader: check each new generation once, and load in between. */
static void *reader(void *arg)
{
	struct thread *me = &run.t[(intptr_t)arg];
	long k = 0;
	int last = 0, g;

	while (!__atomic_load_n(&run.stop, __ATOMIC_ACQUIRE)) {
		/* A spinning CPU gives its turn away (QEMU runs the
		 * CPUs one at a time), as a spin loop should. */
		__builtin_ia32_pause();
		g = __atomic_load_n(&run.gen, __ATOMIC_ACQUIRE);
		if (g != last) {
			check(me, g);
			last = g;
			__atomic_store_n(&me->seen, g, __ATOMIC_RELEASE);
			continue;
		}
		(void)run.p[k];
		k = (k + 1) % WORDS;
	}
	return NULL;
}

/* Publish generation gen, and wait until every reader checked it. */
static int publish(int gen)
{
	long end = ut_now_ns() + WAIT_NS;

	__atomic_store_n(&run.gen, gen, __ATOMIC_RELEASE);
	for (int i = 0; i < THREADS; i++)
		while (__atomic_load_n(&run.t[i].seen,
				       __ATOMIC_ACQUIRE) < gen) {
			if (ut_now_ns() > end)
				return 0;
			ut_relax();
		}
	return 1;
}

/* The child: once the parent has written, its copy is still old. */
static int keeps_old(int old)
{
	long end = ut_now_ns() + WAIT_NS;

	while (!__atomic_load_n(&sh->parent_done, __ATOMIC_ACQUIRE)) {
		if (ut_now_ns() > end)
			return CHILD_STUCK;
		ut_relax();
	}
	return holds(old) ? 0 : CHILD_SAW_STORES;
}

/*
 * One round: fork (the page becomes COW-shared), let the readers read it,
 * then break COW with a store of the next generation. 0 if stuck.
 */
static int cow_round(int old, int *st)
{
	int waited;
	pid_t pid;

	fill(old);
	__atomic_store_n(&sh->parent_done, 0, __ATOMIC_RELEASE);
	pid = fork_clean();
	if (pid == 0)
		_exit(keeps_old(old));
	waited = publish(old);
	if (waited) {
		fill(old + 1);
		waited = publish(old + 1);
	}
	__atomic_store_n(&sh->parent_done, 1, __ATOMIC_RELEASE);
	*st = reap(pid);
	return waited;
}

/* The readers' stale words; the first reader with any in *first. */
static long stale_words(int *first)
{
	long stale = 0;

	*first = 0;
	for (int i = THREADS - 1; i >= 0; i--) {
		stale += run.t[i].stale;
		if (run.t[i].stale != 0)
			*first = i;
	}
	return stale;
}

/*
 * cow_break_seen_by_other_threads: after a fork leaves a private page
 * COW-shared with a child, THREADS readers cache its read-only
 * translation; the main thread's store breaks COW and the readers, once
 * they see the new generation published, must read it at once. Fails on
 * a COW fault that installs the copy without shooting down the old
 * read-only entry on the other CPUs (they still read the frame the child
 * keeps), or that writes the shared frame in place (the child's copy
 * changes).
 */
static void cow_break_seen_by_other_threads(void)
{
	const char *name = "cow_break_seen_by_other_threads";
	int started, err, waited, st = 0, r, first;
	pthread_t t[THREADS];
	const struct thread *b;
	long stale;

	if (!setup(name))
		return;
	fill(1);
	started = start_threads(t, reader, &err);
	waited = started == THREADS && publish(1);
	for (r = 1; waited && r <= ROUNDS && outcome(st) == 0; r++)
		waited = cow_round(2 * r, &st);
	stop_threads(t, started);
	stale = stale_words(&first);
	b = &run.t[first];
	UT_CHECK(started == THREADS && waited && outcome(st) == 0 &&
		 stale == 0, name, "%d of %d readers started (pthread_create: "
		 "%d); %d of %d rounds ran: readers %s; child's outcome %d "
		 "(%d: its copy changed, %d: stuck); %ld stale words read",
		 started, THREADS, err, r - 1, ROUNDS,
		 waited ? "kept up" : "stuck", outcome(st), CHILD_SAW_STORES,
		 CHILD_STUCK, stale);
	if (stale != 0)
		printf("# first: reader %d, checking generation %d, read %#llx "
		       "at word %ld, want %#llx\n", first + 1, b->bad_gen,
		       (unsigned long long)b->bad_val, b->bad_word,
		       (unsigned long long)value(b->bad_gen, b->bad_word));
	munmap((void *)run.p, PG);
}

int main(void)
{
	ut_plan(2);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		ut_skip("no MAP_SHARED|MAP_ANONYMOUS memory to coordinate in");
	fork_write_protects_every_cpu();
	cow_break_seen_by_other_threads();
	ut_done();
}
