/*
 * kpm.c — the boot direct map: every RAM range of the memory map is mapped
 * at KPM_BASE + pa with 2 MiB pages, read-write and no-execute.
 *
 * This is deliberately simple. It writes PML4[256] of the boot page tables
 * using page-table pages from a small static pool; lab 2 replaces all of the
 * boot tables with ones built by the HAT.
 */
#include <boot.h>
#include <kernel.h>
#include <kstring.h>
#include <memmap.h>
#include <pte.h>
#include <x86.h>
#include <hat.h>

#define LARGE 0x200000UL
#define KPM_POOL 16

extern uint64_t boot_pml4[512];

static uint64_t kpm_pool[KPM_POOL][512] __attribute__((aligned(4096)));
static int kpm_pool_used;

/* The table *entry points to, taken from the pool if it has none yet. */
static uint64_t *kpm_table(uint64_t *entry)
{
	uint64_t *t;

	if (pte_present(*entry)) {
		ASSERT(!pte_is_leaf(1, *entry));
		return (uint64_t *)(KERNBASE + (*entry & PTE_ADDR));
	}
	if (kpm_pool_used == KPM_POOL)
		panic("kpm_table: out of boot page-table pages");
	t = kpm_pool[kpm_pool_used++];
	memset(t, 0, PAGESIZE);
	*entry = pte_mktable(kimage_pa(t));
	return t;
}

/* Map the 2 MiB page at pa at KPM_BASE + pa, writable, with cache bits. */
static void kpm_map_large(uint64_t pa, uint64_t cache)
{
	uint64_t va = KPM_BASE + pa;
	uint64_t *pdpt = kpm_table(&boot_pml4[(va >> 39) & 511]);
	uint64_t *pd = kpm_table(&pdpt[(va >> 30) & 511]);

	ASSERT((pa & (LARGE - 1)) == 0);
	pd[(va >> 21) & 511] = pte_mkleaf(pa, PTE_W | PTE_NX | cache, true);
}

/*
 * Map every RAM range of the memory map at KPM_BASE + pa in the boot
 * tables (boot CPU, at boot, once). Panics if the static pool of table
 * pages runs out.
 */
void kpm_init(void)
{
	for (int i = 0; i < memmap_count; i++) {
		const struct memseg *m = &memmap[i];
		uint64_t pa, end;

		if (m->type != MEM_RAM)
			continue;
		end = ROUNDUP(m->base + m->len, LARGE);
		for (pa = ROUNDDOWN(m->base, LARGE); pa < end; pa += LARGE)
			kpm_map_large(pa, 0);
	}
	write_cr3(read_cr3());
}

uint64_t kpm_mmio[KPM_MMIO_MAX];
int kpm_mmio_count;

/*
 * Map the device page at pa uncached in the boot direct map (its whole
 * 2 MiB page) and record it for the HAT's tables; returns its address in
 * the direct map. Boot CPU only, before the kernel leaves the boot tables
 * (lab 2's hat_kern_init() copies the record, not later calls). Panics
 * past KPM_MMIO_MAX device pages.
 */
void *kpm_map_mmio(uint64_t pa)
{
	uint64_t base = ROUNDDOWN(pa, LARGE);

	ASSERT(!kernel_hat_active);
	if (kpm_mmio_count == KPM_MMIO_MAX)
		panic("kpm_map_mmio: more than %d device pages", KPM_MMIO_MAX);
	kpm_mmio[kpm_mmio_count++] = ROUNDDOWN(pa, PAGESIZE);
	kpm_map_large(base, PTE_PCD | PTE_PWT);
	hat_flush_local(KPM_BASE + base, PAGESIZE); /* one large page */
	return kpm_va(pa);
}
