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

page_t *page_lookup(struct vnode *vp, uint64_t off)
{
	(void)vp, (void)off;
	return NULL; /* lab 5: find <vp, off> in the page hash */
}

bool page_hashin(page_t *pp, struct vnode *vp, uint64_t off)
{
	(void)pp, (void)vp, (void)off;
	return false; /* lab 5: name pp <vp, off> in the hash */
}

void page_hashout(page_t *pp)
{
	(void)pp; /* lab 5: take pp out of the hash */
}

page_t *page_create_va(struct vnode *vp, uint64_t off)
{
	(void)vp, (void)off;
	return NULL; /* lab 5: a new page, not yet named */
}

uint64_t page_cache_count(void)
{
	return 0; /* lab 5: how many pages the hash holds */
}
