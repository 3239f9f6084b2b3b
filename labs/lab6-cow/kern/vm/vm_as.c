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

/* Segments by base; the tree never holds two that overlap. */
static int seg_compar(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	if (x->s_base < y->s_base)
		return -1;
	return x->s_base > y->s_base ? 1 : 0;
}

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
	struct as *as;

	as_caches();
	as = kmem_cache_alloc(as_cache, KM_NOSLEEP);
	if (as == NULL)
		return NULL;
	memset(as, 0, sizeof(*as));
	spin_init(&as->a_lock, "as.a_lock", LR_AS);
	avl_create(&as->a_segtree, seg_compar, sizeof(struct seg),
		   __builtin_offsetof(struct seg, s_tree));
	if (hat_alloc_user(&as->a_hat) != 0) {
		kmem_cache_free(as_cache, as);
		return NULL;
	}
	return as;
}

void as_free(struct as *as)
{
	struct seg *seg;

	spin_lock(&as->a_lock);
	while ((seg = avl_first(&as->a_segtree)) != NULL) {
		/* The whole segment: drivers free what it holds. */
		int err = SEGOP_UNMAP(seg, seg->s_base, seg->s_size);

		ASSERT(err == 0);
		(void)err;
	}
	ASSERT(as->a_size == 0);
	spin_unlock(&as->a_lock);
	avl_destroy(&as->a_segtree);
	hat_free_user(&as->a_hat);
	kmem_cache_free(as_cache, as);
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

/* The segment holding addr, or else the first one above it, or NULL. */
static struct seg *as_findseg(struct as *as, uintptr_t addr)
{
	struct seg key = { .s_base = addr };
	avl_index_t where;
	struct seg *seg;

	ASSERT(spin_held(&as->a_lock));
	seg = avl_find(&as->a_segtree, &key, &where);
	if (seg != NULL)
		return seg;
	seg = avl_nearest(&as->a_segtree, where, AVL_BEFORE);
	if (seg != NULL && addr < seg->s_base + seg->s_size)
		return seg;
	return avl_nearest(&as->a_segtree, where, AVL_AFTER);
}

struct seg *as_segat(struct as *as, uintptr_t addr)
{
	struct seg *seg = as->a_seglast;

	ASSERT(spin_held(&as->a_lock));
	if (seg != NULL && addr >= seg->s_base &&
	    addr - seg->s_base < seg->s_size)
		return seg;
	seg = as_findseg(as, addr);
	if (seg == NULL || addr < seg->s_base)
		return NULL;
	as->a_seglast = seg;
	return seg;
}

/* Is [addr, addr + size) a page-aligned, non-empty user range? */
static bool as_range_ok(uintptr_t addr, size_t size)
{
	return addr % PAGESIZE == 0 && size % PAGESIZE == 0 && size > 0 &&
	       addr >= USERBASE && addr < USERLIMIT &&
	       size <= USERLIMIT - addr;
}

int as_map(struct as *as, uintptr_t addr, size_t size,
	   int (*crfunc)(struct seg *, void *), void *argsp)
{
	struct seg *seg;
	int err;

	if (!as_range_ok(addr, size))
		return -ENOMEM;
	spin_lock(&as->a_lock);
	seg = as_findseg(as, addr);
	if (seg != NULL && seg->s_base < addr + size) {
		spin_unlock(&as->a_lock);
		return -ENOMEM; /* overlaps */
	}
	seg = seg_alloc(as, addr, size);
	if (seg == NULL) {
		spin_unlock(&as->a_lock);
		return -ENOMEM;
	}
	err = crfunc(seg, argsp);
	if (err != 0)
		seg_free(seg);
	spin_unlock(&as->a_lock);
	return err;
}

int as_unmap(struct as *as, uintptr_t addr, size_t size)
{
	uintptr_t end = addr + size;
	struct seg *seg;
	int err = 0;

	if (addr % PAGESIZE != 0 || size == 0 || addr >= USERLIMIT ||
	    size > USERLIMIT - addr)
		return -EINVAL;
	size = ROUNDUP(size, PAGESIZE);
	end = MIN(addr + size, USERLIMIT);
	spin_lock(&as->a_lock);
	for (seg = as_findseg(as, addr); seg != NULL && seg->s_base < end;
	     seg = as_findseg(as, addr)) {
		uintptr_t lo = MAX(addr, seg->s_base);
		uintptr_t hi = MIN(end, seg->s_base + seg->s_size);

		err = SEGOP_UNMAP(seg, lo, hi - lo);
		if (err != 0)
			break;
		addr = hi;
		if (addr >= end)
			break;
	}
	spin_unlock(&as->a_lock);
	return err;
}

int as_setprot(struct as *as, uintptr_t addr, size_t size, unsigned prot)
{
	uintptr_t a, end;
	struct seg *seg;
	int err = 0;

	if (addr % PAGESIZE != 0)
		return -EINVAL;
	if (size == 0)
		return 0;
	size = ROUNDUP(size, PAGESIZE);
	if (addr < USERBASE || addr >= USERLIMIT || size > USERLIMIT - addr)
		return -ENOMEM;
	end = addr + size;
	spin_lock(&as->a_lock);
	/* First: every page mapped, as Linux checks before changing any. */
	for (a = addr; a < end; a = seg->s_base + seg->s_size) {
		seg = as_segat(as, a);
		if (seg == NULL) {
			spin_unlock(&as->a_lock);
			return -ENOMEM;
		}
	}
	for (a = addr; a < end && err == 0;) {
		uintptr_t hi;

		seg = as_segat(as, a);
		ASSERT(seg != NULL);
		hi = MIN(end, seg->s_base + seg->s_size);
		err = SEGOP_SETPROT(seg, a, hi - a, prot);
		a = hi;
	}
	spin_unlock(&as->a_lock);
	return err;
}

faultcode_t as_fault(struct as *as, uintptr_t addr, size_t size,
		     enum fault_type type, enum seg_rw rw)
{
	uintptr_t a = ROUNDDOWN(addr, PAGESIZE);
	uintptr_t end = ROUNDUP(addr + size, PAGESIZE);
	faultcode_t fc = FC_OK;

	if (addr >= USERLIMIT || size > USERLIMIT - addr)
		return FC_NOMAP;
	spin_lock(&as->a_lock);
	while (a < end && fc == FC_OK) {
		struct seg *seg = as_segat(as, a);
		uintptr_t hi;

		if (seg == NULL) {
			fc = FC_NOMAP;
			break;
		}
		hi = MIN(end, seg->s_base + seg->s_size);
		fc = SEGOP_FAULT(&as->a_hat, seg, a, hi - a, type, rw);
		a = hi;
	}
	spin_unlock(&as->a_lock);
	return fc;
}

int as_gap(struct as *as, size_t len, uintptr_t *addrp)
{
	uintptr_t top = MMAP_TOP;
	struct seg *seg;

	ASSERT(len % PAGESIZE == 0 && len > 0);
	if (len > MMAP_TOP - USERBASE)
		return -ENOMEM;
	spin_lock(&as->a_lock);
	/* Walk down from the highest segment below MMAP_TOP. */
	seg = as_findseg(as, top);
	if (seg != NULL && seg->s_base < top)
		top = seg->s_base; /* it holds MMAP_TOP itself */
	seg = seg != NULL ? AVL_PREV(&as->a_segtree, seg)
			  : avl_last(&as->a_segtree);
	for (; seg != NULL; seg = AVL_PREV(&as->a_segtree, seg)) {
		ASSERT(seg->s_base + seg->s_size <= top);
		if (top - (seg->s_base + seg->s_size) >= len)
			break;
		top = seg->s_base;
	}
	spin_unlock(&as->a_lock);
	if (top < USERBASE + len)
		return -ENOMEM;
	*addrp = top - len;
	return 0;
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
