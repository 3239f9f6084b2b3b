/*
 * hat_kern.c — the kernel's own page tables, built with the HAT, and the
 * HAT's machine-dependent services: page-table pages and the TLB.
 *
 * At boot the kernel runs on the tables boot.S and kpm_init() built, which
 * map everything read-write-execute. hat_kern_init() replaces them with a
 * hat that gives each part of the kernel only what it needs:
 *
 *	text		read, execute
 *	rodata		read
 *	data, bss	read, write
 *	direct map	read, write (1 GiB and 2 MiB pages where possible)
 *	device pages	read, write, uncached
 *
 * so no kernel page is both writable and executable (W^X). While the HAT
 * is still a stub (lab 2's tree) the kernel stays on the boot tables.
 *
 * Page-table pages come from the boot allocator until the buddy allocator
 * is ready (lab 3), and from the buddy allocator after.
 */
#include <boot.h>
#include <bootalloc.h>
#include <errno.h>
#include <hat.h>
#include <kenv.h>
#include <cmdline.h>
#include <kstring.h>
#include <memmap.h>
#include <monitor.h>
#include <page.h>
#include <pte.h>
#include <tlb.h>
#include <x86.h>

struct hat kernel_hat;
bool kernel_hat_active;

/*
 * From lab 4 on every CPU may allocate and free table pages at once, so
 * these two change only by atomic read-modify-writes, never a plain ++:
 * enough for one word each. A lock here would need a rank below the zone
 * lock's, which page_alloc_pages() takes inside.
 */
static long fail_after = -1;  /* fault injection for the tests */
static uint64_t ptpages_live; /* handed out, not given back */

extern char __rodata_start[], __data_start[];

