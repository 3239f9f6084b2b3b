/*
 * hat_hidden_test.c — lab 2 tests that run only in the instructor's
 * grading: the same walker, on shapes the public tests do not build.
 */
#include <errno.h>
#include <hat.h>
#include <kernel.h>
#include <ktest.h>
#include <pte.h>
#include <trap.h>

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

/*
 * The tests below look for bugs the public tests leave open: stale TLB
 * entries after a change to a live entry, tables freed too early or never,
 * large pages where they do not fit, flags lost, bounds off by a page.
 */
/* Kernel addresses no other test maps: PML4[510], its second PDPT entry. */
#define HIDDEN_VA 0xffffff0040000000UL
#define SPLIT_PA 0x1000000UL /* 16 MiB: RAM, 2 MiB-aligned, never written */

static uint64_t hidden_pages[3][PAGESIZE / 8] __attribute__((aligned(4096)));

static pfn_t hidden_pfn(int i)
{
	return kimage_pa(hidden_pages[i]) >> PAGESHIFT;
}

static void hidden_need_kernel_hat(void)
{
	if (!kernel_hat_active)
		ktest_fail(__FILE__, __LINE__,
			   "the kernel is not running on its HAT page tables");
	if (!kernel_hat_active)
		ktest_abort();
}

static uintptr_t touch_va;
static uint64_t touch_val;

static void touch_read(void)
{
	touch_val = *(volatile uint64_t *)touch_va;
}

static void touch_write(void)
{
	*(volatile uint64_t *)touch_va = touch_val;
}

/*
 * Read (or write touch_val to) va under on_trap: 0 if it went through,
 * else the #PF error code with bit 63 set (so a not-present fault, error
 * code 0, is not 0).
 */
static uint64_t touch(uintptr_t va, bool write)
{
	on_trap_data_t otd;

	touch_va = va;
	if (!on_trap(&otd, OT_DATA_ACCESS)) {
		if (write)
			touch_write();
		else
			touch_read();
	}
	no_trap();
	return otd.ot_trap == 0 ? 0 : (otd.ot_err | (1UL << 63));
}

#define NOT_PRESENT (1UL << 63)
#define WRITE_PROTECTED ((1UL << 63) | PF_ERR_P | PF_ERR_W)

/*
 * Remap a live page to another frame, then unmap it, reading it each time
 * so its translation is in the TLB: each read must see the new state.
 * Fails if hat_memload stores over a present entry without a flush, or
 * hat_unload clears one without a flush (a neighbour keeps the page table
 * alive, so no flush of a freed table hides it). The neighbour must still
 * read after the unload: a table with one entry left is not empty.
 */
KTEST(hat, live_remap_and_unload_flush)
{
	uintptr_t va = HIDDEN_VA, next = HIDDEN_VA + PAGESIZE;
	unsigned long before;

	hidden_need_kernel_hat();
	before = kernel_hat.h_ptpages;
	for (int i = 0; i < 3; i++)
		hidden_pages[i][0] = 0xa0 + (uint64_t)i;
	ASSERT_EQ(hat_memload(&kernel_hat, next, hidden_pfn(2),
			      PROT_READ | PROT_WRITE, 0), 0);
	ASSERT_EQ(hat_memload(&kernel_hat, va, hidden_pfn(0),
			      PROT_READ | PROT_WRITE, 0), 0);
	EXPECT_EQ(touch(va, false), 0UL);
	EXPECT_EQ(touch_val, 0xa0UL);
	ASSERT_EQ(hat_memload(&kernel_hat, va, hidden_pfn(1),
			      PROT_READ | PROT_WRITE, 0), 0);
	EXPECT_EQ(touch(va, false), 0UL);
	EXPECT_EQ(touch_val, 0xa1UL); /* 0xa0: the old frame, from the TLB */
	ASSERT_EQ(hat_unload(&kernel_hat, va, PAGESIZE), 0);
	EXPECT_EQ(touch(va, false), NOT_PRESENT);
	EXPECT_EQ(touch(next, false), 0UL);
	EXPECT_EQ(touch_val, 0xa2UL);
	EXPECT_EQ(hat_getpfnum(&kernel_hat, next), hidden_pfn(2));
	ASSERT_EQ(hat_unload(&kernel_hat, next, PAGESIZE), 0);
	EXPECT_EQ(touch(next, false), NOT_PRESENT);
	EXPECT_EQ(kernel_hat.h_ptpages, before);
}

