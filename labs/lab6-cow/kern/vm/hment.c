/*
 * hment.c — the reverse map: which user translations map a page (page.h).
 *
 * Forward, a hat answers "which frame does this address reach?". After
 * fork, the question also runs the other way: a page of a parent's heap
 * may be mapped by the parent and by every child that has not yet written
 * it, and only the list of those mappings says who still reads it. illumos
 * keeps that list per page as hments (hat_memload links one in, the
 * unload path unlinks it); Linux answers it through rmap (a page's
 * anon_vma, walked by try_to_unmap). Here each user leaf the HAT stores
 * gets an hment on its page, so a test can count the sharers of a page,
 * the monitor can name them, and page_free_pages() can refuse to free a
 * page that someone still maps.
 *
 * Locking: one lock, hment_lock (rank LR_HMENT), guards every page's
 * p_mapping list and p_share. The HAT calls in with its address space's
 * a_lock held and maybe an anon_map's am_lock; hment_lock nests inside
 * them and holds nothing else (kmem is called outside it).
 *
 *	a_lock -> am_lock -> hment_lock
 */
#include <errno.h>
#include <hat.h>
#include <kernel.h>
#include <kmem.h>
#include <page.h>

static spinlock_t hment_lock = SPINLOCK_INIT("hment_lock", LR_HMENT);
static kmem_cache_t *hment_cache;

/*
 * The cache is made at the first mapping. Two CPUs may race to make it:
 * the loser destroys its own (kmem_cache_create may not run under
 * hment_lock, whose rank is below kmem's).
 */
static void hment_cache_init(void)
{
	kmem_cache_t *cp, *none = NULL;

	if (__atomic_load_n(&hment_cache, __ATOMIC_ACQUIRE) != NULL)
		return;
	cp = kmem_cache_create("hment", sizeof(struct hment), 0, NULL, NULL,
			       NULL, NULL, NULL, 0);
	if (cp == NULL)
		panic("hment: no memory for the hment cache");
	if (!__atomic_compare_exchange_n(&hment_cache, &none, cp, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		kmem_cache_destroy(cp);
}

/* The page_t of pfn if it is RAM that a page owner could map, else NULL. */
static page_t *hment_page(pfn_t pfn)
{
	page_t *pp;

	if (pfn >= page_array_npages)
		return NULL;
	pp = pfn_to_page(pfn);
	return (pp->p_flags & P_RESERVED) ? NULL : pp;
}

int hment_add(struct hat *hat, uintptr_t va, pfn_t pfn)
{
	page_t *pp = hment_page(pfn);
	struct hment *hm;

	ASSERT(hat->h_rmap);
	if (pp == NULL)
		return 0;
	hment_cache_init();
	hm = kmem_cache_alloc(hment_cache, KM_NOSLEEP);
	if (hm == NULL)
		return -ENOMEM;
	hm->hm_hat = hat;
	hm->hm_va = va;
	spin_lock(&hment_lock);
	/* Mapping a free page: it could be handed out under this mapping. */
	ASSERT(!(pp->p_flags & P_FREE));
	hm->hm_next = pp->p_mapping;
	pp->p_mapping = hm;
	__atomic_store_n(&pp->p_share, pp->p_share + 1, __ATOMIC_RELEASE);
	spin_unlock(&hment_lock);
	return 0;
}

void hment_remove(struct hat *hat, uintptr_t va, pfn_t pfn)
{
	page_t *pp = hment_page(pfn);
	struct hment **hpp, *hm = NULL;

	ASSERT(hat->h_rmap);
	if (pp == NULL)
		return;
	spin_lock(&hment_lock);
	for (hpp = &pp->p_mapping; *hpp != NULL; hpp = &(*hpp)->hm_next)
		if ((*hpp)->hm_hat == hat && (*hpp)->hm_va == va) {
			hm = *hpp;
			*hpp = hm->hm_next;
			break;
		}
	if (hm == NULL)
		panic("hment_remove: pfn %#lx has no mapping at va %#lx",
		      pfn, va);
	ASSERT(pp->p_share > 0);
	__atomic_store_n(&pp->p_share, pp->p_share - 1, __ATOMIC_RELEASE);
	spin_unlock(&hment_lock);
	kmem_cache_free(hment_cache, hm);
}

unsigned hat_page_getshare(const page_t *pp)
{
	return __atomic_load_n(&pp->p_share, __ATOMIC_ACQUIRE);
}

unsigned hat_page_mappings(const page_t *pp, struct hment *out, unsigned max)
{
	unsigned n = 0;

	spin_lock(&hment_lock);
	for (const struct hment *hm = pp->p_mapping; hm != NULL;
	     hm = hm->hm_next, n++)
		if (n < max)
			out[n] = *hm;
	ASSERT(n == pp->p_share);
	spin_unlock(&hment_lock);
	return n;
}
