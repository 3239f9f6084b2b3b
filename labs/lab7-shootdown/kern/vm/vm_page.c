/*
 * vm_page.c — the page cache's hash: pages named <vnode, offset> (page.h).
 *
 * Design (read this before writing lab 5, part C):
 *
 * 1. A file's page in memory has a name, <vnode, offset>, and one place:
 *    a chain of a hash table that page_lookup() searches. Whoever needs
 *    that page of that file (read(), write(), a fault in any process that
 *    maps the file) finds the same page_t there. That is what makes a file
 *    mapped by two processes one set of physical pages, and a second touch
 *    of a cached page a minor fault.
 *
 * 2. The hash function must spread the names of one file's consecutive
 *    pages, and of different files, over the chains. Mix the vnode's
 *    address (drop its low bits, which every kmem buffer of one size
 *    shares) with the page number, as illumos's PAGE_HASH_FUNC does. A
 *    power-of-two table lets a mask replace the modulo.
 *
 * 3. A page is named only once it holds the file's bytes: the driver
 *    (ramfs.c) gets a page with page_create_va(), fills it, then calls
 *    page_hashin(). If another CPU named the same <vnode, offset> first,
 *    page_hashin() says so and names nothing; the caller frees its page
 *    and uses the other one. So there is never more than one page per
 *    name, with no lock held while a page is filled.
 *
 * 4. One lock (rank LR_PAGE_HASH) guards every chain, the names of the
 *    pages on them and the count of cached pages. It nests inside an
 *    address space's a_lock and an anon_map's lock (a fault holds both).
 *    Nothing is taken while it is held: the vnode's v_lock (its count of
 *    cached pages) comes after it is dropped.
 */
#include <kernel.h>
#include <page.h>
#include <spinlock.h>
#include <vnode.h>

#define PAGE_HASHSZ 1024 /* a power of two */
#define PAGE_HASH_FUNC(vp, off)                                          \
	(((((uintptr_t)(vp)) >> 7) ^ ((off) >> PAGESHIFT)) & (PAGE_HASHSZ - 1))

static spinlock_t page_hash_lock = SPINLOCK_INIT("page_hash", LR_PAGE_HASH);
static page_t *page_hash[PAGE_HASHSZ]; /* page_hash_lock */
static uint64_t page_cached;           /* page_hash_lock */

/* The page named <vp, off> on its chain, or NULL; the lock held. */
static page_t *page_hash_find(struct vnode *vp, uint64_t off)
{
	page_t *pp;

	ASSERT(spin_held(&page_hash_lock));
	for (pp = page_hash[PAGE_HASH_FUNC(vp, off)]; pp != NULL;
	     pp = pp->p_hash)
		if (pp->p_vnode == vp && pp->p_offset == off)
			return pp;
	return NULL;
}

page_t *page_lookup(struct vnode *vp, uint64_t off)
{
	page_t *pp;

	ASSERT(vp != NULL && off % PAGESIZE == 0);
	spin_lock(&page_hash_lock);
	pp = page_hash_find(vp, off);
	spin_unlock(&page_hash_lock);
	return pp;
}

bool page_hashin(page_t *pp, struct vnode *vp, uint64_t off)
{
	size_t h = PAGE_HASH_FUNC(vp, off);

	ASSERT(vp != NULL && off % PAGESIZE == 0);
	ASSERT(pp->p_vnode == NULL && pp->p_owner == PG_OWNER(PG_CACHE));
	spin_lock(&page_hash_lock);
	if (page_hash_find(vp, off) != NULL) {
		spin_unlock(&page_hash_lock);
		return false;
	}
	pp->p_vnode = vp;
	pp->p_offset = off;
	pp->p_hash = page_hash[h];
	page_hash[h] = pp;
	page_cached++;
	spin_unlock(&page_hash_lock);
	spin_lock(&vp->v_lock);
	vp->v_npages++;
	spin_unlock(&vp->v_lock);
	return true;
}

void page_hashout(page_t *pp)
{
	struct vnode *vp = pp->p_vnode;
	page_t **ppp;

	ASSERT(vp != NULL);
	spin_lock(&page_hash_lock);
	for (ppp = &page_hash[PAGE_HASH_FUNC(vp, pp->p_offset)]; *ppp != pp;
	     ppp = &(*ppp)->p_hash)
		ASSERT(*ppp != NULL);
	*ppp = pp->p_hash;
	pp->p_hash = NULL;
	pp->p_vnode = NULL;
	pp->p_offset = 0;
	page_cached--;
	spin_unlock(&page_hash_lock);
	spin_lock(&vp->v_lock);
	ASSERT(vp->v_npages > 0);
	vp->v_npages--;
	spin_unlock(&vp->v_lock);
}

page_t *page_create_va(struct vnode *vp, uint64_t off)
{
	page_t *pp;

	ASSERT(vp != NULL && off % PAGESIZE == 0);
	pp = page_alloc_pages(0, PG_CACHE);
	if (pp != NULL) {
		pp->p_vnode = NULL;
		pp->p_hash = NULL;
	}
	return pp;
}

uint64_t page_cache_count(void)
{
	uint64_t n;

	spin_lock(&page_hash_lock);
	n = page_cached;
	spin_unlock(&page_hash_lock);
	return n;
}
