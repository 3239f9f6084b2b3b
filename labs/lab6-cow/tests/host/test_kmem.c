/*
 * test_kmem.c — the object allocator (kern/mm/kmem.c) on the host: the
 * real kmem.c over the real buddy allocator and simulated memory
 * (kmem_machine.h), with pthreads standing in for CPUs.
 *
 * kmem.c keeps its caches in a static pool and kmem_init() runs once, so
 * the tests share one machine: each makes its own caches and destroys
 * them, and the tests of page accounting compare the buddy allocator's
 * free pages before and after, with kmem_reap() run twice on both sides
 * (the first reap only sets each depot's working-set mark, the second
 * frees what was not needed since).
 *
 * Buffers are stamped: every byte is a function of the buffer's id and
 * the byte's offset, so two live buffers that overlap, or an allocator
 * that writes into a buffer it handed out, break a stamp.
 *
 * Each test's comment names the bugs that make it fail. The stub tree
 * (SOL < 4), where every allocation fails, fails every test but the
 * first assertion of none crashes.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include <kenv.h>
#include <kmem.h>
#include "kmem_machine.h"
#include "testutil.h"

#define NTHREADS 4     /* CPUs 0 .. NTHREADS - 1 */
#define TEST_TIMEOUT 60 /* seconds per test; none takes more than a few */

/* ---- failures and panics ---- */

static __thread bool in_worker; /* a pthread: no cmocka calls there */

__attribute__((noreturn, format(printf, 1, 2))) static void
flunk(const char *fmt, ...)
{
	char why[320];
	va_list ap;

	va_start(ap, fmt);
	libc_vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	fail_msg("%s", why);
	abort(); /* fail_msg returns only when no test is running */
}

static sigjmp_buf panic_jmp;
static bool panic_expected;
static char panic_msg[256];

int kprintf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vfprintf(stderr, fmt, ap);
	va_end(ap);
	return n;
}

/* The host kenv.h's panic: caught where a test expects it, else a failure
 * (in a worker thread, which cmocka cannot fail, the end of the program). */
void panic(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	libc_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (in_worker) {
		fprintf(stderr, "test_kmem: panic on cpu%d: %s\n",
			curcpu()->cpu_id, msg);
		abort();
	}
	__builtin_memcpy(panic_msg, msg, sizeof(panic_msg));
	if (panic_expected)
		siglongjmp(panic_jmp, 1);
	flunk("unexpected panic: %s", msg);
}

/* op(cp, buf), which must panic; the panic's message. */
static const char *must_panic(void *(*op)(kmem_cache_t *, void *),
			      kmem_cache_t *cp, void *buf, const char *what)
{
	panic_msg[0] = '\0';
	panic_expected = true;
	if (sigsetjmp(panic_jmp, 0) == 0) {
		op(cp, buf);
		panic_expected = false;
		flunk("%s: %s returned: it should have panicked", cp->cache_name,
		      what);
	}
	panic_expected = false;
	return panic_msg;
}

/* The panic says `what` and names the cache and the buffer. */
static void expect_report(const char *msg, const kmem_cache_t *cp,
			  const void *buf, const char *what)
{
	char addr[32];

	libc_snprintf(addr, sizeof(addr), "%p", buf);
	if (strstr(msg, what) == NULL || strstr(msg, cp->cache_name) == NULL ||
	    strstr(msg, addr) == NULL)
		flunk("panic \"%s\" should say \"%s\" and name the cache %s and "
		      "the buffer %s", msg, what, cp->cache_name, addr);
}

static void timed_out(int sig)
{
	(void)sig;
	fprintf(stderr, "test_kmem: a test ran for %d s: a lock never "
		"released, or a cycle in a free list?\n", TEST_TIMEOUT);
	_exit(1);
}

/* ---- stamps, caches and counters ---- */

static uint64_t mix(uint64_t x)
{
	struct test_rng r = { x };

	return test_rng_next(&r);
}

/* Fill buf's size bytes with id's stamp. */
static void stamp(void *buf, size_t size, uint64_t id)
{
	uint8_t *p = buf;
	uint64_t w = 0;

	for (size_t i = 0; i < size; i++) {
		if (i % 8 == 0)
			w = mix(id << 20 ^ i / 8);
		p[i] = (uint8_t)(w >> (8 * (i % 8)));
	}
}

/* 0 if buf holds id's stamp, else 1 + the offset of the first bad byte. */
static size_t stamp_bad(const void *buf, size_t size, uint64_t id)
{
	const uint8_t *p = buf;
	uint64_t w = 0;

	for (size_t i = 0; i < size; i++) {
		if (i % 8 == 0)
			w = mix(id << 20 ^ i / 8);
		if (p[i] != (uint8_t)(w >> (8 * (i % 8))))
			return i + 1;
	}
	return 0;
}

static kmem_cache_t *cache(const char *name, size_t size, size_t align,
			   unsigned cflags)
{
	kmem_cache_t *cp = kmem_cache_create(name, size, align, NULL, NULL,
					     NULL, NULL, NULL, cflags);

	if (cp == NULL)
		flunk("kmem_cache_create(%s) returned NULL", name);
	return cp;
}

static void *must_alloc(kmem_cache_t *cp)
{
	void *buf = kmem_cache_alloc(cp, KM_NOSLEEP);

	if (buf == NULL)
		flunk("kmem_cache_alloc(%s, %zu bytes) returned NULL with "
		      "memory free", cp->cache_name, cp->cache_bufsize);
	return buf;
}

