/*
 * kmem_hidden_test.c — lab 4 tests that run only in the instructor's
 * grading.
 */
#include <kenv.h>
#include <kmem.h>
#include <ktest.h>

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
