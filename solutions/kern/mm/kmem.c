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
 *
 * 6. Locking. Per cache, each CPU's magazines have a lock (cc_lock), the
 *    depot has one and the slab layer one (cache_lock); kmem_lock guards
 *    the list of caches. They nest only in this order, which spinlock.h
 *    ranks and spin_lock() checks, panicking at the first inversion:
 *
 *	kmem_lock -> cc_lock -> cache_depot_lock -> cache_lock -> zone_lock
 *
 *    The free path holds its cc_lock while it makes a new magazine; the
 *    magazine caches have no CPU layer, so that takes their cache_lock
 *    (and maybe zone_lock), never a second cc_lock. The depot lock and
 *    cache_lock are leaves: under them kmem calls nothing that locks.
 *    Constructors, destructors and reclaim callbacks run with no kmem
 *    lock held, so they may do anything but destroy their own cache.
 *    kmem.h names the lock of every field.
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

/* Is x a multiple of a, a power of two? */
#define KMEM_ALIGNED(x, a) (((uintptr_t)(x) & ((a) - 1)) == 0)

/* A slab: (S) its cache's cache_lock; (C) set before the slab is listed. */
struct kmem_slab {
	kmem_cache_t *slab_cache;           /* (C) */
	kmem_slab_t *slab_next, *slab_prev; /* (S) on *slab_list */
	void *slab_mem;      /* (C) the slab's pages */
	void *slab_base;     /* (C) its first buffer (after the colour) */
	void *slab_free;     /* (S) small: free buffers; large: free bufctls */
	long slab_refcnt;    /* (S) buffers allocated */
	long slab_chunks;    /* (C) buffers in the slab */
	kmem_slab_t **slab_list; /* (S) the list it is on; NULL: none */
};

/* A large buffer's bookkeeping: (S) its cache's cache_lock; (C) fixed. */
struct kmem_bufctl {
	kmem_bufctl_t *bc_next; /* (S) its slab's free list, or a hash chain */
	void *bc_addr;          /* (C) */
	kmem_slab_t *bc_slab;   /* (C) */
};

/* A debug buffer's tag, its owner's like the buffer (bt_link: (S)). */
struct kmem_buftag {
	uint64_t bt_redzone;
	uint64_t bt_bxstat; /* buffer address ^ FREE_MAGIC or ALLOC_MAGIC */
	void *bt_link;      /* the free-list link, in debug caches */
};

static const int kmem_magsizes[] = { 1, 3, 7, 15, 31, 47, 63, 95, 143 };
#define NMAGTYPES ((int)ARRAY_SIZE(kmem_magsizes))

static kmem_cache_t cache_pool[64]; /* caches are static: no kmem for kmem */
static kmem_cache_t *kmem_caches;   /* (kmem_lock) */
static bool kmem_reaping;           /* (kmem_lock) a kmem_reap() runs */
static spinlock_t kmem_lock = SPINLOCK_INIT("kmem_lock", LR_KMEM);
/* Set by kmem_init(), read-only after. */
static kmem_cache_t *kmem_slab_cache, *kmem_bufctl_cache;
static kmem_cache_t *kmem_magazine_cache[NMAGTYPES];

static const size_t kmem_alloc_sizes[] = {
	8, 16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536,
	2048, 4096,
};
#define NALLOC ARRAY_SIZE(kmem_alloc_sizes)
static kmem_cache_t *kmem_alloc_caches[NALLOC];

/* The buddy order of the smallest block of at least bytes. */
static unsigned kmem_order_for(size_t bytes)
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

/* Give back 2^order pages from kmem_pages_alloc() at va. */
static void kmem_pages_free(void *va, unsigned order)
{
	ASSERT(KMEM_ALIGNED(va, PAGESIZE));
	page_free_pages(pfn_to_page(kpm_pa(va) >> PAGESHIFT), order);
}

/* A debug buffer's tag, just past the buffer rounded to 8 bytes. */
static struct kmem_buftag *kmem_buftag(const kmem_cache_t *cp, void *buf)
{
	ASSERT(cp->cache_flags & KMC_DEBUG);
	return (struct kmem_buftag *)((char *)buf +
				      ROUNDUP(cp->cache_bufsize, 8));
}

/* Where a free buffer keeps its free-list link: just past the object. */
static inline void **kmem_buf_link(const kmem_cache_t *cp, void *buf)
{
	if (cp->cache_flags & KMC_DEBUG)
		return &kmem_buftag(cp, buf)->bt_link;
	return (void **)((char *)buf + ROUNDUP(cp->cache_bufsize, 8));
}

/* Fill size bytes (a multiple of 8) with a 64-bit pattern. */
static void kmem_fill(void *buf, size_t size, uint64_t pattern)
{
	ASSERT(size % 8 == 0);
	for (size_t i = 0; i < size; i += 8)
		*(uint64_t *)((char *)buf + i) = pattern;
}

/* Put a fresh buffer in the debug state "free" (in its slab). */
static inline void kmem_debug_init(kmem_cache_t *cp, void *buf)
{
	struct kmem_buftag *bt = kmem_buftag(cp, buf);

	kmem_fill(buf, ROUNDUP(cp->cache_bufsize, 8), KMEM_FREE_PATTERN);
	bt->bt_redzone = KMEM_REDZONE_PATTERN;
	bt->bt_bxstat = (uint64_t)buf ^ FREE_MAGIC;
}

static void kmem_slab_free(kmem_cache_t *cp, void *buf);

/*
 * Free magazine mp, which came from the magazine cache mtp, and give its
 * first rounds rounds back to cp's slabs. The caller owns mp: it is off
 * every CPU and off the depot.
 */
static void kmem_magazine_destroy(kmem_cache_t *cp, kmem_magazine_t *mp,
				  int rounds, kmem_cache_t *mtp)
{
	ASSERT(mtp->cache_flags & KMC_NOMAGAZINE);
	ASSERT(rounds >= 0 && sizeof(*mp) + (size_t)rounds * sizeof(void *) <=
				      mtp->cache_bufsize);
	for (int i = 0; i < rounds; i++)
		kmem_slab_free(cp, mp->mag_round[i]);
	kmem_cache_free(mtp, mp);
}

/* ---- Slabs: made and destroyed (given) ---- */

/* Small: one-page slabs, header inside, free list through the link. */
static bool kmem_cache_is_small(const kmem_cache_t *cp)
{
	return cp->cache_slaborder == 0 && cp->cache_chunksize <= SMALL_LIMIT;
}

/* Is buf the start of one of sp's chunks? */
static bool kmem_slab_contains(const kmem_cache_t *cp, const kmem_slab_t *sp,
			       const void *buf)
{
	uintptr_t off = (uintptr_t)buf - (uintptr_t)sp->slab_base;

	return (uintptr_t)buf >= (uintptr_t)sp->slab_base &&
	       off / cp->cache_chunksize < (uintptr_t)sp->slab_chunks &&
	       off % cp->cache_chunksize == 0;
}

