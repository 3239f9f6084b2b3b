/*
 * kmem.c — the object allocator: slabs, per-CPU magazines, the depot.
 *
 * Design (read this before writing lab 4):
 *
 * 1. Caches. A kmem_cache hands out buffers of one size. Buffers are
 *    carved from slabs (one or more pages from the buddy allocator) and
 *    constructed once, when their slab is built; a freed buffer keeps its
 *    constructed state, so the next allocation skips that work.
 *
 * 2. Slabs (Bonwick 1994). A cache keeps its slabs on three lists:
 *    partial (some buffers free), empty (all free) and full (none free).
 *    Allocation prefers a partial slab, so empty slabs stay empty and can
 *    be given back by kmem_reap(). Small buffers (at most 1/8 of a page)
 *    live in one-page slabs whose header sits at the end of the page, and
 *    a word just past each buffer links it, while free, to the next free
 *    one (past it, not in it: a free buffer keeps its constructed state,
 *    all of it). Large
 *    buffers live in bigger slabs with external bookkeeping: one bufctl
 *    per buffer, and a hash from buffer address to bufctl for the free.
 *    Each new slab starts its first buffer a little further in (colour),
 *    so equal offsets in different slabs use different cache lines.
 *
 * 3. Magazines (Bonwick 2001). A magazine is an array of M buffer
 *    pointers, a stack. Each CPU has a loaded and a previous magazine:
 *
 *	alloc:  loaded has a round -> pop it
 *	        previous is full   -> swap them, pop
 *	        depot has a full   -> previous goes to the depot's empties,
 *	                              loaded becomes previous, load the full
 *	        else               -> the slab layer
 *	free:   the mirror image, with empty magazines
 *
 *    With two magazines a CPU goes to the depot at most once every M
 *    operations, whatever the pattern: that is the previous magazine's
 *    job. Only the CPU's own lock is taken on the fast path.
 *
 * 4. The depot keeps full and empty magazines, under one lock. For each
 *    list it remembers the fewest magazines it held since the last reap:
 *    those were never needed (outside the working set), and kmem_reap()
 *    frees them, giving their buffers back to the slab layer. When the
 *    depot lock is contended the cache moves to bigger magazines (the
 *    ladder kmem_magsizes[]), so CPUs come back less often.
 *
 * 5. Debugging (KMC_DEBUG). After each buffer a tag holds a redzone word
 *    and a state word (the buffer's address XOR a FREE or ALLOC magic). A
 *    free checks the state (double free) and the redzone (overrun), then
 *    fills the buffer with 0xdeadbeef; an allocation checks the fill
 *    (written after free), then fills it with 0xbaddcafe, which makes a
 *    read of an uninitialised pointer fault on a telling address. Each
 *    report is a panic naming the cache and the buffer.
 */
#include <fmt.h>
#include <kenv.h>
#include <kmem.h>
#include <kstring.h>
#include <monitor.h>
#include <page.h>

#define SMALL_LIMIT (PAGESIZE / 8)
#define SLAB_MIN_BUFS 8
#define FREE_MAGIC 0xf4eeULL
#define ALLOC_MAGIC 0xa110cULL
#define RESIZE_CONTENTION 3 /* contended depot locks per reap to grow */

struct kmem_slab {
	kmem_cache_t *slab_cache;
	kmem_slab_t *slab_next, *slab_prev;
	void *slab_mem;      /* the slab's pages */
	void *slab_base;     /* its first buffer (after the colour) */
	void *slab_free;     /* small: free buffers; large: free bufctls */
	long slab_refcnt;    /* buffers allocated */
	long slab_chunks;    /* buffers in the slab */
	kmem_slab_t **slab_list; /* the list it is on */
};

struct kmem_bufctl {
	kmem_bufctl_t *bc_next; /* free list, or hash chain */
	void *bc_addr;
	kmem_slab_t *bc_slab;
};

struct kmem_buftag {
	uint64_t bt_redzone;
	uint64_t bt_bxstat; /* buffer address ^ FREE_MAGIC or ALLOC_MAGIC */
	void *bt_link;      /* the free-list link, in debug caches */
};

static const int kmem_magsizes[] = { 1, 3, 7, 15, 31, 47, 63, 95, 143 };
#define NMAGTYPES ((int)ARRAY_SIZE(kmem_magsizes))

static kmem_cache_t cache_pool[64]; /* caches are static: no kmem for kmem */
static kmem_cache_t *kmem_caches;
static spinlock_t kmem_lock = SPINLOCK_INIT("kmem_lock", LR_KMEM);
static kmem_cache_t *kmem_slab_cache, *kmem_bufctl_cache;
static kmem_cache_t *kmem_magazine_cache[NMAGTYPES];

static const size_t kmem_alloc_sizes[] = {
	8, 16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536,
	2048, 4096,
};
#define NALLOC ARRAY_SIZE(kmem_alloc_sizes)
static kmem_cache_t *kmem_alloc_caches[NALLOC];