static void *op_alloc(kmem_cache_t *cp, void *buf)
{
	(void)buf;
	return kmem_cache_alloc(cp, KM_NOSLEEP);
}

static void *op_free(kmem_cache_t *cp, void *buf)
{
	kmem_cache_free(cp, buf);
	return NULL;
}

/* Buffers served by the per-CPU layer, over all CPUs. */
static uint64_t cpu_allocs(const kmem_cache_t *cp)
{
	uint64_t n = 0;

	for (int i = 0; i < NCPU; i++)
		n += cp->cache_cpu[i].cc_alloc;
	return n;
}

static uint64_t cpu_frees(const kmem_cache_t *cp)
{
	uint64_t n = 0;

	for (int i = 0; i < NCPU; i++)
		n += cp->cache_cpu[i].cc_free;
	return n;
}

/* Buffers outside the slab layer: allocated, or rounds in magazines. */
static uint64_t out_of_slabs(const kmem_cache_t *cp)
{
	return cp->cache_buftotal - cp->cache_bufslab;
}

/* Free pages once every cache gave back what it does not need. */
static uint64_t reaped_free_pages(void)
{
	kmem_reap();
	kmem_reap();
	return machine_free_pages();
}

struct extent {
	uintptr_t start;
	size_t size;
	uint64_t id;
};

