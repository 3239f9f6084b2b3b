/*
 * kmem_hidden_test.c — lab 4 tests that run only in the instructor's
 * grading.
 */
#include <cpu.h>
#include <kenv.h>
#include <kmem.h>
#include <ktest.h>
#include <lapic.h>
#include <page.h>
#include <smp.h>

/* Large buffers (external bufctls): many live at once, none overlapping. */
KTEST(kmem, large_buffers_disjoint)
{
	static uint64_t *b[200];
	kmem_cache_t *cp = kmem_cache_create("kmem_test_large", 1500, 64, NULL,
					     NULL, NULL, NULL, NULL, 0);

	for (int i = 0; i < 200; i++) {
		b[i] = kmem_cache_alloc(cp, KM_SLEEP);
		ASSERT_TRUE(b[i] != NULL);
		b[i][0] = (uint64_t)b[i];
		b[i][1500 / 8 - 1] = ~(uint64_t)b[i];
	}
	for (int i = 0; i < 200; i++) {
		ASSERT_EQ(b[i][0], (uint64_t)b[i]);
		ASSERT_EQ(b[i][1500 / 8 - 1], ~(uint64_t)b[i]);
		kmem_cache_free(cp, b[i]);
	}
	kmem_cache_destroy(cp);
}

/* Partial slabs first: after freeing one buffer of a full slab, the next
 * allocation reuses that slot instead of building a new slab. */
KTEST(kmem, partial_slab_preferred)
{
	kmem_cache_t *cp = kmem_cache_create("kmem_test_partial", 512, 8, NULL,
					     NULL, NULL, NULL, NULL,
					     KMC_NOMAGAZINE);
	static void *b[64];
	uint64_t slabs;

	for (int i = 0; i < 64; i++)
		b[i] = kmem_cache_alloc(cp, KM_SLEEP);
	slabs = cp->cache_slab_create;
	kmem_cache_free(cp, b[10]);
	b[10] = kmem_cache_alloc(cp, KM_SLEEP);
	EXPECT_EQ(cp->cache_slab_create, slabs);
	for (int i = 0; i < 64; i++)
		kmem_cache_free(cp, b[i]);
	kmem_cache_destroy(cp);
}

/* ---- The depot and the CPU layer (Bonwick 2001) ---- */

/* Buffers of cp out of its slabs: allocated, or rounds in magazines. */
static uint64_t in_use(const kmem_cache_t *cp)
{
	return cp->cache_buftotal - cp->cache_bufslab;
}

#define WS_MAX 3000

static void *ws_buf[WS_MAX];

/* Allocate n buffers of cp into ws_buf; false if one failed. */
static bool ws_fill(kmem_cache_t *cp, int n)
{
	for (int i = 0; i < n; i++)
		if ((ws_buf[i] = kmem_cache_alloc(cp, KM_SLEEP)) == NULL)
			return false;
	return true;
}

/* Free the n buffers ws_fill() took, last first. */
static void ws_drain(kmem_cache_t *cp, int n)
{
	while (n-- > 0)
		kmem_cache_free(cp, ws_buf[n]);
}

/*
 * The depot's working set (handout 2.3). Twenty magazines' worth of
 * buffers is freed into the depot and a reap starts an interval. In it
 * every full magazine is taken and given back, and then one more is
 * taken from the refilled list: the fewest full magazines the list held
 * was 0, so the next reap frees none of them, and "in use" (which counts
 * rounds) does not move. After an idle interval the next reap frees every
 * full magazine in the depot, leaving only what the CPU's two magazines
 * hold. Fails when kmem_depot_alloc() does not lower ml_min, lowers it
 * before the count, or sets it to the count; when kmem_depot_free()
 * moves ml_min; when the reap frees ml_total, swaps the two lists, stops
 * one magazine short or never starts a new interval; and when a depot
 * that no CPU waited for is counted as contended (the reap then resizes
 * the magazines, emptying them all).
 */