static unsigned order_for(size_t bytes)
{
	unsigned o = 0;

	while ((PAGESIZE << o) < bytes)
		o++;
	return o;
}

/* Slab pages come from the buddy allocator, which locks its own zones. */
static void *kmem_pages_alloc(unsigned order)
{
	page_t *pp = page_alloc_pages(order, PG_KERNEL);

	return pp == NULL ? NULL : kpm_va(page_pfn(pp) << PAGESHIFT);
}

static void kmem_pages_free(void *va, unsigned order)
{
	page_free_pages(pfn_to_page(kpm_pa(va) >> PAGESHIFT), order);
}

static struct kmem_buftag *buftag(const kmem_cache_t *cp, void *buf)
{
	return (struct kmem_buftag *)((char *)buf +
				      ROUNDUP(cp->cache_bufsize, 8));
}

/* Where a free buffer keeps its free-list link: just past the object. */
static inline void **buf_link(const kmem_cache_t *cp, void *buf)
{
	if (cp->cache_flags & KMC_DEBUG)
		return &buftag(cp, buf)->bt_link;
	return (void **)((char *)buf + ROUNDUP(cp->cache_bufsize, 8));
}

static void fill(void *buf, size_t size, uint64_t pattern)
{
	for (size_t i = 0; i + 8 <= size; i += 8)
		*(uint64_t *)((char *)buf + i) = pattern;
}

/* Put a fresh buffer in the debug state "free" (in its slab). */
static inline void debug_init_buf(kmem_cache_t *cp, void *buf)
{
	struct kmem_buftag *bt = buftag(cp, buf);

	fill(buf, ROUNDUP(cp->cache_bufsize, 8), KMEM_FREE_PATTERN);
	bt->bt_redzone = KMEM_REDZONE_PATTERN;
	bt->bt_bxstat = (uint64_t)buf ^ FREE_MAGIC;
}

static void kmem_slab_free(kmem_cache_t *cp, void *buf);

/* Free a magazine and the rounds it holds. */
static void kmem_magazine_destroy(kmem_cache_t *cp, kmem_magazine_t *mp,
				  int rounds)
{
	for (int i = 0; i < rounds; i++)
		kmem_slab_free(cp, mp->mag_round[i]);
	kmem_cache_free(cp->cache_magtype, mp);
}

#if SOL >= 4
/* ---- Part A: the slab layer (cache_lock) ---- */

static void slab_unlink(kmem_slab_t *sp)
{
	if (sp->slab_prev != NULL)
		sp->slab_prev->slab_next = sp->slab_next;
	else
		*sp->slab_list = sp->slab_next;
	if (sp->slab_next != NULL)
		sp->slab_next->slab_prev = sp->slab_prev;
	sp->slab_next = sp->slab_prev = NULL;
}

static void slab_link(kmem_slab_t *sp, kmem_slab_t **list)
{
	sp->slab_list = list;
	sp->slab_prev = NULL;
	sp->slab_next = *list;
	if (*list != NULL)
		(*list)->slab_prev = sp;
	*list = sp;
}

/* Move sp to the list its refcount says: empty, partial or full. */
static void slab_relist(kmem_cache_t *cp, kmem_slab_t *sp)
{
	kmem_slab_t **want = sp->slab_refcnt == 0 ? &cp->cache_empty
			     : sp->slab_refcnt == sp->slab_chunks
				 ? &cp->cache_full
				 : &cp->cache_partial;

	if (sp->slab_list != want) {
		slab_unlink(sp);
		slab_link(sp, want);
	}
}

static bool cache_is_small(const kmem_cache_t *cp)
{
	return cp->cache_slaborder == 0 && cp->cache_chunksize <= SMALL_LIMIT;
}

static size_t hash_index(const kmem_cache_t *cp, const void *buf)
{
	return ((uintptr_t)buf / cp->cache_chunksize) & cp->cache_hash_mask;
}

/*
 * Carve a slab's buffers, construct them, and chain them free. A buffer
 * joins the free chain only once its bookkeeping exists and it is
 * constructed, so a failure leaves only whole buffers to undo.
 */
static int slab_carve(kmem_cache_t *cp, kmem_slab_t *sp, int kmflags)
{
	for (long i = sp->slab_chunks - 1; i >= 0; i--) {
		char *buf = (char *)sp->slab_base + i * cp->cache_chunksize;
		kmem_bufctl_t *bc = NULL;

		if (!cache_is_small(cp) &&
		    (bc = kmem_cache_alloc(kmem_bufctl_cache, kmflags)) == NULL)
			return -1;
		if (cp->cache_flags & KMC_DEBUG) {
			debug_init_buf(cp, buf);
		} else if (cp->cache_constructor != NULL &&
			   cp->cache_constructor(buf, cp->cache_private,
						 kmflags)) {
			if (bc != NULL)
				kmem_cache_free(kmem_bufctl_cache, bc);
			return -1;
		}
		if (bc == NULL) {
			*buf_link(cp, buf) = sp->slab_free;
			sp->slab_free = buf;
		} else {
			bc->bc_addr = buf;
			bc->bc_slab = sp;
			bc->bc_next = sp->slab_free;
			sp->slab_free = bc;
		}
	}
	return 0;
}

