/*
 * kmem_test.c — lab 4: the slab allocator, its magazines and its depot,
 * on 4 CPUs. Every test names the bug that fails it.
 */
#include <cpu.h>
#include <kenv.h>
#include <kmem.h>
#include <kstring.h>
#include <ktest.h>
#include <page.h>
#include <rand.h>
#include <smp.h>
#include <trap.h>

static uint64_t cc_allocs(const kmem_cache_t *cp)
{
	uint64_t n = 0;

	for (int i = 0; i < NCPU; i++)
		n += cp->cache_cpu[i].cc_alloc;
	return n;
}

/* Every size and alignment: aligned, writable end to end, disjoint. */
KTEST(kmem, size_and_alignment)
{
	static const size_t sizes[] = { 1, 8, 24, 100, 512, 700, 2000, 5000 };
	static const size_t aligns[] = { 8, 16, 64, 512 };

	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		for (size_t a = 0; a < ARRAY_SIZE(aligns); a++) {
			kmem_cache_t *cp = kmem_cache_create(
			    "kmem_test_size", sizes[s], aligns[a], NULL, NULL,
			    NULL, NULL, NULL, 0);
			char *x = kmem_cache_alloc(cp, KM_SLEEP);
			char *y = kmem_cache_alloc(cp, KM_SLEEP);

			ASSERT_TRUE(x != NULL && y != NULL);
			EXPECT_EQ((uintptr_t)x % aligns[a], 0UL);
			EXPECT_EQ((uintptr_t)y % aligns[a], 0UL);
			memset(x, 0x11, sizes[s]);
			memset(y, 0x22, sizes[s]);
			EXPECT_TRUE(x[sizes[s] - 1] == 0x11 && y[0] == 0x22);
			EXPECT_TRUE(x + sizes[s] <= y || y + sizes[s] <= x);
			kmem_cache_free(cp, x);
			kmem_cache_free(cp, y);
			kmem_cache_destroy(cp);
		}
	}
}

#define LIVE 3000

/*
 * Thousands of live buffers of the size classes, each stamped with its own
 * address: every stamp survives until its free. Fails when two
 * allocations overlap or a free list hands a buffer out twice.
 */
KTEST(kmem, no_overlap)
{
	static uint64_t *buf[LIVE];
	static size_t size[LIVE];
	struct rand r;

	rand_seed(&r, ktest_seed());
	int bad = 0;

	for (int i = 0; i < LIVE; i++) {
		size[i] = 16 + rand_below(&r, 3000);
		buf[i] = kmem_alloc(size[i], KM_SLEEP);
		ASSERT_TRUE(buf[i] != NULL);
		buf[i][0] = (uint64_t)buf[i];
		buf[i][size[i] / 8 - 1] = ~(uint64_t)buf[i];
	}
	for (int i = 0; i < LIVE; i++) {
		if ((buf[i][0] != (uint64_t)buf[i] ||
		     buf[i][size[i] / 8 - 1] != ~(uint64_t)buf[i]) &&
		    bad++ < 8)
			ktest_fail(__FILE__, __LINE__, "buffer %p (%zu bytes) "
				   "was overwritten", (void *)buf[i], size[i]);
		kmem_free(buf[i], size[i]);
	}
}

static int ctor_calls, dtor_calls;

static int count_ctor(void *buf, void *priv, int kmflags)
{
	(void)priv, (void)kmflags;
	*(uint64_t *)buf = 0xc0115;
	ctor_calls++;
	return 0;
}

static void count_dtor(void *buf, void *priv)
{
	(void)buf, (void)priv;
	dtor_calls++;
}

/*
 * The constructor runs once per buffer, when its slab is built, not on
 * every allocation; a freed buffer comes back still constructed; the
 * destructor runs once per buffer when the slab goes.
 */
KTEST(kmem, constructor_once_per_buffer)
{
	kmem_cache_t *cp;
	void *b[20];

	ctor_calls = dtor_calls = 0;
	cp = kmem_cache_create("kmem_test_ctor", 256, 8, count_ctor,
			       count_dtor, NULL, NULL, NULL, 0);
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < 20; i++) {
			b[i] = kmem_cache_alloc(cp, KM_SLEEP);
			ASSERT_TRUE(b[i] != NULL);
			ASSERT_EQ(*(uint64_t *)b[i], 0xc0115UL);
		}
		for (int i = 0; i < 20; i++)
			kmem_cache_free(cp, b[i]);
	}
	EXPECT_EQ((uint64_t)ctor_calls, cp->cache_buftotal);
	EXPECT_LE(ctor_calls, 64);
	kmem_cache_destroy(cp);
	EXPECT_EQ(dtor_calls, ctor_calls);
}

