/*
 * hat_hidden_test.c — lab 2 tests that run only in the instructor's
 * grading: the same walker, on shapes the public tests do not build.
 */
#include <hat.h>
#include <kernel.h>
#include <ktest.h>

#define GiB (1UL << 30)
#define MiB (1UL << 20)

/*
 * A 1 GiB page, then a protection change on one 4 KiB page inside it:
 * two splits (1 GiB -> 2 MiB -> 4 KiB). Every other sampled page keeps its
 * frame and protection. The hat is never loaded, so the frames it names
 * need not exist.
 */
KTEST(hat, split_gigabyte_twice)
{
	struct hat h;
	uintptr_t va = 0x40000000UL, hit = va + 3 * MiB + 7 * PAGESIZE;
	struct hat_mapping m;

	ASSERT_EQ(hat_init(&h, &pt_mode_4level), 0);
	ASSERT_EQ(hat_devload(&h, va, GiB, (2 * GiB) >> PAGESHIFT,
			      PROT_READ | PROT_WRITE, 0), 0);
	ASSERT_TRUE(hat_probe(&h, va + 12345 * PAGESIZE, &m));
	EXPECT_EQ(m.size, GiB);
	ASSERT_EQ(hat_chgprot(&h, hit, PAGESIZE, PROT_READ), 0);
	ASSERT_TRUE(hat_probe(&h, hit, &m));
	EXPECT_EQ(m.size, PAGESIZE);
	EXPECT_EQ(m.prot, (unsigned)PROT_READ);
	for (uint64_t off = 0; off < GiB; off += 37 * PAGESIZE + 4096 * 3) {
		ASSERT_TRUE(hat_probe(&h, va + off, &m));
		EXPECT_EQ(m.pa, 2 * GiB + off);
		if (va + off != hit)
			EXPECT_EQ(m.prot, (unsigned)(PROT_READ | PROT_WRITE));
	}
	EXPECT_EQ(h.h_ptpages, 1UL + 1 + 1 + 1); /* root, PDPT, PD, PT */
	hat_free(&h);
}

/*
 * One hat_unload across a PML4 boundary, over 4 KiB and 2 MiB mappings
 * in both slots, leaves nothing mapped and no table but the root.
 */
KTEST(hat, unload_across_pml4)
{
	struct hat h;
	uintptr_t edge = 0x8000000000UL; /* PML4 slot 0 | slot 1 */
	uint64_t before = hat_ptpages_live();

	ASSERT_EQ(hat_init(&h, &pt_mode_4level), 0);
	ASSERT_EQ(hat_devload(&h, edge - 4 * MiB, 8 * MiB, 0x200, PROT_READ, 0),
		  0);
	ASSERT_EQ(hat_memload(&h, edge - PAGESIZE, 0x99, PROT_READ, 0), 0);
	ASSERT_EQ(hat_memload(&h, edge + 6 * MiB, 0x98, PROT_READ, 0), 0);
	ASSERT_EQ(hat_unload(&h, edge - 4 * MiB, 12 * MiB), 0);
	EXPECT_EQ(hat_getpfnum(&h, edge - PAGESIZE), PFN_INVALID);
	EXPECT_EQ(hat_getpfnum(&h, edge), PFN_INVALID);
	EXPECT_EQ(hat_getpfnum(&h, edge + 6 * MiB), PFN_INVALID);
	EXPECT_EQ(h.h_ptpages, 1UL);
	hat_free(&h);
	EXPECT_EQ(hat_ptpages_live(), before);
}
