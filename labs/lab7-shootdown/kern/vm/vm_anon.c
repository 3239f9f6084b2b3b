/*
 * vm_anon.c — anon slots and anon maps (anon.h).
 *
 * Lab 5 uses this file as given: every slot there has one holder. Lab 6
 * makes slots shared, and its part A is the three functions that count
 * the sharing: anon_decref(), anon_dup() and anon_private(). The rest
 * (making slots and maps, finding and setting a slot) stays given.
 *
 * Design (read this before writing lab 6, part A):
 *
 * 1. A slot (struct anon) is one page of anonymous memory and a count of
 *    the anon_map slots that point at it. After fork, the parent's map and
 *    the child's map point at the same slots: the page is one, its holders
 *    are two, an_refcnt is 2. No page is copied at fork.
 *
 * 2. anon_decref() drops one holder. Only the last one frees: the page
 *    goes back to the buddy allocator and the slot to its cache. Decide
 *    "was that the last?" under anon_lock, and free after dropping it:
 *    two holders dropping at once on two CPUs must not both free, nor
 *    both think someone else will.
 *
 * 3. anon_dup(src, sindex, dst, dindex, n) is fork's half of the sharing:
 *    for each of the n indexes, the slot src holds (if any) goes into dst
 *    at the matching index and gains a holder. Empty indexes stay empty
 *    in dst. A large mapping is mostly empty: skip a chunk that was never
 *    made (am_chunks[c] == NULL) in one step, or a fork of a process with
 *    an 8 MiB stack walks 2048 empty slots per segment. If anon_set()
 *    runs out of memory, return -ENOMEM: the slots shared so far hold
 *    their references through dst, and the caller frees dst, which drops
 *    exactly those.
 *
 * 4. anon_private(ap) is the copy in copy-on-write: a new slot (refcnt 1)
 *    with a copy of ap's page, and the caller's reference to ap dropped.
 *    The other holders keep ap and its page untouched. With no memory for
 *    the copy, return NULL and leave ap as it was: the fault fails, the
 *    process does not lose its page. Dropping the reference may free the
 *    old page (the others may have let go since the caller looked), so
 *    the caller must not map it any more when it calls anon_private.
 *
 * 5. When is a copy needed at all? Only while an_refcnt > 1. A holder
 *    that sees 1 is the only one, and it stays so: a new holder comes only
 *    from a fork of a process that holds the slot, and that process's
 *    address space is locked by the fault that asks. So reading 1 without
 *    anon_lock is safe, and the page can be written in place.
 *
 * Locks: anon_lock (rank LR_ANON) for an_refcnt; the caller holds the
 * anon_map's am_lock for anon_get/anon_set/anon_free/anon_dup (both maps'
 * for anon_dup, lower address first). Order: a_lock, am_lock, anon_lock.
 */
#include <anon.h>
#include <errno.h>
#include <kernel.h>
#include <kmem.h>
#include <kstring.h>
#include <vmstat.h>

static spinlock_t anon_lock = SPINLOCK_INIT("anon_lock", LR_ANON);
static kmem_cache_t *anon_cache, *amp_cache;
static uint64_t anon_live; /* slots alive; atomic */

static void anon_caches(void)
{
	if (anon_cache != NULL)
		return;
	anon_cache = kmem_cache_create("anon", sizeof(struct anon), 0, NULL,
				       NULL, NULL, NULL, NULL, 0);
	amp_cache = kmem_cache_create("anon_map", sizeof(struct anon_map), 0,
				      NULL, NULL, NULL, NULL, NULL, 0);
	if (anon_cache == NULL || amp_cache == NULL)
		panic("anon_caches: no memory for the caches");
}

struct anon *anon_alloc(page_t *from)
{
	struct anon *ap;
	page_t *pp;
	void *va;

	anon_caches();
	ap = kmem_cache_alloc(anon_cache, KM_NOSLEEP);
	if (ap == NULL)
		return NULL;
	pp = page_alloc_pages(0, PG_ANON);
	if (pp == NULL) {
		kmem_cache_free(anon_cache, ap);
		return NULL;
	}
	va = kpm_va(page_pfn(pp) << PAGESHIFT);
	if (from != NULL) {
		memcpy(va, kpm_va(page_pfn(from) << PAGESHIFT), PAGESIZE);
		VMINFO_ADD(cow_fault);
	} else {
		memset(va, 0, PAGESIZE);
		VMINFO_ADD(zfod);
	}
	ap->an_page = pp;
	ap->an_refcnt = 1;
	__atomic_add_fetch(&anon_live, 1, __ATOMIC_RELAXED);
	return ap;
}

/* The last holder is gone: the page and the slot go back. */
static void anon_destroy(struct anon *ap)
{
	ASSERT(ap->an_refcnt == 0);
	ASSERT(ap->an_page->p_owner == PG_OWNER(PG_ANON));
	page_free_pages(ap->an_page, 0);
	ap->an_page = NULL;
	kmem_cache_free(anon_cache, ap);
	__atomic_sub_fetch(&anon_live, 1, __ATOMIC_RELAXED);
}

