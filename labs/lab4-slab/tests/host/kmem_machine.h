/*
 * kmem_machine.h (host) — the machine kern/mm/kmem.c runs on in the host
 * test and benchmark: CPUs played by threads, and simulated physical
 * memory handed out by the real buddy allocator (kern/mm/buddy.c).
 *
 * It defines what kmem.c and buddy.c take from the kernel around them
 * (cpus[], page_array, zones[], kpm_va, kpm_pa), so exactly one file of a
 * program includes it: test_kmem.c or bench_kmem.c. That file provides
 * panic() and kprintf(), which differ between the two.
 *
 *	host memory   machine_mem (aligned_alloc, page-aligned)
 *	              |<------------- MACHINE_PAGES pages ------------->|
 *	physical      0                                      MACHINE_PAGES * 4K
 *	page_array    one page_t per pfn, all RAM, one zone (Normal)
 *
 * kpm_va(pa) is machine_mem + pa and kpm_pa() its inverse, so a slab's
 * page-aligned address stays page-aligned, as the direct map keeps it.
 */
#ifndef KMEM_MACHINE_H
#define KMEM_MACHINE_H

#include <stdlib.h>

#include <cpu.h>
#include <kenv.h>
#include <page.h>
#include "kmem_env.h"

#define MACHINE_PAGES 16384u /* 64 MiB: 16 blocks of MAX_ORDER */

page_t *page_array;
uint64_t page_array_npages;
zone_t zones[NZONES];

static uint8_t *machine_mem;

void *kpm_va(uint64_t pa)
{
	if (pa >= (uint64_t)MACHINE_PAGES * PAGESIZE)
		panic("kpm_va: pa %#lx is past the simulated memory", pa);
	return machine_mem + pa;
}

uint64_t kpm_pa(const void *va)
{
	const uint8_t *p = va;

	if (p < machine_mem || p >= machine_mem + MACHINE_PAGES * PAGESIZE)
		panic("kpm_pa: %p is not in the simulated memory", va);
	return (uint64_t)(p - machine_mem);
}

/* Play CPU id on this thread (0 <= id < ncpus). */
static inline void machine_be_cpu(int id)
{
	host_curcpu = &cpus[id];
}

/* Pages free in the buddy allocator, from its free_area counts. */
static inline uint64_t machine_free_pages(void)
{
	uint64_t n = 0;

	for (int z = 0; z < NZONES; z++)
		for (unsigned k = 0; k <= MAX_ORDER; k++)
			n += zones[z].z_free_area[k].fa_count << k;
	return n;
}

/*
 * ncpu CPUs, this thread CPU 0, and all of the simulated memory free in
 * blocks of MAX_ORDER, as page_init() would leave it. 0 if no memory.
 */
static inline int machine_init(int ncpu)
{
	ncpus = ncpu;
	for (int i = 0; i < NCPU; i++) {
		cpus[i].cpu_self = &cpus[i];
		cpus[i].cpu_id = i;
		cpus[i].cpu_online = i < ncpu;
	}
	machine_be_cpu(0);
	machine_mem = aligned_alloc(PAGESIZE, (size_t)MACHINE_PAGES * PAGESIZE);
	page_array = calloc(MACHINE_PAGES, sizeof(page_t));
	if (machine_mem == NULL || page_array == NULL)
		return 0;
	page_array_npages = MACHINE_PAGES;
	zones[ZONE_DMA] = (zone_t){ .z_name = "DMA" };
	zones[ZONE_NORMAL] = (zone_t){ .z_name = "Normal",
				       .z_end_pfn = MACHINE_PAGES,
				       .z_present = MACHINE_PAGES };
	for (int z = 0; z < NZONES; z++)
		spin_init(&zones[z].z_lock, "zone_lock", LR_PAGE_ZONE);
	for (uint64_t pfn = 0; pfn < MACHINE_PAGES; pfn++)
		page_array[pfn].p_zone = ZONE_NORMAL;
	for (uint64_t pfn = 0; pfn < MACHINE_PAGES; pfn += 1UL << MAX_ORDER) {
		page_array[pfn].p_order = MAX_ORDER;
		page_free_pages(&page_array[pfn], MAX_ORDER);
	}
	return 1;
}

#endif /* KMEM_MACHINE_H */