/*
 * A range that covers a whole page table of 4 KiB pages: hat_chgprot
 * changes every leaf in it, hat_unload drops the table, and each flushes
 * all the pages it changed, not just the first. A page in the next 2 MiB
 * keeps the page directory alive (its flush would hide a missing one).
 */
KTEST(hat, whole_table_range_flush)
{
	uintptr_t va = HIDDEN_VA + 0x400000, keep = HIDDEN_VA + 0x600000;
	uintptr_t far = va + 7 * PAGESIZE;
	unsigned long before, kept;

	hidden_need_kernel_hat();
	before = kernel_hat.h_ptpages;
	ASSERT_EQ(hat_memload(&kernel_hat, keep, hidden_pfn(2), PROT_READ, 0),
		  0);
	kept = kernel_hat.h_ptpages;
	ASSERT_EQ(hat_memload(&kernel_hat, va, hidden_pfn(0),
			      PROT_READ | PROT_WRITE, 0), 0);
	ASSERT_EQ(hat_memload(&kernel_hat, far, hidden_pfn(1),
			      PROT_READ | PROT_WRITE, 0), 0);
	EXPECT_EQ(kernel_hat.h_ptpages, kept + 1);
	touch_val = 0xb1;
	EXPECT_EQ(touch(far, true), 0UL);
	EXPECT_EQ(hidden_pages[1][0], 0xb1UL);
	ASSERT_EQ(hat_chgprot(&kernel_hat, va, 0x200000, PROT_READ), 0);
	EXPECT_EQ(touch(far, true), WRITE_PROTECTED);
	EXPECT_EQ(touch(va, true), WRITE_PROTECTED);
	EXPECT_EQ(touch(far, false), 0UL);
	ASSERT_EQ(hat_unload(&kernel_hat, va, 0x200000), 0);
	EXPECT_EQ(touch(far, false), NOT_PRESENT);
	EXPECT_EQ(touch(va, false), NOT_PRESENT);
	EXPECT_EQ(kernel_hat.h_ptpages, kept);
	EXPECT_EQ(hat_getpfnum(&kernel_hat, keep), hidden_pfn(2));
	ASSERT_EQ(hat_unload(&kernel_hat, keep, PAGESIZE), 0);
	EXPECT_EQ(kernel_hat.h_ptpages, before);
}

/*
 * hat_devload of a 2 MiB page over a live page table of 4 KiB pages: the
 * old writable 4 KiB translation must be gone (the whole old span is
 * flushed, not only its first page) and the table it lived in freed.
 */
KTEST(hat, devload_over_live_table)
{
	uintptr_t va = HIDDEN_VA + 0x800000, page = va + PAGESIZE;
	unsigned long before, mid;
	struct hat_mapping m;

	hidden_need_kernel_hat();
	before = kernel_hat.h_ptpages;
	ASSERT_EQ(hat_memload(&kernel_hat, page, hidden_pfn(0),
			      PROT_READ | PROT_WRITE, 0), 0);
	mid = kernel_hat.h_ptpages;
	touch_val = 0xc0;
	EXPECT_EQ(touch(page, true), 0UL);
	ASSERT_EQ(hat_devload(&kernel_hat, va, 0x200000,
			      SPLIT_PA >> PAGESHIFT, PROT_READ, 0), 0);
	ASSERT_TRUE(hat_probe(&kernel_hat, page, &m));
	EXPECT_EQ(m.size, 0x200000UL);
	EXPECT_EQ(m.pa, SPLIT_PA + PAGESIZE);
	EXPECT_EQ(kernel_hat.h_ptpages, mid - 1);
	touch_val = 0xc1;
	EXPECT_EQ(touch(page, true), WRITE_PROTECTED);
	EXPECT_EQ(hidden_pages[0][0], 0xc0UL);
	EXPECT_EQ(touch(page, false), 0UL);
	EXPECT_EQ(touch_val, *(uint64_t *)kpm_va(SPLIT_PA + PAGESIZE));
	ASSERT_EQ(hat_unload(&kernel_hat, va, 0x200000), 0);
	EXPECT_EQ(kernel_hat.h_ptpages, before);
}

