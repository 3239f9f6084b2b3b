/*
 * page.c — page_array and the zones: what the buddy allocator manages.
 *
 * page_init() sizes page_array for every pfn below the top of RAM, takes
 * it from the boot allocator, and marks each page:
 *
 *	P_RESERVED	not RAM, or below 1 MiB (firmware; lab 4's AP start-up
 *			code lives there): never allocated
 *	owner PG_KERNEL	the kernel image
 *	owner PG_BOOT	handed out by the boot allocator (early page tables,
 *			page_array itself)
 *	free		everything else: it goes to page_free_pages() in the
 *			largest aligned blocks that fit, zone by zone
 *
 * If the buddy allocator then holds memory, it serves every allocation
 * from here on and the boot allocator is closed. Lab 3's stub tree holds
 * none, and the kernel carries on with the boot allocator.
 */
#include <bootalloc.h>
#include <kenv.h>
#include <kstring.h>
#include <memmap.h>
#include <monitor.h>
#include <page.h>

#define LOW_MEMORY_PFN ((1UL << 20) >> PAGESHIFT)

page_t *page_array;
uint64_t page_array_npages;
zone_t zones[NZONES];
bool page_ready;

/*
 * The two zones, split at DMA_LIMIT_PFN (or at the end, if RAM is small).
 * The split is aligned to the largest block, so no block spans it.
 */
static void zones_init(void)
{
	uint64_t dma_end = MIN(DMA_LIMIT_PFN, page_array_npages);

	CTASSERT(DMA_LIMIT_PFN % (1UL << MAX_ORDER) == 0);
	zones[ZONE_DMA] = (zone_t){ .z_name = "DMA", .z_start_pfn = 0,
				    .z_end_pfn = dma_end };
	zones[ZONE_NORMAL] = (zone_t){ .z_name = "Normal",
				       .z_start_pfn = dma_end,
				       .z_end_pfn = page_array_npages };
	spin_init(&zones[ZONE_DMA].z_lock, "zone_lock", LR_PAGE_ZONE);
	spin_init(&zones[ZONE_NORMAL].z_lock, "zone_lock", LR_PAGE_ZONE);
}

/* Mark every page as reserved, then open up RAM above 1 MiB. */
static void mark_pages(void)
{
	uint64_t img_lo = kimage_pa(__kernel_start) >> PAGESHIFT;
	uint64_t img_hi = ROUNDUP(kimage_pa(__kernel_end), PAGESIZE) >> PAGESHIFT;

	ASSERT(img_lo >= LOW_MEMORY_PFN && img_hi <= page_array_npages);
	for (uint64_t pfn = 0; pfn < page_array_npages; pfn++) {
		page_array[pfn].p_flags = P_RESERVED;
		page_array[pfn].p_zone = (uint8_t)pfn_zone(pfn);
	}
	for (int i = 0; i < memmap_count; i++) {
		const struct memseg *m = &memmap[i];
		uint64_t lo = ROUNDUP(m->base, PAGESIZE) >> PAGESHIFT;
		uint64_t hi = ROUNDDOWN(m->base + m->len, PAGESIZE) >> PAGESHIFT;

		ASSERT(m->type != MEM_RAM || hi <= page_array_npages);
		for (uint64_t pfn = MAX(lo, LOW_MEMORY_PFN);
		     m->type == MEM_RAM && pfn < hi; pfn++) {
			page_t *pp = &page_array[pfn];

			pp->p_flags = 0;
			zones[pp->p_zone].z_present++;
			if (pfn >= img_lo && pfn < img_hi)
				pp->p_owner = PG_OWNER(PG_KERNEL);
			else if (bootalloc_owns(pfn << PAGESHIFT) ||
				 memmap_in_initrd(pfn << PAGESHIFT))
				pp->p_owner = PG_OWNER(PG_BOOT); /* boot data */
		}
	}
	/* The memory map's RAM holds the kernel, or it lies about RAM. */
	ASSERT(page_array[img_lo].p_owner == PG_OWNER(PG_KERNEL));
}

/* Is pfn RAM that no one holds (not reserved, no owner yet)? */
static bool page_is_available(uint64_t pfn)
{
	const page_t *pp = &page_array[pfn];

	ASSERT(pfn < page_array_npages);
	return pp->p_flags == 0 && pp->p_owner == 0;
}

/* Free [pfn, end), all available and in one zone, in the largest blocks. */
static void free_run(uint64_t pfn, uint64_t end)
{
	ASSERT(pfn >= end || pfn_zone(pfn) == pfn_zone(end - 1));
	while (pfn < end) {
		unsigned order = MAX_ORDER;

		while (order > 0 && ((pfn & ((1UL << order) - 1)) != 0 ||
				     pfn + (1UL << order) > end))
			order--;
		ASSERT(page_is_available(pfn));
		page_array[pfn].p_order = (uint8_t)order; /* as if allocated */
		page_free_pages(&page_array[pfn], order);
		pfn += 1UL << order;
	}
}

/* Give every run of available pages, zone by zone, to the allocator. */
static void free_available(void)
{
	for (int z = 0; z < NZONES; z++) {
		uint64_t pfn = zones[z].z_start_pfn, end = zones[z].z_end_pfn;

		while (pfn < end) {
			uint64_t run = pfn;

			while (run < end && page_is_available(run))
				run++;
			free_run(pfn, run);
			pfn = run + 1;
		}
	}
}

