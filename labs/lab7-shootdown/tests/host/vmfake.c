/*
 * vmfake.c — the page allocator and kmem of the VM host tests (vmfake.h).
 */
#include <cpuvar.h>
#include <kstring.h>
#include <stdlib.h>
#include <vmstat.h>

#include "simmem.h"
#include "vmfake.h"

struct vminfo vminfo;

/* ---- pages ---- */

#define NPFN (SIMMEM_BASE / PAGESIZE + SIMMEM_PAGES)
static page_t page_store[NPFN];
page_t *page_array = page_store;
long pages_in_use[PG_NOWNERS];

page_t *page_alloc_pages(unsigned order, unsigned flags)
{
	uint64_t pa;
	page_t *pp;

	if (order != 0 || PG_OWNER(flags) == 0 ||
	    PG_OWNER(flags) >= PG_NOWNERS)
		panic("page_alloc_pages(%u, %#x): the VM asks for single "
		      "pages with an owner", order, flags);
	pa = simmem_alloc();
	if (pa == 0)
		return NULL;
	/* The buddy allocator does not zero pages: neither does this. */
	__builtin_memset(kpm_va(pa), 0xdb, PAGESIZE);
	pp = &page_array[pa >> PAGESHIFT];
	*pp = (page_t){ .p_owner = PG_OWNER(flags), .p_zone = ZONE_NORMAL };
	pages_in_use[pp->p_owner]++;
	return pp;
}

void page_free_pages(page_t *pp, unsigned order)
{
	if (order != 0 || pp->p_owner == 0 || (pp->p_flags & P_FREE))
		panic("page_free_pages(pfn %#lx, order %u): not a page in use",
		      page_pfn(pp), order);
	if (pp->p_vnode != NULL)
		panic("page_free_pages: pfn %#lx is still in the page hash",
		      page_pfn(pp));
	pages_in_use[pp->p_owner]--;
	*pp = (page_t){ .p_flags = P_FREE };
	simmem_free(page_pfn(pp) << PAGESHIFT);
}

/* ---- kmem ---- */

/*
 * Every object handed out is on a list, so that none is ever unreachable:
 * a test that fails half-way leaves its objects behind, and
 * LeakSanitizer's report of them at exit would bury the failure's message.
 * kmem_live is how the tests see a leak.
 */
struct kbuf {
	struct kbuf *next, *prev;  /* kbufs, the objects handed out */
	const kmem_cache_t *cache; /* NULL for kmem_alloc */
	size_t size;
	uint64_t magic;
} __attribute__((aligned(16)));

#define KBUF_MAGIC 0x6b6d656d6275660aULL
static struct kbuf kbufs = { .next = &kbufs, .prev = &kbufs };
long kmem_live;

static void *kbuf_alloc(const kmem_cache_t *cp, size_t size, bool zero)
{
	struct kbuf *b = malloc(sizeof(*b) + size);

	if (b == NULL)
		return NULL;
	*b = (struct kbuf){ .next = kbufs.next, .prev = &kbufs, .cache = cp,
			    .size = size, .magic = KBUF_MAGIC };
	kbufs.next->prev = b;
	kbufs.next = b;
	/* Not zeroed unless asked: a field left unset reads as junk. */
	__builtin_memset(b + 1, zero ? 0 : 0xbd, size);
	kmem_live++;
	return b + 1;
}

static void kbuf_free(const kmem_cache_t *cp, void *buf, size_t size)
{
	struct kbuf *b = (struct kbuf *)buf - 1;

	if (b->magic != KBUF_MAGIC || b->cache != cp ||
	    (cp == NULL && b->size != size))
		panic("kbuf_free: %p is not from %s, or is freed as %zu "
		      "bytes but was %zu", buf,
		      cp != NULL ? cp->cache_name : "kmem_alloc", size,
		      b->size);
	b->magic = 0;
	b->prev->next = b->next;
	b->next->prev = b->prev;
	kmem_live--;
	free(b);
}

kmem_cache_t *kmem_cache_create(const char *name, size_t size, size_t align,
				int (*constructor)(void *, void *, int),
				void (*destructor)(void *, void *),
				void (*reclaim)(void *), void *priv, void *vmp,
				unsigned cflags)
{
	kmem_cache_t *cp = calloc(1, sizeof(*cp));

	(void)align, (void)reclaim, (void)priv, (void)vmp, (void)cflags;
	if (constructor != NULL || destructor != NULL)
		panic("kmem_cache_create(%s): the fake has no constructors",
		      name);
	if (cp != NULL) {
		strlcpy(cp->cache_name, name, sizeof(cp->cache_name));
		cp->cache_bufsize = size;
	}
	return cp;
}

void *kmem_cache_alloc(kmem_cache_t *cp, int kmflags)
{
	(void)kmflags;
	return kbuf_alloc(cp, cp->cache_bufsize, false);
}

void kmem_cache_free(kmem_cache_t *cp, void *buf)
{
	kbuf_free(cp, buf, cp->cache_bufsize);
}

void *kmem_alloc(size_t size, int kmflags)
{
	(void)kmflags;
	return kbuf_alloc(NULL, size, false);
}

void *kmem_zalloc(size_t size, int kmflags)
{
	(void)kmflags;
	return kbuf_alloc(NULL, size, true);
}

void kmem_free(void *buf, size_t size)
{
	kbuf_free(NULL, buf, size);
}

/* ---- reset ---- */

void vmfake_reset(void)
{
	struct cpu *c = &cpus[0];

	/* Newest first: spin_unlock() takes a lock off the held stack. */
	while (c->cpu_nlocks > 0)
		spin_unlock((spinlock_t *)c->cpu_locks[c->cpu_nlocks - 1]);
	__builtin_memset(page_store, 0, sizeof(page_store));
	__builtin_memset(pages_in_use, 0, sizeof(pages_in_use));
	kmem_live = 0;
}