/*
 * A table is freed when its last entry goes, and not before: whichever
 * entry (the first, the last, one in the middle) is the one left, it
 * keeps the table. Under PAE the page directory's 512 entries are all
 * looked at, not the root's 4. Fails if the emptiness scan skips the first
 * or the last entry, stops at the first hole, or counts a child table's
 * entries with its parent's level.
 */
KTEST(hat, table_freed_only_when_empty)
{
	struct hat h;
	uintptr_t e = 0x80000000UL;
	uint64_t before = hat_ptpages_live();

	ASSERT_EQ(hat_init(&h, &pt_mode_4level), 0);
	ASSERT_EQ(hat_memload(&h, e, 0x10, PROT_READ, 0), 0);
	ASSERT_EQ(hat_memload(&h, e + 5 * PAGESIZE, 0x15, PROT_READ, 0), 0);
	ASSERT_EQ(hat_memload(&h, e + 511 * PAGESIZE, 0x1f, PROT_READ, 0), 0);
	ASSERT_EQ(hat_unload(&h, e + 5 * PAGESIZE, PAGESIZE), 0);
	EXPECT_EQ(h.h_ptpages, 4UL);
	EXPECT_EQ(hat_getpfnum(&h, e), 0x10UL);
	EXPECT_EQ(hat_getpfnum(&h, e + 511 * PAGESIZE), 0x1fUL);
	ASSERT_EQ(hat_unload(&h, e, PAGESIZE), 0);
	EXPECT_EQ(h.h_ptpages, 4UL);
	EXPECT_EQ(hat_getpfnum(&h, e + 511 * PAGESIZE), 0x1fUL);
	ASSERT_EQ(hat_unload(&h, e + 511 * PAGESIZE, PAGESIZE), 0);
	EXPECT_EQ(h.h_ptpages, 1UL);
	ASSERT_EQ(hat_memload(&h, e, 0x10, PROT_READ, 0), 0);
	ASSERT_EQ(hat_memload(&h, e + 7 * PAGESIZE, 0x17, PROT_READ, 0), 0);
	ASSERT_EQ(hat_unload(&h, e + 7 * PAGESIZE, PAGESIZE), 0);
	EXPECT_EQ(h.h_ptpages, 4UL);
	EXPECT_EQ(hat_getpfnum(&h, e), 0x10UL);
	ASSERT_EQ(hat_unload(&h, e, PAGESIZE), 0);
	EXPECT_EQ(h.h_ptpages, 1UL);
	hat_free(&h);

	ASSERT_EQ(hat_init(&h, &pt_mode_pae), 0);
	ASSERT_EQ(hat_memload(&h, 0, 0x20, PROT_READ, 0), 0);
	ASSERT_EQ(hat_memload(&h, 0x0c800000UL, 0x21, PROT_READ, 0), 0);
	EXPECT_EQ(h.h_ptpages, 4UL); /* root, PD, two PTs */
	ASSERT_EQ(hat_unload(&h, 0, PAGESIZE), 0);
	EXPECT_EQ(h.h_ptpages, 3UL);
	EXPECT_EQ(hat_getpfnum(&h, 0x0c800000UL), 0x21UL);
	ASSERT_EQ(hat_unload(&h, 0x0c800000UL, PAGESIZE), 0);
	EXPECT_EQ(h.h_ptpages, 1UL);
	hat_free(&h);
	EXPECT_EQ(hat_ptpages_live(), before);
}

/*
 * Ranges are exactly [va, va + len): the page after the last is left
 * alone, a range across a page-table boundary reaches into the next
 * table (not round to the start of the first), the last page of the
 * address space can be mapped and unmapped, and arguments the mode cannot
 * take are refused with -EINVAL before anything changes. Fails on an
 * inclusive end used as exclusive (one page too many or too few), a span
 * not cut at an entry's boundary, a range that wraps or runs past PAE's
 * 4 GiB, a length or va that is not page-aligned.
 */
