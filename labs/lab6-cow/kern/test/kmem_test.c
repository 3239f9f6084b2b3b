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

/*
 * The slab layer alone (KMC_NOMAGAZINE: every buffer goes straight to its
 * slabs), as kmastat shows it: "in use" is cache_buftotal minus
 * cache_bufslab, "memory" the slabs made minus the slabs given back.
 */
static uint64_t slab_inuse(const kmem_cache_t *cp)
{
	return cp->cache_buftotal - cp->cache_bufslab;
}

static uint64_t slab_pages(const kmem_cache_t *cp)
{
	return (cp->cache_slab_create - cp->cache_slab_destroy) *
	       (cp->cache_slabsize / PAGESIZE);
}

/* A buffer from cp; fails the test if a new slab was made for it while
 * a slab still had a free buffer. */
static void *alloc_from_slabs(kmem_cache_t *cp)
{
	uint64_t free = cp->cache_bufslab, made = cp->cache_slab_create;
	void *b = kmem_cache_alloc(cp, KM_SLEEP);

	if (cp->cache_slab_create != made && free != 0)
		ktest_fail(__FILE__, __LINE__, "a new slab was made while "
			   "%lu buffers were free in slabs", free);
	return b;
}

#define LISTED 200

/*
 * A slab moves between the lists as its buffers come and go: a new slab
 * is made only when no slab has a free buffer (fails when a slab is seen
 * full one buffer early); a full slab that gets a buffer back is used
 * again (fails when a free does not move a full slab to the partial
 * list); a partial slab is used before an empty one, and the empty one
 * goes back at the next reap (fails when the allocation takes an empty
 * slab first, or a drained slab is never put on the empty list).
 */
KTEST(kmem, slab_lists_follow_counts)
{
	static void *b[LISTED];
	static uint64_t slab_of[LISTED];
	kmem_cache_t *cp;
	uint64_t base, before, drained = 0, live;
	int n = 0, last3 = -1;

	kmem_reap();
	kmem_reap();
	base = page_free_count();
	cp = kmem_cache_create("kmem_test_lists", 200, 8, NULL, NULL, NULL,
			       NULL, NULL, KMC_NOMAGAZINE);
	/* Three full slabs; each buffer remembers which slab it came from. */
	while (n < LISTED &&
	       !(cp->cache_slab_create == 3 && cp->cache_bufslab == 0)) {
		b[n] = alloc_from_slabs(cp);
		ASSERT_TRUE(b[n] != NULL);
		slab_of[n] = cp->cache_slab_create;
		n++;
	}
	ASSERT_EQ(cp->cache_slab_create, 3UL);
	ASSERT_EQ(cp->cache_bufslab, 0UL);
	EXPECT_EQ(slab_inuse(cp), (uint64_t)n);
	EXPECT_EQ(base - page_free_count(), slab_pages(cp));

	/* Full to partial: the freed buffer is the next one handed out. */
	kmem_cache_free(cp, b[1]);
	EXPECT_EQ(slab_inuse(cp), (uint64_t)n - 1);
	b[1] = alloc_from_slabs(cp);
	ASSERT_TRUE(b[1] != NULL);
	EXPECT_EQ(cp->cache_slab_create, 3UL);

	/* Slab 2 drains to empty; slab 3 gets one buffer back. */
	for (int i = 0; i < n; i++) {
		if (slab_of[i] == 2) {
			kmem_cache_free(cp, b[i]);
			b[i] = NULL;
			drained++;
		} else if (slab_of[i] == 3) {
			last3 = i;
		}
	}
	ASSERT_GE(last3, 0);
	kmem_cache_free(cp, b[last3]);
	live = (uint64_t)n - drained - 1;
	EXPECT_EQ(slab_inuse(cp), live);

	/* The partial slab serves; the empty one goes back at the reap. */
	b[last3] = alloc_from_slabs(cp);
	ASSERT_TRUE(b[last3] != NULL);
	EXPECT_EQ(cp->cache_slab_create, 3UL);
	before = page_free_count();
	kmem_reap();
	EXPECT_EQ(cp->cache_slab_destroy, 1UL);
	EXPECT_EQ(cp->cache_buftotal, (uint64_t)n - drained);
	EXPECT_GE(page_free_count(), before + cp->cache_slabsize / PAGESIZE);
	EXPECT_EQ(slab_inuse(cp), live + 1);

	for (int i = 0; i < n; i++)
		if (b[i] != NULL)
			kmem_cache_free(cp, b[i]);
	EXPECT_EQ(slab_inuse(cp), 0UL);
	kmem_cache_destroy(cp); /* panics if a slab still counts a buffer */
	EXPECT_GE(page_free_count(), base);
}