static kmem_cache_t *xcpu_cache;
static void *xcpu_buf[NCPU][64];

static void alloc_on_each(void *arg)
{
	int id = curcpu()->cpu_id;

	(void)arg;
	for (int i = 0; i < 64; i++)
		xcpu_buf[id][i] = kmem_cache_alloc(xcpu_cache, KM_SLEEP);
}

static void free_neighbours(void *arg)
{
	int id = curcpu()->cpu_id, from = (id + 1) % ncpus;

	(void)arg;
	for (int i = 0; i < 64; i++)
		kmem_cache_free(xcpu_cache, xcpu_buf[from][i]);
}

/*
 * A buffer allocated on one CPU can be freed on another: every CPU frees
 * its neighbour's buffers, and the cache ends with none in use.
 */
KTEST(kmem, free_on_another_cpu)
{
	uint64_t before;

	xcpu_cache = kmem_cache_create("kmem_test_xcpu", 128, 8, NULL, NULL,
				       NULL, NULL, NULL, 0);
	before = xcpu_cache->cache_buftotal;
	ktest_on_each_cpu(alloc_on_each, NULL);
	for (int c = 0; c < ncpus; c++)
		for (int i = 0; i < 64; i++)
			ASSERT_TRUE(xcpu_buf[c][i] != NULL);
	ktest_on_each_cpu(free_neighbours, NULL);
	EXPECT_GE(xcpu_cache->cache_buftotal, before + (uint64_t)ncpus * 64);
	kmem_cache_destroy(xcpu_cache); /* panics if any buffer is missing */
}

/*
 * Bonwick's bound: after warm-up, 10,000 alloc/free pairs on one CPU are
 * served by its magazines, with at most a couple of depot visits and no
 * slab-layer work. Fails without a working magazine layer.
 */
KTEST(kmem, magazines_bound_depot_visits)
{
	kmem_cache_t *cp = kmem_cache_create("kmem_test_bound", 64, 8, NULL,
					     NULL, NULL, NULL, NULL, 0);
	uint64_t depot, slab, served;

	for (int i = 0; i < 100; i++) /* warm-up */
		kmem_cache_free(cp, kmem_cache_alloc(cp, KM_SLEEP));
	depot = cp->cache_depot_acquires;
	slab = cp->cache_lock_acquires;
	served = cc_allocs(cp);
	for (int i = 0; i < 10000; i++) {
		void *b = kmem_cache_alloc(cp, KM_SLEEP);

		ASSERT_TRUE(b != NULL);
		kmem_cache_free(cp, b);
	}
	EXPECT_LE(cp->cache_depot_acquires - depot, 2UL);
	EXPECT_LE(cp->cache_lock_acquires - slab, 2UL);
	EXPECT_GE(cc_allocs(cp) - served, 9990UL);
	ktest_diag("10000 pairs: %lu depot and %lu slab lock acquisitions",
		   cp->cache_depot_acquires - depot,
		   cp->cache_lock_acquires - slab);
	kmem_cache_destroy(cp);
}

/*
 * Two allocations then two frees, started at every offset within a
 * magazine: the previous magazine absorbs the boundary, so the depot is
 * not visited on every round. Fails with a single-magazine layer, which
 * thrashes at the boundary.
 */
KTEST(kmem, thrash_absorbed_by_previous)
{
	kmem_cache_t *cp = kmem_cache_create("kmem_test_thrash", 64, 8, NULL,
					     NULL, NULL, NULL, NULL, 0);
	static void *held[200];
	int m = cp->cache_magsize;
	uint64_t worst = 0;

	ASSERT_GT(m, 0);
	for (int s = 0; s <= 2 * m && s < 200; s++) {
		uint64_t depot;

		for (int i = 0; i < s; i++)
			held[i] = kmem_cache_alloc(cp, KM_SLEEP);
		depot = cp->cache_depot_acquires;
		for (int round = 0; round < 100; round++) {
			void *a = kmem_cache_alloc(cp, KM_SLEEP);
			void *b = kmem_cache_alloc(cp, KM_SLEEP);

			kmem_cache_free(cp, a);
			kmem_cache_free(cp, b);
		}
		worst = MAX(worst, cp->cache_depot_acquires - depot);
		for (int i = 0; i < s; i++)
			kmem_cache_free(cp, held[i]);
	}
	EXPECT_LE(worst, 4UL);
	kmem_cache_destroy(cp);
}