KTEST(hat, range_bounds_exact)
{
	struct hat h;
	uintptr_t b = 0x40200000UL; /* a page-table boundary */
	uintptr_t top = 0xfffffffffffff000UL;
	struct hat_mapping m;
	uint64_t before = hat_ptpages_live();

	ASSERT_EQ(hat_init(&h, &pt_mode_4level), 0);
	ASSERT_EQ(hat_memload(&h, 0x40000000UL, 0x30, PROT_READ, 0), 0);
	for (int i = -2; i <= 2; i++)
		ASSERT_EQ(hat_memload(&h, b + i * (long)PAGESIZE, 0x40 + i,
				      PROT_READ | PROT_WRITE, 0), 0);
	ASSERT_EQ(hat_chgprot(&h, b - 2 * PAGESIZE, 3 * PAGESIZE, PROT_READ),
		  0);
	for (int i = -2; i <= 2; i++) {
		ASSERT_TRUE(hat_probe(&h, b + i * (long)PAGESIZE, &m));
		EXPECT_EQ(m.prot, i <= 0 ? (unsigned)PROT_READ :
			  (unsigned)(PROT_READ | PROT_WRITE));
	}
	ASSERT_EQ(hat_unload(&h, b - PAGESIZE, 2 * PAGESIZE), 0);
	EXPECT_EQ(hat_getpfnum(&h, 0x40000000UL), 0x30UL);
	EXPECT_EQ(hat_getpfnum(&h, b - 2 * PAGESIZE), 0x3eUL);
	EXPECT_EQ(hat_getpfnum(&h, b - PAGESIZE), PFN_INVALID);
	EXPECT_EQ(hat_getpfnum(&h, b), PFN_INVALID);
	EXPECT_EQ(hat_getpfnum(&h, b + PAGESIZE), 0x41UL);
	EXPECT_EQ(hat_getpfnum(&h, b + 2 * PAGESIZE), 0x42UL);

	EXPECT_EQ(hat_memload(&h, b + 0x800, 0x50, PROT_READ, 0), -EINVAL);
	EXPECT_EQ(hat_unload(&h, b, 100), -EINVAL);
	EXPECT_EQ(hat_chgprot(&h, b + PAGESIZE, 100, PROT_READ), -EINVAL);
	EXPECT_EQ(hat_getpfnum(&h, b + PAGESIZE), 0x41UL);
	ASSERT_EQ(hat_unload(&h, 0x40000000UL, 0x400000), 0);
	EXPECT_EQ(h.h_ptpages, 1UL);

	ASSERT_EQ(hat_devload(&h, top - PAGESIZE, 2 * PAGESIZE, 0x60, PROT_READ,
			      0), 0);
	EXPECT_EQ(hat_getpfnum(&h, top), 0x61UL);
	EXPECT_EQ(h.h_ptpages, 4UL);
	ASSERT_EQ(hat_unload(&h, top, PAGESIZE), 0);
	EXPECT_EQ(hat_getpfnum(&h, top - PAGESIZE), 0x60UL);
	ASSERT_EQ(hat_unload(&h, top - PAGESIZE, PAGESIZE), 0);
	EXPECT_EQ(h.h_ptpages, 1UL);
	hat_free(&h);

	ASSERT_EQ(hat_init(&h, &pt_mode_pae), 0);
	EXPECT_EQ(hat_devload(&h, 0xfffff000UL, 2 * PAGESIZE, 0x70, PROT_READ,
			      0), -EINVAL); /* past 4 GiB */
	EXPECT_EQ(hat_unload(&h, 0xfffff000UL,
			     (size_t)(PAGESIZE - 0xfffff000UL)), -EINVAL);
	EXPECT_EQ(hat_getpfnum(&h, 0), PFN_INVALID);
	EXPECT_EQ(h.h_ptpages, 1UL);
	hat_free(&h);
	EXPECT_EQ(hat_ptpages_live(), before);
}

/*
 * hat_devload puts a large page only where it is legal: va and pa both
 * aligned to its size, the size left covering it, a level that may hold
 * a leaf (PAE's PDPT may not). The last 4 KiB page of a range is mapped.
 * A 4 KiB page mapped inside a 2 MiB one splits it and keeps the other
 * 511; a split keeps the protection; running out of table pages is
 * -ENOMEM, and a split that cannot be had leaves the large page whole.
 * Fails if the choice of level ignores the alignment of va or of pa, or
 * .large, if hat_memload replaces a large leaf by an empty table, or if an
 * ENOMEM is skipped or walked past.
 */
