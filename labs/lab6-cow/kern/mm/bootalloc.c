/*
 * bootalloc.c — see bootalloc.h. A cursor walks the usable ranges of the
 * memory map upward; freed pages go on a list threaded through their first
 * word (reached through the direct map), and are reused first. The boot
 * CPU alone uses it (bootalloc.h), which the entry points assert.
 */
#include <bootalloc.h>
#include <cpuvar.h>
#include <kenv.h>
#include <memmap.h>

#define LOW_MEMORY (1UL << 20) /* firmware and the AP trampoline (lab 4) */

static uint64_t start;     /* the first page bootalloc may hand out */
static uint64_t cursor;    /* the next never-used page */
static bool closed;
static int seg;            /* the memmap range cursor is in */
static uint64_t free_list; /* pa of the first freed page, or 0 */
static uint64_t used;

/* Is pa a page bootalloc may have handed out (not that it has)? */
static bool bootalloc_page_ok(uint64_t pa)
{
	return (pa & (PAGESIZE - 1)) == 0 && pa >= start && pa < cursor;
}

/*
 * Start above the kernel image and the low 1 MiB. Boot CPU, once, after
 * the memory map is read and before any other bootalloc_ call.
 */
void bootalloc_init(void)
{
	ASSERT(curcpu()->cpu_id == 0 && start == 0);
	cursor = MAX(ROUNDUP(kimage_pa(__kernel_end), PAGESIZE), LOW_MEMORY);
	start = cursor;
	seg = 0;
}

/* Move cursor to a page that lies in a usable range; false if none. */
static bool bootalloc_seek(void)
{
	for (; seg < memmap_count; seg++) {
		const struct memseg *m = &memmap[seg];
		uint64_t end = ROUNDDOWN(m->base + m->len, PAGESIZE);

		if (m->type != MEM_RAM || end <= cursor)
			continue;
		cursor = MAX(cursor, ROUNDUP(m->base, PAGESIZE));
		ASSERT((cursor & (PAGESIZE - 1)) == 0);
		if (cursor < end)
			return true;
	}
	return false;
}

/*
 * A page of RAM (not zeroed): a freed one first, else the next never
 * used; its pa, or 0 when RAM runs out. Boot CPU only; panics once the
 * allocator is closed.
 */
uint64_t bootalloc_page(void)
{
	uint64_t pa;

	ASSERT(curcpu()->cpu_id == 0);
	if (closed)
		panic("bootalloc_page: the buddy allocator serves memory now");
	if (free_list != 0) {
		pa = free_list;
		free_list = *(uint64_t *)kpm_va(pa);
	} else if (bootalloc_seek()) {
		pa = cursor;
		cursor += PAGESIZE;
	} else {
		return 0;
	}
	ASSERT(bootalloc_page_ok(pa));
	used++;
	return pa;
}

/* Put pa on the free list (it is not in use). */
static void push_free(uint64_t pa)
{
	ASSERT(bootalloc_page_ok(pa));
	*(uint64_t *)kpm_va(pa) = free_list;
	free_list = pa;
}

/*
 * n > 0 contiguous never-used pages (not zeroed): the first pa, or 0 if no
 * usable range holds them. The ranges it skips as too small stay
 * available, on the free list. Boot CPU only; panics once closed.
 */
uint64_t bootalloc_pages(uint64_t n)
{
	uint64_t pa;

	ASSERT(curcpu()->cpu_id == 0 && n > 0);
	if (closed)
		panic("bootalloc_pages: the buddy allocator serves memory now");
	while (bootalloc_seek()) {
		const struct memseg *m = &memmap[seg];

		if (cursor + n * PAGESIZE <= m->base + m->len) {
			pa = cursor;
			cursor += n * PAGESIZE;
			used += n;
			return pa;
		}
		/* Too small: its pages stay available, on the free list. */
		while (cursor + PAGESIZE <= m->base + m->len) {
			cursor += PAGESIZE;
			push_free(cursor - PAGESIZE);
		}
	}
	return 0;
}

/*
 * Has pa been handed out and not given back? O(freed pages): for
 * page_init() only, once, on the boot CPU.
 */
bool bootalloc_owns(uint64_t pa)
{
	if (pa < start || pa >= cursor)
		return false;
	for (uint64_t p = free_list; p != 0; p = *(uint64_t *)kpm_va(p))
		if (p == pa)
			return false;
	return true;
}

/* Hand the rest of RAM to the buddy allocator: every later use panics. */
void bootalloc_close(void)
{
	ASSERT(!closed);
	closed = true;
}

/*
 * Take back the page at pa, which bootalloc handed out and nobody uses
 * now; the next bootalloc_page() returns it. Boot CPU only; panics once
 * closed, on a pa bootalloc never handed out, or with none out.
 */
void bootalloc_free(uint64_t pa)
{
	ASSERT(curcpu()->cpu_id == 0);
	if (closed)
		panic("bootalloc_free: %#lx belongs to the buddy allocator now",
		      pa);
	ASSERT(bootalloc_page_ok(pa) && used > 0);
	push_free(pa);
	used--;
}

/* Pages handed out and not given back (for the boot messages, tests). */
uint64_t bootalloc_used(void)
{
	return used;
}