/*
 * Build page_array and the zones from the memory map and free every
 * available page to the buddy allocator; if it then holds memory, set
 * page_ready and close the boot allocator. Boot CPU, once, before the
 * APs start. Panics if the boot allocator has no room for page_array.
 */
void page_init(void)
{
	uint64_t npages = memmap_ram_end() >> PAGESHIFT;
	uint64_t bytes = ROUNDUP(npages * sizeof(page_t), PAGESIZE);
	uint64_t pa;

	CTASSERT(sizeof(page_t) <= 64);
	ASSERT(!page_ready && page_array == NULL && npages > 0);
	pa = bootalloc_pages(bytes >> PAGESHIFT);
	if (pa == 0)
		panic("page_init: no room for %lu page_t", npages);
	page_array = kpm_va(pa);
	page_array_npages = npages;
	memset(page_array, 0, bytes);
	zones_init();
	mark_pages();
	/* page_array's own pages are the boot allocator's, never freed */
	ASSERT(page_array[pa >> PAGESHIFT].p_owner == PG_OWNER(PG_BOOT));
	free_available();
	kprintf("page: %lu page_t of %zu bytes: %lu KiB, %lu.%02lu%% of RAM\n",
		npages, sizeof(page_t), bytes >> 10, bytes * 100 / (npages << 12),
		bytes * 10000 / (npages << 12) % 100);
	page_ready = page_free_count() > 0;
	if (page_ready)
		bootalloc_close();
	else
		kprintf("page: the buddy allocator holds no memory (lab 3); "
			"staying on the boot allocator\n");
}

/*
 * Free pages in all zones, from the free_area counts, each zone under its
 * lock (so the caller holds no zone lock). A snapshot: other CPUs may
 * change it as soon as it returns.
 */
uint64_t page_free_count(void)
{
	uint64_t n = 0;

	for (int z = 0; z < NZONES; z++) {
		uint64_t zn = 0;

		spin_lock(&zones[z].z_lock);
		for (unsigned o = 0; o <= MAX_ORDER; o++)
			zn += zones[z].z_free_area[o].fa_count << o;
		spin_unlock(&zones[z].z_lock);
		ASSERT(zn <= zones[z].z_present); /* no count gone wrong */
		n += zn;
	}
	return n;
}

/*
 * Print each zone's free blocks per order, as /proc/buddyinfo: copied
 * under the zone's lock, printed after (so the caller holds no zone lock).
 */
void page_buddyinfo(void)
{
	for (int z = 0; z < NZONES; z++) {
		uint64_t count[MAX_ORDER + 1];

		spin_lock(&zones[z].z_lock);
		for (unsigned o = 0; o <= MAX_ORDER; o++)
			count[o] = zones[z].z_free_area[o].fa_count;
		spin_unlock(&zones[z].z_lock);
		kprintf("Node 0, zone %8s", zones[z].z_name);
		for (unsigned o = 0; o <= MAX_ORDER; o++)
			kprintf(" %6lu", count[o]);
		kprintf("\n");
	}
}

static const char *const owner_names[PG_NOWNERS] = {
	"(allocated, no owner)", "kernel", "page tables", "tests",
	"boot allocations",
	"page cache", "anonymous memory",
};

/*
 * Print where the pages went, by owner, as illumos's ::memstat: a walk of
 * page_array without the zone locks, so exact only while no other CPU
 * allocates or frees (the monitor's case).
 */
void page_memstat(void)
{
	uint64_t by_owner[PG_NOWNERS] = { 0 }, reserved = 0;
	uint64_t free = page_free_count();
	uint64_t ram = memmap_ram_between(0, UINT64_MAX) >> PAGESHIFT;

	for (uint64_t pfn = 0; pfn < page_array_npages; pfn++) {
		const page_t *pp = &page_array[pfn];

		if (pp->p_flags & P_RESERVED) {
			reserved++;
		} else if (pp->p_flags & P_FREE) {
			pfn += (1UL << pp->p_order) - 1;
		} else if (pp->p_owner < PG_NOWNERS) {
			by_owner[pp->p_owner] += 1UL << pp->p_order;
			pfn += (1UL << pp->p_order) - 1;
		}
	}
	kprintf("  %-22s %8s %8s\n", "Page Summary", "Pages", "MiB");
	for (int o = 0; o < PG_NOWNERS; o++)
		kprintf("  %-22s %8lu %8lu\n", owner_names[o], by_owner[o],
			by_owner[o] >> 8);
	kprintf("  %-22s %8lu %8lu\n", "free (buddy)", free, free >> 8);
	kprintf("  %-22s %8lu %8lu\n", "reserved (not RAM too)", reserved,
		reserved >> 8);
	kprintf("  %-22s %8lu %8lu\n", "RAM in the memory map", ram, ram >> 8);
}

MONCMD(buddyinfo, "", "free blocks per order per zone (/proc/buddyinfo)")
{
	(void)argc, (void)argv;
	kprintf("%-20s", "order:");
	for (unsigned o = 0; o <= MAX_ORDER; o++)
		kprintf(" %6u", o);
	kprintf("\n");
	page_buddyinfo();
	return 0;
}

MONCMD(memstat, "", "where the pages went (illumos ::memstat)")
{
	(void)argc, (void)argv;
	page_memstat();
	return 0;
}