/*
 * Reaping an emptied cache gives its slabs back: after two reaps (the
 * depot's working set needs one interval to show what was unused), the
 * buddy free count is back but for what one CPU's two magazines may hold.
 */
KTEST(kmem, reap_returns_pages)
{
	static void *b[2000];
	kmem_cache_t *cp = kmem_cache_create("kmem_test_reap", 200, 8, NULL,
					     NULL, NULL, NULL, NULL, 0);
	uint64_t before, slack;

	kmem_reap();
	before = page_free_count();
	for (int i = 0; i < 2000; i++) {
		b[i] = kmem_cache_alloc(cp, KM_SLEEP);
		ASSERT_TRUE(b[i] != NULL);
	}
	EXPECT_LT(page_free_count(), before - 50);
	for (int i = 0; i < 2000; i++)
		kmem_cache_free(cp, b[i]);
	kmem_reap();
	kmem_reap();
	slack = 2 * (uint64_t)cp->cache_magsize * cp->cache_chunksize /
		    cp->cache_slabsize + 4;
	EXPECT_GE(page_free_count() + slack, before);
	kmem_cache_destroy(cp);
}

/* kmem_cache_destroy returns every page the cache took. */
KTEST(kmem, destroy_returns_pages)
{
	static void *b[500];
	kmem_cache_t *cp;
	uint64_t before;

	kmem_reap();
	before = page_free_count();
	cp = kmem_cache_create("kmem_test_destroy", 3000, 8, NULL, NULL, NULL,
			       NULL, NULL, 0);
	for (int i = 0; i < 500; i++)
		b[i] = kmem_cache_alloc(cp, KM_SLEEP);
	for (int i = 0; i < 500; i++)
		kmem_cache_free(cp, b[i]);
	kmem_cache_destroy(cp);
	kmem_reap();
	EXPECT_GE(page_free_count(), before);
}

static volatile uint64_t *stale;

static void use_uninitialised_pointer(void)
{
	(void)*(volatile uint64_t *)stale[0];
}

/*
 * A fresh buffer of a debug cache is filled with 0xbaddcafe, so using a
 * pointer nobody initialised faults at once (the address is not even
 * canonical): caught here as a #GP.
 */
KTEST(kmem, debug_uninitialised_buffer)
{
	kmem_cache_t *cp = kmem_cache_create("kmem_test_uninit", 40, 8, NULL,
					     NULL, NULL, NULL, NULL, KMC_DEBUG);
	on_trap_data_t otd;

	stale = kmem_cache_alloc(cp, KM_SLEEP);
	ASSERT_TRUE(stale != NULL);
	for (int i = 0; i < 5; i++)
		EXPECT_EQ(stale[i], KMEM_UNINIT_PATTERN);
	if (!on_trap(&otd, OT_DATA_ACCESS))
		use_uninitialised_pointer();
	no_trap();
	EXPECT_EQ(otd.ot_trapno, (uint64_t)T_GPFLT);
	kmem_cache_free(cp, (void *)stale);
	kmem_cache_destroy(cp);
}

static kmem_cache_t *debug_cache(void)
{
	return kmem_cache_create("kmem_test_debug", 40, 8, NULL, NULL, NULL,
				 NULL, NULL, KMC_DEBUG);
}

/* Writing one byte past a buffer is caught at its free. */
KTEST_EXPLICIT(kmem, debug_redzone_overrun)
{
	kmem_cache_t *cp = debug_cache();
	char *b = kmem_cache_alloc(cp, KM_SLEEP);

	ASSERT_TRUE(b != NULL);
	b[40] = 1;
	kmem_cache_free(cp, b);
	ktest_fail(__FILE__, __LINE__, "the overrun went unnoticed");
}

/* A write after free is caught at the buffer's next allocation. */
KTEST_EXPLICIT(kmem, debug_write_after_free)
{
	kmem_cache_t *cp = debug_cache();
	uint64_t *b = kmem_cache_alloc(cp, KM_SLEEP);

	ASSERT_TRUE(b != NULL);
	kmem_cache_free(cp, b);
	b[2] = 42;
	for (int i = 0; i < 1000; i++)
		kmem_cache_free(cp, kmem_cache_alloc(cp, KM_SLEEP));
	ktest_fail(__FILE__, __LINE__, "the write after free went unnoticed");
}

/* Freeing a buffer twice is caught at the second free. */
KTEST_EXPLICIT(kmem, debug_double_free)
{
	kmem_cache_t *cp = debug_cache();
	void *b = kmem_cache_alloc(cp, KM_SLEEP);

	ASSERT_TRUE(b != NULL);
	kmem_cache_free(cp, b);
	kmem_cache_free(cp, b);
	ktest_fail(__FILE__, __LINE__, "the double free went unnoticed");
}

