/*
 * kmem.h — the kernel object allocator (lab 4), after Bonwick's "The Slab
 * Allocator" (1994) and "Magazines and Vmem" (2001), with illumos's names.
 *
 *	kmem_cache_alloc/free
 *	   |  per-CPU layer: a loaded and a previous magazine (cpu_cache)
 *	   |  depot: lists of full and empty magazines (one lock)
 *	   |  slab layer: slabs of buffers, partial slabs first (one lock)
 *	   v  page_alloc_pages/page_free_pages (lab 3)
 *
 * A cache hands out buffers of one size, constructed once when their slab
 * is built, not on every allocation. kmem_alloc() serves sizes through a
 * ladder of such caches.
 *
 * Locking. The lock order, outermost first (spinlock.h ranks them, and
 * spin_lock() panics at the first inversion):
 *
 *	kmem_lock -> cc_lock -> cache_depot_lock -> cache_lock -> zone_lock
 *
 * kmem_lock guards the list of caches; each cache has one cc_lock per
 * CPU, one depot lock and one slab-layer lock (cache_lock); zone_lock is
 * the buddy allocator's. Two cc_locks never nest: the magazine caches,
 * the only caches kmem allocates from while it holds a cc_lock, have no
 * CPU layer. Each field below names what protects it:
 *
 *	(C)  set by kmem_cache_create() before any other CPU can see the
 *	     cache, read-only after
 *	(L)  kmem_lock
 *	(P)  the CPU's cc_lock
 *	(D)  the cache's cache_depot_lock
 *	(S)  the cache's cache_lock
 *	(A)  atomic: updated with __atomic builtins, read as a statistic
 */
#ifndef KMEM_H
#define KMEM_H

#include <cpuvar.h>
#include <spinlock.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* kmflags */
#define KM_SLEEP 0x0   /* this kernel never sleeps: it fails instead */
#define KM_NOSLEEP 0x1

/* cflags for kmem_cache_create */
#define KMC_NOMAGAZINE 0x1 /* no per-CPU layer (the magazine caches) */
#define KMC_DEBUG 0x2      /* redzone, 0xdeadbeef and 0xbaddcafe checks */

#define KMEM_FREE_PATTERN 0xdeadbeefdeadbeefULL
#define KMEM_UNINIT_PATTERN 0xbaddcafebaddcafeULL
#define KMEM_REDZONE_PATTERN 0xfeedfacefeedfaceULL

/*
 * A magazine belongs to one owner at a time: a CPU, which reads and
 * writes its rounds under its cc_lock (P), or the depot (D), which never
 * writes the rounds of a magazine on its lists.
 */
typedef struct kmem_magazine {
	struct kmem_magazine *mag_next; /* (D) on a depot list */
	void *mag_round[];              /* its owner's: mag_size slots */
} kmem_magazine_t;

struct kmem_cache;

/* One CPU's view of a cache: the magazine layer (Bonwick 2001, §3). */
typedef struct kmem_cpu_cache {
	spinlock_t cc_lock;
	kmem_magazine_t *cc_loaded;   /* (P) rounds come from and go to here */
	kmem_magazine_t *cc_ploaded;  /* (P) the previous one: full or empty */
	int cc_rounds;                /* (P) rounds in cc_loaded */
	int cc_prounds;               /* (P) rounds in cc_ploaded */
	int cc_magsize;               /* (P) rounds a magazine holds; 0: off */
	struct kmem_cache *cc_magtype; /* (P) where magazines come from */
	uint64_t cc_alloc, cc_free;   /* (P) served here, without the depot */
} __attribute__((aligned(64))) kmem_cpu_cache_t;

/* A list of magazines in the depot, and its working-set low-water mark. */
typedef struct kmem_maglist {
	kmem_magazine_t *ml_list; /* (D) */
	long ml_total;            /* (D) magazines on the list */
	long ml_min;              /* (D) the fewest since the last reap */
	uint64_t ml_alloc;        /* (D) taken from the list */
} kmem_maglist_t;

typedef struct kmem_slab kmem_slab_t;
typedef struct kmem_bufctl kmem_bufctl_t;