/*
 * kmastat's figures for the slab layer: every allocation and free takes
 * cache_lock and counts it (slab lk), every allocation from a slab counts
 * in allocs (and every free in cache_slab_free), "in use" follows the
 * buffers, and "memory" is exactly the
 * pages the slabs took from the buddy allocator, before and after a reap.
 * Fails when a counter is forgotten on one path.
 */
KTEST(kmem, kmastat_counts_slab_layer)
{
	static void *b[100];
	kmem_cache_t *cp;
	uint64_t base;

	kmem_reap();
	kmem_reap();
	base = page_free_count();
	cp = kmem_cache_create("kmem_test_counts", 100, 8, NULL, NULL, NULL,
			       NULL, NULL, KMC_NOMAGAZINE);
	for (int i = 0; i < 100; i++) {
		b[i] = kmem_cache_alloc(cp, KM_SLEEP);
		ASSERT_TRUE(b[i] != NULL);
	}
	EXPECT_EQ(cp->cache_slab_alloc, 100UL);
	EXPECT_GE(cp->cache_lock_acquires, 100UL);
	EXPECT_EQ(slab_inuse(cp), 100UL);
	EXPECT_GE(slab_pages(cp), 3UL);
	EXPECT_EQ(base - page_free_count(), slab_pages(cp));
	for (int i = 0; i < 100; i++)
		kmem_cache_free(cp, b[i]);
	EXPECT_GE(cp->cache_lock_acquires, 200UL);
	EXPECT_EQ(cp->cache_slab_free, 100UL);
	EXPECT_EQ(slab_inuse(cp), 0UL);
	kmem_reap();
	EXPECT_EQ(slab_pages(cp), 0UL);
	EXPECT_EQ(cp->cache_buftotal, 0UL);
	EXPECT_GE(page_free_count(), base);
	kmem_cache_destroy(cp);
}

#define HASHED 1100

/* Stamp a buffer with who holds it, at both ends: a buffer handed out
 * twice keeps the stamp of its second holder only. */
static void stamp(uint64_t *b, size_t words, uint64_t holder)
{
	b[0] = holder;
	b[words - 1] = ~holder;
}

static bool stamped(const uint64_t *b, size_t words, uint64_t holder)
{
	return b[0] == holder && b[words - 1] == ~holder;
}

/*
 * Large buffers are found through the hash at their free, with more live
 * buffers than hash chains, so chains hold several bufctls: the older half
 * of the buffers is freed, oldest first, while the newer half, which
 * shares their chains, stays live; then they are allocated again, and no
 * live buffer may share memory with another. Fails when a free takes the
 * wrong bufctl from a chain (another, live buffer is freed, maybe to
 * another slab), or drops or keeps bufctls on the chain; the destroy then
 * finds the pages all back.
 */
KTEST(kmem, large_buffers_found_by_hash)
{
	static uint64_t *b[HASHED];
	const size_t words = 1000 / 8;
	kmem_cache_t *cp;
	uint64_t base;
	int bad = 0;

	kmem_reap();
	kmem_reap();
	base = page_free_count();
	cp = kmem_cache_create("kmem_test_hash", 1000, 8, NULL, NULL, NULL,
			       NULL, NULL, KMC_NOMAGAZINE);
	for (int i = 0; i < HASHED; i++) {
		b[i] = kmem_cache_alloc(cp, KM_SLEEP);
		ASSERT_TRUE(b[i] != NULL);
		stamp(b[i], words, (uint64_t)i);
	}
	for (int i = 0; i < HASHED / 2; i++)
		kmem_cache_free(cp, b[i]);
	EXPECT_EQ(slab_inuse(cp), (uint64_t)HASHED - HASHED / 2);
	for (int i = 0; i < HASHED / 2; i++) {
		b[i] = kmem_cache_alloc(cp, KM_SLEEP);
		ASSERT_TRUE(b[i] != NULL);
		stamp(b[i], words, (uint64_t)i);
	}
	for (int i = 0; i < HASHED; i++)
		if (!stamped(b[i], words, (uint64_t)i) && bad++ < 8)
			ktest_fail(__FILE__, __LINE__, "buffer %p was "
				   "overwritten: handed out twice",
				   (void *)b[i]);
	for (int i = 0; i < HASHED; i++)
		kmem_cache_free(cp, b[i]);
	EXPECT_EQ(slab_inuse(cp), 0UL);
	kmem_cache_destroy(cp); /* panics if a bufctl went to another slab */
	kmem_reap();
	EXPECT_GE(page_free_count(), base);
}

static int fill_ctor_calls, fill_dtor_calls;

/* Construct: fill the whole buffer (priv: its size) from its address. */
static int fill_ctor(void *buf, void *priv, int kmflags)
{
	(void)kmflags;
	for (size_t i = 0; i < (size_t)priv / 8; i++)
		((uint64_t *)buf)[i] = (uint64_t)buf ^ (i << 48) ^ 0xc0115;
	fill_ctor_calls++;
	return 0;
}

