/*
 * bootalloc.c — see bootalloc.h. A cursor walks the usable ranges of the
 * memory map upward; freed pages go on a list threaded through their first
 * word (reached through the direct map), and are reused first.
 */
#include <bootalloc.h>
#include <kenv.h>
#include <memmap.h>

#define LOW_MEMORY (1UL << 20) /* firmware and the AP trampoline (lab 4) */

static uint64_t start;     /* the first page bootalloc may hand out */
static uint64_t cursor;    /* the next never-used page */
static bool closed;
static int seg;            /* the memmap range cursor is in */
static uint64_t free_list; /* pa of the first freed page, or 0 */
static uint64_t used;

void bootalloc_init(void)
{
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
		if (cursor < end)
			return true;
	}
	return false;
}

uint64_t bootalloc_page(void)
{
	uint64_t pa;

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
	used++;
	return pa;
}

/* Put pa on the free list (it is not in use). */
static void push_free(uint64_t pa)
{
	*(uint64_t *)kpm_va(pa) = free_list;
	free_list = pa;
}

uint64_t bootalloc_pages(uint64_t n)
{
	uint64_t pa;

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
		for (; cursor + PAGESIZE <= m->base + m->len; cursor += PAGESIZE)
			push_free(cursor);
	}
	return 0;
}

bool bootalloc_owns(uint64_t pa)
{
	if (pa < start || pa >= cursor)
		return false;
	for (uint64_t p = free_list; p != 0; p = *(uint64_t *)kpm_va(p))
		if (p == pa)
			return false;
	return true;
}

void bootalloc_close(void)
{
	closed = true;
}

void bootalloc_free(uint64_t pa)
{
	if (closed)
		panic("bootalloc_free: %#lx belongs to the buddy allocator now",
		      pa);
	ASSERT(pa != 0 && (pa & (PAGESIZE - 1)) == 0);
	push_free(pa);
	used--;
}

uint64_t bootalloc_used(void)
{
	return used;
}