typedef struct kmem_cache {
	/* What the cache is: (C), but for the slot, see cache_bufsize. */
	char cache_name[32];
	size_t cache_bufsize;   /* (C) what callers get; 0: a free slot (L) */
	size_t cache_chunksize; /* (C) bufsize + link or tag, to align */
	size_t cache_align;     /* (C) a power of two, at most PAGESIZE */
	size_t cache_slabsize;  /* (C) bytes of a slab: 2^order pages */
	unsigned cache_slaborder; /* (C) */
	unsigned cache_flags;   /* (C) KMC_* */
	int (*cache_constructor)(void *buf, void *priv, int kmflags); /* (C) */
	void (*cache_destructor)(void *buf, void *priv);              /* (C) */
	void (*cache_reclaim)(void *priv);                            /* (C) */
	void *cache_private;    /* (C) */
	/* The slab layer. */
	spinlock_t cache_lock;
	kmem_slab_t *cache_partial; /* (S) slabs with free and used buffers */
	kmem_slab_t *cache_empty;   /* (S) slabs with every buffer free */
	kmem_slab_t *cache_full;    /* (S) slabs with none free */
	size_t cache_color;         /* (S) the next slab's colour */
	size_t cache_maxcolor;      /* (C) */
	kmem_bufctl_t **cache_hash; /* (C) large objects: buffer -> bufctl;
				       its chains (S) */
	size_t cache_hash_mask;     /* (C) */
	uint64_t cache_buftotal, cache_bufslab; /* (S) made, free in slabs */
	uint64_t cache_slab_create, cache_slab_destroy; /* (S) */
	uint64_t cache_slab_alloc, cache_slab_free;     /* (S) */
	uint64_t cache_lock_acquires;                   /* (S) */
	uint64_t cache_alloc_fail;                      /* (A) */
	/* The depot. */
	spinlock_t cache_depot_lock;
	kmem_maglist_t cache_full_mags, cache_empty_mags; /* (D) */
	struct kmem_cache *cache_magtype; /* (D) where its magazines come from */
	int cache_magsize;                /* (D) rounds in each of them */
	uint64_t cache_depot_acquires;    /* (D) */
	uint64_t cache_depot_contention;  /* (D) acquisitions that waited */
	/* The list of caches. */
	struct kmem_cache *cache_next; /* (L) all caches */
	bool cache_busy;               /* (L) kmem_reap() is working on it */
	kmem_cpu_cache_t cache_cpu[NCPU]; /* each entry its own cc_lock */
} kmem_cache_t;

/*
 * Set up the magazine and size-class caches. Call once, after page_init()
 * and before any other kmem function.
 */
void kmem_init(void);

/*
 * A new cache of buffers of size bytes (at least 8), aligned to align (a
 * power of two up to PAGESIZE; 0 means 8). constructor(buf, priv,
 * kmflags) builds each buffer once when its slab is made (nonzero: the
 * slab is not made); destructor(buf, priv) runs once when the slab goes;
 * reclaim(priv), if set, is asked by kmem_reap() to free buffers the
 * client caches itself. All three run with no kmem lock held. cflags:
 * KMC_NOMAGAZINE, KMC_DEBUG (which takes no constructor or destructor).
 * vmp is unused (illumos's vmem arena). Panics if cache_pool is full or
 * a large cache gets no page for its hash.
 */
kmem_cache_t *kmem_cache_create(const char *name, size_t size, size_t align,
				int (*constructor)(void *, void *, int),
				void (*destructor)(void *, void *),
				void (*reclaim)(void *), void *priv,
				void *vmp, unsigned cflags);
/*
 * A constructed buffer of cp, aligned to its alignment, or NULL if no
 * memory is left (kmflags: KM_SLEEP or KM_NOSLEEP; this kernel never
 * sleeps, so both can fail). A debug cache panics if the buffer was
 * written while free. The caller may hold spinlocks only of a rank below
 * LR_KMEM (spinlock.h).
 */
void *kmem_cache_alloc(kmem_cache_t *cp, int kmflags);
/*
 * Give buf, allocated from cp and back in its constructed state, back to
 * cp. Panics if buf is not cp's; a debug cache also on a double free or
 * a write past the buffer.
 */
void kmem_cache_free(kmem_cache_t *cp, void *buf);
/*
 * Free every slab of cp and cp itself; every buffer must be back (panics
 * otherwise). Waits while kmem_reap() is working on cp, so a reclaim
 * callback must not destroy its own cache.
 */
void kmem_cache_destroy(kmem_cache_t *cp);

/*
 * size bytes from the smallest size-class cache that fits (8-byte
 * aligned), or whole pages past 4096 bytes; NULL if no memory is left.
 */
void *kmem_alloc(size_t size, int kmflags);
/* kmem_alloc(), zero-filled. */
void *kmem_zalloc(size_t size, int kmflags);
/* Free buf from kmem_alloc() or kmem_zalloc(); size as allocated. */
void kmem_free(void *buf, size_t size);

/*
 * Give back what no cache needs: ask every client with a reclaim callback
 * to free what it caches, grow the magazines of caches whose depot was
 * contended, free magazines beyond each depot's working set, then every
 * empty slab's pages. Call with no spinlock held. If another CPU is
 * reaping, returns at once: that reap does the work.
 */
void kmem_reap(void);
/*
 * Tests (Linux's failslab): the client allocation after the next `after`
 * ones returns NULL, once; -1 disarms. Magazine caches are never failed.
 */
void kmem_inject_failure(long after);
/* Print one line per cache, as illumos's ::kmastat. */
void kmem_kmastat(void);
/* Pages held by every cache's slabs (leak accounting). */
uint64_t kmem_slab_pages(void);
/*
 * Empty every magazine into its slabs, then call fn with each client
 * cache's name and buffers in use (the tests' leak ledger). No lock held.
 */
void kmem_ledger(void (*fn)(const char *name, uint64_t inuse, void *arg),
		 void *arg);

#endif /* KMEM_H */