KTEST(kmem, reap_keeps_working_set)
{
	kmem_cache_t *cp = kmem_cache_create("kmem_test_ws", 200, 8, NULL,
					     NULL, NULL, NULL, NULL, 0);
	int m = cp->cache_magsize, n = MIN(20 * m, WS_MAX - 2 * m - 1);
	uint64_t before;

	ASSERT_GT(m, 0);
	ASSERT_TRUE(ws_fill(cp, n));
	ws_drain(cp, n);
	kmem_reap();
	/* The interval: the depot drained, refilled, one magazine taken. */
	ASSERT_TRUE(ws_fill(cp, n + m));
	ws_drain(cp, n + m);
	ASSERT_TRUE(ws_fill(cp, 2 * m + 1));
	ws_drain(cp, 2 * m + 1);
	before = in_use(cp);
	kmem_reap();
	EXPECT_EQ(in_use(cp), before);
	EXPECT_EQ(cp->cache_magsize, m); /* no CPU ever waited for the depot */
	/* An idle interval: every magazine in the depot goes now. */
	kmem_reap();
	EXPECT_LE(in_use(cp), 2 * (uint64_t)m);
	ktest_diag("magazines of %d: %lu in use after the busy interval, "
		   "%lu after the idle one", m, before, in_use(cp));
	kmem_cache_destroy(cp);
}

/*
 * Every depot visit is counted in cache_depot_acquires (kmastat's "depot
 * lk"): ten magazines' worth of frees leave at least eight magazines in
 * the depot, each handed over under its lock. Fails when
 * kmem_depot_lock() does not count acquisitions (the public bound tests
 * only check an upper bound).
 */
KTEST(kmem, depot_visits_counted)
{
	kmem_cache_t *cp = kmem_cache_create("kmem_test_visits", 64, 8, NULL,
					     NULL, NULL, NULL, NULL, 0);
	int m = cp->cache_magsize, n = MIN(10 * m, WS_MAX);
	uint64_t before;

	ASSERT_GT(m, 0);
	ASSERT_TRUE(ws_fill(cp, n));
	before = cp->cache_depot_acquires;
	ws_drain(cp, n);
	EXPECT_GE(cp->cache_depot_acquires - before, (uint64_t)(n / m - 2));
	kmem_cache_destroy(cp);
}

#define STEADY_BUFS 2000
#define STEADY_CYCLES 20

/*
 * The same load, over and over, needs the same memory: once the first
 * cycles have made the slabs and magazines it needs, twenty cycles of
 * 2,000 allocations and frees take no more pages, and the cache's
 * destruction gives every page back. Fails when kmem_cpu_alloc() drops
 * the empty previous magazine instead of giving it to the depot (a
 * magazine leaks at each exchange), or when kmem_cpu_free() always makes
 * a new magazine and never reuses the depot's empty ones (they pile up
 * until a reap).
 */
KTEST(kmem, steady_load_steady_memory)
{
	kmem_cache_t *cp = kmem_cache_create("kmem_test_steady", 200, 8, NULL,
					     NULL, NULL, NULL, NULL, 0);
	uint64_t before, settled = 0;

	kmem_reap();
	kmem_reap();
	before = page_free_count();
	for (int c = 0; c < STEADY_CYCLES; c++) {
		ASSERT_TRUE(ws_fill(cp, STEADY_BUFS));
		ws_drain(cp, STEADY_BUFS);
		if (c == 1)
			settled = page_free_count();
	}
	EXPECT_GE(page_free_count() + 2, settled);
	ktest_diag("free pages: %lu after 2 cycles, %lu after %d", settled,
		   page_free_count(), STEADY_CYCLES);
	kmem_cache_destroy(cp);
	kmem_reap();
	kmem_reap();
	EXPECT_GE(page_free_count(), before);
}

#define CT_MAXMAG 150 /* the largest first magazine this test handles */

static kmem_cache_t *ct_cache;
static void *ct_buf[NCPU][3 * CT_MAXMAG];
static int ct_n;
static volatile int ct_locked, ct_waiting;

/*
 * CPU 0 holds the depot lock until every other CPU has started to free
 * three magazines' worth of buffers: its two magazines cannot hold them
 * all, so each CPU must hand a full magazine to the depot, and waits.
 */