static int by_start(const void *a, const void *b)
{
	const struct extent *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

/* No two of the n live buffers share a byte (sorts e). */
static void check_disjoint(struct extent *e, size_t n)
{
	qsort(e, n, sizeof(*e), by_start);
	for (size_t i = 0; i + 1 < n; i++)
		if (e[i].start + e[i].size > e[i + 1].start)
			flunk("live buffers overlap: %#lx (%zu bytes, id %lu) "
			      "and %#lx (id %lu)", e[i].start, e[i].size,
			      e[i].id, e[i + 1].start, e[i + 1].id);
}

/* ---- fixtures ---- */

static int group_setup(void **state)
{
	(void)state;
	if (!machine_init(NTHREADS))
		return -1;
	kmem_init();
	return 0;
}

static int setup(void **state)
{
	(void)state;
	signal(SIGALRM, timed_out);
	alarm(TEST_TIMEOUT);
	machine_be_cpu(0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	alarm(0);
	return 0;
}

/* ---- size and alignment ---- */

/*
 * Every buffer is at least the cache's size, aligned as asked, inside
 * the simulated memory, and no two overlap; kmem_alloc() likewise for
 * every size class and past the largest. Fails when the chunk size drops
 * the alignment or the link word (chunks overlap the next buffer), when
 * a slab's colour is not a multiple of the alignment, when a slab holds
 * more chunks than fit (the last one runs into the small-slab header or
 * off the slab), and with every allocation failing (the stub).
 */
static void test_size_and_alignment(void **state)
{
	static const size_t sizes[] = { 1,   8,    13,   24,   64,   100,
					200, 504,  505,  1000, 2000, 3000,
					4096, 5000 };
	static const size_t aligns[] = { 8, 16, 64, 128, 512 };
	enum { NBUF = 40 };
	struct extent e[NBUF];
	void *buf[NBUF];

	(void)state;
	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++)
		for (size_t a = 0; a < ARRAY_SIZE(aligns); a++) {
			kmem_cache_t *cp = cache("sizes", sizes[s], aligns[a],
						 0);

			for (size_t i = 0; i < NBUF; i++) {
				buf[i] = must_alloc(cp);
				if ((uintptr_t)buf[i] % aligns[a] != 0)
					flunk("size %zu align %zu: buffer %p "
					      "is misaligned", sizes[s],
					      aligns[a], buf[i]);
				kpm_pa(buf[i]); /* panics if outside */
				kpm_pa((char *)buf[i] + sizes[s] - 1);
				stamp(buf[i], sizes[s], i);
				e[i] = (struct extent){ (uintptr_t)buf[i],
							sizes[s], i };
			}
			for (size_t i = 0; i < NBUF; i++)
				if (stamp_bad(buf[i], sizes[s], i))
					flunk("size %zu align %zu: buffer %p "
					      "was overwritten", sizes[s],
					      aligns[a], buf[i]);
			check_disjoint(e, NBUF);
			for (size_t i = 0; i < NBUF; i++)
				kmem_cache_free(cp, buf[i]);
			kmem_cache_destroy(cp);
		}
	for (size_t size = 1; size <= 3 * PAGESIZE; size += size / 4 + 1) {
		void *b = kmem_alloc(size, KM_NOSLEEP);

		if (b == NULL || (uintptr_t)b % 8 != 0)
			flunk("kmem_alloc(%zu) gave %p: NULL or misaligned",
			      size, b);
		kpm_pa((char *)b + size - 1);
		stamp(b, size, size);
		if (stamp_bad(b, size, size))
			flunk("kmem_alloc(%zu): buffer %p does not hold its "
			      "bytes", size, b);
		kmem_free(b, size);
	}
}

/* ---- no overlap ---- */

#define MAXLIVE 3000

static struct live {
	void *buf;
	size_t size;
	kmem_cache_t *cp; /* NULL: kmem_alloc */
	uint64_t id;
} live[MAXLIVE];
static size_t nlive;
static struct extent extents[MAXLIVE];

static void check_live(void)
{
	for (size_t i = 0; i < nlive; i++) {
		size_t bad = stamp_bad(live[i].buf, live[i].size, live[i].id);

		if (bad)
			flunk("live buffer %p (%zu bytes, id %lu) changed at "
			      "offset %zu", live[i].buf, live[i].size,
			      live[i].id, bad - 1);
		extents[i] = (struct extent){ (uintptr_t)live[i].buf,
					      live[i].size, live[i].id };
	}
	check_disjoint(extents, nlive);
}

static void free_live(size_t i)
{
	if (live[i].cp != NULL)
		kmem_cache_free(live[i].cp, live[i].buf);
	else
		kmem_free(live[i].buf, live[i].size);
	live[i] = live[--nlive];
}

/*
 * A seeded random run of allocations and frees over up to MAXLIVE live
 * buffers of a small, a large (> PAGESIZE/8, bufctl and hash) and a
 * multi-page cache and kmem_alloc(), every stamp and every pair of
 * extents checked as it goes. Fails when one buffer is handed out twice
 * (a lost free-list or magazine update, a stale round, a bufctl left in
 * the hash), when the free link or a slab header lies inside a buffer,
 * and when a large buffer is freed to the wrong slab.
 */
static void test_no_overlap(void **state)
{
	kmem_cache_t *cps[3];
	struct test_rng rng = { test_seed() };
	uint64_t id = 0;

	(void)state;
	print_message("seed %lu (TEST_SEED=%lu replays it)\n", rng.x, rng.x);
	cps[0] = cache("overlap_64", 64, 8, 0);
	cps[1] = cache("overlap_700", 700, 8, 0);
	cps[2] = cache("overlap_3000", 3000, 64, 0);
	nlive = 0;
	for (int op = 1; op <= 30000; op++) {
		if (nlive < MAXLIVE &&
		    (nlive == 0 || test_rng_below(&rng, 5) < 3)) {
			struct live *l = &live[nlive];
			uint64_t k = test_rng_below(&rng, 4);

			l->cp = k < 3 ? cps[k] : NULL;
			l->size = l->cp != NULL
				      ? l->cp->cache_bufsize
				      : 1 + test_rng_below(&rng, 2 * PAGESIZE);
			l->buf = l->cp != NULL ? must_alloc(l->cp)
					       : kmem_alloc(l->size, KM_NOSLEEP);
			if (l->buf == NULL)
				flunk("kmem_alloc(%zu) returned NULL", l->size);
			l->id = ++id;
			stamp(l->buf, l->size, l->id);
			nlive++;
		} else {
			size_t i = test_rng_below(&rng, nlive);

			if (stamp_bad(live[i].buf, live[i].size, live[i].id))
				flunk("op %d: buffer %p (id %lu) changed while "
				      "live", op, live[i].buf, live[i].id);
			free_live(i);
		}
		if (op % 5000 == 0)
			check_live();
	}
	check_live();
	while (nlive > 0)
		free_live(nlive - 1);
	for (int i = 0; i < 3; i++)
		kmem_cache_destroy(cps[i]);
}

/* ---- constructors and destructors ---- */

static long ctor_calls, dtor_calls, dtor_unconstructed;
static size_t ctor_size; /* the private argument: the object's size */

/* The constructed state: every byte of the object, from its address. */
static int ctor(void *buf, void *priv, int kmflags)
{
	(void)kmflags;
	stamp(buf, *(size_t *)priv, (uintptr_t)buf);
	ctor_calls++;
	return 0;
}

static void dtor(void *buf, void *priv)
{
	if (stamp_bad(buf, *(size_t *)priv, (uintptr_t)buf))
		dtor_unconstructed++;
	dtor_calls++;
}

/* A cache whose constructor stamps its objects, and fresh counts. */
static kmem_cache_t *ctor_cache(const char *name, size_t size)
{
	kmem_cache_t *cp;

	ctor_calls = dtor_calls = dtor_unconstructed = 0;
	ctor_size = size;
	cp = kmem_cache_create(name, size, 8, ctor, dtor, NULL, &ctor_size,
			       NULL, 0);
	if (cp == NULL)
		flunk("kmem_cache_create(%s) returned NULL", name);
	return cp;
}

/*
 * Each buffer is constructed once, when its slab is made, and a freed
 * buffer keeps all of its constructed state: allocated again (from a
 * magazine or from its slab) it is still constructed, to the last byte.
 * Fails when the free-list link is kept in the object (its first or last
 * word) instead of past it, when the constructor runs on every
 * allocation or not at all, and when kmem fills or clears buffers.
 */
static void test_constructor_once(void **state)
{
	static const size_t sizes[] = { 64, 200, 1000 }; /* small and large */
	enum { NBUF = 600 };
	static void *buf[NBUF];

	(void)state;
	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		kmem_cache_t *cp = ctor_cache("ctor", sizes[s]);

		for (int round = 0; round < 3; round++) {
			for (int i = 0; i < NBUF; i++) {
				buf[i] = must_alloc(cp);
				if (stamp_bad(buf[i], sizes[s],
					      (uintptr_t)buf[i]))
					flunk("size %zu round %d: buffer %p "
					      "is not in its constructed "
					      "state", sizes[s], round,
					      buf[i]);
			}
			if ((uint64_t)ctor_calls != cp->cache_buftotal)
				flunk("size %zu: %ld constructor calls for "
				      "%lu buffers: each is constructed once",
				      sizes[s], ctor_calls, cp->cache_buftotal);
			for (int i = 0; i < NBUF; i++)
				kmem_cache_free(cp, buf[i]);
		}
		kmem_cache_destroy(cp);
	}
}