static void slab_release(kmem_cache_t *cp, kmem_slab_t *sp);

/* A new slab for cp (called without cache_lock). */
static kmem_slab_t *slab_create(kmem_cache_t *cp, int kmflags)
{
	void *mem = kmem_pages_alloc(cp->cache_slaborder);
	kmem_slab_t *sp;
	size_t room = cp->cache_slabsize;

	if (mem == NULL)
		return NULL;
	if (cache_is_small(cp)) {
		sp = (kmem_slab_t *)((char *)mem + PAGESIZE) - 1;
		room -= sizeof(*sp);
	} else if ((sp = kmem_cache_alloc(kmem_slab_cache, kmflags)) == NULL) {
		kmem_pages_free(mem, cp->cache_slaborder);
		return NULL;
	}
	memset(sp, 0, sizeof(*sp));
	sp->slab_cache = cp;
	sp->slab_mem = mem;
	spin_lock(&cp->cache_lock); /* the colour sequence is the cache's */
	sp->slab_base = (char *)mem + cp->cache_color;
	sp->slab_chunks = (long)((room - cp->cache_color) / cp->cache_chunksize);
	cp->cache_color += cp->cache_align;
	if (cp->cache_color > cp->cache_maxcolor)
		cp->cache_color = 0;
	spin_unlock(&cp->cache_lock);
	if (slab_carve(cp, sp, kmflags) != 0) {
		slab_release(cp, sp); /* never counted as made */
		return NULL;
	}
	__atomic_add_fetch(&cp->cache_slab_create, 1, __ATOMIC_RELAXED);
	return sp;
}

/* Destruct a slab's free buffers and give its pages back (no locks). */
static void slab_release(kmem_cache_t *cp, kmem_slab_t *sp)
{
	void *f = sp->slab_free;

	while (f != NULL) {
		void *buf = cache_is_small(cp) ? f
					       : ((kmem_bufctl_t *)f)->bc_addr;
		void *next = cache_is_small(cp) ? *buf_link(cp, buf)
						: ((kmem_bufctl_t *)f)->bc_next;

		if (cp->cache_destructor != NULL &&
		    !(cp->cache_flags & KMC_DEBUG))
			cp->cache_destructor(buf, cp->cache_private);
		if (!cache_is_small(cp))
			kmem_cache_free(kmem_bufctl_cache, f);
		f = next;
	}
	if (!cache_is_small(cp))
		kmem_cache_free(kmem_slab_cache, sp);
	kmem_pages_free(sp->slab_mem, cp->cache_slaborder);
}

static void slab_destroy(kmem_cache_t *cp, kmem_slab_t *sp)
{
	__atomic_add_fetch(&cp->cache_slab_destroy, 1, __ATOMIC_RELAXED);
	slab_release(cp, sp);
}

/* Take a free buffer from sp (cache_lock held). */
static void *slab_take(kmem_cache_t *cp, kmem_slab_t *sp)
{
	void *buf;

	if (cache_is_small(cp)) {
		buf = sp->slab_free;
		sp->slab_free = *buf_link(cp, buf);
	} else {
		kmem_bufctl_t *bc = sp->slab_free;
		size_t h = hash_index(cp, bc->bc_addr);

		sp->slab_free = bc->bc_next;
		bc->bc_next = cp->cache_hash[h];
		cp->cache_hash[h] = bc;
		buf = bc->bc_addr;
	}
	sp->slab_refcnt++;
	cp->cache_bufslab--;
	slab_relist(cp, sp);
	return buf;
}

static void *kmem_slab_alloc(kmem_cache_t *cp, int kmflags)
{
	kmem_slab_t *sp;

	spin_lock(&cp->cache_lock);
	cp->cache_lock_acquires++;
	sp = cp->cache_partial != NULL ? cp->cache_partial : cp->cache_empty;
	if (sp == NULL) {
		spin_unlock(&cp->cache_lock);
		sp = slab_create(cp, kmflags);
		if (sp == NULL)
			return NULL;
		spin_lock(&cp->cache_lock);
		cp->cache_buftotal += (uint64_t)sp->slab_chunks;
		cp->cache_bufslab += (uint64_t)sp->slab_chunks;
		slab_link(sp, &cp->cache_empty);
	}
	cp->cache_slab_alloc++;
	void *buf = slab_take(cp, sp);
	spin_unlock(&cp->cache_lock);
	return buf;
}