static void fill_dtor(void *buf, void *priv)
{
	(void)buf, (void)priv;
	fill_dtor_calls++;
}

static bool constructed(const void *buf, size_t size)
{
	for (size_t i = 0; i < size / 8; i++)
		if (((const uint64_t *)buf)[i] !=
		    ((uint64_t)buf ^ (i << 48) ^ 0xc0115))
			return false;
	return true;
}

#define CTOR_BUFS 60

/*
 * Three rounds of CTOR_BUFS allocations from cp, each buffer checked for
 * its constructed state, then all but b[0] freed and two reaps (b[0]
 * keeps its slab, so the next round reuses buffers that came back to it).
 * Counts the buffers found not constructed in *bad.
 */
static void fill_rounds(kmem_cache_t *cp, size_t size, int *bad)
{
	static void *b[CTOR_BUFS];

	for (int round = 0; round < 3; round++) {
		for (int i = round == 0 ? 0 : 1; i < CTOR_BUFS; i++) {
			b[i] = kmem_cache_alloc(cp, KM_SLEEP);
			ASSERT_TRUE(b[i] != NULL);
			if (!constructed(b[i], size) && (*bad)++ < 8)
				ktest_fail(__FILE__, __LINE__, "%zu-byte "
					   "buffer %p (round %d) is not "
					   "constructed", size, b[i], round);
		}
		for (int i = CTOR_BUFS - 1; i >= 1; i--)
			kmem_cache_free(cp, b[i]);
		kmem_reap();
		kmem_reap();
		EXPECT_EQ((uint64_t)(fill_ctor_calls - fill_dtor_calls),
			  cp->cache_buftotal);
	}
	kmem_cache_free(cp, b[0]);
}

/*
 * Every buffer is handed out in its constructed state, all of it, on every
 * path: the first buffer of a new slab, small slabs and large ones with
 * bufctls, a buffer that went back to its slab (no magazines), and one
 * that came back to a slab from a magazine at a reap while its slab stayed
 * in use. The constructor runs once per buffer made, the destructor once
 * per buffer given back. Fails when the slab layer writes into a free
 * buffer (a free-list link in the object, a scrub) or loses count of its
 * buffers.
 */
KTEST(kmem, constructed_on_every_path)
{
	static const size_t sizes[] = { 200, 1000 };
	static const unsigned flags[] = { KMC_NOMAGAZINE, 0 };
	int bad = 0;

	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		for (size_t f = 0; f < ARRAY_SIZE(flags); f++) {
			kmem_cache_t *cp = kmem_cache_create(
			    "kmem_test_fill", sizes[s], 8, fill_ctor,
			    fill_dtor, NULL, (void *)sizes[s], NULL, flags[f]);

			fill_ctor_calls = fill_dtor_calls = 0;
			fill_rounds(cp, sizes[s], &bad);
			kmem_cache_destroy(cp);
			EXPECT_EQ(fill_dtor_calls, fill_ctor_calls);
		}
	}
}

/*
 * When the buddy allocator has no block left for a slab, the allocation
 * returns NULL and counts the failure (kmastat's fail), and the cache
 * works on: every buffer is freed, the cache destroyed, and every page is
 * back. Fails when a failed slab creation is not checked, or returns with
 * cache_lock held.
 */
KTEST(kmem, alloc_fails_cleanly)
{
	kmem_cache_t *cp;
	void *head = NULL, *p;
	uint64_t base, n = 0;

	kmem_reap();
	kmem_reap();
	base = page_free_count();
	cp = kmem_cache_create("kmem_test_oom", 16000, 8, NULL, NULL, NULL,
			       NULL, NULL, KMC_NOMAGAZINE);
	while ((p = kmem_cache_alloc(cp, KM_NOSLEEP)) != NULL) {
		*(void **)p = head;
		head = p;
		n++;
	}
	ktest_diag("%lu buffers of 16000 bytes before the first failure", n);
	EXPECT_GE(n * 16000, base * PAGESIZE / 4);
	EXPECT_EQ(cp->cache_alloc_fail, 1UL);
	EXPECT_TRUE(kmem_cache_alloc(cp, KM_NOSLEEP) == NULL);
	EXPECT_EQ(cp->cache_alloc_fail, 2UL);
	EXPECT_EQ(slab_inuse(cp), n);
	while (head != NULL) {
		p = head;
		head = *(void **)p;
		kmem_cache_free(cp, p);
	}
	EXPECT_EQ(slab_inuse(cp), 0UL);
	kmem_cache_destroy(cp);
	kmem_reap();
	EXPECT_GE(page_free_count(), base);
}