static void ct_cpu(void *arg)
{
	int id = curcpu()->cpu_id;

	(void)arg;
	if (id == 0) {
		spin_lock(&ct_cache->cache_depot_lock);
		__atomic_store_n(&ct_locked, 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&ct_waiting, __ATOMIC_ACQUIRE) <
		       ncpus - 1)
			__asm__ volatile("pause");
		for (long i = 0; i < 2000000; i++) /* let them all spin */
			__asm__ volatile("pause");
		spin_unlock(&ct_cache->cache_depot_lock);
		return;
	}
	while (!__atomic_load_n(&ct_locked, __ATOMIC_ACQUIRE))
		__asm__ volatile("pause");
	__atomic_add_fetch(&ct_waiting, 1, __ATOMIC_ACQ_REL);
	for (int i = 0; i < ct_n; i++)
		kmem_cache_free(ct_cache, ct_buf[id][i]);
}

/*
 * Contention grows the magazines (handout 2.3): three CPUs that each
 * had to wait for the depot lock move the cache up the ladder at the
 * next reap. Fails when kmem_depot_lock() waits without counting the
 * wait in cache_depot_contention.
 */
KTEST(kmem, contention_grows_magazines)
{
	int before;

	ASSERT_GE(ncpus, 4);
	ct_cache = kmem_cache_create("kmem_test_contend", 64, 8, NULL, NULL,
				     NULL, NULL, NULL, 0);
	before = ct_cache->cache_magsize;
	ASSERT_TRUE(before > 0 && before <= CT_MAXMAG);
	ct_n = 3 * before;
	for (int c = 1; c < ncpus; c++)
		for (int i = 0; i < ct_n; i++)
			ASSERT_TRUE((ct_buf[c][i] = kmem_cache_alloc(
					 ct_cache, KM_SLEEP)) != NULL);
	ct_locked = ct_waiting = 0;
	ktest_on_each_cpu(ct_cpu, NULL);
	kmem_reap();
	EXPECT_GT(ct_cache->cache_magsize, before);
	kmem_cache_destroy(ct_cache);
}

#define BURST 100
#define BURST_TIMER_HZ 20000 /* short vCPU time slices, as in smp_test.c */

static kmem_cache_t *burst_cache;
static void *burst_held[NCPU][BURST];
static uint64_t burst_nulls[NCPU], burst_stamps[NCPU], burst_rounds[NCPU];

/* What CPU id writes in each buffer it holds: not what any other does. */
static uint64_t burst_stamp(const void *b, int id)
{
	return (uint64_t)b ^ (uint64_t)(id + 1) << 48;
}

/*
 * Allocate a burst of buffers of burst_cache, stamp each with this CPU,
 * check the stamps (a buffer handed to two CPUs at once loses one), and
 * free them all.
 */
static void burst(int id)
{
	for (int i = 0; i < BURST; i++) {
		uint64_t *b = kmem_cache_alloc(burst_cache, KM_SLEEP);

		burst_held[id][i] = b;
		if (b == NULL)
			burst_nulls[id]++;
		else
			b[0] = burst_stamp(b, id);
	}
	for (int i = 0; i < BURST; i++) {
		uint64_t *b = burst_held[id][i];

		if (b == NULL)
			continue;
		if (b[0] != burst_stamp(b, id))
			burst_stamps[id]++;
		kmem_cache_free(burst_cache, b);
	}
	__atomic_add_fetch(&burst_rounds[id], 1, __ATOMIC_RELEASE);
}

/* A cache of 600-byte buffers for burst(), its counts cleared. */
static kmem_cache_t *burst_setup(const char *name)
{
	burst_cache = kmem_cache_create(name, 600, 8, NULL, NULL, NULL, NULL,
					NULL, 0);
	for (int c = 0; c < NCPU; c++)
		burst_nulls[c] = burst_stamps[c] = burst_rounds[c] = 0;
	return burst_cache;
}

/* Every CPU's bursts: none failed, no buffer was held by two CPUs. */
static void burst_check(int first_cpu)
{
	for (int c = first_cpu; c < ncpus; c++) {
		EXPECT_EQ(burst_nulls[c], 0UL);
		EXPECT_EQ(burst_stamps[c], 0UL);
		ktest_diag("cpu%d: %lu bursts of %d", c, burst_rounds[c],
			   BURST);
	}
}