KTEST(hat, large_pages_where_legal)
{
	struct hat h;
	struct hat_mapping m;
	uintptr_t big = 0x100000000UL;
	uint64_t before = hat_ptpages_live();

	ASSERT_EQ(hat_init(&h, &pt_mode_4level), 0);
	ASSERT_EQ(hat_devload(&h, 0x40000000UL, 0x200000, 0x201, PROT_READ, 0),
		  0); /* va aligned, pa not */
	ASSERT_TRUE(hat_probe(&h, 0x40001000UL, &m));
	EXPECT_EQ(m.size, (uint64_t)PAGESIZE);
	EXPECT_EQ(m.pa, 0x202000UL);
	ASSERT_EQ(hat_devload(&h, 0x40401000UL, 0x400000, 0x400, PROT_READ, 0),
		  0); /* pa aligned, va not */
	ASSERT_TRUE(hat_probe(&h, 0x40600000UL, &m));
	EXPECT_EQ(m.size, (uint64_t)PAGESIZE);
	EXPECT_EQ(m.pa, 0x5ff000UL);
	ASSERT_EQ(hat_devload(&h, 0xc0000000UL, 3 * PAGESIZE, 0x700, PROT_READ,
			      0), 0);
	EXPECT_EQ(hat_getpfnum(&h, 0xc0002000UL), 0x702UL);
	EXPECT_EQ(hat_getpfnum(&h, 0xc0003000UL), PFN_INVALID);

	ASSERT_EQ(hat_devload(&h, big, 0x200000, 0x100000,
			      PROT_READ | PROT_USER, 0), 0);
	ASSERT_EQ(hat_memload(&h, big + 5 * PAGESIZE, 0x99,
			      PROT_READ | PROT_WRITE, 0), 0);
	EXPECT_EQ(hat_getpfnum(&h, big + 5 * PAGESIZE), 0x99UL);
	ASSERT_TRUE(hat_probe(&h, big + 6 * PAGESIZE, &m));
	EXPECT_EQ(m.pa, big + 6 * PAGESIZE);
	EXPECT_EQ(m.prot, (unsigned)(PROT_READ | PROT_USER));
	EXPECT_EQ(hat_getpfnum(&h, big + 511 * PAGESIZE), 0x1001ffUL);

	ASSERT_EQ(hat_devload(&h, big + 0x200000, 0x200000, 0x100200,
			      PROT_READ, 0), 0);
	hat_ptpage_inject_failure(0);
	EXPECT_EQ(hat_memload(&h, big + 0x209000, 0x98, PROT_READ, 0), -ENOMEM);
	EXPECT_EQ(hat_devload(&h, 0x8000000000UL, PAGESIZE, 0x97, PROT_READ, 0),
		  -ENOMEM);
	hat_ptpage_inject_failure(-1);
	ASSERT_TRUE(hat_probe(&h, big + 0x209000, &m));
	EXPECT_EQ(m.size, 0x200000UL);
	EXPECT_EQ(m.pa, big + 0x209000);
	EXPECT_EQ(hat_getpfnum(&h, 0x8000000000UL), PFN_INVALID);
	hat_free(&h);

	ASSERT_EQ(hat_init(&h, &pt_mode_pae), 0);
	ASSERT_EQ(hat_devload(&h, 0x40000000UL, 0x40000000UL, 0x40000,
			      PROT_READ, 0), 0);
	ASSERT_TRUE(hat_probe(&h, 0x7fe00000UL, &m));
	EXPECT_EQ(m.size, 0x200000UL); /* PAE has no 1 GiB pages */
	EXPECT_EQ(h.h_ptpages, 2UL);
	hat_free(&h);
	EXPECT_EQ(hat_ptpages_live(), before);
}

/*
 * HAT_NOCACHE stays with a mapping: hat_memload and hat_devload (large
 * pages too) set it, a split copies it into every small leaf, and
 * hat_chgprot keeps it while it changes the protection. Fails wherever a
 * leaf is rebuilt with flags 0.
 */