/*
 * kmem_cache_destroy() destructs every buffer the constructor built,
 * each once, still in its constructed state. Fails when a slab is given
 * back without running the destructor (or the magazines' rounds are
 * dropped instead of returned to their slabs), and when a buffer is
 * destructed twice.
 */
static void test_destructor_on_destroy(void **state)
{
	static const size_t sizes[] = { 64, 1000 };
	enum { NBUF = 500 };
	static void *buf[NBUF];

	(void)state;
	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		kmem_cache_t *cp = ctor_cache("dtor", sizes[s]);

		for (int i = 0; i < NBUF; i++)
			buf[i] = must_alloc(cp);
		for (int i = 0; i < NBUF; i++)
			kmem_cache_free(cp, buf[i]);
		kmem_cache_destroy(cp);
		if (dtor_calls != ctor_calls || dtor_unconstructed != 0)
			flunk("size %zu: %ld constructed, %ld destructed (%ld "
			      "not in constructed state)", sizes[s],
			      ctor_calls, dtor_calls, dtor_unconstructed);
	}
}

/* ---- pages back to the buddy allocator ---- */

/*
 * kmem_reap() and kmem_cache_destroy() give the pages back. Without
 * magazines, reaping frees every empty slab; with them, two reaps free
 * the depot's magazines (none was used since the first), so only the
 * rounds of the CPU's two magazines stay out of the slabs; destroying
 * the cache frees the rest, its hash page and the bufctls' and slab
 * headers' slabs. Fails when a reap or destroy leaks a slab, a bufctl,
 * a magazine or the hash page, when the working-set reap frees nothing
 * (or frees rounds without returning them to their slabs), and when
 * slab_destroy() frees the wrong order.
 */
static void test_pages_come_back(void **state)
{
	static const struct {
		size_t size;
		unsigned cflags;
	} kinds[] = { { 200, KMC_NOMAGAZINE }, { 64, 0 }, { 1000, 0 },
		      { 5000, 0 } };
	enum { NBUF = 2000 };
	static void *buf[NBUF];

	(void)state;
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		uint64_t before = reaped_free_pages(), after;
		kmem_cache_t *cp = cache("reap", kinds[k].size, 8,
					 kinds[k].cflags);
		uint64_t limit = 2 * (uint64_t)cp->cache_magsize;

		for (int i = 0; i < NBUF; i++)
			buf[i] = must_alloc(cp);
		for (int i = 0; i < NBUF; i++)
			kmem_cache_free(cp, buf[i]);
		after = reaped_free_pages();
		if (out_of_slabs(cp) > limit)
			flunk("size %zu: %lu buffers still out of the slabs "
			      "after two reaps; at most the CPU's two "
			      "magazines (%lu) may hold any", kinds[k].size,
			      out_of_slabs(cp), limit);
		if (kinds[k].cflags & KMC_NOMAGAZINE && after != before)
			flunk("size %zu: %lu pages free before, %lu after "
			      "freeing everything and reaping", kinds[k].size,
			      before, after);
		kmem_cache_destroy(cp);
		after = reaped_free_pages();
		if (after != before)
			flunk("size %zu: %lu pages free before the cache, %lu "
			      "after destroying it", kinds[k].size, before,
			      after);
	}
}

/* ---- the magazine layer ---- */

/*
 * Bonwick's bound: after a warm-up, 10,000 alloc/free pairs on one CPU
 * never reach the depot (at most 2 depot lock acquisitions) and the
 * per-CPU layer serves them (>= 9,990 of each). Fails when the fast path
 * goes to the depot or the slab layer, when a freed buffer is not kept
 * in the loaded magazine, and with no magazine layer at all.
 */
static void test_bonwick_bound(void **state)
{
	kmem_cache_t *cp = cache("bonwick", 64, 8, 0);
	uint64_t depot, allocs, frees;

	(void)state;
	for (int i = 0; i < 100; i++)
		kmem_cache_free(cp, must_alloc(cp));
	depot = cp->cache_depot_acquires;
	allocs = cpu_allocs(cp);
	frees = cpu_frees(cp);
	for (int i = 0; i < 10000; i++)
		kmem_cache_free(cp, must_alloc(cp));
	if (cp->cache_depot_acquires - depot > 2 ||
	    cpu_allocs(cp) - allocs < 9990 || cpu_frees(cp) - frees < 9990)
		flunk("10000 alloc/free pairs: %lu depot acquisitions (<= 2), "
		      "%lu allocs and %lu frees served per CPU (>= 9990)",
		      cp->cache_depot_acquires - depot, cpu_allocs(cp) - allocs,
		      cpu_frees(cp) - frees);
	kmem_cache_destroy(cp);
}

/*
 * 10,000 rounds of two allocs then two frees, or two frees then two
 * allocs (holding two buffers); the depot acquisitions of all rounds but
 * the first, which may cross a magazine boundary once from a cold CPU.
 */
