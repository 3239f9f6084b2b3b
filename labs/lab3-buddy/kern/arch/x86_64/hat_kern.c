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
#include <x86.h>

/*
 * Past this many pages, one CR3 reload is cheaper than one invlpg each:
 * an invlpg costs about 100 ns, so 33 of them cost about what the refills
 * after a full flush do (Linux's tlb_single_page_flush_ceiling is 33).
 */
#define FLUSH_CEILING 33

struct hat kernel_hat;
bool kernel_hat_active;
static long fail_after = -1; /* fault injection for the tests */
static uint64_t ptpages_live;

extern char __rodata_start[], __data_start[];

uint64_t hat_ptpage_alloc(void)
{
	uint64_t pa;

	if (fail_after == 0)
		return 0;
	if (fail_after > 0)
		fail_after--;
	if (page_ready) {
		page_t *pp = page_alloc_pages(0, PG_PTABLE);

		pa = pp != NULL ? page_pfn(pp) << PAGESHIFT : 0;
	} else {
		pa = bootalloc_page();
	}
	if (pa == 0)
		return 0;
	memset(kpm_va(pa), 0, PAGESIZE);
	ptpages_live++;
	return pa;
}

void hat_ptpage_free(uint64_t pa)
{
	ptpages_live--;
	if (page_ready) {
		page_free_pages(pfn_to_page(pa >> PAGESHIFT), 0);
		return;
	}
	bootalloc_free(pa);
}

uint64_t hat_ptpages_live(void)
{
	return ptpages_live;
}

void hat_ptpage_inject_failure(long after)
{
	fail_after = after;
}

void hat_tlb_flush(struct hat *hat, uintptr_t va, size_t len)
{
	if ((read_cr3() & PTE_ADDR) != hat->h_root)
		return; /* not loaded: nothing cached */
	if (len / PAGESIZE > FLUSH_CEILING) {
		write_cr3(read_cr3());
		return;
	}
	for (size_t off = 0; off < len; off += PAGESIZE)
		__asm__ volatile("invlpg (%0)" : : "r"(va + off) : "memory");
}

/* Map [start, end) of the kernel image at its link address with prot. */
static int map_image(const char *start, const char *end, unsigned prot)
{
	uint64_t pa = kimage_pa(start);
	size_t len = ROUNDUP((uint64_t)(end - start), PAGESIZE);

	return hat_devload(&kernel_hat, (uintptr_t)start, len,
			   pa >> PAGESHIFT, prot, 0);
}

/* Every RAM range at KPM_BASE + pa, rounded out to whole pages. */
static int map_direct(void)
{
	for (int i = 0; i < memmap_count; i++) {
		const struct memseg *m = &memmap[i];
		uint64_t pa = ROUNDDOWN(m->base, PAGESIZE);
		uint64_t end = ROUNDUP(m->base + m->len, PAGESIZE);
		int err;

		if (m->type != MEM_RAM)
			continue;
		err = hat_devload(&kernel_hat, KPM_BASE + pa, end - pa,
				  pa >> PAGESHIFT, PROT_READ | PROT_WRITE, 0);
		if (err != 0)
			return err;
	}
	return 0;
}

static int map_devices(void)
{
	for (int i = 0; i < kpm_mmio_count; i++) {
		uint64_t pa = kpm_mmio[i];
		int err = hat_devload(&kernel_hat, KPM_BASE + pa, PAGESIZE,
				      pa >> PAGESHIFT, PROT_READ | PROT_WRITE,
				      HAT_NOCACHE);

		if (err != 0)
			return err;
	}
	return 0;
}

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

void hat_kern_init(void)
{
	int err = hat_init(&kernel_hat, &pt_mode_4level);

	if (err == 0)
		err = map_kernel();
	if (err != 0) {
		kprintf("hat: cannot build the kernel's page tables (%d); "
			"staying on the boot tables\n", err);
		hat_free(&kernel_hat);
		return;
	}
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
	struct hat live = { &pt_mode_4level, read_cr3() & PTE_ADDR, 0 };
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
