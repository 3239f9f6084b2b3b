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

/* The zone z's index, for checking a page's p_zone against it. */
static inline unsigned zone_index(const zone_t *z)
{
	return (unsigned)(z - zones);
}

/* Is the order-k block at pfn aligned to its size and inside zone z? */
static inline bool block_in_zone(const zone_t *z, uint64_t pfn, unsigned k)
{
	return k <= MAX_ORDER && (pfn & ((1UL << k) - 1)) == 0 &&
	       pfn >= z->z_start_pfn && pfn + (1UL << k) <= z->z_end_pfn;
}

/* Put the free head pp on free list fa. (zone lock held) */
static void fa_push(struct free_area *fa, page_t *pp)
{
	ASSERT((pp->p_flags & P_FREE) && fa->fa_head != pp);
	ASSERT(fa->fa_head == NULL || fa->fa_head->p_prev == NULL);
	pp->p_prev = NULL; /* an allocated page's links were its owner's */
	pp->p_next = fa->fa_head;
	if (fa->fa_head != NULL)
		fa->fa_head->p_prev = pp;
	fa->fa_head = pp;
	fa->fa_count++;
}

/* Take the free head pp off fa, the list it is on. (zone lock held) */
static void fa_remove(struct free_area *fa, page_t *pp)
{
	ASSERT(fa->fa_count > 0 && (pp->p_flags & P_FREE));
	ASSERT(pp->p_prev != NULL || fa->fa_head == pp); /* on this list */
	if (pp->p_prev != NULL)
		pp->p_prev->p_next = pp->p_next;
	else
		fa->fa_head = pp->p_next;
	if (pp->p_next != NULL)
		pp->p_next->p_prev = pp->p_prev;
	pp->p_next = pp->p_prev = NULL;
	fa->fa_count--;
}

/* Make pp the head of a free block of order, on its list. */
static void block_free(zone_t *z, page_t *pp, unsigned order)
{
	ASSERT(spin_held(&z->z_lock));
	ASSERT(block_in_zone(z, page_pfn(pp), order));
	ASSERT(!(pp->p_flags & (P_FREE | P_RESERVED)));
	pp->p_flags |= P_FREE;
	pp->p_order = (uint8_t)order;
	fa_push(&z->z_free_area[order], pp);
}

/* Take an order-k block from zone z, splitting a larger one if need be. */
static page_t *zone_alloc(zone_t *z, unsigned order)
{
	unsigned o = order;
	page_t *pp;

	ASSERT(spin_held(&z->z_lock));
	ASSERT(order <= MAX_ORDER);
	while (o <= MAX_ORDER && z->z_free_area[o].fa_count == 0)
		o++;
	if (o > MAX_ORDER)
		return NULL;
	pp = z->z_free_area[o].fa_head;
	ASSERT(pp != NULL && pp->p_order == o && pp->p_zone == zone_index(z));
	ASSERT(block_in_zone(z, page_pfn(pp), o));
	fa_remove(&z->z_free_area[o], pp);
	pp->p_flags &= ~P_FREE;
	while (o > order) { /* the upper half of each split goes back */
		o--;
		block_free(z, pp + (1UL << o), o);
	}
	pp->p_order = (uint8_t)order;
	return pp;
}

/* zone_alloc() under the zone's lock; the block's head gets its owner. */
static page_t *zone_alloc_locked(zone_t *z, unsigned order, unsigned flags)
{
	page_t *pp;

	spin_lock(&z->z_lock);
	pp = zone_alloc(z, order);
	if (pp != NULL)
		pp->p_owner = (uint16_t)PG_OWNER(flags);
	spin_unlock(&z->z_lock);
	return pp;
}

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
	page_t *pp = NULL;

	ASSERT(PG_OWNER(flags) < PG_NOWNERS);
	if (order > MAX_ORDER)
		return NULL;
	if (!(flags & PG_DMA))
		pp = zone_alloc_locked(&zones[ZONE_NORMAL], order, flags);
	if (pp == NULL)
		pp = zone_alloc_locked(&zones[ZONE_DMA], order, flags);
	return pp;
}

/*
 * Does a free block of a larger order than `order` contain pfn? Heads
 * outside z cannot: a free block lies in one zone. (z_lock held)
 */
static bool inside_free_block(const zone_t *z, uint64_t pfn, unsigned order)
{
	ASSERT(spin_held(&z->z_lock));
	for (unsigned k = order + 1; k <= MAX_ORDER; k++) {
		uint64_t hpfn = pfn & ~((1UL << k) - 1);
		const page_t *head = pfn_to_page(hpfn);

		if (hpfn < z->z_start_pfn)
			return false;
		if ((head->p_flags & (P_FREE | P_RESERVED)) == P_FREE &&
		    head->p_order >= k)
			return true;
	}
	return false;
}

/* May the block at bpfn (the buddy) merge with an order-k block in z? */
static bool buddy_mergeable(const zone_t *z, uint64_t bpfn, unsigned order)
{
	const page_t *b;

	ASSERT(spin_held(&z->z_lock));
	if (bpfn >= page_array_npages || bpfn < z->z_start_pfn ||
	    bpfn >= z->z_end_pfn)
		return false;
	b = pfn_to_page(bpfn);
	return (b->p_flags & (P_FREE | P_RESERVED)) == P_FREE &&
	       b->p_order == order;
}

/* Panic, naming the bug, if the order-k block at pfn may not be freed. */
static void free_check(const zone_t *z, page_t *pp, uint64_t pfn,
		       unsigned order)
{
	ASSERT(spin_held(&z->z_lock));
	if (order > MAX_ORDER || (pfn & ((1UL << order) - 1)) != 0)
		panic("page_free_pages: pfn %#lx is no order-%u block", pfn,
		      order);
	if ((pp->p_flags & P_FREE) || inside_free_block(z, pfn, order))
		panic("page_free_pages: double free of pfn %#lx (order %u)",
		      pfn, order);
	if (pp->p_flags & P_RESERVED)
		panic("page_free_pages: pfn %#lx is reserved", pfn);
	if (pp->p_order != order)
		panic("page_free_pages: pfn %#lx was allocated as order %u, "
		      "freed as order %u", pfn, pp->p_order, order);
}

/*
 * Give back the block page_alloc_pages(order, ...) returned as pp, merging
 * it with its free buddies. Any CPU, any time; takes pp's zone lock, as
 * page_alloc_pages. Panics (page_free_pages: ...) on a double free, a
 * reserved page, a pfn not aligned to order, or the wrong order.
 */
void page_free_pages(page_t *pp, unsigned order)
{
	page_free_check_unmapped(pp, order); /* lab 6: not while mapped */
	uint64_t pfn = page_pfn(pp);
	zone_t *z;

	ASSERT(pfn < page_array_npages && pp->p_zone < NZONES);
	z = &zones[pp->p_zone];
	spin_lock(&z->z_lock); /* the checks read free state too */
	free_check(z, pp, pfn, order);
	pp->p_owner = 0;
	while (order < MAX_ORDER && buddy_mergeable(z, pfn ^ (1UL << order),
						    order)) {
		page_t *buddy = pfn_to_page(pfn ^ (1UL << order));

		fa_remove(&z->z_free_area[order], buddy);
		buddy->p_flags &= ~P_FREE;
		pfn &= ~(1UL << order); /* the merged block starts lower */
		order++;
	}
	block_free(z, pfn_to_page(pfn), order);
	spin_unlock(&z->z_lock);
}