/* The slab of a small buffer: the header at the end of its page. */
static kmem_slab_t *small_slab(void *buf)
{
	return (kmem_slab_t *)(ROUNDDOWN((uintptr_t)buf, PAGESIZE) +
			       PAGESIZE) - 1;
}

/* Find and unhash a large buffer's bufctl (cache_lock held). */
static kmem_bufctl_t *bufctl_unhash(kmem_cache_t *cp, void *buf)
{
	kmem_bufctl_t **pp = &cp->cache_hash[hash_index(cp, buf)];

	for (; *pp != NULL; pp = &(*pp)->bc_next) {
		kmem_bufctl_t *bc = *pp;

		if (bc->bc_addr == buf) {
			*pp = bc->bc_next;
			return bc;
		}
	}
	panic("kmem_slab_free: %s: buffer %p was not allocated from it",
	      cp->cache_name, buf);
}

static void kmem_slab_free(kmem_cache_t *cp, void *buf)
{
	kmem_slab_t *sp;

	spin_lock(&cp->cache_lock);
	cp->cache_lock_acquires++;
	if (cache_is_small(cp)) {
		sp = small_slab(buf);
		if (sp->slab_cache != cp)
			panic("kmem_slab_free: %s: buffer %p is not this "
			      "cache's", cp->cache_name, buf);
		*buf_link(cp, buf) = sp->slab_free;
		sp->slab_free = buf;
	} else {
		kmem_bufctl_t *bc = bufctl_unhash(cp, buf);

		sp = bc->bc_slab;
		bc->bc_next = sp->slab_free;
		sp->slab_free = bc;
	}
	sp->slab_refcnt--;
	cp->cache_bufslab++;
	cp->cache_slab_free++;
	slab_relist(cp, sp);
	spin_unlock(&cp->cache_lock);
}

/* Give every empty slab's pages back. */
static void kmem_cache_reap_slabs(kmem_cache_t *cp)
{
	for (;;) {
		kmem_slab_t *sp;

		spin_lock(&cp->cache_lock);
		sp = cp->cache_empty;
		if (sp != NULL) {
			slab_unlink(sp);
			cp->cache_buftotal -= (uint64_t)sp->slab_chunks;
			cp->cache_bufslab -= (uint64_t)sp->slab_chunks;
		}
		spin_unlock(&cp->cache_lock);
		if (sp == NULL)
			return;
		slab_destroy(cp, sp);
	}
}

/* ---- Part C: the depot (cache_depot_lock) ---- */

static void depot_lock(kmem_cache_t *cp)
{
	if (!spin_trylock(&cp->cache_depot_lock)) {
		cp->cache_depot_contention++;
		spin_lock(&cp->cache_depot_lock);
	}
	cp->cache_depot_acquires++;
}

/* Take a magazine from a depot list, or NULL. */
static kmem_magazine_t *kmem_depot_alloc(kmem_cache_t *cp,
					 kmem_maglist_t *mlp)
{
	kmem_magazine_t *mp;

	depot_lock(cp);
	mp = mlp->ml_list;
	if (mp != NULL) {
		mlp->ml_list = mp->mag_next;
		mlp->ml_total--;
		if (mlp->ml_total < mlp->ml_min)
			mlp->ml_min = mlp->ml_total;
		mlp->ml_alloc++;
	}
	spin_unlock(&cp->cache_depot_lock);
	return mp;
}

static void kmem_depot_free(kmem_cache_t *cp, kmem_maglist_t *mlp,
			    kmem_magazine_t *mp)
{
	depot_lock(cp);
	mp->mag_next = mlp->ml_list;
	mlp->ml_list = mp;
	mlp->ml_total++;
	spin_unlock(&cp->cache_depot_lock);
}

/*
 * Free the magazines each depot list did not need since the last reap
 * (its low-water mark), then start a new interval.
 */
static void kmem_depot_ws_reap(kmem_cache_t *cp)
{
	long full, empty;
	kmem_magazine_t *mp;

	spin_lock(&cp->cache_depot_lock);
	full = cp->cache_full_mags.ml_min;
	empty = cp->cache_empty_mags.ml_min;
	spin_unlock(&cp->cache_depot_lock);
	while (full-- > 0 &&
	       (mp = kmem_depot_alloc(cp, &cp->cache_full_mags)) != NULL)
		kmem_magazine_destroy(cp, mp, cp->cache_magsize);
	while (empty-- > 0 &&
	       (mp = kmem_depot_alloc(cp, &cp->cache_empty_mags)) != NULL)
		kmem_magazine_destroy(cp, mp, 0);
	spin_lock(&cp->cache_depot_lock);
	cp->cache_full_mags.ml_min = cp->cache_full_mags.ml_total;
	cp->cache_empty_mags.ml_min = cp->cache_empty_mags.ml_total;
	spin_unlock(&cp->cache_depot_lock);
}

/* ---- Part B: the per-CPU magazine layer (cc_lock) ---- */

