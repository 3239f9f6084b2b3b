/*
 * page.h — physical memory as the kernel sees it: one page_t per frame,
 * grouped in zones, handed out by the buddy allocator (lab 3).
 *
 * Every frame from pfn 0 to the top of RAM has a page_t in page_array, so
 * the page of a pfn is an index and the pfn of a page is a subtraction.
 * Frames that are not RAM (holes, firmware, the low 1 MiB) have a page_t
 * too, marked P_RESERVED, so nothing has to ask whether a page_t exists.
 *
 * Later labs give a page its identity, <p_vnode, p_offset>, and chain it in
 * the page hash (lab 5), and list the user mappings of each page (lab 6).
 * The fields are laid out for that now; page_t stays within 64 bytes.
 *
 * Who may touch what. A page is either free (its block's head is on a
 * free list) or allocated (its block belongs to whoever allocated it):
 *
 *	p_zone			set by page_init() before any other CPU
 *				runs; read-only after
 *	p_flags P_RESERVED	the same
 *	p_flags P_FREE		the zone's z_lock, always: the buddy
 *				allocator reads and changes it (of any page
 *				of the zone) only with the lock held
 *	p_next, p_prev		z_lock while the page heads a free block;
 *				while allocated, its owner's (lab 5 links a
 *				vnode's pages through them)
 *	p_order			z_lock while the block is free; once
 *				allocated, set under z_lock and read-only
 *				until the owner frees it
 *	p_owner			set under z_lock as the block is handed out,
 *				cleared under it as it comes back
 *	p_vnode, p_offset,	lab 5: the page hash lock (not yet here)
 *	p_hash
 *	p_lckcnt		lab 5 names its lock (unused yet)
 *	p_share, p_mapping	lab 6: hment_lock (hment.c); read without it
 *				only by the page's owner as it frees the page
 *
 * The owner of an allocated block may read its head's p_order and
 * p_owner without a lock: no one else writes them until it frees it.
 */
#ifndef PAGE_H
#define PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <spinlock.h>
#include <kassert.h>

#define MAX_ORDER 10 /* blocks of 2^0 .. 2^10 pages (4 KiB .. 4 MiB) */

struct vnode;
struct hat;

typedef struct page {
	struct page *p_next;    /* free_area list (lab 3); vnode list (lab 5) */
	struct page *p_prev;
	struct vnode *p_vnode;  /* identity: the vnode ... (lab 5) */
	uint64_t p_offset;      /* ... and the offset in it */
	struct page *p_hash;    /* page hash chain (lab 5) */
	uint32_t p_flags;       /* P_* below */
	uint8_t p_order;        /* order of the block this page heads */
	uint8_t p_zone;         /* index in zones[] */
	uint16_t p_owner;       /* PG_OWNER_* of an allocated block's head */
	uint32_t p_share;       /* mappings of this page (lab 6) */
	uint32_t p_lckcnt;      /* pins that keep it in memory (lab 5) */
	struct hment *p_mapping; /* the user mappings of this page (lab 6) */
} page_t;

/* p_flags */
#define P_RESERVED 0x1 /* not RAM, or RAM nobody may allocate */
#define P_FREE 0x2     /* heads a free block of order p_order */

/* page_alloc_pages() flags: a zone choice and who the pages are for. */
#define PG_DMA 0x1          /* only below 16 MiB (old DMA engines) */
#define PG_OWNER_SHIFT 8
#define PG_OWNER(f) (((f) >> PG_OWNER_SHIFT) & 0xff)
#define PG_KERNEL (1U << PG_OWNER_SHIFT)  /* the kernel's own use */
#define PG_PTABLE (2U << PG_OWNER_SHIFT)  /* page tables */
#define PG_TEST (3U << PG_OWNER_SHIFT)    /* tests */
#define PG_BOOT (4U << PG_OWNER_SHIFT)    /* taken before the allocator ran */
#define PG_CACHE (5U << PG_OWNER_SHIFT)   /* the page cache: a file's page */
#define PG_ANON (6U << PG_OWNER_SHIFT)    /* anonymous memory (anon.h) */
#define PG_NOWNERS 7

struct free_area {
	page_t *fa_head;   /* doubly linked through p_next/p_prev */
	uint64_t fa_count; /* blocks on the list */
};

enum { ZONE_DMA, ZONE_NORMAL, NZONES };

/*
 * A zone: a range of pfns with its own free lists and lock (Linux's
 * zone->lock). z_lock guards z_free_area[] and the free state of every
 * page_t in the zone (see page_t above); the other fields are written
 * once by page_init() before any other CPU runs, and read-only after.
 * A zone lock nests no other lock; it ranks LR_PAGE_ZONE (spinlock.h),
 * so kmem may allocate pages with its own locks held.
 */
typedef struct zone {
	const char *z_name;                          /* page_init, then r/o */
	uint64_t z_start_pfn, z_end_pfn;             /* [start, end), r/o */
	spinlock_t z_lock;                           /* rank LR_PAGE_ZONE */
	struct free_area z_free_area[MAX_ORDER + 1]; /* z_lock */
	uint64_t z_present;  /* RAM pages the zone manages; r/o */
} zone_t;