static uint64_t thrash(kmem_cache_t *cp, bool allocs_first)
{
	uint64_t depot = 0;
	void *a = NULL, *b = NULL;

	if (!allocs_first) {
		a = must_alloc(cp);
		b = must_alloc(cp);
	}
	for (int i = 0; i < 10000; i++) {
		if (i == 1)
			depot = cp->cache_depot_acquires;
		if (allocs_first) {
			a = must_alloc(cp);
			b = must_alloc(cp);
			kmem_cache_free(cp, a);
			kmem_cache_free(cp, b);
		} else {
			kmem_cache_free(cp, a);
			kmem_cache_free(cp, b);
			a = must_alloc(cp);
			b = must_alloc(cp);
		}
	}
	depot = cp->cache_depot_acquires - depot;
	if (!allocs_first) {
		kmem_cache_free(cp, a);
		kmem_cache_free(cp, b);
	}
	return depot;
}

/*
 * The thrash that a single magazine cannot absorb: two allocations and
 * two frees back and forth across a magazine boundary. The loaded magazine
 * is first left at every offset (0 .. 3M frees into a fresh cache), and
 * at each the thrash, both ways round, takes the depot lock at most
 * twice. Fails when an empty loaded magazine is not swapped with a full
 * previous one (or a full with an empty), which sends every crossing of
 * the boundary to the depot.
 */
static void test_thrash_every_offset(void **state)
{
	enum { MAXPRIME = 3 * 143 + 2 };
	static void *buf[MAXPRIME];

	(void)state;
	for (int way = 0; way < 2; way++)
		for (int f = 0;; f++) {
			kmem_cache_t *cp = cache("thrash", 64, 8, 0);
			int m = cp->cache_magsize;
			uint64_t n;

			if (m <= 0 || 3 * m + 1 >= MAXPRIME)
				flunk("magazine size %d: not on the ladder", m);
			for (int i = 0; i < f; i++)
				buf[i] = must_alloc(cp);
			for (int i = 0; i < f; i++)
				kmem_cache_free(cp, buf[i]);
			n = thrash(cp, way == 0);
			if (n > 2)
				flunk("%s after %d frees (magazines of %d): "
				      "%lu depot acquisitions in rounds 2..10000 "
				      "(<= 2)", way == 0 ? "2 allocs, 2 frees"
						       : "2 frees, 2 allocs",
				      f, m, n);
			kmem_cache_destroy(cp);
			if (f > 3 * m)
				break;
		}
}

/* ---- threads ---- */

#define NSLOTS 256
#define THREAD_OPS 20000

static void *slots[NSLOTS]; /* even slots: small cache; odd: large */
static kmem_cache_t *slot_cache[2];

struct worker {
	pthread_t tid;
	int cpu;
	uint64_t seed;
	uint64_t allocs, frees;
	uint64_t id_allocs, id_frees; /* sums of the ids */
	const char *failure;
	void *bad_buf;
};

/* A buffer's id is its first word; the rest of it is the id's stamp. */
static bool slot_buf_ok(const void *buf, size_t size)
{
	uint64_t id = *(const uint64_t *)buf;

	return id != 0 && !stamp_bad((const char *)buf + 8, size - 8, id);
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct test_rng rng = { w->seed };

	in_worker = true;
	machine_be_cpu(w->cpu);
	for (uint64_t op = 1; op <= THREAD_OPS; op++) {
		size_t s = test_rng_below(&rng, NSLOTS);
		kmem_cache_t *cp = slot_cache[s % 2];
		size_t size = cp->cache_bufsize;
		void *buf = NULL, *old;

		if (test_rng_below(&rng, 2)) {
			uint64_t id = (uint64_t)(w->cpu + 1) << 40 | op;

			buf = kmem_cache_alloc(cp, KM_NOSLEEP);
			if (buf == NULL) {
				w->failure = "kmem_cache_alloc returned NULL";
				return NULL;
			}
			*(uint64_t *)buf = id;
			stamp((char *)buf + 8, size - 8, id);
			w->allocs++;
			w->id_allocs += id;
		}
		old = __atomic_exchange_n(&slots[s], buf, __ATOMIC_ACQ_REL);
		if (old != NULL) {
			if (!slot_buf_ok(old, size)) {
				w->failure = "a live buffer changed";
				w->bad_buf = old;
				return NULL;
			}
			w->id_frees += *(uint64_t *)old;
			w->frees++;
			kmem_cache_free(cp, old);
		}
	}
	return NULL;
}

/*
 * NTHREADS CPUs allocate and free at random through a shared array of
 * slots, taking each other's buffers (an atomic exchange), so buffers
 * move between CPUs' magazines and the depot. Afterwards every count
 * balances: allocations == frees + buffers in the slots, the sums of the
 * buffers' ids agree (none lost, none handed out twice), the per-CPU and
 * slab counts add up to the allocations, and destroying the caches
 * gives every page back. Fails on a race: a lock not taken (or the wrong
 * CPU's), an unlocked read of the depot or a slab list, a magazine
 * shared by two CPUs; under ASan a buffer used after its page was freed.
 */