/* Should this allocation fail? Counts fail_after down, atomically. */
static bool ptpage_injected_failure(void)
{
	long n = __atomic_load_n(&fail_after, __ATOMIC_RELAXED);

	do {
		if (n <= 0)
			return n == 0;
	} while (!__atomic_compare_exchange_n(&fail_after, &n, n - 1, false,
					      __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return false;
}

/* Could pa be a page-table page: a whole page of RAM? */
static bool ptpage_ok(uint64_t pa)
{
	return pa != 0 && (pa & (PAGESIZE - 1)) == 0 && pa < memmap_ram_end();
}

/* A page from whichever allocator serves memory now: its pa, or 0. */
static uint64_t ptpage_take(void)
{
	if (page_ready) {
		page_t *pp = page_alloc_pages(0, PG_PTABLE);

		ASSERT(pp == NULL || pp->p_order == 0);
		return pp != NULL ? page_pfn(pp) << PAGESHIFT : 0;
	}
	return bootalloc_page();
}

/*
 * A zeroed page for a page table: its physical address, or 0 when memory
 * runs out or a test injected a failure. Any CPU, any time, with no lock
 * held that ranks at or above LR_PAGE_ZONE (the buddy allocator takes a
 * zone lock).
 */
uint64_t hat_ptpage_alloc(void)
{
	uint64_t pa;

	if (ptpage_injected_failure())
		return 0;
	pa = ptpage_take();
	if (pa == 0)
		return 0;
	ASSERT(ptpage_ok(pa));
	memset(kpm_va(pa), 0, PAGESIZE);
	__atomic_add_fetch(&ptpages_live, 1, __ATOMIC_RELAXED);
	return pa;
}

/*
 * Give back a page-table page hat_ptpage_alloc() handed out, no longer
 * reachable from any table (and flushed). Panics on a pa that is not a
 * page, on a page that is no page table, and when more pages come back
 * than went out.
 */
void hat_ptpage_free(uint64_t pa)
{
	if (hat_ptpage_free_deferred(pa))
		return; /* after the batch's shootdown (tlb.h) */
	hat_ptpage_free_now(pa);
}

void hat_ptpage_free_now(uint64_t pa)
{
	uint64_t was = __atomic_fetch_sub(&ptpages_live, 1, __ATOMIC_RELAXED);

	ASSERT(was > 0);
	ASSERT(ptpage_ok(pa));
	if (page_ready) {
		page_t *pp = pfn_to_page(pa >> PAGESHIFT);

		/* PG_BOOT: a table of the kernel hat, built before page_init */
		ASSERT(pp->p_owner == PG_OWNER(PG_PTABLE) ||
		       pp->p_owner == PG_OWNER(PG_BOOT));
		page_free_pages(pp, 0);
		return;
	}
	bootalloc_free(pa);
}

/* Page-table pages handed out and not given back, in every hat. */
uint64_t hat_ptpages_live(void)
{
	return __atomic_load_n(&ptpages_live, __ATOMIC_RELAXED);
}

/*
 * Tests: let the next `after` hat_ptpage_alloc() calls (on any CPU)
 * succeed and fail every one after them; -1 turns failures off.
 */
void hat_ptpage_inject_failure(long after)
{
	ASSERT(after >= -1);
	__atomic_store_n(&fail_after, after, __ATOMIC_RELAXED);
}

/*
 * Make the TLB forget [va, va + len) (page-aligned) after hat's entries
 * for it changed, if hat is the one in this CPU's CR3; before anything
 * they pointed to is freed. This CPU only: lab 7 reaches the others.
 */
void hat_tlb_flush(struct hat *hat, uintptr_t va, size_t len)
{
	ASSERT(hat->h_root != 0 && len > 0);
	if (hat != &kernel_hat) {
		hat_tlb_flush_user(hat, va, len); /* every CPU (tlb.h) */
		return;
	}
	if ((read_cr3() & PTE_ADDR) != hat->h_root)
		return; /* not loaded: nothing cached */
	hat_flush_local(va, len);
}

/*
 * Map [start, end) of the kernel image at its link address with prot.
 * kernel.ld starts each part on a page of its own, or W^X would not hold.
 */
static int map_image(const char *start, const char *end, unsigned prot)
{
	uint64_t pa = kimage_pa(start);
	size_t len = ROUNDUP((uint64_t)(end - start), PAGESIZE);

	ASSERT((pa & (PAGESIZE - 1)) == 0 && end > start);
	return hat_devload(&kernel_hat, (uintptr_t)start, len,
			   pa >> PAGESHIFT, prot, 0);
}

/* [pa, end) of the direct map with prot, if the range is not empty. */
static int map_direct_range(uint64_t pa, uint64_t end, unsigned prot)
{
	if (pa >= end)
		return 0;
	return hat_devload(&kernel_hat, KPM_BASE + pa, end - pa,
			   pa >> PAGESHIFT, prot, 0);
}

/*
 * Every RAM range at KPM_BASE + pa, rounded out to whole pages: read-write,
 * except the direct map's alias of the kernel's text and rodata, which is
 * read-only, as in Linux. Patching kernel code or constants then takes a
 * page-table edit (or clearing CR0.WP), not a plain store through the alias.
 */
static int map_direct(void)
{
	uint64_t ro_lo = kimage_pa(__kernel_start), ro_hi = kimage_pa(__data_start);

	ASSERT(ro_lo % PAGESIZE == 0 && ro_hi % PAGESIZE == 0 && ro_lo < ro_hi);
	for (int i = 0; i < memmap_count; i++) {
		const struct memseg *m = &memmap[i];
		uint64_t pa = ROUNDDOWN(m->base, PAGESIZE);
		uint64_t end = ROUNDUP(m->base + m->len, PAGESIZE);
		uint64_t lo = MIN(MAX(pa, ro_lo), end), hi = MIN(MAX(pa, ro_hi), end);
		int err;

		if (m->type != MEM_RAM)
			continue;
		if ((err = map_direct_range(pa, lo, PROT_READ | PROT_WRITE)) ||
		    (err = map_direct_range(lo, hi, PROT_READ)) ||
		    (err = map_direct_range(hi, end, PROT_READ | PROT_WRITE)))
			return err;
	}
	return 0;
}

/* The device pages kpm_map_mmio() recorded, uncached, 4 KiB each. */
static int map_devices(void)
{
	for (int i = 0; i < kpm_mmio_count; i++) {
		uint64_t pa = kpm_mmio[i];
		int err;

		ASSERT((pa & (PAGESIZE - 1)) == 0);
		err = hat_devload(&kernel_hat, KPM_BASE + pa, PAGESIZE,
				  pa >> PAGESHIFT, PROT_READ | PROT_WRITE,
				  HAT_NOCACHE);
		if (err != 0)
			return err;
	}
	return 0;
}

/* Everything the kernel hat maps: the image (W^X), RAM, devices. */
static int map_kernel(void)
{
	int err;

	if ((err = map_image(__kernel_start, __rodata_start,
			     PROT_READ | PROT_EXEC)) != 0 ||
	    (err = map_image(__rodata_start, __data_start, PROT_READ)) != 0 ||
	    (err = map_image(__data_start, __kernel_end,
			     PROT_READ | PROT_WRITE)) != 0 ||
	    (err = map_direct()) != 0)
		return err;
	return map_devices();
}

/*
 * Build the kernel hat and load it in this CPU's CR3 (the boot CPU, once,
 * before any other CPU runs; the APs load it as they start). If the HAT
 * cannot (lab 2's stubs, or no memory), say so and stay on the boot
 * tables, kernel_hat_active false.
 */
void hat_kern_init(void)
{
	int err;

	ASSERT(!kernel_hat_active);
	err = hat_init(&kernel_hat, &pt_mode_4level);
	if (err == 0)
		err = map_kernel();
	if (err != 0) {
		kprintf("hat: cannot build the kernel's page tables (%d); "
			"staying on the boot tables\n", err);
		hat_free(&kernel_hat);
		return;
	}
	ASSERT((kernel_hat.h_root & ~PTE_ADDR) == 0); /* no CR3 flag bits */
	write_cr3(kernel_hat.h_root);
	kernel_hat_active = true;
	kprintf("hat: kernel page tables: %lu table pages, W^X\n",
		kernel_hat.h_ptpages);
}

/*
 * ptwalk VA: every level of the walk for VA in the page tables the CPU is
 * using now (the kernel hat, or the boot tables before it exists).
 */
MONCMD(ptwalk, "VA", "walk the live page tables for VA, level by level")
{
	struct hat live = { .h_mode = &pt_mode_4level,
			    .h_root = read_cr3() & PTE_ADDR };
	uint64_t va;

	if (argc != 2 || !parse_u64(argv[1], &va)) {
		kprintf("usage: ptwalk VA   (e.g. ptwalk 0xffffffff80100000)\n");
		return 1;
	}
	if (!kernel_hat_active)
		kprintf("(the kernel is on its boot page tables)\n");
	hat_ptwalk_print(&live, (uintptr_t)va);
	return 0;
}
