/*
 * tlb_stale — lab 7's TLB shootdown seen from user space: once mmap has
 * replaced a mapping, no thread of the process reads the old memory
 * again, whichever CPU it runs on.
 *
 * The main thread and READERS reader threads (four threads for vmlab's
 * four CPUs) share a private anonymous region A. The readers load A in a
 * tight loop with no system call in it, so the CPU each one runs on keeps
 * A's translations in its TLB. A goes through generations, each with its
 * own contents. In each round the main thread
 *
 *	1. waits until every reader has checked the current generation, so
 *	   that every reader's CPU has cached A's current translations;
 *	2. replaces A with mmap(MAP_FIXED) at the same address, in one call,
 *	   which frees A's frames;
 *	3. fills A with the next generation and publishes its number (a
 *	   release store).
 *
 * A reader that sees a new number (an acquire load) checks all of A at
 * once: every word must hold that generation's value. The main thread
 * does not touch A again until every reader has checked, so on a correct
 * kernel the check races with nothing. Any other value is a stale read:
 * the reader's CPU still translated A to a frame it had lost. The reader
 * counts them and keeps the first; the main thread reports it.
 *
 * A value reads as 7e57 GGGG PPPP WWWW in hex: generation G (0 is the
 * decoy below), page P of the region, word W of the page.
 *
 * Between the two mmap calls of step 2 a decoy region is replaced first,
 * and filled before A: on an allocator that hands out the frame it freed
 * last, A's old frames go to the decoy, not back to A, where a stale
 * translation would read the right value by chance.
 *
 * The kit's QEMU keeps a TLB per vCPU that only invlpg or a CR3 write
 * empties, so a kernel that skips a shootdown really does read stale data
 * here. Linux passes: its mmap flushes every CPU before it returns.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#include "lib/utest.h"

#define PG 4096L
#define WORDS (PG / 8)          /* 64-bit words in a page */
#define READERS 3               /* with the main thread, one per vmlab CPU */
#define ROUNDS 4                /* replacements of A per subtest */
#define MANY_PAGES 64           /* above the kernel's 33-page flush ceiling */
#define WAIT_NS 1000000000L     /* a reader silent this long is stuck */
#define MAGIC 0x7e57ULL         /* the top 16 bits of every value */
#define DECOY_GEN 0             /* the decoy's generation; A's start at 1 */

/* One reader's state, a cache line of its own. */
struct reader {
	int seen;               /* the last generation it checked */
	long stale;             /* words that held another value */
	int bad_gen;            /* the first: the generation it checked, */
	long bad_word;          /* the word's index in A, */
	uint64_t bad_val;       /* and what it held */
} __attribute__((aligned(64)));

/* What the main thread and the readers share during one subtest. */
static struct {
	volatile uint64_t *a;   /* the region under test */
	volatile uint64_t *decoy;
	long pages;             /* of each */
	int gen;                /* A's published generation */
	int busy;               /* A is being replaced: do not touch it */
	int stop;
	struct reader r[READERS];
} run;

/* Word k of a region of generation gen. */
static uint64_t value(int gen, long k)
{
	return MAGIC << 48 | (uint64_t)gen << 32 | (uint64_t)(k / WORDS) << 16 |
	       (uint64_t)(k % WORDS);
}

/* One word per page: a translation is per page, so is a stale one (and
 * a whole page per reader per round would cost vmlab's four spinning
 * CPUs seconds of virtual time). */
static void fill(volatile uint64_t *w, long pages, int gen)
{
	for (long k = 0; k < pages * WORDS; k += WORDS)
		w[k] = value(gen, k);
}

/* A reader's check of a generation it has just seen published. */
static void check(struct reader *me, int gen)
{
	for (long k = 0; k < run.pages * WORDS; k += WORDS) {
		uint64_t v = run.a[k];

		if (v != value(gen, k) && me->stale++ == 0) {
			me->bad_gen = gen;
			me->bad_word = k;
			me->bad_val = v;
		}
	}
}

/*
 * A reader: check each new generation once, and in between load one
 * word of each page in turn, so that its CPU keeps every translation.
 */
static void *reader(void *arg)
{
	struct reader *me = arg;
	long k = 0;
	int last = -1, g;

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
		/*
		 * Touch A only between a publication and the next
		 * replacement: a read of a page main has not filled yet
		 * would map it (the zero page), and main's store would then
		 * need a shootdown per page, which is not what this tests.
		 */
		if (!__atomic_load_n(&run.busy, __ATOMIC_ACQUIRE))
			(void)run.a[k];
		k = (k + WORDS) % (run.pages * WORDS);
	}
	return NULL;
}