static void test_threads_pass_buffers(void **state)
{
	struct worker w[NTHREADS];
	uint64_t allocs = 0, frees = 0, ids_in = 0, ids_out = 0, held = 0;
	uint64_t before = reaped_free_pages();

	(void)state;
	slot_cache[0] = cache("threads_64", 64, 8, 0);
	slot_cache[1] = cache("threads_1000", 1000, 8, 0);
	__builtin_memset(slots, 0, sizeof(slots));
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .cpu = i, .seed = test_seed() + i };
		if (pthread_create(&w[i].tid, NULL, worker_run, &w[i]) != 0)
			flunk("pthread_create failed");
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(w[i].tid, NULL);
		if (w[i].failure != NULL && w[i].bad_buf != NULL)
			flunk("cpu%d: %s: buffer %p", i, w[i].failure,
			      w[i].bad_buf);
		if (w[i].failure != NULL)
			flunk("cpu%d: %s", i, w[i].failure);
		allocs += w[i].allocs, frees += w[i].frees;
		ids_in += w[i].id_allocs, ids_out += w[i].id_frees;
	}
	for (size_t s = 0; s < NSLOTS; s++) {
		if (slots[s] == NULL)
			continue;
		if (!slot_buf_ok(slots[s], slot_cache[s % 2]->cache_bufsize))
			flunk("slot %zu: buffer %p changed", s, slots[s]);
		held++;
		ids_out += *(uint64_t *)slots[s];
		kmem_cache_free(slot_cache[s % 2], slots[s]);
	}
	if (allocs != frees + held || ids_in != ids_out)
		flunk("%lu allocations, %lu frees, %lu buffers held; id sums "
		      "%#lx allocated, %#lx freed or held", allocs, frees, held,
		      ids_in, ids_out);
	if (cpu_allocs(slot_cache[0]) + slot_cache[0]->cache_slab_alloc +
		    cpu_allocs(slot_cache[1]) + slot_cache[1]->cache_slab_alloc !=
	    allocs)
		flunk("the caches count %lu allocations served, the threads "
		      "made %lu",
		      cpu_allocs(slot_cache[0]) +
			  slot_cache[0]->cache_slab_alloc +
			  cpu_allocs(slot_cache[1]) +
			  slot_cache[1]->cache_slab_alloc,
		      allocs);
	kmem_cache_destroy(slot_cache[0]);
	kmem_cache_destroy(slot_cache[1]);
	if (reaped_free_pages() != before)
		flunk("%lu pages free before the threads, %lu after",
		      before, machine_free_pages());
}

/* ---- magazine resize ---- */

struct victim {
	kmem_cache_t *cp;
	int cpu;
	void *buf;
};

/* On a CPU with no magazine: an allocation that goes to the depot. */
static void *victim_run(void *arg)
{
	struct victim *v = arg;

	in_worker = true;
	machine_be_cpu(v->cpu);
	v->buf = kmem_cache_alloc(v->cp, KM_NOSLEEP);
	return NULL;
}

/* Does cpu hold its cc_lock of cp, as it does on its way to the depot? */
static bool holds_cc_lock(kmem_cache_t *cp, int cpu)
{
	spinlock_t *lk = &cp->cache_cpu[cpu].cc_lock;

	return __atomic_load_n(&lk->sl_locked, __ATOMIC_ACQUIRE) &&
	       __atomic_load_n(&lk->sl_owner, __ATOMIC_ACQUIRE) == cpu;
}

/*
 * Contend for cp's depot lock once per CPU 1 .. NTHREADS-1: this thread
 * (CPU 0) holds the lock while the CPU, whose magazines are empty,
 * allocates. Once the CPU holds its cc_lock it is a few instructions from
 * trying the depot lock, so 50 ms later it must be waiting; kmem counts
 * the contention once it has the lock, after this thread lets go. The
 * victims' buffers go to bufs[].
 */
static void contend_depot(kmem_cache_t *cp, void **bufs)
{
	for (int cpu = 1; cpu < NTHREADS; cpu++) {
		struct victim v = { cp, cpu, NULL };
		uint64_t seen = cp->cache_depot_contention;
		pthread_t tid;

		spin_lock(&cp->cache_depot_lock);
		if (pthread_create(&tid, NULL, victim_run, &v) != 0)
			flunk("pthread_create failed");
		for (int spins = 0; !holds_cc_lock(cp, cpu); spins++) {
			if (spins == 2000) {
				spin_unlock(&cp->cache_depot_lock);
				pthread_join(tid, NULL);
				flunk("cpu%d allocated with empty magazines "
				      "without holding its cc_lock", cpu);
			}
			usleep(1000);
		}
		usleep(50000);
		spin_unlock(&cp->cache_depot_lock);
		pthread_join(tid, NULL);
		if (v.buf == NULL)
			flunk("cpu%d: kmem_cache_alloc returned NULL", cpu);
		if (cp->cache_depot_contention != seen + 1)
			flunk("cpu%d waited for the depot lock: kmem counted "
			      "%lu contended acquisitions, not 1", cpu,
			      cp->cache_depot_contention - seen);
		bufs[cpu - 1] = v.buf;
	}
}

/*
 * A contended depot makes kmem_reap() move the cache up the ladder of
 * magazine sizes (7 -> 15 -> 31 for 64-byte buffers), purging the old
 * magazines first; buffers still balance: after the resize only the
 * buffers the test holds are out of the slabs, none changed, and the
 * bigger magazines fill to their new size without corruption. Fails when
 * contention is not counted, when reap never resizes (or skips a rung),
 * when the old magazines are kept (rounds overflow them, or are lost),
 * and when a CPU keeps the old magazine size.
 */