#define DMA_LIMIT_PFN ((16UL << 20) >> 12)

/* Set by page_init() on the boot CPU, before the APs start; r/o after. */
extern page_t *page_array;
extern uint64_t page_array_npages; /* pfns 0 .. page_array_npages - 1 */
extern zone_t zones[NZONES];
extern bool page_ready;            /* the buddy allocator serves memory */

static inline uint64_t page_pfn(const page_t *pp)
{
	return (uint64_t)(pp - page_array);
}

static inline page_t *pfn_to_page(uint64_t pfn)
{
	return &page_array[pfn];
}

/* The zone a pfn belongs to (by address alone). */
static inline int pfn_zone(uint64_t pfn)
{
	return pfn < DMA_LIMIT_PFN ? ZONE_DMA : ZONE_NORMAL;
}

/* Build page_array and the zones from the memory map, free RAM to buddy. */
void page_init(void);

/*
 * The buddy allocator (mm/buddy.c, lab 3). page_alloc_pages returns the
 * first page_t of 2^order contiguous, 2^order-aligned free pages, or NULL
 * when there are none. The head of the block it returns records the
 * block's order (p_order) and owner (p_owner, from flags). page_free_pages
 * gives such a block back and merges it with its free buddies. Both may
 * be called on any CPU at any time: they take the zone's lock.
 */
page_t *page_alloc_pages(unsigned order, unsigned flags);
void page_free_pages(page_t *pp, unsigned order);

/* Free pages in all zones, from the free_area counts (each zone locked). */
uint64_t page_free_count(void);
/* Print free blocks per order per zone, in /proc/buddyinfo's layout. */
void page_buddyinfo(void);
/*
 * Print where the pages went (kernel, page tables, free...), as ::memstat:
 * a walk of page_array without the zone locks, exact only while no other
 * CPU allocates (the monitor runs with the others idle).
 */
void page_memstat(void);

/*
 * The reverse map (lab 6; illumos's hment, Linux's rmap): every 4 KiB
 * translation that a user hat holds to a page is one hment on the page's
 * p_mapping list, and p_share counts them. The HAT keeps the list as it
 * stores and clears leaves (hat.c calls hment_add and hment_remove for a
 * hat with h_rmap set), so it is right whatever the segment drivers do.
 * It answers "who maps this page?": the monitor's `page PFN`, the tests
 * that count the sharers of a page after fork, and the check below.
 */
struct hment {
	struct hment *hm_next; /* the next mapping of the same page */
	struct hat *hm_hat;    /* the hat that maps it ... */
	uintptr_t hm_va;       /* ... at this address */
};

/* hment_add and hment_remove: hat.h. */
/* How many translations map pp (illumos's hat_page_getshare). */
unsigned hat_page_getshare(const page_t *pp);
/* Copy up to max of pp's mappings into out; how many there are. */
unsigned hat_page_mappings(const page_t *pp, struct hment *out,
			   unsigned max);

/*
 * Nothing is freed while mapped: a page that goes back to the allocator
 * while a translation to it remains would be reused under a process that
 * can still read and write it. page_free_pages() calls this first, for
 * every page of the block.
 */
static inline void page_free_check_unmapped(page_t *pp, unsigned order)
{
	for (uint64_t i = 0; i < (1UL << order); i++) {
		const page_t *p = &pp[i];

		if (__atomic_load_n(&p->p_share, __ATOMIC_ACQUIRE) != 0)
			panic("page_free_pages: pfn %#lx is freed while %u "
			      "translation(s) still map it (one at va %#lx)",
			      page_pfn(p), p->p_share,
			      p->p_mapping != NULL ? p->p_mapping->hm_va : 0UL);
	}
}

/*
 * The page cache (lab 5): every page of a file in memory is named by
 * <vnode, offset> and found through the page hash, after illumos's
 * page_lookup() and PAGE_HASH_FUNC. page_hash_lock (rank LR_PAGE_HASH)
 * protects the hash chains and every cached page's p_vnode, p_offset and
 * p_hash. A cached page stays until its vnode goes (never, for the
 * initrd's files).
 */
struct vnode;
/* The cached page of vp at off (page-aligned), or NULL. */
page_t *page_lookup(struct vnode *vp, uint64_t off);
/*
 * Name pp <vp, off> in the hash. false if another page already has that
 * name (someone else read it in first): the caller frees pp and uses
 * theirs.
 */
bool page_hashin(page_t *pp, struct vnode *vp, uint64_t off);
/* Take pp out of the hash. */
void page_hashout(page_t *pp);
/* A new page for vp at off, not yet named: fill it, then page_hashin(). */
page_t *page_create_va(struct vnode *vp, uint64_t off);
/* Pages in the page cache. */
uint64_t page_cache_count(void);

#endif /* PAGE_H */