#define STRESS_SLOTS 512
#define STRESS_ROUNDS 4000

static kmem_cache_t *stress_cache;
static void *volatile slot[STRESS_SLOTS];
static uint64_t stress_allocs[NCPU], stress_frees[NCPU];

/* Swap a random slot: free what was there (anyone's), put a new buffer. */
static void stress_cpu(void *arg)
{
	int id = curcpu()->cpu_id;
	struct rand r;

	rand_seed(&r, (uint64_t)arg + (uint64_t)id);
	for (int i = 0; i < STRESS_ROUNDS; i++) {
		uint64_t *mine = kmem_cache_alloc(stress_cache, KM_SLEEP);
		uint64_t *old;

		if (mine == NULL)
			continue;
		stress_allocs[id]++;
		mine[0] = (uint64_t)mine; /* owner stamp: its own address */
		old = __atomic_exchange_n(&slot[rand_below(&r, STRESS_SLOTS)],
					  mine, __ATOMIC_ACQ_REL);
		if (old == NULL)
			continue;
		if (old[0] != (uint64_t)old)
			panic("stress_cpu: buffer %p lost its stamp", old);
		old[0] = 0;
		kmem_cache_free(stress_cache, old);
		stress_frees[id]++;
	}
}

/*
 * All CPUs allocate and free at once, passing buffers between them: no
 * stamp is lost (no buffer handed out twice), and the books balance.
 */
KTEST_TIMEOUT(kmem, smp_stress, 30)
{
	uint64_t allocs = 0, frees = 0, live = 0;

	stress_cache = kmem_cache_create("kmem_test_smp", 96, 8, NULL, NULL,
					 NULL, NULL, NULL, 0);
	memset((void *)slot, 0, sizeof(slot));
	memset(stress_allocs, 0, sizeof(stress_allocs));
	memset(stress_frees, 0, sizeof(stress_frees));
	ktest_on_each_cpu(stress_cpu, (void *)ktest_seed());
	for (int c = 0; c < ncpus; c++) {
		allocs += stress_allocs[c];
		frees += stress_frees[c];
	}
	for (int i = 0; i < STRESS_SLOTS; i++)
		if (slot[i] != NULL) {
			live++;
			kmem_cache_free(stress_cache, slot[i]);
		}
	EXPECT_EQ(allocs, frees + live);
	EXPECT_EQ(allocs, (uint64_t)ncpus * STRESS_ROUNDS);
	ktest_diag("%d CPUs, %lu operations: %lu depot lock acquisitions "
		   "per 1000 operations", ncpus, allocs + frees,
		   stress_cache->cache_depot_acquires * 1000 /
		       (allocs + frees + 1));
	kmem_cache_destroy(stress_cache); /* panics on a missing buffer */
}

/*
 * A cache whose depot lock was contended moves up the magazine ladder at
 * the next reap, and then serves from the bigger magazines. Fails if the
 * magazine layer does not use cc_magsize, or loses buffers in the purge.
 */
KTEST(kmem, magazine_resize)
{
	kmem_cache_t *cp = kmem_cache_create("kmem_test_resize", 64, 8, NULL,
					     NULL, NULL, NULL, NULL, 0);
	static void *b[300];
	int before = cp->cache_magsize;
	uint64_t served;

	for (int i = 0; i < 300; i++)
		b[i] = kmem_cache_alloc(cp, KM_SLEEP);
	for (int i = 0; i < 300; i++)
		kmem_cache_free(cp, b[i]);
	spin_lock(&cp->cache_depot_lock);
	cp->cache_depot_contention = 3; /* as if three CPUs had waited */
	spin_unlock(&cp->cache_depot_lock);
	kmem_reap();
	ASSERT_GT(cp->cache_magsize, before);
	EXPECT_EQ(cp->cache_cpu[0].cc_magsize, cp->cache_magsize);
	served = cc_allocs(cp);
	for (int i = 0; i < 300; i++) {
		b[i] = kmem_cache_alloc(cp, KM_SLEEP);
		ASSERT_TRUE(b[i] != NULL);
	}
	for (int i = 0; i < 300; i++)
		kmem_cache_free(cp, b[i]);
	for (int i = 0; i < 1000; i++)
		kmem_cache_free(cp, kmem_cache_alloc(cp, KM_SLEEP));
	EXPECT_GE(cc_allocs(cp) - served, 990UL);
	kmem_cache_destroy(cp); /* panics if the purge lost a buffer */
}
