/*
 * bootalloc.h — the boot page allocator: single pages of RAM, from the
 * memory map, for page tables until the buddy allocator exists (lab 3).
 *
 * Locking: none, and none needed. Only the boot CPU uses it, at boot,
 * before any other CPU runs; page_init() closes it before lab 4 starts the
 * APs, and any use after that panics. Its state (a cursor into the memory
 * map, a list of freed pages, a count) is the boot CPU's alone.
 */
#ifndef BOOTALLOC_H
#define BOOTALLOC_H

#include <stdbool.h>
#include <stdint.h>

/* Start handing out RAM above the kernel image and the low 1 MiB. */
void bootalloc_init(void);
/* A page's physical address (not zeroed), or 0 when RAM runs out. */
uint64_t bootalloc_page(void);
/* Take a page back; the next bootalloc_page() returns it first. */
void bootalloc_free(uint64_t pa);
/* n contiguous never-used pages (not zeroed): the first pa, or 0. */
uint64_t bootalloc_pages(uint64_t n);
/* Pages handed out and not given back. */
uint64_t bootalloc_used(void);
/*
 * Has pa been handed out and not given back? (page_init asks, to leave
 * those pages out of the buddy allocator.)
 */
bool bootalloc_owns(uint64_t pa);
/* From now on the buddy allocator serves memory: any further use panics. */
void bootalloc_close(void);

#endif /* BOOTALLOC_H */
