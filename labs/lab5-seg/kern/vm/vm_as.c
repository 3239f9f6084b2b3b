/*
 * vm_as.c — address spaces: segments in an AVL tree, and the operations
 * that find the segments a range touches and hand each its part (as.h).
 *
 * Design (read this before writing lab 5, part A):
 *
 * 1. An address space is a set of segments that never overlap, each a
 *    page-aligned range with a driver (seg.h). They live in an AVL tree
 *    (kern/lib/avl.c, given) ordered by s_base. Because no two overlap,
 *    ordering by base alone orders them by every address they hold: the
 *    segment holding addr, if any, is the one with the largest base <= addr.
 *
 * 2. Lookup is a tree search, O(log n): avl_find() for an exact base, and
 *    when it misses, avl_nearest() on the spot where it stopped gives the
 *    neighbour below (does it reach addr?) and the one above (the first
 *    segment after addr, which range operations start from). Remember the
 *    last segment found (a_seglast): faults come in runs on one segment.
 *
 * 3. Every operation on a range [addr, addr + size) walks the segments it
 *    touches in address order and gives each the piece it holds, through
 *    the driver: SEGOP_FAULT, SEGOP_UNMAP, SEGOP_SETPROT. The address-space
 *    layer never looks inside a segment; only the driver knows what its
 *    pages are. A driver may cut the segment it is given in two or free it
 *    (unmap, setprot), so after each call look the next one up again by
 *    address instead of keeping a pointer into the tree.
 *
 * 4. as_map() refuses a range that touches any segment (-ENOMEM): replacing
 *    a mapping (MAP_FIXED) is the caller's as_unmap() first. It makes the
 *    segment with seg_alloc() and hands it to the driver's create function;
 *    if that fails, the segment goes again and nothing is left behind.
 *
 * 5. as_setprot() checks the whole range first: every page mapped, or
 *    -ENOMEM and nothing changed (mprotect(2)). as_fault() resolves a
 *    fault one segment at a time; an address in no segment is FC_NOMAP.
 *
 * 6. a_lock is held across every driver call: the tree and the segments'
 *    bounds belong to it. Drivers take their own locks below it (as.h).
 */
#include <as.h>
#include <errno.h>
#include <kernel.h>
#include <kmem.h>
#include <kstring.h>
#include <seg.h>

static kmem_cache_t *as_cache, *seg_cache;

/* Make the caches address spaces and segments come from, once. */
static void as_caches(void)
{
	if (as_cache != NULL)
		return;
	as_cache = kmem_cache_create("as", sizeof(struct as), 0, NULL, NULL,
				     NULL, NULL, NULL, 0);
	seg_cache = kmem_cache_create("seg", sizeof(struct seg), 0, NULL,
				      NULL, NULL, NULL, NULL, 0);
	if (as_cache == NULL || seg_cache == NULL)
		panic("as_caches: no memory for the caches");
}

struct as *as_alloc(void)
{
	return NULL; /* lab 5: an empty address space */
}

void as_free(struct as *as)
{
	(void)as;
	panic("as_free: lab 5");
}

unsigned long as_nsegs(struct as *as)
{
	return avl_numnodes(&as->a_segtree);
}

struct seg *seg_alloc(struct as *as, uintptr_t base, size_t size)
{
	struct seg *seg;

	ASSERT(spin_held(&as->a_lock));
	ASSERT(base % PAGESIZE == 0 && size % PAGESIZE == 0 && size > 0);
	as_caches();
	seg = kmem_cache_alloc(seg_cache, KM_NOSLEEP);
	if (seg == NULL)
		return NULL;
	memset(seg, 0, sizeof(*seg));
	seg->s_base = base;
	seg->s_size = size;
	seg->s_as = as;
	avl_add(&as->a_segtree, seg);
	as->a_size += size;
	return seg;
}

void seg_free(struct seg *seg)
{
	struct as *as = seg->s_as;

	ASSERT(spin_held(&as->a_lock));
	avl_remove(&as->a_segtree, seg);
	ASSERT(as->a_size >= seg->s_size);
	as->a_size -= seg->s_size;
	if (as->a_seglast == seg)
		as->a_seglast = NULL;
	kmem_cache_free(seg_cache, seg);
}

struct seg *as_segat(struct as *as, uintptr_t addr)
{
	(void)as, (void)addr;
	return NULL; /* lab 5: find the segment holding addr */
}

int as_map(struct as *as, uintptr_t addr, size_t size,
	   int (*crfunc)(struct seg *, void *), void *argsp)
{
	(void)as, (void)addr, (void)size, (void)crfunc, (void)argsp;
	return -ENOSYS; /* lab 5: make a segment of the range */
}

int as_unmap(struct as *as, uintptr_t addr, size_t size)
{
	(void)as, (void)addr, (void)size;
	return -ENOSYS; /* lab 5: unmap the range, segment by segment */
}

int as_setprot(struct as *as, uintptr_t addr, size_t size, unsigned prot)
{
	(void)as, (void)addr, (void)size, (void)prot;
	return -ENOSYS; /* lab 5: change the range's protection */
}

faultcode_t as_fault(struct as *as, uintptr_t addr, size_t size,
		     enum fault_type type, enum seg_rw rw)
{
	(void)as, (void)addr, (void)size, (void)type, (void)rw;
	return FC_NOMAP; /* lab 5: hand the fault to its segment's driver */
}

int as_gap(struct as *as, size_t len, uintptr_t *addrp)
{
	(void)as, (void)len, (void)addrp;
	return -ENOMEM; /* lab 5: the highest free range below MMAP_TOP */
}

int as_incore(struct as *as, uintptr_t addr, size_t size, char *vec)
{
	uintptr_t a, end = addr + size;
	struct seg *seg;

	ASSERT(addr % PAGESIZE == 0 && size % PAGESIZE == 0);
	spin_lock(&as->a_lock);
	for (a = addr; a < end; a = seg->s_base + seg->s_size) {
		seg = as_segat(as, a);
		if (seg == NULL) {
			spin_unlock(&as->a_lock);
			return -ENOMEM;
		}
	}
	for (a = addr; a < end;) {
		uintptr_t hi;

		seg = as_segat(as, a);
		hi = MIN(end, seg->s_base + seg->s_size);
		SEGOP_INCORE(seg, a, hi - a, vec + (a - addr) / PAGESIZE);
		a = hi;
	}
	spin_unlock(&as->a_lock);
	return 0;
}

/*
 * Design of as_dup (read this before writing lab 6, part B):
 *
 * fork() gives the child a copy of the parent's address space, and
 * as_dup() makes it without copying a single page: a new as with one
 * segment for each of the parent's, same base, same size, and each
 * segment's driver decides what "the same memory" means for it
 * (SEGOP_DUP). seg_vn shares anon slots and write-protects the parent;
 * another driver could copy, or refuse.
 *
 * Hold both address spaces' a_lock for the walk: the parent's so that no
 * fault or munmap changes its segments meanwhile, the child's because the
 * drivers assert it. They are two locks of one class: take the one at the
 * lower address first (spinlock.h), as every code that takes two does.
 *
 * A fork may fail half-way (no memory for a segment or for a driver's
 * data). Then the child must vanish whole: free the new as, which unmaps
 * every segment made so far and drops every reference they took, and
 * return the error. The parent must be left as it was, apart from
 * protections: pages it lost write access to come back through ordinary
 * write faults, which find a slot with one holder and copy nothing.
 */
int as_dup(struct as *as, struct as **newasp)
{
	(void)as, (void)newasp;
	return -ENOSYS; /* lab 6: copy every segment through SEGOP_DUP */
}