static void test_magazine_resize(void **state)
{
	enum { NHELD = 100, NMORE = 400 };
	static void *held[NHELD + 2 * (NTHREADS - 1)], *more[NMORE];
	kmem_cache_t *cp = cache("resize", 64, 8, 0);
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < NHELD; i++) {
		held[n] = must_alloc(cp);
		stamp(held[n], 64, n);
		n++;
	}
	for (int step = 0; step < 2; step++) {
		int m = cp->cache_magsize, want;

		for (int i = 0; i < NMORE; i++) /* full magazines in the depot */
			more[i] = must_alloc(cp);
		for (int i = 0; i < NMORE; i++)
			kmem_cache_free(cp, more[i]);
		contend_depot(cp, &held[n]);
		for (int i = 0; i < NTHREADS - 1; i++, n++)
			stamp(held[n], 64, n);
		if (cp->cache_depot_contention < 3)
			flunk("%lu contended depot acquisitions counted, "
			      "3 made", cp->cache_depot_contention);
		kmem_reap();
		want = cp->cache_magsize;   /* any larger size: the ladder is yours */
		if (want <= m)
			flunk("step %d: magazines of %d after a contended "
			      "reap, %d before: they must grow",
			      step, want, m);
		for (int i = 0; i < ncpus; i++)
			if (cp->cache_cpu[i].cc_magsize != want)
				flunk("cpu%d still uses magazines of %d, the "
				      "cache %d", i, cp->cache_cpu[i].cc_magsize,
				      want);
		if (out_of_slabs(cp) != n)
			flunk("step %d: %lu buffers out of the slabs after the "
			      "resize, the test holds %zu", step,
			      out_of_slabs(cp), n);
		for (size_t i = 0; i < n; i++)
			if (stamp_bad(held[i], 64, i))
				flunk("held buffer %p changed in the resize",
				      held[i]);
	}
	for (int i = 0; i < NMORE; i++) {
		more[i] = must_alloc(cp);
		stamp(more[i], 64, 1000 + i);
	}
	for (size_t i = 0; i < n; i++)
		if (stamp_bad(held[i], 64, i))
			flunk("held buffer %p was handed out again", held[i]);
	for (int i = 0; i < NMORE; i++)
		if (stamp_bad(more[i], 64, 1000 + i))
			flunk("buffer %p was handed out twice", more[i]);
	for (int i = 0; i < NMORE; i++)
		kmem_cache_free(cp, more[i]);
	for (size_t i = 0; i < n; i++)
		kmem_cache_free(cp, held[i]);
	kmem_cache_destroy(cp);
}

/* ---- reaping: reclaim callbacks and destroy ---- */

static spinlock_t client_lock = SPINLOCK_INIT("client_lock", LR_TEST_OUTER);
static int reclaim_calls, reclaim_nheld;

/* A client's reclaim: it takes its own lock, outermost in the lock order,
 * and allocates and frees from its cache, as a real client may. */
static void reclaim_client(void *priv)
{
	kmem_cache_t *cp = *(kmem_cache_t **)priv;
	void *buf;

	reclaim_nheld = MAX(reclaim_nheld, spin_nheld());
	spin_lock(&client_lock);
	buf = kmem_cache_alloc(cp, KM_NOSLEEP);
	if (buf != NULL)
		kmem_cache_free(cp, buf);
	spin_unlock(&client_lock);
	reclaim_calls++;
}

/*
 * kmem_reap() calls each reclaim callback once, with no spinlock held, so
 * the client may take its own locks (here one ranked before every kmem
 * lock) and use its cache. Fails when the reap holds kmem_lock or a
 * cache's lock across the callback (the client's lock then breaks the
 * lock order and panics), or skips or repeats the callback.
 */
static void test_reclaim_without_locks(void **state)
{
	static kmem_cache_t *cp;

	(void)state;
	reclaim_calls = reclaim_nheld = 0;
	cp = kmem_cache_create("reclaim", 64, 8, NULL, NULL, reclaim_client,
			       &cp, NULL, 0);
	kmem_cache_free(cp, must_alloc(cp));
	kmem_reap();
	if (reclaim_calls != 1 || reclaim_nheld != 0)
		flunk("one reap: %d reclaim calls (1), with up to %d spinlocks "
		      "held (0)", reclaim_calls, reclaim_nheld);
	kmem_cache_destroy(cp);
}

static volatile int reclaim_stage; /* 1: in the callback; 2: let it go */
static volatile int destroyed;

/* A reclaim that waits (at most 10 s) until the test lets it go. */
static void reclaim_wait(void *priv)
{
	(void)priv;
	__atomic_store_n(&reclaim_stage, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 10000 &&
			__atomic_load_n(&reclaim_stage, __ATOMIC_ACQUIRE) != 2;
	     i++)
		usleep(1000);
}

static void *reaper_run(void *arg)
{
	(void)arg;
	in_worker = true;
	machine_be_cpu(1);
	kmem_reap();
	return NULL;
}

