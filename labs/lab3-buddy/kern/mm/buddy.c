/*
 * buddy.c — the binary buddy allocator for physical pages.
 *
 * Design (read this before writing lab 3):
 *
 * 1. Blocks. Free memory is kept in blocks of 2^order pages, order 0 to
 *    MAX_ORDER, each aligned to its own size: an order-k block starts at a
 *    pfn that is a multiple of 2^k. Each zone has free_area[order], a list
 *    of its free blocks of that order and their count.
 *
 * 2. A free block is known by its first page: P_FREE set and p_order =
 *    the block's order. The other pages of a free block are not marked
 *    P_FREE (whatever p_order they hold means nothing). Only the head is
 *    ever on a list.
 *
 * 3. Allocation of order k takes a block from the smallest non-empty
 *    free_area[j], j >= k, and splits it: each split halves the block and
 *    puts the upper half back on free_area of the lower order, until an
 *    order-k block is left. A NORMAL request falls back to the DMA zone
 *    when NORMAL has nothing; a PG_DMA request never leaves DMA.
 *
 * 4. Freeing merges. Two order-k blocks are buddies when they are the two
 *    halves of one aligned order-(k+1) block; their pfns differ in bit k
 *    only, so the buddy of pfn is pfn ^ (1 << k):
 *
 *	order 2:  [ 8  9 10 11 ][12 13 14 15 ]   8 ^ 4 = 12, 12 ^ 4 = 8
 *	order 3:  [ 8  9 10 11  12 13 14 15 ]    merged: starts at 8 & ~4
 *
 *    A freed block merges with its buddy while the buddy is (a) a page
 *    that exists (inside page_array), (b) in the same zone, (c) not
 *    reserved, (d) free, and (e) of the same order; then the merged block
 *    tries again one order up. Check all of them before touching the
 *    buddy's page_t, and stop at MAX_ORDER.
 *
 * 5. Errors. Exhaustion returns NULL. A double free must panic when the
 *    block's head is still a free head (the handout's Part C). This
 *    reference also walks up the aligned blocks that contain it, in
 *    O(MAX_ORDER), to catch a block already merged into a larger free one
 *    (needed if you hand out upper halves), and checks the order against
 *    the head's p_order. Freeing a reserved page or a pfn not aligned to
 *    its order panics too. Each panic names page_free_pages.
 *
 * 6. Locking. Each zone's free lists are guarded by its z_lock (Linux's
 *    zone->lock), so every caller on every CPU (kmem, the HAT's page
 *    tables, later the page cache and anon) may allocate and free at any
 *    time. Buddies never cross a zone, so one zone's lock covers a whole
 *    merge. Take it before reading any free state, the double-free checks
 *    included: another CPU may be merging the very block you inspect.
 *    The helpers below that work on a zone assert it on entry.
 *
 * Every operation is O(MAX_ORDER): no list is ever searched.
 */
#include <kenv.h>
#include <page.h>
#include <spinlock.h>

/*
 * The first page_t of a free block of 2^order pages, aligned to its size,
 * now marked allocated with its order and flags' owner; NULL if no zone
 * the request may use has one (or order > MAX_ORDER). PG_DMA: the DMA
 * zone only; otherwise Normal, then DMA. Any CPU, any time; takes the zone
 * locks, so the caller holds none of rank LR_PAGE_ZONE or above. Panics
 * on an owner that is no PG_OWNER_*.
 */
page_t *page_alloc_pages(unsigned order, unsigned flags)
{
	(void)order, (void)flags;
	return NULL; /* lab 3: take a block, splitting larger ones */
}

/*
 * Give back the block page_alloc_pages(order, ...) returned as pp, merging
 * it with its free buddies. Any CPU, any time; takes pp's zone lock, as
 * page_alloc_pages. Panics (page_free_pages: ...) on a double free, a
 * reserved page, a pfn not aligned to order, or the wrong order.
 */
void page_free_pages(page_t *pp, unsigned order)
{
	(void)pp, (void)order; /* lab 3: give a block back, merging buddies */
}
