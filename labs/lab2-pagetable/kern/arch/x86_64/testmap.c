/*
 * testmap.c — see testmap.h. On the boot page tables, three static table
 * pages chain PML4[1] down to one page table for the window; once the
 * kernel runs on its HAT tables (lab 2 on), the window goes through the
 * HAT like any other mapping.
 *
 * Tests use the window one CPU at a time, so nothing here takes a lock.
 */
#include <kernel.h>
#include <pte.h>
#include <testmap.h>
#include <hat.h>

extern uint64_t boot_pml4[512];

static uint64_t tm_pdpt[512] __attribute__((aligned(4096)));
static uint64_t tm_pd[512] __attribute__((aligned(4096)));
static uint64_t tm_pt[512] __attribute__((aligned(4096)));

/* The boot page table's entry for va, chaining the tables in at first. */
static uint64_t *testmap_pte(uint64_t va)
{
	if (va < TESTMAP_BASE || va >= TESTMAP_BASE + TESTMAP_SIZE ||
	    (va & (PAGESIZE - 1)) != 0)
		panic("testmap_pte: %#lx is outside the window", va);
	if (!pte_present(boot_pml4[1])) {
		tm_pdpt[0] = pte_mktable(kimage_pa(tm_pd));
		tm_pd[0] = pte_mktable(kimage_pa(tm_pt));
		boot_pml4[1] = pte_mktable(kimage_pa(tm_pdpt));
	}
	return &tm_pt[(va >> PAGESHIFT) & 511];
}

static void testmap_hat_map(uint64_t va, uint64_t pa, unsigned flags)
{
	unsigned prot = PROT_READ;
	int err;

	if (flags & TM_W)
		prot |= PROT_WRITE;
	if (flags & TM_U)
		prot |= PROT_USER;
	if (!(flags & TM_NX))
		prot |= PROT_EXEC;
	err = hat_memload(&kernel_hat, va, pa >> PAGESHIFT, prot, 0);
	if (err != 0)
		panic("testmap_map: hat_memload %#lx: %d", va, err);
}

/* The boot-table leaf for a page at pa with the TM_* flags. */
static uint64_t testmap_leaf(uint64_t pa, unsigned flags)
{
	uint64_t bits = 0;

	if (flags & TM_W)
		bits |= PTE_W;
	if (flags & TM_U)
		bits |= PTE_U;
	if (flags & TM_NX)
		bits |= PTE_NX;
	return pte_mkleaf(pa, bits, false);
}

/*
 * Map the page at va (page-aligned, inside the window) to the page at pa
 * with the TM_* flags, replacing what was there, and flush it from this
 * CPU's TLB. Panics on a va outside the window or a failed hat_memload.
 */
void testmap_map(uint64_t va, uint64_t pa, unsigned flags)
{
	ASSERT((flags & ~(TM_W | TM_U | TM_NX)) == 0);
	if (kernel_hat_active) {
		testmap_hat_map(va, pa, flags);
		return;
	}
	*testmap_pte(va) = testmap_leaf(pa, flags);
	hat_flush_local(va, PAGESIZE);
}

/*
 * Unmap the page at va (page-aligned, inside the window; mapped or not)
 * and flush it from this CPU's TLB. Panics on a va outside the window or
 * a failed hat_unload.
 */
void testmap_unmap(uint64_t va)
{
	if (kernel_hat_active) {
		int err = hat_unload(&kernel_hat, va, PAGESIZE);

		if (err != 0)
			panic("testmap_unmap: hat_unload %#lx: %d", va, err);
		return;
	}
	*testmap_pte(va) = 0;
	hat_flush_local(va, PAGESIZE);
}