/*
 * Carve a slab's buffers, construct them, and chain them free. A buffer
 * joins the free chain only once its bookkeeping exists and it is
 * constructed, so a failure leaves only whole buffers to undo.
 */
static int kmem_slab_carve(kmem_cache_t *cp, kmem_slab_t *sp, int kmflags)
{
	ASSERT(sp->slab_list == NULL && sp->slab_free == NULL);
	for (long i = sp->slab_chunks - 1; i >= 0; i--) {
		char *buf = (char *)sp->slab_base + i * cp->cache_chunksize;
		kmem_bufctl_t *bc = NULL;

		if (!kmem_cache_is_small(cp) &&
		    (bc = kmem_cache_alloc(kmem_bufctl_cache, kmflags)) == NULL)
			return -1;
		if (cp->cache_flags & KMC_DEBUG) {
			kmem_debug_init(cp, buf);
		} else if (cp->cache_constructor != NULL &&
			   cp->cache_constructor(buf, cp->cache_private,
						 kmflags)) {
			if (bc != NULL)
				kmem_cache_free(kmem_bufctl_cache, bc);
			return -1;
		}
		if (bc == NULL) {
			*kmem_buf_link(cp, buf) = sp->slab_free;
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

/* Start sp's first buffer at the cache's next colour, in room bytes. */
static void kmem_slab_color(kmem_cache_t *cp, kmem_slab_t *sp, size_t room)
{
	spin_lock(&cp->cache_lock); /* the colour sequence is the cache's */
	ASSERT(cp->cache_color <= cp->cache_maxcolor);
	sp->slab_base = (char *)sp->slab_mem + cp->cache_color;
	sp->slab_chunks = (long)((room - cp->cache_color) / cp->cache_chunksize);
	cp->cache_color += cp->cache_align;
	if (cp->cache_color > cp->cache_maxcolor)
		cp->cache_color = 0;
	spin_unlock(&cp->cache_lock);
	ASSERT(KMEM_ALIGNED(sp->slab_base, cp->cache_align));
	ASSERT(sp->slab_chunks >= 1);
}

/*
 * Destruct a slab's free buffers, free its bookkeeping and give its pages
 * back. sp is on no list and has no buffer allocated. Called without
 * cache_lock: it calls the destructor and frees to other caches.
 */
static void kmem_slab_destroy(kmem_cache_t *cp, kmem_slab_t *sp)
{
	void *f = sp->slab_free;

	ASSERT(!spin_held(&cp->cache_lock));
	ASSERT(sp->slab_cache == cp && sp->slab_list == NULL);
	ASSERT(sp->slab_refcnt == 0);
	while (f != NULL) {
		void *buf = kmem_cache_is_small(cp) ? f
						    : ((kmem_bufctl_t *)f)->bc_addr;
		void *next = kmem_cache_is_small(cp)
				     ? *kmem_buf_link(cp, buf)
				     : ((kmem_bufctl_t *)f)->bc_next;

		ASSERT(kmem_slab_contains(cp, sp, buf));
		if (cp->cache_destructor != NULL &&
		    !(cp->cache_flags & KMC_DEBUG))
			cp->cache_destructor(buf, cp->cache_private);
		if (!kmem_cache_is_small(cp))
			kmem_cache_free(kmem_bufctl_cache, f);
		f = next;
	}
	if (!kmem_cache_is_small(cp))
		kmem_cache_free(kmem_slab_cache, sp);
	kmem_pages_free(sp->slab_mem, cp->cache_slaborder);
}

/*
 * A new slab for cp, on no list, its buffers free and constructed; NULL
 * if there is no memory or a constructor failed. Called without
 * cache_lock: it calls the constructor and allocates from other caches.
 */
static kmem_slab_t *kmem_slab_create(kmem_cache_t *cp, int kmflags)
{
	void *mem = kmem_pages_alloc(cp->cache_slaborder);
	kmem_slab_t *sp;
	size_t room = cp->cache_slabsize;

	ASSERT(!spin_held(&cp->cache_lock));
	if (mem == NULL)
		return NULL;
	ASSERT(KMEM_ALIGNED(mem, PAGESIZE));
	if (kmem_cache_is_small(cp)) {
		sp = (kmem_slab_t *)((char *)mem + PAGESIZE) - 1;
		room -= sizeof(*sp);
	} else if ((sp = kmem_cache_alloc(kmem_slab_cache, kmflags)) == NULL) {
		kmem_pages_free(mem, cp->cache_slaborder);
		return NULL;
	}
	memset(sp, 0, sizeof(*sp));
	sp->slab_cache = cp;
	sp->slab_mem = mem;
	kmem_slab_color(cp, sp, room);
	if (kmem_slab_carve(cp, sp, kmflags) != 0) {
		kmem_slab_destroy(cp, sp); /* never counted as made */
		return NULL;
	}
	return sp;
}

#if SOL >= 4
/* ---- Part A: the slab layer (cache_lock) ---- */

/* Take sp off the list it is on (cache_lock held). */
static void kmem_slab_unlink(kmem_slab_t *sp)
{
	ASSERT(spin_held(&sp->slab_cache->cache_lock));
	ASSERT(sp->slab_list != NULL);
	ASSERT(sp->slab_prev != NULL ? sp->slab_prev->slab_next == sp
				     : *sp->slab_list == sp);
	ASSERT(sp->slab_next == NULL || sp->slab_next->slab_prev == sp);
	if (sp->slab_prev != NULL)
		sp->slab_prev->slab_next = sp->slab_next;
	else
		*sp->slab_list = sp->slab_next;
	if (sp->slab_next != NULL)
		sp->slab_next->slab_prev = sp->slab_prev;
	sp->slab_next = sp->slab_prev = NULL;
	sp->slab_list = NULL;
}

/* Put sp, on no list, at the head of *list (cache_lock held). */
static void kmem_slab_link(kmem_slab_t *sp, kmem_slab_t **list)
{
	ASSERT(spin_held(&sp->slab_cache->cache_lock));
	ASSERT(sp->slab_list == NULL);
	ASSERT(*list == NULL || (*list)->slab_prev == NULL);
	sp->slab_list = list;
	sp->slab_prev = NULL;
	sp->slab_next = *list;
	if (*list != NULL)
		(*list)->slab_prev = sp;
	*list = sp;
}

/* Move sp to the list its refcount says: empty, partial or full. */
static void kmem_slab_relist(kmem_cache_t *cp, kmem_slab_t *sp)
{
	kmem_slab_t **want;

	ASSERT(spin_held(&cp->cache_lock));
	ASSERT(sp->slab_cache == cp);
	ASSERT(sp->slab_refcnt >= 0 && sp->slab_refcnt <= sp->slab_chunks);
	if (sp->slab_refcnt == 0)
		want = &cp->cache_empty;
	else if (sp->slab_refcnt == sp->slab_chunks)
		want = &cp->cache_full;
	else
		want = &cp->cache_partial;
	if (sp->slab_list != want) {
		kmem_slab_unlink(sp);
		kmem_slab_link(sp, want);
	}
}

/* The hash chain of a large buffer's bufctl. */
static size_t kmem_hash_index(const kmem_cache_t *cp, const void *buf)
{
	ASSERT(cp->cache_hash != NULL);
	return ((uintptr_t)buf / cp->cache_chunksize) & cp->cache_hash_mask;
}

/* Count a new slab's buffers and put it on the empty list. */
static void kmem_slab_add(kmem_cache_t *cp, kmem_slab_t *sp)
{
	ASSERT(spin_held(&cp->cache_lock));
	ASSERT(sp->slab_cache == cp && sp->slab_refcnt == 0);
	cp->cache_buftotal += (uint64_t)sp->slab_chunks;
	cp->cache_bufslab += (uint64_t)sp->slab_chunks;
	cp->cache_slab_create++;
	kmem_slab_link(sp, &cp->cache_empty);
}

/* Take a free buffer from sp (cache_lock held). */
static void *kmem_slab_take(kmem_cache_t *cp, kmem_slab_t *sp)
{
	void *buf;

	ASSERT(spin_held(&cp->cache_lock));
	ASSERT(sp->slab_free != NULL && sp->slab_refcnt < sp->slab_chunks);
	ASSERT(cp->cache_bufslab > 0);
	if (kmem_cache_is_small(cp)) {
		buf = sp->slab_free;
		sp->slab_free = *kmem_buf_link(cp, buf);
	} else {
		kmem_bufctl_t *bc = sp->slab_free;
		size_t h = kmem_hash_index(cp, bc->bc_addr);

		ASSERT(bc->bc_slab == sp);
		sp->slab_free = bc->bc_next;
		bc->bc_next = cp->cache_hash[h];
		cp->cache_hash[h] = bc;
		buf = bc->bc_addr;
	}
	ASSERT(kmem_slab_contains(cp, sp, buf));
	sp->slab_refcnt++;
	cp->cache_bufslab--;
	kmem_slab_relist(cp, sp);
	return buf;
}

/* A buffer from cp's slabs, making a slab if none has one; or NULL. */
static void *kmem_slab_alloc(kmem_cache_t *cp, int kmflags)
{
	kmem_slab_t *sp;
	void *buf;

	spin_lock(&cp->cache_lock);
	cp->cache_lock_acquires++;
	sp = cp->cache_partial != NULL ? cp->cache_partial : cp->cache_empty;
	if (sp == NULL) {
		spin_unlock(&cp->cache_lock);
		sp = kmem_slab_create(cp, kmflags);
		if (sp == NULL)
			return NULL;
		spin_lock(&cp->cache_lock);
		kmem_slab_add(cp, sp);
	}
	ASSERT(sp->slab_list == &cp->cache_partial ||
	       sp->slab_list == &cp->cache_empty);
	cp->cache_slab_alloc++;
	buf = kmem_slab_take(cp, sp);
	spin_unlock(&cp->cache_lock);
	return buf;
}

/* The slab of a small buffer: the header at the end of its page. */
static kmem_slab_t *kmem_small_slab(void *buf)
{
	return (kmem_slab_t *)(ROUNDDOWN((uintptr_t)buf, PAGESIZE) +
			       PAGESIZE) - 1;
}

/* Find and unhash a large buffer's bufctl (cache_lock held). */
static kmem_bufctl_t *kmem_bufctl_unhash(kmem_cache_t *cp, void *buf)
{
	kmem_bufctl_t **pp = &cp->cache_hash[kmem_hash_index(cp, buf)];

	ASSERT(spin_held(&cp->cache_lock));
	for (; *pp != NULL; pp = &(*pp)->bc_next) {
		kmem_bufctl_t *bc = *pp;

		if (bc->bc_addr == buf) {
			ASSERT(bc->bc_slab->slab_cache == cp);
			*pp = bc->bc_next;
			return bc;
		}
	}
	panic("kmem_slab_free: %s: buffer %p was not allocated from it",
	      cp->cache_name, buf);
}

/* Put buf back in its slab. Panics if it is not one of cp's. */
static void kmem_slab_free(kmem_cache_t *cp, void *buf)
{
	kmem_slab_t *sp;

	ASSERT(buf != NULL);
	spin_lock(&cp->cache_lock);
	cp->cache_lock_acquires++;
	if (kmem_cache_is_small(cp)) {
		sp = kmem_small_slab(buf);
		if (sp->slab_cache != cp)
			panic("kmem_slab_free: %s: buffer %p is not this "
			      "cache's", cp->cache_name, buf);
		ASSERT(kmem_slab_contains(cp, sp, buf));
		*kmem_buf_link(cp, buf) = sp->slab_free;
		sp->slab_free = buf;
	} else {
		kmem_bufctl_t *bc = kmem_bufctl_unhash(cp, buf);

		sp = bc->bc_slab;
		bc->bc_next = sp->slab_free;
		sp->slab_free = bc;
	}
	ASSERT(sp->slab_refcnt > 0);
	sp->slab_refcnt--;
	cp->cache_bufslab++;
	cp->cache_slab_free++;
	kmem_slab_relist(cp, sp);
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
			ASSERT(sp->slab_refcnt == 0);
			ASSERT(cp->cache_bufslab >= (uint64_t)sp->slab_chunks);
			kmem_slab_unlink(sp);
			cp->cache_buftotal -= (uint64_t)sp->slab_chunks;
			cp->cache_bufslab -= (uint64_t)sp->slab_chunks;
			cp->cache_slab_destroy++;
		}
		spin_unlock(&cp->cache_lock);
		if (sp == NULL)
			return;
		kmem_slab_destroy(cp, sp);
	}
}

/* ---- Part C: the depot (cache_depot_lock) ---- */

/* Take cp's depot lock; count the acquisition, and apart if it waited. */
static void kmem_depot_lock(kmem_cache_t *cp)
{
	bool contended = !spin_trylock(&cp->cache_depot_lock);

	if (contended)
		spin_lock(&cp->cache_depot_lock);
	cp->cache_depot_contention += contended;
	cp->cache_depot_acquires++;
}

/* Is mlp one of cp's two depot lists, in order, and do we hold the lock? */
static bool kmem_maglist_ok(const kmem_cache_t *cp, const kmem_maglist_t *mlp)
{
	return spin_held(&cp->cache_depot_lock) &&
	       (mlp == &cp->cache_full_mags || mlp == &cp->cache_empty_mags) &&
	       mlp->ml_min <= mlp->ml_total &&
	       (mlp->ml_list == NULL) == (mlp->ml_total == 0);
}

/* Take a magazine from a depot list, or NULL. */
static kmem_magazine_t *kmem_depot_alloc(kmem_cache_t *cp,
					 kmem_maglist_t *mlp)
{
	kmem_magazine_t *mp;

	kmem_depot_lock(cp);
	ASSERT(kmem_maglist_ok(cp, mlp));
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

/* Put magazine mp, full or empty as mlp says, on a depot list. */
static void kmem_depot_free(kmem_cache_t *cp, kmem_maglist_t *mlp,
			    kmem_magazine_t *mp)
{
	ASSERT(mp != NULL);
	kmem_depot_lock(cp);
	ASSERT(kmem_maglist_ok(cp, mlp));
	ASSERT(cp->cache_magsize > 0);
	mp->mag_next = mlp->ml_list;
	mlp->ml_list = mp;
	mlp->ml_total++;
	spin_unlock(&cp->cache_depot_lock);
}

/*
 * Free the magazines each depot list did not need since the last reap
 * (its low-water mark), then start a new interval. Only kmem_reap() calls
 * it, and only kmem_reap() changes the magazine type, so the type read
 * here is that of every magazine taken.
 */
static void kmem_depot_ws_reap(kmem_cache_t *cp)
{
	long full, empty;
	kmem_cache_t *mtp;
	int magsize;
	kmem_magazine_t *mp;

	spin_lock(&cp->cache_depot_lock);
	full = cp->cache_full_mags.ml_min;
	empty = cp->cache_empty_mags.ml_min;
	mtp = cp->cache_magtype;
	magsize = cp->cache_magsize;
	spin_unlock(&cp->cache_depot_lock);
	ASSERT(mtp != NULL || (full == 0 && empty == 0));
	while (full-- > 0 &&
	       (mp = kmem_depot_alloc(cp, &cp->cache_full_mags)) != NULL)
		kmem_magazine_destroy(cp, mp, magsize, mtp);
	while (empty-- > 0 &&
	       (mp = kmem_depot_alloc(cp, &cp->cache_empty_mags)) != NULL)
		kmem_magazine_destroy(cp, mp, 0, mtp);
	spin_lock(&cp->cache_depot_lock);
	ASSERT(cp->cache_magsize == magsize);
	cp->cache_full_mags.ml_min = cp->cache_full_mags.ml_total;
	cp->cache_empty_mags.ml_min = cp->cache_empty_mags.ml_total;
	spin_unlock(&cp->cache_depot_lock);
}

/* ---- Part B: the per-CPU magazine layer (cc_lock) ---- */

/* Load mp (full or empty); the loaded magazine becomes the previous. */
static void kmem_cpu_load(kmem_cpu_cache_t *ccp, kmem_magazine_t *mp,
			  int rounds)
{
	ASSERT(spin_held(&ccp->cc_lock));
	ASSERT(rounds == 0 || rounds == ccp->cc_magsize);
	ASSERT(ccp->cc_rounds == 0 || ccp->cc_rounds == ccp->cc_magsize);
	ccp->cc_ploaded = ccp->cc_loaded;
	ccp->cc_prounds = ccp->cc_rounds;
	ccp->cc_loaded = mp;
	ccp->cc_rounds = rounds;
}

/* Exchange the loaded and the previous magazine. */
static void kmem_cpu_swap(kmem_cpu_cache_t *ccp)
{
	kmem_magazine_t *m = ccp->cc_loaded;
	int r = ccp->cc_rounds;

	ASSERT(spin_held(&ccp->cc_lock));
	ASSERT(ccp->cc_prounds == 0 || ccp->cc_prounds == ccp->cc_magsize);
	ccp->cc_loaded = ccp->cc_ploaded;
	ccp->cc_rounds = ccp->cc_prounds;
	ccp->cc_ploaded = m;
	ccp->cc_prounds = r;
}

/* A round from this CPU's magazines or the depot; NULL: go to slabs. */
static void *kmem_cpu_alloc(kmem_cache_t *cp, kmem_cpu_cache_t *ccp)
{
	ASSERT(spin_held(&ccp->cc_lock));
	for (;;) {
		kmem_magazine_t *fmp;

		ASSERT(ccp->cc_rounds >= 0 &&
		       ccp->cc_rounds <= ccp->cc_magsize);
		if (ccp->cc_rounds > 0) {
			ccp->cc_alloc++;
			return ccp->cc_loaded->mag_round[--ccp->cc_rounds];
		}
		if (ccp->cc_prounds > 0) {
			kmem_cpu_swap(ccp);
			continue;
		}
		if (ccp->cc_magsize == 0 ||
		    (fmp = kmem_depot_alloc(cp, &cp->cache_full_mags)) == NULL)
			return NULL;
		if (ccp->cc_ploaded != NULL)
			kmem_depot_free(cp, &cp->cache_empty_mags,
					ccp->cc_ploaded);
		kmem_cpu_load(ccp, fmp, ccp->cc_magsize);
	}
}

/*
 * Keep buf in this CPU's magazines; false: give it to the slab layer. A
 * new magazine comes from cc_magtype under cc_lock: a magazine cache has
 * no CPU layer, so that takes its cache_lock, never another cc_lock.
 */
static bool kmem_cpu_free(kmem_cache_t *cp, kmem_cpu_cache_t *ccp, void *buf)
{
	ASSERT(spin_held(&ccp->cc_lock));
	ASSERT(buf != NULL); /* it would be a round that reads as "none" */
	for (;;) {
		kmem_magazine_t *emp;

		ASSERT(ccp->cc_rounds >= 0 &&
		       ccp->cc_rounds <= ccp->cc_magsize);
		if (ccp->cc_loaded != NULL && ccp->cc_rounds < ccp->cc_magsize) {
			ccp->cc_free++;
			ccp->cc_loaded->mag_round[ccp->cc_rounds++] = buf;
			return true;
		}
		if (ccp->cc_ploaded != NULL && ccp->cc_prounds == 0) {
			kmem_cpu_swap(ccp);
			continue;
		}
		if (ccp->cc_magsize == 0)
			return false;
		ASSERT(ccp->cc_magtype != NULL);
		emp = kmem_depot_alloc(cp, &cp->cache_empty_mags);
		if (emp == NULL &&
		    (emp = kmem_cache_alloc(ccp->cc_magtype, KM_NOSLEEP)) == NULL)
			return false;
		if (ccp->cc_ploaded != NULL)
			kmem_depot_free(cp, &cp->cache_full_mags,
					ccp->cc_ploaded);
		kmem_cpu_load(ccp, emp, 0);
	}
}
#else
/*
 * Lab 4: the three parts below are stubs. Part A, the slab layer:
 * kmem_slab_alloc, kmem_slab_free, kmem_cache_reap_slabs. Part B, the
 * magazine layer: kmem_cpu_alloc, kmem_cpu_free. Part C, the depot:
 * kmem_depot_ws_reap, and kmem_depot_lock, kmem_depot_alloc and
 * kmem_depot_free, which Part B uses.
 */
static void *kmem_slab_alloc(kmem_cache_t *cp, int kmflags)
{
	(void)cp, (void)kmflags, (void)kmem_slab_create;
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

/* A debug buffer leaves the cache: free and untouched, now 0xbaddcafe. */
static void kmem_debug_alloc(kmem_cache_t *cp, void *buf)
{
	struct kmem_buftag *bt = kmem_buftag(cp, buf);
	size_t size = ROUNDUP(cp->cache_bufsize, 8);

	if (bt->bt_bxstat != ((uint64_t)buf ^ FREE_MAGIC))
		panic("kmem_cache_alloc: %s: buffer %p has a corrupt tag",
		      cp->cache_name, buf);
	for (size_t off = 0; off + 8 <= size; off += 8)
		if (*(uint64_t *)((char *)buf + off) != KMEM_FREE_PATTERN)
			panic("kmem_cache_alloc: %s: buffer %p modified after "
			      "free (offset %#zx)", cp->cache_name, buf, off);
	bt->bt_bxstat = (uint64_t)buf ^ ALLOC_MAGIC;
	kmem_fill(buf, size, KMEM_UNINIT_PATTERN);
}

/* A debug buffer comes back: allocated, redzone whole, now 0xdeadbeef. */
static void kmem_debug_free(kmem_cache_t *cp, void *buf)
{
	struct kmem_buftag *bt = kmem_buftag(cp, buf);

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
	kmem_fill(buf, ROUNDUP(cp->cache_bufsize, 8), KMEM_FREE_PATTERN);
	bt->bt_bxstat = (uint64_t)buf ^ FREE_MAGIC;
}

/* ---- The interface ---- */

#if LAB >= 6
static long kmem_fail_after = -1; /* fault injection for the tests */

void kmem_inject_failure(long after)
{
	ASSERT(after >= -1);
	__atomic_store_n(&kmem_fail_after, after, __ATOMIC_RELAXED);
}

/* Is this the allocation to fail? Counts down; fires once, then disarms. */
static bool kmem_injected_failure(void)
{
	long n = __atomic_load_n(&kmem_fail_after, __ATOMIC_RELAXED);

	do {
		if (n < 0)
			return false;
	} while (!__atomic_compare_exchange_n(&kmem_fail_after, &n,
					      n == 0 ? -1 : n - 1, false,
					      __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return n == 0;
}
#endif

/*
 * A constructed buffer of the live cache cp, aligned to cache_align, or
 * NULL when no memory is left (kmflags: KM_SLEEP or KM_NOSLEEP, and
 * neither sleeps). Takes this CPU's cc_lock, maybe the depot lock, then
 * cache_lock and zone_lock, so the caller may hold spinlocks only of a
 * rank below LR_KMEM. The magazine caches (KMC_NOMAGAZINE) skip the CPU
 * layer and its cc_lock: that is what lets kmem_cpu_free() make a
 * magazine while it holds a cc_lock. A debug cache panics if the buffer
 * was written while free.
 */
void *kmem_cache_alloc(kmem_cache_t *cp, int kmflags)
{
	void *buf = NULL;

	ASSERT(cp->cache_bufsize != 0); /* a live cache, not a free slot */
	ASSERT((kmflags & ~KM_NOSLEEP) == 0);
#if LAB >= 6
	if (!(cp->cache_flags & KMC_NOMAGAZINE) && kmem_injected_failure())
		return NULL;
#endif
	if (!(cp->cache_flags & KMC_NOMAGAZINE)) {
		kmem_cpu_cache_t *ccp = &cp->cache_cpu[curcpu()->cpu_id];

		spin_lock(&ccp->cc_lock);
		buf = kmem_cpu_alloc(cp, ccp);
		spin_unlock(&ccp->cc_lock);
	}
	if (buf == NULL)
		buf = kmem_slab_alloc(cp, kmflags);
	if (buf == NULL) {
		__atomic_add_fetch(&cp->cache_alloc_fail, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	ASSERT(KMEM_ALIGNED(buf, cp->cache_align));
	if (cp->cache_flags & KMC_DEBUG)
		kmem_debug_alloc(cp, buf);
	return buf;
}

/*
 * Give buf, from cp and in its constructed state, back to cp: the CPU
 * layer keeps it if it can, else its slab does. Locks as
 * kmem_cache_alloc(). Panics if buf is not one of cp's buffers; a debug
 * cache also on a double free or a write past the buffer.
 */
void kmem_cache_free(kmem_cache_t *cp, void *buf)
{
	bool kept = false;

	ASSERT(cp->cache_bufsize != 0);
	ASSERT(KMEM_ALIGNED(buf, cp->cache_align));
	if (cp->cache_flags & KMC_DEBUG)
		kmem_debug_free(cp, buf);
	if (!(cp->cache_flags & KMC_NOMAGAZINE)) {
		kmem_cpu_cache_t *ccp = &cp->cache_cpu[curcpu()->cpu_id];

		spin_lock(&ccp->cc_lock);
		kept = kmem_cpu_free(cp, ccp, buf);
		spin_unlock(&ccp->cc_lock);
	}
	if (!kept)
		kmem_slab_free(cp, buf);
}

/* The slab geometry: chunk size, slab order, colour range. */
static void kmem_cache_geometry(kmem_cache_t *cp)
{
	size_t tail = cp->cache_flags & KMC_DEBUG ? sizeof(struct kmem_buftag)
						   : sizeof(void *);
	size_t chunk = ROUNDUP(ROUNDUP(cp->cache_bufsize, 8) + tail,
			       cp->cache_align);
	size_t room;

	cp->cache_chunksize = chunk;
	cp->cache_slaborder = chunk <= SMALL_LIMIT
				      ? 0
				      : kmem_order_for(chunk * SLAB_MIN_BUFS);
	cp->cache_slabsize = PAGESIZE << cp->cache_slaborder;
	room = cp->cache_slabsize -
	       (chunk <= SMALL_LIMIT ? sizeof(kmem_slab_t) : 0);
	cp->cache_maxcolor = room % chunk;
	ASSERT(room / chunk >= 1);
}

/* The rung of the magazine ladder a new cache of chunk bytes starts on. */
static int kmem_magtype_for(size_t chunk)
{
	return chunk <= 64 ? 3 : chunk <= 512 ? 2 : 1;
}

/* The rung of magazines of magsize rounds, or -1 (0: no magazines). */
static int kmem_magtype_index(int magsize)
{
	for (int t = 0; t < NMAGTYPES; t++)
		if (kmem_magsizes[t] == magsize)
			return t;
	ASSERT(magsize == 0);
	return -1;
}

/* A free slot of cache_pool, taken for a cache called name. */
static kmem_cache_t *kmem_cache_slot(const char *name, size_t bufsize)
{
	kmem_cache_t *cp = NULL;

	spin_lock(&kmem_lock);
	for (size_t i = 0; i < ARRAY_SIZE(cache_pool) && cp == NULL; i++)
		if (cache_pool[i].cache_bufsize == 0)
			cp = &cache_pool[i];
	if (cp == NULL)
		panic("kmem_cache_create: %s: no room for another cache", name);
	memset(cp, 0, sizeof(*cp));
	cp->cache_bufsize = bufsize; /* the slot is taken */
	spin_unlock(&kmem_lock);
	return cp;
}

/* Give cp its magazine type, its hash and its CPUs' locks. */
static void kmem_cache_layers(kmem_cache_t *cp)
{
	if (!(cp->cache_flags & KMC_NOMAGAZINE)) {
		int t = kmem_magtype_for(cp->cache_chunksize);

		ASSERT(kmem_magazine_cache[t] != NULL); /* after kmem_init */
		cp->cache_magtype = kmem_magazine_cache[t];
		cp->cache_magsize = kmem_magsizes[t];
	}
	if (cp->cache_chunksize > SMALL_LIMIT) {
		cp->cache_hash = kmem_pages_alloc(0);
		if (cp->cache_hash == NULL)
			panic("kmem_cache_create: %s: no page for its hash",
			      cp->cache_name);
		memset(cp->cache_hash, 0, PAGESIZE);
		cp->cache_hash_mask = PAGESIZE / sizeof(void *) - 1;
	}
	for (int i = 0; i < NCPU; i++) {
		spin_init(&cp->cache_cpu[i].cc_lock, "cc_lock", LR_KMEM_CPU);
		cp->cache_cpu[i].cc_magtype = cp->cache_magtype;
		cp->cache_cpu[i].cc_magsize = cp->cache_magsize;
	}
}

/*
 * A new cache of size-byte buffers aligned to align (a power of two up to
 * PAGESIZE, 0 for 8), with the constructor, destructor and reclaim
 * callbacks of kmem.h and cflags KMC_NOMAGAZINE or KMC_DEBUG. Call it
 * after kmem_init(), which makes the magazine caches this one may use.
 * Takes kmem_lock; the cache joins kmem_caches only once it is complete. Panics if cache_pool is full, if a debug cache gets a
 * constructor or destructor, or if a large cache gets no hash page.
 */
kmem_cache_t *kmem_cache_create(const char *name, size_t size, size_t align,
				int (*constructor)(void *, void *, int),
				void (*destructor)(void *, void *),
				void (*reclaim)(void *), void *priv,
				void *vmp, unsigned cflags)
{
	kmem_cache_t *cp;

	(void)vmp;
	ASSERT(name != NULL);
	ASSERT((align & (align - 1)) == 0 && align <= PAGESIZE);
	ASSERT((cflags & ~(KMC_NOMAGAZINE | KMC_DEBUG)) == 0);
	if ((cflags & KMC_DEBUG) && (constructor != NULL || destructor != NULL))
		panic("kmem_cache_create: %s: a KMC_DEBUG cache fills its "
		      "buffers with patterns, so it takes no constructor", name);
	cp = kmem_cache_slot(name, MAX(size, sizeof(void *)));
	strlcpy(cp->cache_name, name, sizeof(cp->cache_name));
	cp->cache_align = MAX(align, sizeof(void *));
	cp->cache_flags = cflags;
	cp->cache_constructor = constructor;
	cp->cache_destructor = destructor;
	cp->cache_reclaim = reclaim;
	cp->cache_private = priv;
	spin_init(&cp->cache_lock, "cache_lock", LR_KMEM_SLAB);
	spin_init(&cp->cache_depot_lock, "cache_depot_lock", LR_KMEM_DEPOT);
	kmem_cache_geometry(cp);
	kmem_cache_layers(cp);
	spin_lock(&kmem_lock);
	cp->cache_next = kmem_caches;
	kmem_caches = cp;
	spin_unlock(&kmem_lock);
	return cp;
}

/*
 * Take every CPU's magazines of cp and free them with their rounds; each
 * CPU's magazines come from mtp, magsize rounds each, from now on (NULL
 * and 0 switch its layer off). Each CPU changes under its own lock, so
 * none ever fills a magazine of the wrong size.
 */
static void kmem_cpu_purge(kmem_cache_t *cp, kmem_cache_t *mtp, int magsize)
{
	ASSERT((mtp == NULL) == (magsize == 0));
	for (int i = 0; i < ncpus; i++) {
		kmem_cpu_cache_t *ccp = &cp->cache_cpu[i];
		kmem_magazine_t *mp[2];
		int rounds[2];
		kmem_cache_t *old;

		spin_lock(&ccp->cc_lock);
		mp[0] = ccp->cc_loaded, rounds[0] = ccp->cc_rounds;
		mp[1] = ccp->cc_ploaded, rounds[1] = ccp->cc_prounds;
		old = ccp->cc_magtype;
		ccp->cc_loaded = ccp->cc_ploaded = NULL;
		ccp->cc_rounds = ccp->cc_prounds = 0;
		ccp->cc_magtype = mtp;
		ccp->cc_magsize = magsize;
		spin_unlock(&ccp->cc_lock);
		for (int m = 0; m < 2; m++)
			if (mp[m] != NULL)
				kmem_magazine_destroy(cp, mp[m], rounds[m], old);
	}
}

/* Empty the depot list mlp; its magazines, chained (depot lock held). */
static kmem_magazine_t *kmem_depot_take_all(kmem_cache_t *cp,
					    kmem_maglist_t *mlp)
{
	kmem_magazine_t *mp = mlp->ml_list;

	ASSERT(spin_held(&cp->cache_depot_lock));
	ASSERT((mp == NULL) == (mlp->ml_total == 0));
	mlp->ml_list = NULL;
	mlp->ml_total = mlp->ml_min = 0;
	return mp;
}

/* Give back every magazine in the depot, with its rounds. */
static void kmem_depot_purge(kmem_cache_t *cp)
{
	kmem_magazine_t *mp[2];
	kmem_cache_t *mtp;
	int magsize;

	spin_lock(&cp->cache_depot_lock);
	mp[0] = kmem_depot_take_all(cp, &cp->cache_full_mags);
	mp[1] = kmem_depot_take_all(cp, &cp->cache_empty_mags);
	mtp = cp->cache_magtype;
	magsize = cp->cache_magsize;
	spin_unlock(&cp->cache_depot_lock);
	for (int m = 0; m < 2; m++)
		while (mp[m] != NULL) {
			kmem_magazine_t *next = mp[m]->mag_next;

			kmem_magazine_destroy(cp, mp[m], m == 0 ? magsize : 0,
					      mtp);
			mp[m] = next;
		}
}

/*
 * Bigger magazines for a cache whose depot lock was contended: switch the
 * CPUs' magazine layer off while the old-size magazines are freed (to
 * their own magazine cache), step up the ladder under the depot lock, and
 * switch the layer on again. Only kmem_reap() calls it, one at a time.
 */
static void kmem_cache_magazine_resize(kmem_cache_t *cp)
{
	int t;

	spin_lock(&cp->cache_depot_lock);
	t = kmem_magtype_index(cp->cache_magsize);
	spin_unlock(&cp->cache_depot_lock);
	if (t < 0 || t == NMAGTYPES - 1)
		return;
	kmem_cpu_purge(cp, NULL, 0);
	kmem_depot_purge(cp);
	spin_lock(&cp->cache_depot_lock);
	/* No CPU has a magazine layer now, so none refilled the depot. */
	ASSERT(cp->cache_full_mags.ml_total == 0);
	ASSERT(cp->cache_empty_mags.ml_total == 0);
	cp->cache_magtype = kmem_magazine_cache[t + 1];
	cp->cache_magsize = kmem_magsizes[t + 1];
	spin_unlock(&cp->cache_depot_lock);
	kmem_cpu_purge(cp, kmem_magazine_cache[t + 1], kmem_magsizes[t + 1]);
}

/* Take cp off the list of caches, once no reap is working on it. */
static void kmem_cache_unlist(kmem_cache_t *cp)
{
	kmem_cache_t **pp;

	spin_lock(&kmem_lock);
	while (cp->cache_busy) {
		spin_unlock(&kmem_lock);
		__builtin_ia32_pause(); /* let the reaper take kmem_lock */
		spin_lock(&kmem_lock);
	}
	for (pp = &kmem_caches; *pp != cp; pp = &(*pp)->cache_next)
		ASSERT(*pp != NULL); /* cp is on the list */
	*pp = cp->cache_next;
	spin_unlock(&kmem_lock);
}

/*
 * Free every magazine, slab and page of cp, then its slot in cache_pool.
 * Every buffer must be back: panics "buffers still allocated" otherwise.
 * Waits while kmem_reap() works on cp, so it must not be called from
 * cp's own reclaim callback; call it with no kmem lock held.
 */
void kmem_cache_destroy(kmem_cache_t *cp)
{
	bool leftover;

	ASSERT(cp >= cache_pool && cp < cache_pool + ARRAY_SIZE(cache_pool));
	ASSERT(cp->cache_bufsize != 0);
	kmem_cache_unlist(cp);
	kmem_cpu_purge(cp, NULL, 0);
	kmem_depot_purge(cp);
	kmem_cache_reap_slabs(cp);
	spin_lock(&cp->cache_lock);
	leftover = cp->cache_partial != NULL || cp->cache_full != NULL;
	ASSERT(leftover || (cp->cache_buftotal == 0 && cp->cache_bufslab == 0));
	spin_unlock(&cp->cache_lock);
	if (leftover)
		panic("kmem_cache_destroy: %s: buffers still allocated",
		      cp->cache_name);
	if (cp->cache_hash != NULL)
		kmem_pages_free(cp->cache_hash, 0);
	spin_lock(&kmem_lock);
	memset(cp, 0, sizeof(*cp)); /* the slot is free again */
	spin_unlock(&kmem_lock);
}

/*
 * Call fn on every cache, with no lock held: the cache fn works on is
 * marked busy meanwhile, so kmem_cache_destroy() waits for it, and the
 * walk goes on from a cache that is still on the list.
 */
static void kmem_cache_walk(void (*fn)(kmem_cache_t *))
{
	spin_lock(&kmem_lock);
	ASSERT(kmem_reaping);
	for (kmem_cache_t *cp = kmem_caches; cp != NULL; cp = cp->cache_next) {
		ASSERT(!cp->cache_busy); /* one walker: kmem_reaping */
		cp->cache_busy = true;
		spin_unlock(&kmem_lock);
		fn(cp);
		spin_lock(&kmem_lock);
		cp->cache_busy = false;
	}
	spin_unlock(&kmem_lock);
}

/*
 * One cache's part of a reap, before any slab is reaped: its client's
 * reclaim callback, a resize if the depot was contended since the last
 * reap, then the depot's working set.
 */
static void kmem_cache_reap_magazines(kmem_cache_t *cp)
{
	bool grow;

	if (cp->cache_reclaim != NULL) {
		ASSERT(spin_nheld() == 0);
		cp->cache_reclaim(cp->cache_private);
	}
	spin_lock(&cp->cache_depot_lock);
	grow = cp->cache_magtype != NULL &&
	       cp->cache_depot_contention >= RESIZE_CONTENTION;
	cp->cache_depot_contention = 0; /* a new interval */
	spin_unlock(&cp->cache_depot_lock);
	if (grow)
		kmem_cache_magazine_resize(cp);
	kmem_depot_ws_reap(cp);
}

/*
 * Give back what no cache needs (kmem.h). Call with no spinlock held: it
 * calls reclaim callbacks. If another CPU is reaping, returns at once.
 * The slabs are reaped in a second walk, once every cache's magazines
 * went back: their rounds empty slabs of every cache, and the magazines
 * themselves the magazine caches' slabs.
 */
void kmem_reap(void)
{
	ASSERT(spin_nheld() == 0);
	spin_lock(&kmem_lock);
	if (kmem_reaping) {
		spin_unlock(&kmem_lock);
		return;
	}
	kmem_reaping = true;
	spin_unlock(&kmem_lock);
	kmem_cache_walk(kmem_cache_reap_magazines);
	kmem_cache_walk(kmem_cache_reap_slabs);
	spin_lock(&kmem_lock);
	kmem_reaping = false;
	spin_unlock(&kmem_lock);
}

/* The size class of size bytes, or -1 past the largest. */
static int kmem_size_index(size_t size)
{
	for (size_t i = 0; i < NALLOC; i++)
		if (size <= kmem_alloc_sizes[i])
			return (int)i;
	return -1;
}

/*
 * size bytes, 8-byte aligned, from the smallest kmem_alloc_N cache that
 * fits, or whole pages (page-aligned) past 4096 bytes; NULL if no memory
 * is left. Locks as kmem_cache_alloc().
 */
void *kmem_alloc(size_t size, int kmflags)
{
	int i = kmem_size_index(size);

	if (i >= 0)
		return kmem_cache_alloc(kmem_alloc_caches[i], kmflags);
	return kmem_pages_alloc(kmem_order_for(size));
}

/* kmem_alloc(size, kmflags), its size bytes zeroed; NULL as it. */
void *kmem_zalloc(size_t size, int kmflags)
{
	void *buf = kmem_alloc(size, kmflags);

	if (buf != NULL)
		memset(buf, 0, size);
	return buf;
}

/*
 * Free buf, from kmem_alloc() or kmem_zalloc() of size bytes (the same
 * size, which picks the cache). Panics as kmem_cache_free().
 */
void kmem_free(void *buf, size_t size)
{
	int i = kmem_size_index(size);

	ASSERT(buf != NULL);
	if (i >= 0)
		kmem_cache_free(kmem_alloc_caches[i], buf);
	else
		kmem_pages_free(buf, kmem_order_for(size));
}

/*
 * Make the slab, bufctl and magazine caches, then the kmem_alloc_N size
 * classes. Call once, after page_init(), before any other kmem function.
 * The magazine caches come before any cache that uses them.
 */
void kmem_init(void)
{
	char name[32];

	ASSERT(kmem_caches == NULL);
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

/* One cache's kmastat figures. */
struct kmem_stat {
	uint64_t inuse, total, kbytes, allocs, fail, slablk, depotlk;
};

/* cp's figures, each read under the lock that guards it (kmem_lock held,
 * so cp cannot be destroyed meanwhile). */
static void kmem_cache_stat(kmem_cache_t *cp, struct kmem_stat *st)
{
	ASSERT(spin_held(&kmem_lock));
	spin_lock(&cp->cache_lock);
	st->total = cp->cache_buftotal;
	st->inuse = cp->cache_buftotal - cp->cache_bufslab;
	st->kbytes = ((cp->cache_slab_create - cp->cache_slab_destroy) *
		      cp->cache_slabsize) >> 10;
	st->allocs = cp->cache_slab_alloc;
	st->slablk = cp->cache_lock_acquires;
	spin_unlock(&cp->cache_lock);
	spin_lock(&cp->cache_depot_lock);
	st->depotlk = cp->cache_depot_acquires;
	spin_unlock(&cp->cache_depot_lock);
	for (int i = 0; i < ncpus; i++) {
		spin_lock(&cp->cache_cpu[i].cc_lock);
		st->allocs += cp->cache_cpu[i].cc_alloc;
		spin_unlock(&cp->cache_cpu[i].cc_lock);
	}
	st->fail = __atomic_load_n(&cp->cache_alloc_fail, __ATOMIC_RELAXED);
}

#if LAB >= 5
/* A ledger walk's part: every magazine of cp back to the slab layer. */
static void kmem_cache_quiesce(kmem_cache_t *cp)
{
	kmem_cache_t *mtp;
	int magsize;

	spin_lock(&cp->cache_depot_lock);
	mtp = cp->cache_magtype;
	magsize = cp->cache_magsize;
	spin_unlock(&cp->cache_depot_lock);
	if (mtp == NULL)
		return; /* no magazine layer */
	kmem_cpu_purge(cp, mtp, magsize);
	kmem_depot_purge(cp);
}

/*
 * The leak ledger's view of kmem (kmem.h): every cache's magazines are
 * emptied into its slabs first, so that "in use" is what clients hold and
 * nothing that merely waits in a magazine. Then fn(name, in use) for each
 * cache but kmem's own (slabs, bufctls and magazines come and go with the
 * others' slabs).
 */
void kmem_ledger(void (*fn)(const char *name, uint64_t inuse, void *arg),
		 void *arg)
{
	ASSERT(spin_nheld() == 0);
	spin_lock(&kmem_lock);
	while (kmem_reaping) { /* another CPU's reap: let it finish */
		spin_unlock(&kmem_lock);
		__asm__ volatile("pause");
		spin_lock(&kmem_lock);
	}
	kmem_reaping = true;
	spin_unlock(&kmem_lock);
	kmem_cache_walk(kmem_cache_quiesce);
	spin_lock(&kmem_lock);
	for (kmem_cache_t *cp = kmem_caches; cp != NULL; cp = cp->cache_next) {
		uint64_t inuse;

		bool own = cp == kmem_slab_cache || cp == kmem_bufctl_cache;

		for (int t = 0; t < NMAGTYPES; t++)
			own |= cp == kmem_magazine_cache[t];
		if (own)
			continue; /* kmem's bookkeeping grows and shrinks */
		spin_lock(&cp->cache_lock);
		inuse = cp->cache_buftotal - cp->cache_bufslab;
		spin_unlock(&cp->cache_lock);
		fn(cp->cache_name, inuse, arg);
	}
	kmem_reaping = false;
	spin_unlock(&kmem_lock);
}

/*
 * Pages the slab layers of all caches hold (the tests' leak ledger: a
 * page a cache keeps is not a leaked page). kmem_lock, then each
 * cache_lock, as kmem_kmastat() takes them.
 */
uint64_t kmem_slab_pages(void)
{
	uint64_t pages = 0;

	spin_lock(&kmem_lock);
	for (kmem_cache_t *cp = kmem_caches; cp != NULL; cp = cp->cache_next) {
		spin_lock(&cp->cache_lock);
		pages += (cp->cache_slab_create - cp->cache_slab_destroy) *
			 (cp->cache_slabsize / PAGESIZE);
		spin_unlock(&cp->cache_lock);
	}
	spin_unlock(&kmem_lock);
	return pages;
}
#endif

/*
 * Print one line per cache, as illumos's ::kmastat: "in use" counts
 * buffers out of the slabs, magazine rounds too; slab lk and depot lk
 * count lock acquisitions. Holds kmem_lock while it prints, so no cache
 * comes or goes; call it with no kmem lock held.
 */
void kmem_kmastat(void)
{
	struct kmem_stat st;

	kprintf("%-20s %6s %7s %7s %8s %8s %5s %7s %8s\n", "cache", "buf",
		"in use", "total", "memory", "allocs", "fail", "slab lk",
		"depot lk");
	spin_lock(&kmem_lock);
	for (kmem_cache_t *cp = kmem_caches; cp != NULL; cp = cp->cache_next) {
		kmem_cache_stat(cp, &st);
		kprintf("%-20s %6zu %7lu %7lu %7luK %8lu %5lu %7lu %8lu\n",
			cp->cache_name, cp->cache_bufsize, st.inuse, st.total,
			st.kbytes, st.allocs, st.fail, st.slablk, st.depotlk);
	}
	spin_unlock(&kmem_lock);
}

/* The monitor's kmastat: kmem_kmastat(). */
MONCMD(kmastat, "", "every kmem cache: sizes, buffers, memory, locks")
{
	(void)argc, (void)argv;
	kmem_kmastat();
	return 0;
}