static void *destroyer_run(void *arg)
{
	in_worker = true;
	machine_be_cpu(2);
	kmem_cache_destroy(arg);
	__atomic_store_n(&destroyed, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * A cache whose reclaim callback is running (CPU 1 reaping) is destroyed
 * on CPU 2: the destroy waits until the reap is done with the cache, and
 * a third reap, on CPU 0, returns at once instead of walking the caches
 * beside the first. Fails when kmem_cache_destroy() frees a cache a reap
 * is still using (the reap then walks a freed slot: ASan or a lost
 * cache), or when kmem_reap() holds a lock across the callback (the
 * destroy or the second reap then spins on it until the timeout).
 */
static void test_destroy_waits_for_reap(void **state)
{
	kmem_cache_t *cp = kmem_cache_create("reclaim_wait", 64, 8, NULL, NULL,
					     reclaim_wait, NULL, NULL, 0);
	pthread_t reaper, destroyer;
	int early;

	(void)state;
	reclaim_stage = destroyed = 0;
	kmem_cache_free(cp, must_alloc(cp));
	if (pthread_create(&reaper, NULL, reaper_run, NULL) != 0)
		flunk("pthread_create failed");
	while (__atomic_load_n(&reclaim_stage, __ATOMIC_ACQUIRE) != 1)
		usleep(1000);
	if (pthread_create(&destroyer, NULL, destroyer_run, cp) != 0)
		flunk("pthread_create failed");
	kmem_reap();
	usleep(50000);
	early = __atomic_load_n(&destroyed, __ATOMIC_ACQUIRE);
	__atomic_store_n(&reclaim_stage, 2, __ATOMIC_RELEASE);
	pthread_join(reaper, NULL);
	pthread_join(destroyer, NULL);
	if (early)
		flunk("the cache was destroyed while kmem_reap() was in its "
		      "reclaim callback");
	if (!destroyed)
		flunk("kmem_cache_destroy() did not return after the reap");
}

/* ---- debugging (KMC_DEBUG) ---- */

/*
 * A write one byte past the buffer, into the redzone, makes the free
 * panic, naming the cache and the buffer; the buffer can then be freed.
 * Fails when the redzone is not written or not checked, or when it sits
 * past slack bytes the caller may not own.
 */
static void test_debug_redzone(void **state)
{
	kmem_cache_t *cp = cache("dbg_redzone", 40, 8, KMC_DEBUG);
	uint8_t *b = must_alloc(cp), saved = b[40];

	(void)state;
	b[40] ^= 0x5a;
	expect_report(must_panic(op_free, cp, b, "a free past the redzone"),
		      cp, b, "redzone");
	b[40] = saved;
	kmem_cache_free(cp, b);
	kmem_cache_destroy(cp);
}

/*
 * A write into a freed buffer makes the next allocation of it panic,
 * naming the cache and the buffer. The buffer is lost to the cache by
 * then, so the cache is left as it is. Fails when free does not fill
 * the buffer with 0xdeadbeef or allocation does not check it.
 */
static void test_debug_write_after_free(void **state)
{
	kmem_cache_t *cp = cache("dbg_use_after_free", 64, 8, KMC_DEBUG);
	uint8_t *b = must_alloc(cp);

	(void)state;
	kmem_cache_free(cp, b);
	b[17] = 0;
	expect_report(must_panic(op_alloc, cp, NULL, "an allocation of a "
				 "buffer written after free"),
		      cp, b, "modified after free");
}

/*
 * Freeing a buffer twice panics, naming the cache and the buffer, and
 * leaves the cache whole. Fails when the buffer's state is not tracked
 * (the second free corrupts the magazine or the slab's free list).
 */
static void test_debug_double_free(void **state)
{
	kmem_cache_t *cp = cache("dbg_double_free", 64, 8, KMC_DEBUG);
	void *b = must_alloc(cp);

	(void)state;
	kmem_cache_free(cp, b);
	expect_report(must_panic(op_free, cp, b, "a second free"), cp, b,
		      "double free");
	kmem_cache_destroy(cp);
}

/*
 * A debug cache hands out buffers filled with 0xbaddcafe (so a pointer
 * read from one faults on a telling address) and fills a freed buffer
 * with 0xdeadbeef, whether it comes from a new slab or a magazine.
 * Fails when either fill is missing or short of the buffer's end.
 */
static void test_debug_fill_patterns(void **state)
{
	kmem_cache_t *cp = cache("dbg_fill", 100, 8, KMC_DEBUG);
	const size_t words = ROUNDUP(100, 8) / 8;

	(void)state;
	for (int round = 0; round < 2; round++) {
		uint64_t *b = must_alloc(cp);

		for (size_t i = 0; i < words; i++)
			if (b[i] != KMEM_UNINIT_PATTERN)
				flunk("round %d: word %zu of a new buffer is "
				      "%#lx, not 0xbaddcafe", round, i, b[i]);
		kmem_cache_free(cp, b);
		for (size_t i = 0; i < words; i++)
			if (b[i] != KMEM_FREE_PATTERN)
				flunk("round %d: word %zu of a freed buffer "
				      "is %#lx, not 0xdeadbeef", round, i,
				      b[i]);
	}
	kmem_cache_destroy(cp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_size_and_alignment, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_overlap, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_constructor_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_destructor_on_destroy,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_pages_come_back, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bonwick_bound, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_thrash_every_offset, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_threads_pass_buffers,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_magazine_resize, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reclaim_without_locks,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_waits_for_reap,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_debug_redzone, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_debug_write_after_free,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_debug_double_free, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_debug_fill_patterns, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