/* Wait until every reader has checked generation gen; 0 if stuck. */
static int readers_checked(int gen)
{
	long end = ut_now_ns() + WAIT_NS;

	for (int i = 0; i < READERS; i++)
		while (__atomic_load_n(&run.r[i].seen,
				       __ATOMIC_ACQUIRE) < gen) {
			if (ut_now_ns() > end)
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

/* Steps 2 and 3 of a round: A holds generation gen, published. */
static int next_generation(int gen)
{
	__atomic_store_n(&run.busy, 1, __ATOMIC_RELEASE);
	if (!remap(run.decoy, run.pages) || !remap(run.a, run.pages))
		return 0;
	fill(run.decoy, run.pages, DECOY_GEN);
	fill(run.a, run.pages, gen);
	__atomic_store_n(&run.busy, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&run.gen, gen, __ATOMIC_RELEASE);
	return 1;
}

/* Map and fill A and the decoy for a subtest; 0 (reported) on failure. */
static int map_regions(long pages, const char *name)
{
	void *a = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *d = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (a == MAP_FAILED || d == MAP_FAILED) {
		UT_CHECK(0, name, "mmap of %ld pages: errno %d", pages, errno);
		return 0;
	}
	memset(&run, 0, sizeof(run));
	run.a = a;
	run.decoy = d;
	run.pages = pages;
	run.gen = 1;
	fill(run.decoy, pages, DECOY_GEN);
	fill(run.a, pages, 1);
	return 1;
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

/* The subtest's result, from what the readers recorded. */
static void report(const char *name, int started, int err, int round,
		   int waited, int mapped)
{
	long stale = 0;
	int first = -1;

	for (int i = READERS - 1; i >= 0; i--) {
		stale += run.r[i].stale;
		if (run.r[i].stale != 0)
			first = i;
	}
	UT_CHECK(started == READERS && waited && mapped && stale == 0, name,
		 "%d of %d readers started (pthread_create: %d); %d of %d "
		 "rounds ran: readers %s, mmap %s; %ld stale words read",
		 started, READERS, err, round, ROUNDS,
		 waited ? "kept up" : "stuck", mapped ? "worked" : "failed",
		 stale);
	if (!waited)
		for (int i = 0; i < READERS; i++)
			printf("# reader %d: last checked generation %d (of %d)\n",
			       i + 1, run.r[i].seen, run.gen);
	if (first < 0)
		return;
	printf("# first: reader %d, checking generation %d, read %#llx at "
	       "word %ld (page %ld), want %#llx\n", first + 1,
	       run.r[first].bad_gen, (unsigned long long)run.r[first].bad_val,
	       run.r[first].bad_word, run.r[first].bad_word / WORDS,
	       (unsigned long long)value(run.r[first].bad_gen,
					 run.r[first].bad_word));
}

/* Run ROUNDS rounds over a region of pages; the subtest name. */
static void remap_rounds(const char *name, long pages)
{
	pthread_t t[READERS];
	int started, err, round = 0, waited = 1, mapped = 1;

	if (!map_regions(pages, name))
		return;
	started = start_readers(t, &err);
	while (started == READERS && round < ROUNDS) {
		waited = readers_checked(round + 1);
		if (!waited)
			break;
		mapped = next_generation(round + 2);
		if (!mapped)
			break;
		round++;
	}
	if (started == READERS && waited && mapped)
		waited = readers_checked(round + 1);
	stop_readers(t, started);
	report(name, started, err, round, waited, mapped);
	munmap((void *)run.a, pages * PG);
	munmap((void *)run.decoy, pages * PG);
}

int main(void)
{
	ut_plan(2);
	/*
	 * remap_fixed_seen_by_every_thread: a one-page A. Fails on a kernel
	 * that flushes the TLB of the CPU that called mmap only (no IPIs),
	 * or that sends them and goes on before every CPU has flushed.
	 */
	remap_rounds("remap_fixed_seen_by_every_thread", 1);
	/*
	 * remap_of_many_pages: a 64-page A, replaced by one mmap call. Fails
	 * also on a range shootdown that stops early: one that flushes the
	 * first 33 pages only, or past its ceiling flushes nothing instead
	 * of the whole TLB.
	 */
	remap_rounds("remap_of_many_pages", MANY_PAGES);
	ut_done();
}
