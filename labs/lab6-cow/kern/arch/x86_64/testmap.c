/*
 * testmap.c — see testmap.h. On the boot page tables, three static table
 * pages chain PML4[1] down to one page table for the window; once the
 * kernel runs on its HAT tables (lab 2 on), the window goes through the
 * HAT like any other mapping.
 */
#include <kernel.h>
#include <testmap.h>
#include <x86.h>
#include <hat.h>

#define PTE_TABLE (PTE_P | PTE_W | PTE_U)

extern uint64_t boot_pml4[512];

static uint64_t tm_pdpt[512] __attribute__((aligned(4096)));
static uint64_t tm_pd[512] __attribute__((aligned(4096)));
static uint64_t tm_pt[512] __attribute__((aligned(4096)));

static uint64_t *testmap_pte(uint64_t va)
{
	if (va < TESTMAP_BASE || va >= TESTMAP_BASE + TESTMAP_SIZE ||
	    (va & (PAGESIZE - 1)) != 0)
		panic("testmap_pte: %#lx is outside the window", va);
	if ((boot_pml4[1] & PTE_P) == 0) {
		tm_pdpt[0] = kimage_pa(tm_pd) | PTE_TABLE;
		tm_pd[0] = kimage_pa(tm_pt) | PTE_TABLE;
		boot_pml4[1] = kimage_pa(tm_pdpt) | PTE_TABLE;
	}
	return &tm_pt[(va >> PAGESHIFT) & 511];
}

static void invlpg(uint64_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
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

void testmap_map(uint64_t va, uint64_t pa, unsigned flags)
{
	uint64_t pte = pa | PTE_P;

	if (kernel_hat_active) {
		testmap_hat_map(va, pa, flags);
		return;
	}
	if (flags & TM_W)
		pte |= PTE_W;
	if (flags & TM_U)
		pte |= PTE_U;
	if (flags & TM_NX)
		pte |= PTE_NX;
	*testmap_pte(va) = pte;
	invlpg(va);
}

void testmap_unmap(uint64_t va)
{
	if (kernel_hat_active) {
		int err = hat_unload(&kernel_hat, va, PAGESIZE);

		if (err != 0)
			panic("testmap_unmap: hat_unload %#lx: %d", va, err);
		return;
	}
	*testmap_pte(va) = 0;
	invlpg(va);
}