KTEST(hat, nocache_survives)
{
	struct hat h;
	struct hat_mapping m;
	uintptr_t dev = 0x40000000UL;

	ASSERT_EQ(hat_init(&h, &pt_mode_4level), 0);
	ASSERT_EQ(hat_memload(&h, 0x1000, 0x10, PROT_READ | PROT_WRITE,
			      HAT_NOCACHE), 0);
	ASSERT_TRUE(hat_probe(&h, 0x1000, &m));
	EXPECT_EQ(m.flags, (unsigned)HAT_NOCACHE);
	ASSERT_EQ(hat_devload(&h, dev, 0x400000, 0xfe000,
			      PROT_READ | PROT_WRITE, HAT_NOCACHE), 0);
	ASSERT_TRUE(hat_probe(&h, dev + 0x200000, &m));
	EXPECT_EQ(m.size, 0x200000UL);
	EXPECT_EQ(m.flags, (unsigned)HAT_NOCACHE);
	ASSERT_EQ(hat_unload(&h, dev + 5 * PAGESIZE, PAGESIZE), 0);
	ASSERT_TRUE(hat_probe(&h, dev + 6 * PAGESIZE, &m));
	EXPECT_EQ(m.size, (uint64_t)PAGESIZE);
	EXPECT_EQ(m.flags, (unsigned)HAT_NOCACHE);
	EXPECT_EQ(m.prot, (unsigned)(PROT_READ | PROT_WRITE));
	ASSERT_EQ(hat_chgprot(&h, dev + 6 * PAGESIZE, PAGESIZE, PROT_READ), 0);
	ASSERT_TRUE(hat_probe(&h, dev + 6 * PAGESIZE, &m));
	EXPECT_EQ(m.prot, (unsigned)PROT_READ);
	EXPECT_EQ(m.flags, (unsigned)HAT_NOCACHE);
	ASSERT_EQ(hat_chgprot(&h, dev + 0x200000, 0x200000, PROT_READ), 0);
	ASSERT_TRUE(hat_probe(&h, dev + 0x3ff000, &m));
	EXPECT_EQ(m.size, 0x200000UL);
	EXPECT_EQ(m.prot, (unsigned)PROT_READ);
	EXPECT_EQ(m.flags, (unsigned)HAT_NOCACHE);
	hat_free(&h);
}

/*
 * hat_probe and hat_getpfnum report va's own address inside a large page,
 * and nothing for an address the mode cannot translate, even one whose
 * index bits match a mapping. hat_free leaves the hat empty. Fails if the
 * offset is left out or cut to 4 KiB, if a frame number is counted in
 * large pages, if hat_probe skips hat_va_valid(), or if hat_free leaves
 * h_root set.
 */
KTEST(hat, probe_offsets_and_validity)
{
	struct hat h;
	struct hat_mapping m;
	uintptr_t va = 0x40000000UL;

	ASSERT_EQ(hat_init(&h, &pt_mode_4level), 0);
	ASSERT_EQ(hat_devload(&h, va, 0x200000, 0x40000, PROT_READ, 0), 0);
	ASSERT_EQ(hat_memload(&h, 0x1000, 0x10, PROT_READ, 0), 0);
	ASSERT_TRUE(hat_probe(&h, va + 0x3123, &m));
	EXPECT_EQ(m.pa, 0x40003123UL);
	EXPECT_EQ(m.size, 0x200000UL);
	EXPECT_EQ(m.level, 1);
	EXPECT_EQ(hat_getpfnum(&h, va + 0x1ff000), 0x401ffUL);
	EXPECT_FALSE(hat_probe(&h, 0x0001000000001000UL, &m));
	EXPECT_EQ(hat_getpfnum(&h, 0x0001000000001000UL), PFN_INVALID);
	hat_free(&h);
	EXPECT_EQ(h.h_root, 0UL);
	EXPECT_EQ(h.h_ptpages, 0UL);

	ASSERT_EQ(hat_init(&h, &pt_mode_pae), 0);
	ASSERT_EQ(hat_memload(&h, 0x1000, 0x10, PROT_READ, 0), 0);
	EXPECT_EQ(hat_getpfnum(&h, 0x100001000UL), PFN_INVALID);
	hat_free(&h);
	EXPECT_EQ(h.h_root, 0UL);
}