void anon_decref(struct anon *ap)
{
	bool last;

	spin_lock(&anon_lock);
	ASSERT(ap->an_refcnt > 0);
	last = --ap->an_refcnt == 0;
	spin_unlock(&anon_lock);
	if (last)
		anon_destroy(ap);
}

struct anon *anon_private(struct anon *ap)
{
	struct anon *nap;

	ASSERT(ap->an_page != NULL); /* the caller holds ap */
	nap = anon_alloc(ap->an_page);
	if (nap != NULL)
		anon_decref(ap);
	return nap;
}

uint64_t anon_count(void)
{
	return __atomic_load_n(&anon_live, __ATOMIC_RELAXED);
}

struct anon_map *anonmap_alloc(size_t size)
{
	struct anon_map *amp;
	size_t nchunks = (size + ANON_CHUNK - 1) / ANON_CHUNK;

	anon_caches();
	amp = kmem_cache_alloc(amp_cache, KM_NOSLEEP);
	if (amp == NULL)
		return NULL;
	amp->am_chunks = kmem_zalloc(nchunks * sizeof(*amp->am_chunks),
				     KM_NOSLEEP);
	if (amp->am_chunks == NULL) {
		kmem_cache_free(amp_cache, amp);
		return NULL;
	}
	spin_init(&amp->am_lock, "anon_map", LR_ANONMAP);
	amp->am_refcnt = 1;
	amp->am_size = size;
	return amp;
}

struct anon *anon_get(struct anon_map *amp, size_t index)
{
	struct anon **chunk;

	ASSERT(spin_held(&amp->am_lock));
	ASSERT(index < amp->am_size);
	chunk = amp->am_chunks[index / ANON_CHUNK];
	return chunk != NULL ? chunk[index % ANON_CHUNK] : NULL;
}

int anon_set(struct anon_map *amp, size_t index, struct anon *ap)
{
	struct anon ***cpp;

	ASSERT(spin_held(&amp->am_lock));
	ASSERT(index < amp->am_size);
	cpp = &amp->am_chunks[index / ANON_CHUNK];
	if (*cpp == NULL) {
		*cpp = kmem_zalloc(ANON_CHUNK * sizeof(struct anon *),
				   KM_NOSLEEP);
		if (*cpp == NULL)
			return -ENOMEM;
	}
	ASSERT(ap == NULL || (*cpp)[index % ANON_CHUNK] == NULL);
	(*cpp)[index % ANON_CHUNK] = ap;
	return 0;
}

void anon_free(struct anon_map *amp, size_t index, size_t npages)
{
	ASSERT(spin_held(&amp->am_lock));
	ASSERT(index + npages <= amp->am_size);
	for (size_t i = index; i < index + npages; i++) {
		struct anon **chunk = amp->am_chunks[i / ANON_CHUNK];

		if (chunk == NULL) {
			i = ROUNDUP(i + 1, ANON_CHUNK) - 1;
			continue;
		}
		if (chunk[i % ANON_CHUNK] != NULL) {
			anon_decref(chunk[i % ANON_CHUNK]);
			chunk[i % ANON_CHUNK] = NULL;
		}
	}
}

void anonmap_decref(struct anon_map *amp)
{
	size_t nchunks = (amp->am_size + ANON_CHUNK - 1) / ANON_CHUNK;

	if (__atomic_sub_fetch(&amp->am_refcnt, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	spin_lock(&amp->am_lock);
	anon_free(amp, 0, amp->am_size);
	spin_unlock(&amp->am_lock);
	for (size_t c = 0; c < nchunks; c++)
		if (amp->am_chunks[c] != NULL)
			kmem_free(amp->am_chunks[c],
				  ANON_CHUNK * sizeof(struct anon *));
	kmem_free(amp->am_chunks, nchunks * sizeof(*amp->am_chunks));
	kmem_cache_free(amp_cache, amp);
}

int anon_dup(struct anon_map *src, size_t sindex, struct anon_map *dst,
	     size_t dindex, size_t npages)
{
	ASSERT(spin_held(&src->am_lock) && spin_held(&dst->am_lock));
	ASSERT(sindex + npages <= src->am_size && dindex + npages <= dst->am_size);
	/* One hold of anon_lock for the whole range: a fork of 1 MiB is 256
	 * slots. anon_set may allocate a chunk under it (kmem ranks below). */
	spin_lock(&anon_lock);
	for (size_t i = 0; i < npages; i++) {
		struct anon **chunk = src->am_chunks[(sindex + i) / ANON_CHUNK];
		struct anon *ap;

		if (chunk == NULL) {
			/* A chunk never touched: skip to the next one. */
			i += ANON_CHUNK - 1 - (sindex + i) % ANON_CHUNK;
			continue;
		}
		ap = chunk[(sindex + i) % ANON_CHUNK];
		if (ap == NULL)
			continue;
		if (anon_set(dst, dindex + i, ap) != 0) {
			spin_unlock(&anon_lock);
			return -ENOMEM;
		}
		ASSERT(ap->an_refcnt != 0 && ap->an_page != NULL);
		ap->an_refcnt++;
	}
	spin_unlock(&anon_lock);
	return 0;
}
