/*
 * buddy_hidden_test.c — lab 3 tests that run only in the instructor's
 * grading.
 */
#include <kenv.h>
#include <ktest.h>
#include <page.h>

static bool same_counts(const uint64_t (*a)[MAX_ORDER + 1])
{
	for (int z = 0; z < NZONES; z++)
		for (unsigned o = 0; o <= MAX_ORDER; o++)
			if (a[z][o] != zones[z].z_free_area[o].fa_count)
				return false;
	return true;
}

static void save_counts(uint64_t (*a)[MAX_ORDER + 1])
{
	for (int z = 0; z < NZONES; z++)
		for (unsigned o = 0; o <= MAX_ORDER; o++)
			a[z][o] = zones[z].z_free_area[o].fa_count;
}

/*
 * Blocks of the largest order until none is left: as many as the free
 * memory allows once every smaller block has been split off; they are all
 * disjoint and aligned, and come back whole.
 */
KTEST(buddy, largest_blocks_until_none)
{
	static page_t *got[64];
	uint64_t before[NZONES][MAX_ORDER + 1];
	int n = 0;

	save_counts(before);
	while (n < 64 && (got[n] = page_alloc_pages(MAX_ORDER, PG_TEST)) != NULL)
		n++;
	EXPECT_GT(n, 8);
	EXPECT_LT(n, 64);
	for (int i = 0; i < n; i++) {
		EXPECT_EQ(page_pfn(got[i]) & ((1UL << MAX_ORDER) - 1), 0UL);
		for (int j = 0; j < i; j++)
			EXPECT_NE(got[i], got[j]);
	}
	while (n > 0)
		page_free_pages(got[--n], MAX_ORDER);
	EXPECT_TRUE(same_counts(before));
}

/* Freeing in the reverse order of allocation merges everything back. */
KTEST(buddy, reverse_free_order)
{
	static page_t *got[128];
	uint64_t before[NZONES][MAX_ORDER + 1];

	save_counts(before);
	for (int i = 0; i < 128; i++) {
		got[i] = page_alloc_pages((unsigned)(i % 4), PG_TEST);
		ASSERT_TRUE(got[i] != NULL);
	}
	for (int i = 127; i >= 0; i--)
		page_free_pages(got[i], (unsigned)(i % 4));
	EXPECT_TRUE(same_counts(before));
}