static void cc_load(kmem_cpu_cache_t *ccp, kmem_magazine_t *mp, int rounds)
{
	ccp->cc_ploaded = ccp->cc_loaded;
	ccp->cc_prounds = ccp->cc_rounds;
	ccp->cc_loaded = mp;
	ccp->cc_rounds = rounds;
}

static void cc_swap(kmem_cpu_cache_t *ccp)
{
	kmem_magazine_t *m = ccp->cc_loaded;
	int r = ccp->cc_rounds;

	ccp->cc_loaded = ccp->cc_ploaded;
	ccp->cc_rounds = ccp->cc_prounds;
	ccp->cc_ploaded = m;
	ccp->cc_prounds = r;
}

/* A round from this CPU's magazines or the depot; NULL: go to slabs. */
static void *kmem_cpu_alloc(kmem_cache_t *cp, kmem_cpu_cache_t *ccp)
{
	for (;;) {
		kmem_magazine_t *fmp;

		if (ccp->cc_rounds > 0) {
			ccp->cc_alloc++;
			return ccp->cc_loaded->mag_round[--ccp->cc_rounds];
		}
		if (ccp->cc_prounds > 0) {
			cc_swap(ccp);
			continue;
		}
		if (ccp->cc_magsize == 0 ||
		    (fmp = kmem_depot_alloc(cp, &cp->cache_full_mags)) == NULL)
			return NULL;
		if (ccp->cc_ploaded != NULL)
			kmem_depot_free(cp, &cp->cache_empty_mags,
					ccp->cc_ploaded);
		cc_load(ccp, fmp, ccp->cc_magsize);
	}
}

/* Keep buf in this CPU's magazines; false: give it to the slab layer. */
static bool kmem_cpu_free(kmem_cache_t *cp, kmem_cpu_cache_t *ccp, void *buf)
{
	for (;;) {
		kmem_magazine_t *emp;

		if (ccp->cc_loaded != NULL && ccp->cc_rounds < ccp->cc_magsize) {
			ccp->cc_free++;
			ccp->cc_loaded->mag_round[ccp->cc_rounds++] = buf;
			return true;
		}
		if (ccp->cc_ploaded != NULL && ccp->cc_prounds == 0) {
			cc_swap(ccp);
			continue;
		}
		if (ccp->cc_magsize == 0)
			return false;
		emp = kmem_depot_alloc(cp, &cp->cache_empty_mags);
		if (emp == NULL) {
			emp = kmem_cache_alloc(cp->cache_magtype, KM_NOSLEEP);
			if (emp == NULL)
				return false;
		}
		if (ccp->cc_ploaded != NULL)
			kmem_depot_free(cp, &cp->cache_full_mags,
					ccp->cc_ploaded);
		cc_load(ccp, emp, 0);
	}
}
#else
/*
 * Lab 4: the three parts below are stubs. Part A, the slab layer:
 * kmem_slab_alloc, kmem_slab_free, kmem_cache_reap_slabs. Part B, the
 * magazine layer: kmem_cpu_alloc, kmem_cpu_free. Part C, the depot:
 * kmem_depot_ws_reap (and the depot lists they use).
 */
static void *kmem_slab_alloc(kmem_cache_t *cp, int kmflags)
{
	(void)cp, (void)kmflags;
	return NULL; /* lab 4: a buffer from a partial, empty or new slab */
}

static void kmem_slab_free(kmem_cache_t *cp, void *buf)
{
	panic("kmem_slab_free: lab 4 (%s, buffer %p)", cp->cache_name, buf);
}

static void kmem_cache_reap_slabs(kmem_cache_t *cp)
{
	(void)cp; /* lab 4: give every empty slab's pages back */
}

static void *kmem_cpu_alloc(kmem_cache_t *cp, kmem_cpu_cache_t *ccp)
{
	(void)cp, (void)ccp;
	return NULL; /* lab 4: loaded, previous, then the depot */
}

static bool kmem_cpu_free(kmem_cache_t *cp, kmem_cpu_cache_t *ccp, void *buf)
{
	(void)cp, (void)ccp, (void)buf;
	return false; /* lab 4: loaded, previous, then the depot */
}

static void kmem_depot_ws_reap(kmem_cache_t *cp)
{
	(void)cp; /* lab 4: free magazines beyond the working set */
}
#endif

/* ---- Debug checks, around both layers ---- */

static void debug_alloc(kmem_cache_t *cp, void *buf)
{
	struct kmem_buftag *bt = buftag(cp, buf);
	size_t size = ROUNDUP(cp->cache_bufsize, 8);

	if (bt->bt_bxstat != ((uint64_t)buf ^ FREE_MAGIC))
		panic("kmem_cache_alloc: %s: buffer %p has a corrupt tag",
		      cp->cache_name, buf);
	for (size_t off = 0; off + 8 <= size; off += 8)
		if (*(uint64_t *)((char *)buf + off) != KMEM_FREE_PATTERN)
			panic("kmem_cache_alloc: %s: buffer %p modified after "
			      "free (offset %#zx)", cp->cache_name, buf, off);
	bt->bt_bxstat = (uint64_t)buf ^ ALLOC_MAGIC;
	fill(buf, size, KMEM_UNINIT_PATTERN);
}

