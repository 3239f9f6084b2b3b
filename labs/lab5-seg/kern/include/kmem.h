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
 */
#ifndef KMEM_H
#define KMEM_H

#include <cpu.h>
#include <spinlock.h>
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

typedef struct kmem_magazine {
	struct kmem_magazine *mag_next; /* on a depot list */
	void *mag_round[];              /* mag_size slots */
} kmem_magazine_t;

/* One CPU's view of a cache: the magazine layer (Bonwick 2001, §3). */
typedef struct kmem_cpu_cache {
	spinlock_t cc_lock;
	kmem_magazine_t *cc_loaded;   /* rounds come from and go to here */
	kmem_magazine_t *cc_ploaded;  /* the previous one: full or empty */
	int cc_rounds;                /* rounds in cc_loaded */
	int cc_prounds;               /* rounds in cc_ploaded */
	int cc_magsize;               /* rounds a magazine holds, now */
	uint64_t cc_alloc, cc_free;   /* served here, without the depot */
} __attribute__((aligned(64))) kmem_cpu_cache_t;

/* A list of magazines in the depot, and its working-set low-water mark. */
typedef struct kmem_maglist {
	kmem_magazine_t *ml_list;
	long ml_total; /* magazines on the list */
	long ml_min;   /* the fewest since the last reap: never needed */
	uint64_t ml_alloc; /* taken from the list */
} kmem_maglist_t;

typedef struct kmem_slab kmem_slab_t;
typedef struct kmem_bufctl kmem_bufctl_t;

typedef struct kmem_cache {
	char cache_name[32];
	size_t cache_bufsize;  /* what callers get */
	size_t cache_chunksize; /* bufsize + debug tag, rounded to align */
	size_t cache_align;
	size_t cache_slabsize;  /* bytes of a slab: 2^order pages */
	unsigned cache_slaborder;
	unsigned cache_flags;   /* KMC_* */
	int (*cache_constructor)(void *buf, void *priv, int kmflags);
	void (*cache_destructor)(void *buf, void *priv);
	void (*cache_reclaim)(void *priv);
	void *cache_private;
	/* The slab layer (cache_lock). */
	spinlock_t cache_lock;
	kmem_slab_t *cache_partial; /* slabs with free and allocated buffers */
	kmem_slab_t *cache_empty;   /* slabs with every buffer free */
	kmem_slab_t *cache_full;    /* slabs with none free */
	size_t cache_color, cache_maxcolor;
	kmem_bufctl_t **cache_hash; /* large objects: buffer -> bufctl */
	size_t cache_hash_mask;
	uint64_t cache_buftotal, cache_bufslab; /* buffers made, free in slabs */
	uint64_t cache_slab_create, cache_slab_destroy;
	uint64_t cache_slab_alloc, cache_slab_free, cache_alloc_fail;
	uint64_t cache_lock_acquires;
	/* The depot (cache_depot_lock). */
	spinlock_t cache_depot_lock;
	kmem_maglist_t cache_full_mags, cache_empty_mags;
	struct kmem_cache *cache_magtype; /* where its magazines come from */
	int cache_magsize;
	uint64_t cache_depot_acquires, cache_depot_contention;
	struct kmem_cache *cache_next; /* all caches */
	kmem_cpu_cache_t cache_cpu[NCPU];
} kmem_cache_t;

/* Set up the magazine and size-class caches (after page_init). */
void kmem_init(void);

kmem_cache_t *kmem_cache_create(const char *name, size_t size, size_t align,
				int (*constructor)(void *, void *, int),
				void (*destructor)(void *, void *),
				void (*reclaim)(void *), void *priv,
				void *vmp, unsigned cflags);
void *kmem_cache_alloc(kmem_cache_t *cp, int kmflags);
void kmem_cache_free(kmem_cache_t *cp, void *buf);
/* Free every slab of cp and cp itself; every buffer must be back. */
void kmem_cache_destroy(kmem_cache_t *cp);

void *kmem_alloc(size_t size, int kmflags);
void *kmem_zalloc(size_t size, int kmflags);
void kmem_free(void *buf, size_t size);

/* Give back what no cache needs: magazines beyond each depot's working
 * set, then every empty slab's pages. */
void kmem_reap(void);
/* Print one line per cache, as illumos's ::kmastat. */
void kmem_kmastat(void);

#endif /* KMEM_H */