#define DS_BURSTS 150

static void ds_cpu(void *arg)
{
	(void)arg;
	for (int r = 0; r < DS_BURSTS; r++)
		burst(curcpu()->cpu_id);
}

/*
 * Four CPUs share one depot (handout 2.3): each allocates and frees
 * bursts larger than its two magazines, so it swaps magazines with the
 * depot every few operations, while the others do the same. No buffer
 * may be handed to two CPUs, and none may go missing. Fails when a depot
 * list is changed without the depot lock (two CPUs take or push the
 * same head): a stamp overwritten, a depot ASSERT, or buffers missing at
 * the destroy.
 */
KTEST_TIMEOUT(kmem, depot_shared_by_all_cpus, 30)
{
	kmem_cache_t *cp = burst_setup("kmem_test_depot_smp");
	void *b;

	ASSERT_TRUE((b = kmem_cache_alloc(cp, KM_SLEEP)) != NULL);
	kmem_cache_free(cp, b);
	lapic_timer_start(BURST_TIMER_HZ);
	ktest_on_each_cpu(ds_cpu, NULL);
	lapic_timer_stop();
	burst_check(0);
	ktest_diag("%lu depot lock acquisitions", cp->cache_depot_acquires);
	kmem_cache_destroy(cp); /* panics if a buffer went missing */
}

#define RL_RESIZES 4
#define RL_BETWEEN 3 /* bursts of each CPU before each resize */

static volatile int rl_stop;

/* Wait until every other CPU has done at least n bursts. */
static void rl_wait_bursts(uint64_t n)
{
	for (int c = 1; c < ncpus; c++)
		while (__atomic_load_n(&burst_rounds[c], __ATOMIC_ACQUIRE) < n)
			__asm__ volatile("pause");
}

/* CPU 0 resizes the cache's magazines while the others use them. */
static void rl_cpu(void *arg)
{
	int id = curcpu()->cpu_id;

	(void)arg;
	if (id != 0) {
		while (!__atomic_load_n(&rl_stop, __ATOMIC_ACQUIRE))
			burst(id);
		return;
	}
	for (int r = 0; r < RL_RESIZES; r++) {
		rl_wait_bursts(RL_BETWEEN * (uint64_t)(r + 1));
		spin_lock(&burst_cache->cache_depot_lock);
		burst_cache->cache_depot_contention = 3; /* as if CPUs waited */
		spin_unlock(&burst_cache->cache_depot_lock);
		kmem_reap();
	}
	rl_wait_bursts(RL_BETWEEN * (uint64_t)(RL_RESIZES + 1));
	__atomic_store_n(&rl_stop, 1, __ATOMIC_RELEASE);
}

/*
 * Magazines resized under load: while three CPUs allocate and free in
 * bursts, CPU 0 moves the cache up the ladder four times. Each resize
 * switches the CPUs' magazine layer off (cc_magsize 0) while it frees
 * the old magazines; a CPU that meanwhile goes to the depot anyway takes
 * a full magazine of the old size and loses its rounds, or looks for a
 * magazine type that is not there. Fails when kmem_cpu_alloc() or
 * kmem_cpu_free() does not give up at once with cc_magsize 0: a panic,
 * a hang, or buffers missing at the destroy.
 */
KTEST_TIMEOUT(kmem, resize_under_load, 30)
{
	kmem_cache_t *cp = burst_setup("kmem_test_resize_load");
	int before = cp->cache_magsize;
	void *b;

	ASSERT_TRUE((b = kmem_cache_alloc(cp, KM_SLEEP)) != NULL);
	kmem_cache_free(cp, b);
	rl_stop = 0;
	lapic_timer_start(BURST_TIMER_HZ);
	ktest_on_each_cpu(rl_cpu, NULL);
	lapic_timer_stop();
	EXPECT_GT(cp->cache_magsize, before);
	burst_check(1);
	kmem_cache_destroy(cp); /* panics if a buffer went missing */
}