static void debug_free(kmem_cache_t *cp, void *buf)
{
	struct kmem_buftag *bt = buftag(cp, buf);

	if (bt->bt_bxstat == ((uint64_t)buf ^ FREE_MAGIC))
		panic("kmem_cache_free: %s: double free of buffer %p",
		      cp->cache_name, buf);
	if (bt->bt_bxstat != ((uint64_t)buf ^ ALLOC_MAGIC))
		panic("kmem_cache_free: %s: buffer %p was not allocated "
		      "(corrupt tag)", cp->cache_name, buf);
	if (bt->bt_redzone != KMEM_REDZONE_PATTERN)
		panic("kmem_cache_free: %s: redzone violation: buffer %p was "
		      "written past its %zu bytes", cp->cache_name, buf,
		      cp->cache_bufsize);
	fill(buf, ROUNDUP(cp->cache_bufsize, 8), KMEM_FREE_PATTERN);
	bt->bt_bxstat = (uint64_t)buf ^ FREE_MAGIC;
}

/* ---- The interface ---- */

void *kmem_cache_alloc(kmem_cache_t *cp, int kmflags)
{
	kmem_cpu_cache_t *ccp = &cp->cache_cpu[curcpu()->cpu_id];
	void *buf;

	spin_lock(&ccp->cc_lock);
	buf = kmem_cpu_alloc(cp, ccp);
	spin_unlock(&ccp->cc_lock);
	if (buf == NULL)
		buf = kmem_slab_alloc(cp, kmflags);
	if (buf == NULL) {
		__atomic_add_fetch(&cp->cache_alloc_fail, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	if (cp->cache_flags & KMC_DEBUG)
		debug_alloc(cp, buf);
	return buf;
}

void kmem_cache_free(kmem_cache_t *cp, void *buf)
{
	kmem_cpu_cache_t *ccp = &cp->cache_cpu[curcpu()->cpu_id];
	bool kept;

	if (cp->cache_flags & KMC_DEBUG)
		debug_free(cp, buf);
	spin_lock(&ccp->cc_lock);
	kept = kmem_cpu_free(cp, ccp, buf);
	spin_unlock(&ccp->cc_lock);
	if (!kept)
		kmem_slab_free(cp, buf);
}

/* The slab geometry: chunk size, slab order, colour range. */
static void cache_geometry(kmem_cache_t *cp)
{
	size_t chunk = ROUNDUP(ROUNDUP(cp->cache_bufsize, 8) + sizeof(void *),
			       cp->cache_align);
	size_t room;

	if (cp->cache_flags & KMC_DEBUG)
		chunk = ROUNDUP(ROUNDUP(cp->cache_bufsize, 8) +
					sizeof(struct kmem_buftag),
				cp->cache_align);
	cp->cache_chunksize = chunk;
	cp->cache_slaborder = chunk <= SMALL_LIMIT ? 0
				: order_for(chunk * SLAB_MIN_BUFS);
	cp->cache_slabsize = PAGESIZE << cp->cache_slaborder;
	room = cp->cache_slabsize -
	       (chunk <= SMALL_LIMIT ? sizeof(kmem_slab_t) : 0);
	cp->cache_maxcolor = room % chunk;
}

static int magtype_for(size_t chunk)
{
	return chunk <= 64 ? 3 : chunk <= 512 ? 2 : 1;
}

/* A free slot of cache_pool (kmem_lock held): destroyed caches' too. */
static kmem_cache_t *cache_slot(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(cache_pool); i++)
		if (cache_pool[i].cache_bufsize == 0)
			return &cache_pool[i];
	return NULL;
}

kmem_cache_t *kmem_cache_create(const char *name, size_t size, size_t align,
				int (*constructor)(void *, void *, int),
				void (*destructor)(void *, void *),
				void (*reclaim)(void *), void *priv,
				void *vmp, unsigned cflags)
{
	kmem_cache_t *cp;

	(void)vmp;
	if ((cflags & KMC_DEBUG) && (constructor != NULL || destructor != NULL))
		panic("kmem_cache_create: %s: a KMC_DEBUG cache fills its "
		      "buffers with patterns, so it takes no constructor", name);
	spin_lock(&kmem_lock);
	cp = cache_slot();
	if (cp == NULL)
		panic("kmem_cache_create: %s: no room for another cache", name);
	memset(cp, 0, sizeof(*cp));
	strlcpy(cp->cache_name, name, sizeof(cp->cache_name));
	cp->cache_bufsize = MAX(size, sizeof(void *));
	cp->cache_align = MAX(align, sizeof(void *));
	cp->cache_flags = cflags;
	cp->cache_constructor = constructor;
	cp->cache_destructor = destructor;
	cp->cache_reclaim = reclaim;
	cp->cache_private = priv;
	spin_init(&cp->cache_lock, "cache_lock", LR_KMEM_SLAB);
	spin_init(&cp->cache_depot_lock, "cache_depot_lock", LR_KMEM_DEPOT);
	cache_geometry(cp);
	cp->cache_next = kmem_caches;
	kmem_caches = cp;
	spin_unlock(&kmem_lock);
	if (!(cflags & KMC_NOMAGAZINE) && kmem_magazine_cache[0] != NULL) {
		int t = magtype_for(cp->cache_chunksize);

		cp->cache_magtype = kmem_magazine_cache[t];
		cp->cache_magsize = kmem_magsizes[t];
	}
	if (cp->cache_chunksize > SMALL_LIMIT) {
		cp->cache_hash = kmem_pages_alloc(0);
		if (cp->cache_hash == NULL)
			panic("kmem_cache_create: %s: no page for its hash", name);
		memset(cp->cache_hash, 0, PAGESIZE);
		cp->cache_hash_mask = PAGESIZE / sizeof(void *) - 1;
	}
	for (int i = 0; i < NCPU; i++) {
		spin_init(&cp->cache_cpu[i].cc_lock, "cc_lock", LR_KMEM_CPU);
		cp->cache_cpu[i].cc_magsize = cp->cache_magsize;
	}
	return cp;
}

/*
 * Take every CPU's magazines of cp and free them with their rounds; each
 * CPU's magazine size becomes magsize (0 switches its layer off), under
 * its own lock, so no CPU ever fills a magazine of the wrong size.
 */
static void kmem_cpu_purge(kmem_cache_t *cp, int magsize)
{
	for (int i = 0; i < ncpus; i++) {
		kmem_cpu_cache_t *ccp = &cp->cache_cpu[i];
		kmem_magazine_t *mp[2];
		int rounds[2];

		spin_lock(&ccp->cc_lock);
		mp[0] = ccp->cc_loaded, rounds[0] = ccp->cc_rounds;
		mp[1] = ccp->cc_ploaded, rounds[1] = ccp->cc_prounds;
		ccp->cc_loaded = ccp->cc_ploaded = NULL;
		ccp->cc_rounds = ccp->cc_prounds = 0;
		ccp->cc_magsize = magsize;
		spin_unlock(&ccp->cc_lock);
		for (int m = 0; m < 2; m++)
			if (mp[m] != NULL)
				kmem_magazine_destroy(cp, mp[m], rounds[m]);
	}
}

/* Give back every magazine in the depot, with its rounds. */
static void kmem_depot_purge(kmem_cache_t *cp)
{
	for (int pass = 0; pass < 2; pass++) {
		kmem_maglist_t *mlp = pass ? &cp->cache_empty_mags
					   : &cp->cache_full_mags;
		kmem_magazine_t *mp;

		spin_lock(&cp->cache_depot_lock);
		mp = mlp->ml_list;
		mlp->ml_list = NULL;
		mlp->ml_total = mlp->ml_min = 0;
		spin_unlock(&cp->cache_depot_lock);
		while (mp != NULL) {
			kmem_magazine_t *next = mp->mag_next;

			kmem_magazine_destroy(cp, mp,
						  pass ? 0 : cp->cache_magsize);
			mp = next;
		}
	}
}

/*
 * Bigger magazines for a cache whose depot lock was contended: switch the
 * CPUs' magazine layer off while the old-size magazines are freed (to
 * their own magazine cache), then step up the ladder and switch it on.
 */
static void kmem_cache_magazine_resize(kmem_cache_t *cp)
{
	int t = 0;

	while (t < NMAGTYPES - 1 && kmem_magsizes[t] != cp->cache_magsize)
		t++;
	if (t == NMAGTYPES - 1)
		return;
	kmem_cpu_purge(cp, 0);
	kmem_depot_purge(cp);
	cp->cache_magtype = kmem_magazine_cache[t + 1];
	cp->cache_magsize = kmem_magsizes[t + 1];
	for (int i = 0; i < ncpus; i++) {
		spin_lock(&cp->cache_cpu[i].cc_lock);
		cp->cache_cpu[i].cc_magsize = cp->cache_magsize;
		spin_unlock(&cp->cache_cpu[i].cc_lock);
	}
}

void kmem_cache_destroy(kmem_cache_t *cp)
{
	kmem_cpu_purge(cp, 0);
	kmem_depot_purge(cp);
	kmem_cache_reap_slabs(cp);
	if (cp->cache_partial != NULL || cp->cache_full != NULL)
		panic("kmem_cache_destroy: %s: buffers still allocated",
		      cp->cache_name);
	spin_lock(&kmem_lock);
	for (kmem_cache_t **pp = &kmem_caches; *pp != NULL;
	     pp = &(*pp)->cache_next)
		if (*pp == cp) {
			*pp = cp->cache_next;
			break;
		}
	spin_unlock(&kmem_lock);
	if (cp->cache_hash != NULL)
		kmem_pages_free(cp->cache_hash, 0);
	spin_lock(&kmem_lock);
	memset(cp, 0, sizeof(*cp)); /* the slot is free again */
	spin_unlock(&kmem_lock);
}

void kmem_reap(void)
{
	spin_lock(&kmem_lock); /* no cache comes or goes during the walk */
	for (kmem_cache_t *cp = kmem_caches; cp != NULL; cp = cp->cache_next) {
		if (cp->cache_reclaim != NULL)
			cp->cache_reclaim(cp->cache_private);
		if (cp->cache_magtype != NULL &&
		    cp->cache_depot_contention >= RESIZE_CONTENTION)
			kmem_cache_magazine_resize(cp);
		cp->cache_depot_contention = 0; /* a new interval */
		kmem_depot_ws_reap(cp);
	}
	for (kmem_cache_t *cp = kmem_caches; cp != NULL; cp = cp->cache_next)
		kmem_cache_reap_slabs(cp);
	spin_unlock(&kmem_lock);
}

static int size_index(size_t size)
{
	for (size_t i = 0; i < NALLOC; i++)
		if (size <= kmem_alloc_sizes[i])
			return (int)i;
	return -1;
}

void *kmem_alloc(size_t size, int kmflags)
{
	int i = size_index(size);

	if (i >= 0)
		return kmem_cache_alloc(kmem_alloc_caches[i], kmflags);
	return kmem_pages_alloc(order_for(size));
}

void *kmem_zalloc(size_t size, int kmflags)
{
	void *buf = kmem_alloc(size, kmflags);

	if (buf != NULL)
		memset(buf, 0, size);
	return buf;
}

void kmem_free(void *buf, size_t size)
{
	int i = size_index(size);

	if (i >= 0)
		kmem_cache_free(kmem_alloc_caches[i], buf);
	else
		kmem_pages_free(buf, order_for(size));
}

void kmem_init(void)
{
	char name[32];

	kmem_slab_cache = kmem_cache_create("kmem_slab_cache",
					    sizeof(kmem_slab_t), 8, NULL, NULL,
					    NULL, NULL, NULL, KMC_NOMAGAZINE);
	kmem_bufctl_cache = kmem_cache_create("kmem_bufctl_cache",
					      sizeof(kmem_bufctl_t), 8, NULL,
					      NULL, NULL, NULL, NULL,
					      KMC_NOMAGAZINE);
	for (int t = 0; t < NMAGTYPES; t++) {
		snprintf(name, sizeof(name), "kmem_magazine_%d",
			 kmem_magsizes[t]);
		kmem_magazine_cache[t] = kmem_cache_create(
		    name, sizeof(kmem_magazine_t) +
			      (size_t)kmem_magsizes[t] * sizeof(void *),
		    64, NULL, NULL, NULL, NULL, NULL, KMC_NOMAGAZINE);
	}
	for (size_t i = 0; i < NALLOC; i++) {
		snprintf(name, sizeof(name), "kmem_alloc_%zu",
			 kmem_alloc_sizes[i]);
		kmem_alloc_caches[i] = kmem_cache_create(
		    name, kmem_alloc_sizes[i], 8, NULL, NULL, NULL, NULL, NULL,
		    0);
	}
}

void kmem_kmastat(void)
{
	/* "in use" counts buffers out of the slabs, magazine rounds too;
	 * slab lk and depot lk count lock acquisitions. */
	kprintf("%-20s %6s %7s %7s %8s %8s %5s %7s %8s\n", "cache", "buf",
		"in use", "total", "memory", "allocs", "fail", "slab lk",
		"depot lk");
	for (kmem_cache_t *cp = kmem_caches; cp != NULL; cp = cp->cache_next) {
		uint64_t allocs = cp->cache_slab_alloc;

		for (int i = 0; i < ncpus; i++)
			allocs += cp->cache_cpu[i].cc_alloc;
		kprintf("%-20s %6zu %7lu %7lu %7luK %8lu %5lu %7lu %8lu\n",
			cp->cache_name, cp->cache_bufsize,
			cp->cache_buftotal - cp->cache_bufslab,
			cp->cache_buftotal,
			((cp->cache_slab_create - cp->cache_slab_destroy) *
			 cp->cache_slabsize) >> 10, allocs,
			cp->cache_alloc_fail, cp->cache_lock_acquires,
			cp->cache_depot_acquires);
	}
}

MONCMD(kmastat, "", "every kmem cache: sizes, buffers, memory, locks")
{
	(void)argc, (void)argv;
	kmem_kmastat();
	return 0;
}
