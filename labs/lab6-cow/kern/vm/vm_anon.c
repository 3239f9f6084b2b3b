/*
 * vm_anon.c — anon slots and anon maps (anon.h).
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
	if (from != NULL)
		memcpy(va, kpm_va(page_pfn(from) << PAGESHIFT), PAGESIZE);
	else {
		memset(va, 0, PAGESIZE);
		VMINFO_ADD(zfod);
	}
	ap->an_page = pp;
	ap->an_refcnt = 1;
	__atomic_add_fetch(&anon_live, 1, __ATOMIC_RELAXED);
	return ap;
}

void anon_decref(struct anon *ap)
{
	bool last;

	spin_lock(&anon_lock);
	ASSERT(ap->an_refcnt > 0);
	last = --ap->an_refcnt == 0;
	spin_unlock(&anon_lock);
	if (!last)
		return;
	ASSERT(ap->an_page->p_owner == PG_OWNER(PG_ANON));
	page_free_pages(ap->an_page, 0);
	ap->an_page = NULL;
	kmem_cache_free(anon_cache, ap);
	__atomic_sub_fetch(&anon_live, 1, __ATOMIC_RELAXED);
}

struct anon *anon_private(struct anon *ap)
{
	(void)ap;
	return NULL; /* lab 6: a private copy for a writer */
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
	(void)src, (void)sindex, (void)dst, (void)dindex, (void)npages;
	return -ENOSYS; /* lab 6: share slots with another anon_map */
}
